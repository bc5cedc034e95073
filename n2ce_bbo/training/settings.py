"""Settings of the latent-EBM surrogate and its training (validated by :func:`n2ce_bbo.config.from_dict`).

``LatentEBMConfig`` has three sections::

    model:  latent_dim, hidden, depth, prior_hidden, prior_depth, share_prior_trunk, activation,
            decoder_std, decoder_temperature, y_noise_std, value_heads, decoder
    prior:  objective (n2ce | nce | nwj | mle | gaussian), M, K, reg, waymarks, prior_lr,
            prior_steps_per_batch, mle_langevin_steps, mle_step_size
    train:  epochs, min_steps, steps_per_row, least_steps, batch_size, lr, weight_decay, kl_weight, value_weight,
            grad_clip,
            max_train_rows, max_steps, log_every, finite_check_every, warm_fraction

The number of prior stages has one source of truth, ``prior.K`` (the model builds K stage networks from it).
Invalid values raise :class:`~n2ce_bbo.errors.ConfigError` in ``__post_init__`` (``from_dict`` adds the key's
section path).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from n2ce_bbo.config import require

Objective = Literal["n2ce", "nce", "nwj", "mle", "gaussian"]


@dataclass
class ModelConfig:
    """Network sizes and likelihood scales of the surrogate.

    Attributes:
        latent_dim: latent dimension d_z.
        hidden: width of the encoder, decoder and value-head MLPs.
        depth: hidden layers in each of those MLPs.
        prior_hidden: width of each EBM stage network (their number is ``prior.K``). 64 (was 128): a training
            minibatch costs about 1.6x the Gaussian prior's instead of 2.2x (benchmarks/results/step_profile.md),
            no worse on development tasks; benchmarks/results/dev/decisions.md, "model.prior_hidden = 64".
        prior_depth: hidden layers per stage network.
        share_prior_trunk: one trunk network with K linear heads instead of K networks (cheaper ``f_α(z)``
            evaluation when sampling; training cost is about the same).
        activation: hidden non-linearity (smooth ``silu`` keeps latent gradients smooth for Langevin).
        decoder_std: std σ_x of the Gaussian decoder for continuous designs, in standardised units.
        decoder_temperature: τ; the reconstruction term of the ELBO is divided by τ (τ < 1: a sharper decoder,
            i.e. reconstruction weighted more against the KL / prior term). The default 0.25 keeps the posterior
            from collapsing onto the prior (with τ = 1, f_α had nothing to learn and chains decoded to a handful
            of designs); docs/method.md §3, step 1, records the measurement. Re-decided on development tasks
            (benchmarks/results/dev/decisions.md): 0.25 kept against 0.1, 0.5 and 1.
        y_noise_std: σ_y of the value head ``N(y; h(z), σ_y²)``, in standardised score units. Also used in
            ``log p(z | y*)`` when sampling. 0.05 decided on development tasks against 0.1 and 0.2
            (benchmarks/results/dev/decisions.md).
        value_heads: independently initialised value heads on the shared latent (an ensemble; ``h`` is their
            mean). Each head is trained on the data by itself.
        decoder: token designs' decoder ``p_β(x | z)``: ``"independent"`` per-position categoricals, or ``"chain"``,
            a linear-chain CRF that adds learned potentials between neighbouring tokens (it can learn which token
            may follow which; exact likelihood, Viterbi decoding) and makes the in-distribution score design-space,
            ``log p_β(x | μ(x)) + log p_α(μ(x))`` (:mod:`n2ce_bbo.models.chain_decoder`, docs/method.md). Ignored
            for continuous designs. A checkpoint saved without this key is ``"independent"``.
    """

    latent_dim: int = 16
    hidden: int = 256
    depth: int = 2
    prior_hidden: int = 64
    prior_depth: int = 2
    share_prior_trunk: bool = False
    activation: Literal["silu", "gelu", "relu", "tanh", "leaky_relu"] = "silu"
    decoder_std: float = 0.3
    decoder_temperature: float = 0.25
    y_noise_std: float = 0.05
    value_heads: int = 1
    decoder: Literal["independent", "chain"] = "independent"

    def __post_init__(self) -> None:
        require(at_least=1, latent_dim=self.latent_dim, hidden=self.hidden, prior_hidden=self.prior_hidden,
                value_heads=self.value_heads)
        require(at_least=0, depth=self.depth, prior_depth=self.prior_depth)
        require(above=0, decoder_std=self.decoder_std, decoder_temperature=self.decoder_temperature,
                y_noise_std=self.y_noise_std)


@dataclass
class PriorConfig:
    """How the EBM prior ``f_α`` is fitted to the aggregate posterior (step 2 of each minibatch).

    Attributes:
        objective: ``"n2ce"`` (telescoping Noisier NCE with ``M``), ``"nce"`` (the same with M = 1;
            ``M`` is ignored), ``"nwj"`` (the M -> ∞ limit), ``"mle"`` (short-run-Langevin maximum likelihood,
            one network sum ``f`` trained on ``E_q*∇f - E_pα∇f``), ``"gaussian"`` (no EBM: ``f ≡ 0``).
        M: N²CE noise weight (>= 1). M and K re-decided on development tasks (benchmarks/results/dev/decisions.md): kept.
        K: number of stages / waymark pairs (the K stage networks); also used by ``mle`` (f = Σ_k f_k, so all
            objectives train the same network).
        reg: ratio-regulariser weight λ (adds ``λ·E[f_k²]`` per stage; 0 disables). The default is decided on
            development tasks: benchmarks/results/dev/decisions.md.
        waymarks: mixing schedule ``a_k`` (``"linear"``, ``"sqrt"``, ``"cosine"``; see ``losses.waymark_schedule``).
        prior_lr: Adam learning rate of α.
        prior_steps_per_batch: α updates per minibatch (fresh noise each).
        mle_langevin_steps: short-run Langevin steps from N(0, I) for ``mle``.
        mle_step_size: Langevin step size s (``z += s²/2 ∇log p_α + s ξ``) for ``mle``.
    """

    objective: Objective = "n2ce"
    M: float = 100.0
    K: int = 6
    reg: float = 0.1
    waymarks: Literal["linear", "sqrt", "cosine"] = "linear"
    prior_lr: float = 3e-4
    prior_steps_per_batch: int = 1
    mle_langevin_steps: int = 60
    mle_step_size: float = 0.1

    def __post_init__(self) -> None:
        require(at_least=1, M=self.M, K=self.K, prior_steps_per_batch=self.prior_steps_per_batch)
        require(at_least=0, reg=self.reg, mle_langevin_steps=self.mle_langevin_steps)
        require(above=0, prior_lr=self.prior_lr, mle_step_size=self.mle_step_size)

    @property
    def uses_ebm(self) -> bool:
        """Whether the surrogate has an EBM prior (every objective but ``gaussian``)."""
        return self.objective != "gaussian"


@dataclass
class TrainConfig:
    """The alternating training loop (device independent).

    Attributes:
        epochs: passes over the (possibly subsampled) training rows; ``None`` (default): enough passes for at
            least :meth:`target_steps` minibatches, ``min(min_steps, max(least_steps, steps_per_row · n))`` for
            ``n`` training rows, and at least 20 passes (TFBind10's 10,000-row subset gets 64 epochs, TFBind8's
            32,898 rows 20). Small tables train shorter: with the defaults 300 rows get 900 steps, 100 rows
            400, and 1,667 rows or more the full 5,000.
        min_steps: the minibatch count ``epochs=None`` aims at for large datasets (``min_steps / steps_per_row``
            rows or more); the benchmark tasks' 10,000-33,000 rows always get it. Kept at 5000 on development tasks
            of 2,400-19,000 rows (2000 and 3500 lost on EhrlichDev, 10000 not clearly better for 1.8x the time):
            benchmarks/results/dev/decisions.md, "train.min_steps = 5000".
        steps_per_row: with ``epochs=None``, smaller datasets aim at this many minibatches per training row (the
            length scales with the data). Chosen on development tasks at lab sizes:
            benchmarks/results/dev/decisions.md.
        least_steps: with ``epochs=None``, the fewest minibatches aimed at however few the rows (a handful of rows
            still needs a few hundred Adam steps to be fitted at all).
        batch_size: rows per minibatch.
        lr: Adam learning rate of the encoder, decoder and value head.
        weight_decay: Adam (L2) weight decay of those.
        kl_weight: weight of ``KL(q ‖ N(0, I)) - E_q f_α`` (= ``KL(q ‖ p_α)`` up to ``log Z_α``) in the ELBO.
        value_weight: weight of the value term ``-log p_γ(y | z)``.
        rank_weight: weight of a listwise ranking term on the value heads' predictions over each minibatch
            (:func:`~n2ce_bbo.training.ranking.listnet_loss`), added to the ELBO's loss; 0 (the default) leaves
            the loss unchanged (the inherited loss). Its probe on development tasks: benchmarks/suites/rank_dev.yaml.
        rank_temperature: ``T`` of the ranking term's softmaxes, in standardised score units.
        grad_clip: global gradient-norm clip for both optimisers (``None``: no clipping).
        max_train_rows: datasets with more rows are trained on a seeded random subsample of this many rows
            (TFBind10 has ~4M); the statistics of ``y`` (mean, std, best) still use every row. ``None``: all rows.
        max_steps: stop after this many minibatches in total (``None``: ``epochs`` full passes).
        log_every: record the step losses in the history every this many steps and at the last step (and print
            them when verbose); ``train_log.csv`` holds them.
        finite_check_every: check the losses for NaN/inf every this many steps (1 = every step, which costs
            a device sync per step on a GPU). Parameters are always checked before a checkpoint is written.
        warm_fraction: a warm start (``train_surrogate(..., init_from=previous)``, a campaign's refit after new
            measurements; :mod:`n2ce_bbo.training.warm`) runs this fraction of the minibatches a cold fit on the
            same rows would run, from the previous weights with a fresh optimiser. How the default was chosen:
            benchmarks/results/dev/warm_start.md.
    """

    epochs: int | None = None
    min_steps: int = 5000
    steps_per_row: int = 3
    least_steps: int = 400
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    kl_weight: float = 1.0
    value_weight: float = 1.0
    rank_weight: float = 0.0
    rank_temperature: float = 1.0
    grad_clip: float | None = 10.0
    max_train_rows: int | None = 200_000
    max_steps: int | None = None
    log_every: int = 50
    finite_check_every: int = 1
    warm_fraction: float = 0.25

    def target_steps(self, n_rows: int | None = None) -> int:
        """The minibatch count ``epochs=None`` aims at for ``n_rows`` training rows (``None``: ``min_steps``):
        ``steps_per_row · n_rows``, at least ``least_steps`` and at most ``min_steps``."""
        if n_rows is None:
            return self.min_steps
        return min(self.min_steps, max(self.least_steps, self.steps_per_row * int(n_rows)))

    def epochs_for(self, steps_per_epoch: int, n_rows: int | None = None) -> int:
        """The number of passes to run when one pass is ``steps_per_epoch`` minibatches over ``n_rows`` rows."""
        if self.epochs is not None:
            return self.epochs
        return max(20, math.ceil(self.target_steps(n_rows) / max(steps_per_epoch, 1)))

    def __post_init__(self) -> None:
        require(at_least=1, batch_size=self.batch_size, log_every=self.log_every,
                finite_check_every=self.finite_check_every, min_steps=self.min_steps,
                steps_per_row=self.steps_per_row, least_steps=self.least_steps)
        require(at_least=1, optional=True, epochs=self.epochs, max_train_rows=self.max_train_rows,
                max_steps=self.max_steps)
        require(above=0, lr=self.lr)
        require(above=0, at_most=1, warm_fraction=self.warm_fraction)
        require(at_least=0, weight_decay=self.weight_decay, kl_weight=self.kl_weight, value_weight=self.value_weight,
                rank_weight=self.rank_weight)
        require(above=0, rank_temperature=self.rank_temperature)
        require(above=0, optional=True, grad_clip=self.grad_clip)


@dataclass
class LatentEBMConfig:
    """Everything that defines a trained latent-EBM surrogate (model, prior objective, training loop)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    prior: PriorConfig = field(default_factory=PriorConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
