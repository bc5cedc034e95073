"""Settings of the latent-EBM method: the surrogate (``model``, ``prior``, ``train``), how designs are proposed
(``propose``, with its ``sampler``), the design-space value model that can share the candidate score
(``design_model``) and the rehearsal that chooses the candidate score's weights (``rehearsal``).

Each setting's docstring says what it does; where a default was chosen by measurement, it names the record
(``benchmarks/results/``), which holds the numbers.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from n2ce_bbo.config import inline, require
from n2ce_bbo.errors import ConfigError
from n2ce_bbo.methods.filters import moved_filter_keys
from n2ce_bbo.training.regressors import RegressorConfig
from n2ce_bbo.training.settings import LatentEBMConfig

Sampler = Literal["langevin", "svgd", "gradient_ascent"]
Acquisition = Literal["mean", "ucb", "ei"]

#: Weight of ``f_α`` in the candidate score when ``propose.score_prior_weight`` is null, per design kind
#: (benchmarks/results/branin/first_run_score_weight_0.1.md and benchmarks/results/proposer_tuning.md).
DEFAULT_SCORE_PRIOR_WEIGHT = {"tokens": 0.1, "continuous": 0.0}

#: The section ``rehearsal`` was called ``selection`` before; configurations and model folders that use the old
#: name are still read.
OLD_REHEARSAL_KEY = "selection"


@dataclass
class SamplerConfig:
    """How each latent chain moves (the ``propose.sampler`` section; keys only the sampler reads).

    Attributes:
        name: ``"langevin"``, ``"svgd"`` or ``"gradient_ascent"`` (deterministic, on h + w·f).
        n_steps: sampler steps per chain.
        step_size: Langevin step ``s`` / SVGD step size / gradient-ascent (Adam) learning rate, latent units.
        noise_scale: Langevin only: noise multiplier (1 samples the target; < 1 is a lower temperature).
        grad_clip: Langevin only: per-chain gradient norm clip (``None``: none).
        svgd_group_size: SVGD only: interaction groups within a chunk (``None``: the whole chunk).
    """

    name: Sampler = "langevin"
    n_steps: int = 300
    step_size: float = 0.1
    noise_scale: float = 1.0
    grad_clip: float | None = None
    svgd_group_size: int | None = None

    def __post_init__(self) -> None:
        require(at_least=0, n_steps=self.n_steps, noise_scale=self.noise_scale)
        require(above=0, step_size=self.step_size)
        require(above=0, optional=True, grad_clip=self.grad_clip)
        require(at_least=1, optional=True, svgd_group_size=self.svgd_group_size)


@dataclass
class ProposeConfig:
    """How designs are proposed from a trained surrogate: sample, refine, fill, select.

    Every default here is in the ledger of benchmarks/results/dev/decisions.md with its status; the chain count,
    the sampler's steps and step size, the snapshots, the start, the refinement and exploration sizes and the trust
    penalty were re-decided on development tasks together (one section there: all kept).

    Attributes:
        sampler: how each chain moves (:class:`SamplerConfig`).
        n_chains: total number of chains (latent samples) per ``propose`` call.
        chain_chunk: chains per chunk (the unit of parallel work and of seeding).
        init: ``"prior"`` starts chains from N(0, I); ``"data"`` from encodings of the top training designs
            (cycled over chains) plus ``init_noise`` Gaussian noise.
        init_top_k: how many of the best training designs seed ``init="data"``.
        init_noise: std of the noise added to those encodings.
        snapshots: states decoded per chain: the final one plus ``snapshots - 1`` evenly spaced states of
            the run's second half (more distinct candidates for the same sampling cost).
        y_star_offset: standardised ``y*`` = best standardised training score + this offset. Re-decided on
            development tasks (benchmarks/results/dev/decisions.md): 1.0 kept.
        value_weight: weight of the value likelihood ``log N(y*; h(z), σ_y²)`` (or of ``h`` in gradient ascent).
        prior_weight: weight ``w`` of ``f_α`` in the sampler's target.
        score_prior_weight: weight ``w`` of the standardised in-distribution score in the candidate score
            ``h(μ(x)) + w·z(x)``, when the rehearsal does not choose it; ``None``: the design kind's default
            (:data:`DEFAULT_SCORE_PRIOR_WEIGHT`).
        refine_rounds: at most this many rounds of local search in design space on the candidate score after
            sampling: each round adds the neighbours (as for ``fill``) of the ``refine_top`` best candidates so far;
            the search stops early once a round leaves those best candidates unchanged. 0 disables it. It stays
            shallow because deep searches walked off the data on some development tasks; the deep share of the
            batch comes from ``explore_fraction`` (benchmarks/results/dev/probes_2026-11-30.md, §5).
        refine_top: candidates whose neighbours each refinement round adds. ``refine_rounds`` × ``refine_top``
            = 4 × 512 re-decided on development tasks (benchmarks/results/dev/decisions.md) and kept.
        explore_fraction: share of the batch that comes from a deeper local search (a portfolio): the first
            ``budget - round(explore_fraction * budget)`` designs are the best of the shallow search; the local
            search then goes on from the same candidates for up to ``explore_rounds`` rounds from the
            ``explore_top`` best, and its best designs not chosen yet fill the rest of the batch. 0: no deep share.
            The default was chosen in benchmarks/results/dev/probes_2026-11-30.md, §6, and re-decided on development
            tasks only (benchmarks/results/dev/decisions.md): 0.5 kept.
        explore_rounds: at most this many rounds of the deep search (it stops early when it converges).
        explore_top: candidates whose neighbours each deep-search round adds.
        trust_weight: weight of the trust penalty ``min(0, z(x) + trust_margin)`` in the candidate score: designs
            whose in-distribution score ``z`` falls more than ``trust_margin`` standard deviations below the
            training designs' mean lose score in proportion. 0 disables it.
        trust_margin: that margin, in standard deviations of the training designs' in-distribution score.
        trust_radius: a distance trust region (:mod:`n2ce_bbo.methods.trust_region`): a candidate may lie at most
            this far from the nearest of the ``trust_anchors`` best training designs (tokens: positions that
            differ; continuous: Euclidean distance in the training designs' per-coordinate standard deviations).
            ``"auto"``: read from the training data (:func:`~n2ce_bbo.methods.trust_region.data_radius`: the
            ``trust_quantile`` of the distances of the best ``rehearsal.top_fraction`` of the rows to the best of the
            others). ``None``: no region (the default; probed on development tasks, benchmarks/sweeps/trust_radius.yaml).
        trust_anchors: how many of the best training designs (by measured score) anchor the region.
        trust_quantile: the quantile of ``"auto"``.
        refine_from_data: the best training designs (by their measured score) that join the candidates as
            starting points of the local search (never proposed unless nothing new is left); 0: none.
        refine_samples: continuous designs only: perturbations per candidate per refinement round.
        fill: when the candidates hold fewer than ``budget`` distinct new designs, add neighbours of the
            best candidates (tokens: every single-position mutant; continuous: Gaussian perturbations of
            ``fill_scale`` × the bounds' width), scored like every candidate, so ``budget`` designs return.
        fill_scale: relative perturbation size of the continuous fill (and of the continuous refinement).
        exclude_training: rank designs already in the training data after every new design.
        score_batch: candidates scored per surrogate call.
        enumerate_limit: token spaces of at most this many designs (``C ** L``) are searched exhaustively: every
            design is scored and the best are selected (no sampler, refinement or fill). 0 disables it. Kept on
            development tasks of 4^8 and 4^10 designs (benchmarks/results/dev/decisions.md).
        acquisition: what replaces the predicted value ``h`` in the candidate score, so the whole local search
            climbs it (:mod:`.uncertainty`; standardised score units): ``"mean"`` is ``h`` itself (exploitation);
            ``"ucb"`` is ``h + ucb_beta · std``; ``"ei"`` the expected improvement over the best training score.
            ``std`` is the predictive std (the value heads' spread and ``σ_y``), constant with one value head.
        ucb_beta: ``β`` of ``"ucb"``, in predictive standard deviations (0: the same ranking as ``"mean"``).
    """

    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    n_chains: int = 4096
    chain_chunk: int = 512
    init: Literal["prior", "data"] = "prior"
    init_top_k: int = 128
    init_noise: float = 0.1
    snapshots: int = 1
    y_star_offset: float = 1.0
    value_weight: float = 1.0
    prior_weight: float = 1.0
    score_prior_weight: float | None = None
    refine_rounds: int = 4
    refine_top: int = 512
    refine_from_data: int = 64
    explore_fraction: float = 0.5
    explore_rounds: int = 40
    explore_top: int = 64
    trust_weight: float = 0.0
    trust_margin: float = 3.0
    trust_radius: float | Literal["auto"] | None = None
    trust_anchors: int = 256
    trust_quantile: float = 0.9
    refine_samples: int = 16
    fill: bool = True
    fill_scale: float = 0.02
    exclude_training: bool = True
    score_batch: int = 4096
    enumerate_limit: int = 2**21
    acquisition: Acquisition = "mean"
    ucb_beta: float = 1.0

    def __post_init__(self) -> None:
        require(at_least=1, n_chains=self.n_chains, chain_chunk=self.chain_chunk, snapshots=self.snapshots,
                init_top_k=self.init_top_k, refine_top=self.refine_top, refine_samples=self.refine_samples,
                explore_top=self.explore_top, score_batch=self.score_batch)
        require(at_least=0, refine_rounds=self.refine_rounds, refine_from_data=self.refine_from_data,
                explore_rounds=self.explore_rounds, init_noise=self.init_noise, enumerate_limit=self.enumerate_limit)
        require(above=0, fill_scale=self.fill_scale)
        require(at_least=0, trust_weight=self.trust_weight, trust_margin=self.trust_margin,
                ucb_beta=self.ucb_beta)
        require(optional=True, score_prior_weight=self.score_prior_weight)
        if self.trust_radius != "auto":
            require(above=0, optional=True, trust_radius=self.trust_radius)
        require(above=0, at_most=1, trust_quantile=self.trust_quantile)
        require(at_least=1, trust_anchors=self.trust_anchors)
        if not 0.0 <= self.explore_fraction <= 1.0:
            raise ConfigError(f"must lie in [0, 1], got {self.explore_fraction}.", key="explore_fraction")
        if self.snapshots > 1 and self.snapshots > self.sampler.n_steps // 2 + 1:
            raise ConfigError(f"({self.snapshots}) exceeds the {self.sampler.n_steps // 2 + 1} states of the second "
                              "half of a run of sampler.n_steps steps.", key="snapshots")

    def score_weight(self, is_discrete: bool) -> float:
        """The weight of ``f_α`` in the candidate score for token (``is_discrete``) or continuous designs."""
        if self.score_prior_weight is not None:
            return self.score_prior_weight
        return DEFAULT_SCORE_PRIOR_WEIGHT["tokens" if is_discrete else "continuous"]


@dataclass
class RehearsalConfig:
    """Oracle-free choice of the candidate score's in-distribution weight (:mod:`.rehearsal`).

    The candidate score is ``h(μ(x)) + w · z(x)``, where ``z(x)`` is the in-distribution score ``log p_α(μ(x))``
    standardised over the training designs. With ``enabled``, ``fit`` first rehearses: it hides the best
    ``top_fraction`` of the training rows and a random ``random_fraction`` of the rest, fits the surrogate on the
    other rows, and keeps the ``w`` of ``weights`` whose score ranks the hidden rows best (the mean score of its
    ``k`` first); then it fits on every row. Without (or with fewer than ``min_rows`` rows), ``w`` is
    ``propose.score_prior_weight`` (or the design kind's default).

    Attributes:
        enabled: rehearse (one extra fit on about ``1 - top_fraction - random_fraction`` of the rows).
        top_fraction: share of rows hidden as the top slice.
        random_fraction: share of rows hidden at random from the rest.
        weights: candidate values of ``w``, simplest first (the first wins ties).
        k: how many first-ranked hidden rows count (the default budget Q = 128).
        min_rows: fewer training rows: no rehearsal (and no recalibrated std). Chosen at lab sizes on development
            tasks: benchmarks/results/dev/decisions.md, "rehearsal.min_rows = 100".
        recalibrate: which hidden rows choose the factor the predictive std is multiplied by, so that its 95 %
            interval covers rows the surrogate did not see (split conformal;
            :func:`~n2ce_bbo.methods.latent_ebm.uncertainty.recalibration_scale`): ``"all"`` of them (the top
            slice too, where the surrogate extrapolates), the ``"random"`` slice only, or ``"none"`` (the std as
            trained, ``σ_y`` with one value head). Chosen on development tasks:
            benchmarks/results/dev/decisions.md.
    """

    enabled: bool = True
    top_fraction: float = 0.1
    random_fraction: float = 0.1
    weights: list[float] = field(default_factory=lambda: [0.0, 0.1, 0.3, 1.0])
    k: int = 128
    min_rows: int = 100
    recalibrate: Literal["all", "random", "none"] = "all"

    def __post_init__(self) -> None:
        require(above=0, at_most=0.5, top_fraction=self.top_fraction)
        require(at_least=0, at_most=0.5, random_fraction=self.random_fraction)
        if not self.weights:
            raise ConfigError("must list at least one candidate weight.", key="weights")
        for w in self.weights:
            require(weights=w)
        require(at_least=1, k=self.k, min_rows=self.min_rows)


@dataclass
class DesignModelConfig:
    """A design-space value model beside the latent surrogate (:mod:`.design_model`): an MLP ensemble fitted on the
    designs themselves (one-hot tokens / standardised coordinates), whose prediction can share the candidate score.

    The candidate score's value term becomes ``(1 - β) · h(μ(x)) + β · m(x)``, ``h`` the latent value head and ``m``
    the ensemble's mean prediction in the surrogate's standardised score units; the latent chains still generate
    the candidates and the in-distribution score ``w · z(x)`` and the filters apply as before (:mod:`.scoring`).

    Attributes:
        weights: candidate values of ``β`` in [0, 1], simplest first. One value: ``β`` is that value. Several: the
            rehearsal chooses ``β`` jointly with ``w`` (each pair ranks the hidden rows; the first listed wins ties);
            without a rehearsal, the first. The ensemble is fitted only when some ``β > 0`` is listed (at fit time
            only when ``β > 0`` was chosen). Decided on development tasks:
            benchmarks/results/dev/decisions.md.
        n_members: MLPs in the ensemble (each seeded apart; their mean is ``m``).
        regressor: each MLP's settings (:class:`~n2ce_bbo.training.regressors.RegressorConfig`, the ``grad``
            baselines' defaults).
        ascent_starts: when positive, a proposal also ascends the ensemble's prediction in design space from this
            many best training designs (the ``grad-ensemble`` baseline's search, :mod:`n2ce_bbo.methods.design_ascent`)
            and adds every iterate to the candidates, which the candidate score (value, in-distribution score,
            filters) then ranks with the latent chains' own. 0: off. The ensemble is fitted whenever this is
            positive, whatever ``β``. 128 (the batch size Q of the development suites) decided on development
            tasks, quality and run cost: benchmarks/results/dev/decisions.md.
        ascent_steps: ascent steps (the ``grad`` baselines' 200).
        ascent_lr: base step size, scaled by the square root of the input size as the ``grad`` baselines' is.
            Both kept on development tasks (benchmarks/results/dev/decisions.md).
        ascent_share: the fraction of the batch taken first from the ascent's own ranking (its final iterates, then
            its earlier ones, each ranked by the ensemble's prediction as the ``grad-ensemble`` baseline ranks
            them, under the same filters and spacing); the rest of the batch comes from the candidate score's
            ranking of every candidate, spaced from those picks. 0: the candidate score ranks the whole batch. Not
            used when the ascent is off (``ascent_starts`` 0) or a small token space is searched whole. 0.25
            decided on development tasks against 0 and 0.5 (benchmarks/results/dev/decisions.md).
    """

    weights: list[float] = field(default_factory=lambda: [0.0])
    n_members: int = 5
    regressor: RegressorConfig = field(default_factory=RegressorConfig)
    ascent_starts: int = 128
    ascent_steps: int = 200
    ascent_lr: float = 0.01
    ascent_share: float = 0.25

    def __post_init__(self) -> None:
        if not self.weights:
            raise ConfigError("must list at least one candidate weight.", key="weights")
        for beta in self.weights:
            require(at_least=0, at_most=1, weights=beta)
        require(at_least=1, n_members=self.n_members)
        require(at_least=0, ascent_starts=self.ascent_starts, ascent_steps=self.ascent_steps)
        require(above=0, ascent_lr=self.ascent_lr)
        require(at_least=0, at_most=1, ascent_share=self.ascent_share)

    @property
    def enabled(self) -> bool:
        """Whether some listed ``β`` is positive (the ranking may read the ensemble; the ascent is
        :attr:`ascent_starts`)."""
        return any(beta > 0 for beta in self.weights)


@dataclass
class LatentEBMMethodConfig:
    """The surrogate's settings (held inline: their keys ``model``, ``prior``, ``train`` sit at this level), the
    ``propose`` section, the ``design_model`` beside the surrogate and the ``rehearsal`` of the score weights."""

    surrogate: LatentEBMConfig = inline(LatentEBMConfig)
    propose: ProposeConfig = field(default_factory=ProposeConfig)
    design_model: DesignModelConfig = field(default_factory=DesignModelConfig)
    rehearsal: RehearsalConfig = field(default_factory=RehearsalConfig)


def renamed_sections(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``config`` with the old section name ``selection`` read as ``rehearsal``, and the filter keys once in
    ``propose`` read in ``filters`` (:func:`~n2ce_bbo.methods.filters.moved_filter_keys`), with a warning.

    Raises:
        ConfigError: both names are given.
    """
    if config is None:
        return None
    config = moved_filter_keys(config)
    if OLD_REHEARSAL_KEY not in config:
        return dict(config)
    out = dict(config)
    if "rehearsal" in out:
        raise ConfigError("give the rehearsal settings once, under 'rehearsal' ('selection' is its old name).")
    warnings.warn("the configuration section 'selection' is now called 'rehearsal'; it was read as 'rehearsal'.",
                  DeprecationWarning, stacklevel=3)
    out["rehearsal"] = out.pop(OLD_REHEARSAL_KEY)
    return out


#: Settings added after model folders were first written, with the value that reproduces what a folder written
#: without them did (``section -> {key: value}``). A later default must not change how a saved model proposes.
SAVED_BEFORE: dict[str, dict[str, Any]] = {"design_model": {"ascent_starts": 0, "ascent_share": 0.0}}


def pinned_saved_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A latent-EBM configuration read from a model folder, with every setting of :data:`SAVED_BEFORE` that the
    folder does not record set to the value it was saved under (other methods' configurations are returned as
    they are)."""
    out = dict(config)
    if not ("prior" in out and "propose" in out):  # not a latent-EBM configuration
        return out
    for section, keys in SAVED_BEFORE.items():
        present = out.get(section)
        merged = dict(present) if isinstance(present, Mapping) else {}
        for key, value in keys.items():
            merged.setdefault(key, value)
        out[section] = merged
    return out

