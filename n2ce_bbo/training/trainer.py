"""Train the latent-EBM surrogate: alternating ELBO and prior updates on minibatches (docs/method.md §3).

For every minibatch ``(x, y)``:

1. **(φ, β, γ)** one Adam step on the negative ELBO with the current prior

       (1/τ)·(-log p_β(x|z)) + value_weight·(-log p_γ(y|z)) + kl_weight·(KL(q_φ ‖ N(0, I)) - E_q f_α(z))
       [+ rank_weight·ListNet(h(z), y) over the minibatch, when rank_weight > 0],

   ``z ~ q_φ(z|x)`` reparameterised. α is frozen in this step (no gradient is computed for it).
2. **(α)** ``prior_steps_per_batch`` Adam steps on the prior objective (``n2ce``, ``nce``, ``nwj`` or ``mle``;
   see :mod:`n2ce_bbo.training.prior_objectives`) with ``q*`` = the batch's posterior sample ``z`` from step 1
   (detached) and ``q0 = N(0, I)``. Skipped for the ``gaussian`` prior.

Every objective trains the same model on the same minibatches with the same random streams, so they
compare fairly. Randomness: model initialisation from ``seed``; the row order of epoch ``e`` and all noise
drawn in epoch ``e`` from seeds derived from ``(seed, e)``, so a run resumed from an epoch checkpoint
finishes with exactly the weights of an uninterrupted run (on the same device type).

Huge datasets: when ``train.max_train_rows`` is set and the data has more rows, training uses a seeded
random subsample of that many rows for ``train.epochs`` epochs (by default enough for ``train.min_steps`` steps) (``train.max_steps`` caps the total number
of minibatches independently). The score statistics (mean, std, best) use every row.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from n2ce_bbo.config import from_dict, to_dict
from n2ce_bbo.errors import ConfigError, InvalidDataError, NonFiniteLossError
from n2ce_bbo.losses import TELESCOPING_OBJECTIVES, waymark_schedule
from n2ce_bbo.models.chain_decoder import PAIR_LR_SCALE
from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.builder import DataFacts, build_surrogate, data_facts, surrogate_facts
from n2ce_bbo.training.checkpoint import has_checkpoint, load_checkpoint, save_surrogate
from n2ce_bbo.training.prior_objectives import prior_loss
from n2ce_bbo.training.ranking import listnet_loss
from n2ce_bbo.training.settings import LatentEBMConfig
from n2ce_bbo.training.warm import adopt_frame, warm_steps
from n2ce_bbo.utils import PhaseProgress, derive_seed, ensure_writable_dir, resolve_device, seed_everything

_EPOCH_KEYS = ("loss", "recon", "value_mse", "kl", "prior_f", "prior_loss", "f_target_mean", "f_noise_mean")


def subsample_indices(n: int, max_rows: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded random subsample of ``max_rows`` of ``n`` rows, or ``None`` to keep all."""
    if max_rows is None or n <= max_rows:
        return None
    rng = np.random.default_rng(derive_seed(seed, "subsample"))
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def _as_config(config: LatentEBMConfig | Mapping[str, Any] | None) -> LatentEBMConfig:
    if config is None:
        return LatentEBMConfig()
    if isinstance(config, LatentEBMConfig):
        return config
    if isinstance(config, Mapping):
        return from_dict(LatentEBMConfig, config, path="surrogate")
    raise TypeError(f"config must be a LatentEBMConfig or a mapping, got {type(config).__name__}")


def _check_data(data: OfflineData) -> None:
    x, y = np.asarray(data.x), np.asarray(data.y)
    if x.ndim != 2 or x.shape[0] == 0:
        raise InvalidDataError(f"data.x must be a non-empty [n, d] array, got shape {x.shape}.")
    if y.reshape(-1).shape[0] != x.shape[0]:
        raise InvalidDataError(f"data.y has {y.size} values for {x.shape[0]} designs.")
    if not np.all(np.isfinite(y)):
        raise InvalidDataError("data.y contains NaN or inf.")
    if data.is_discrete:
        if data.num_classes is None or x.min() < 0 or x.max() >= data.num_classes:
            raise InvalidDataError(f"token ids must lie in 0..{(data.num_classes or 0) - 1}.")
    elif not np.all(np.isfinite(x)):
        raise InvalidDataError("data.x contains NaN or inf.")


class _Stop(Exception):
    pass


def train_surrogate(
    data: OfflineData,
    config: LatentEBMConfig | Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    verbose: bool = False,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    show_progress: bool = False,
    progress_desc: str = "training",
    init_from: LatentEBMSurrogate | None = None,
) -> tuple[LatentEBMSurrogate, dict[str, Any]]:
    """Train a :class:`LatentEBMSurrogate` on the offline rows.

    Args:
        data: offline designs and scores (never an oracle).
        config: a :class:`LatentEBMConfig` or a mapping of overrides of its defaults.
        seed: seed of initialisation, subsampling, row order and noise.
        device: ``"cpu"``, ``"cuda"``, ...; ``None`` picks CUDA when available.
        verbose: one line of losses per epoch and every ``log_every`` steps on stderr (the step losses are
            always recorded in ``history["step_log"]``).
        checkpoint_dir: when set, a checkpoint (weights, config, optimiser state, history) is written there
            atomically after every epoch.
        resume: continue from the checkpoint in ``checkpoint_dir`` when there is one (its model and prior
            settings and data facts must match; ``train.epochs`` may be larger to train longer).
        show_progress: one progress display for the whole run (:class:`~n2ce_bbo.utils.PhaseProgress`).
        progress_desc: its label.
        init_from: a warm start (:mod:`n2ce_bbo.training.warm`): begin from this surrogate's weights and keep its
            standardisation frame, with a fresh optimiser, for ``train.warm_fraction`` of the cold step count;
            ``history["warm_start"]`` records it. ``None``: a cold fit from a seeded initialisation.

    Returns:
        ``(surrogate in eval mode, history)``; ``history`` holds per-epoch means (``loss``, ``recon``,
        ``value_mse``, ``kl``, ``prior_f``, ``prior_loss``, ``f_target_mean``, ``f_noise_mean``,
        ``epoch_s``), logged steps (``step_log``), and run facts (``train_rows``, ``steps``, ``device``, ...).

    Raises:
        NonFiniteLossError: a loss became NaN/inf; the message names the epoch, step and loss, and the last
            good checkpoint (the previous epoch's, when ``checkpoint_dir`` is set).
        InvalidDataError: malformed data. ConfigError: invalid config, or a resume with a different model.
        OutputError: ``checkpoint_dir`` cannot be written. CorruptDataError: ``resume`` from a corrupt checkpoint.
    """
    cfg = _as_config(config)
    _check_data(data)
    if init_from is not None and resume:
        raise ConfigError("a warm start (init_from) cannot also resume from a checkpoint (resume=True).")
    dev = resolve_device(device)
    tcfg, pcfg = cfg.train, cfg.prior
    facts = data_facts(data)
    idx = subsample_indices(data.n, tcfg.max_train_rows, seed)
    x_np = data.x if idx is None else data.x[idx]
    y_all = np.asarray(data.y, dtype=np.float64).reshape(-1)
    y_np = y_all if idx is None else y_all[idx]

    seed_everything(seed)
    surrogate = build_surrogate(cfg, facts)
    warm: dict[str, Any] | None = None
    if init_from is None:
        surrogate.set_data_stats(None if data.is_discrete else x_np, y_all, data.bounds if facts.has_bounds else None)
    else:
        warm = adopt_frame(surrogate, init_from, data, y_all)
    surrogate.to(dev)

    main_params = [p for n, p in surrogate.named_parameters() if not n.startswith("prior.")]
    # A chain decoder's pair potentials take a larger step (chain_decoder.PAIR_LR_SCALE says why); without one
    # the optimiser is exactly as before.
    pair = [p for n, p in surrogate.named_parameters() if n.startswith("pair_potentials.")]
    groups: list[Any] = main_params if not pair else [
        {"params": [p for n, p in surrogate.named_parameters() if not n.startswith(("prior.", "pair_potentials."))]},
        {"params": pair, "lr": tcfg.lr * PAIR_LR_SCALE}]
    opt_main = torch.optim.Adam(groups, lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    opt_prior = (
        torch.optim.Adam(surrogate.prior.parameters(), lr=pcfg.prior_lr) if surrogate.prior is not None else None
    )

    history: dict[str, Any] = {k: [] for k in _EPOCH_KEYS}
    history.update(epoch_s=[], step_log=[])
    start_epoch, step = 0, 0
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if ckpt is not None and resume and has_checkpoint(ckpt):
        start_epoch, step, history = _resume(ckpt, cfg, facts, surrogate, opt_main, opt_prior, dev)
    if ckpt is not None:
        ensure_writable_dir(ckpt)  # fail before training, not after the first epoch

    x_t = torch.as_tensor(np.array(x_np), device=dev)  # a writable copy
    x_t = x_t.long() if data.is_discrete else x_t.float()
    y_t = surrogate.standardize_y(torch.as_tensor(y_np, dtype=torch.float32, device=dev))
    n = x_t.shape[0]
    bs = min(tcfg.batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    n_epochs = tcfg.epochs_for(steps_per_epoch, n)
    schedule = waymark_schedule(pcfg.K, pcfg.waymarks) if pcfg.objective in TELESCOPING_OBJECTIVES else None
    inv_tau = 1.0 / cfg.model.decoder_temperature
    last_good = f"{ckpt} (epoch {start_epoch})" if ckpt is not None and start_epoch > 0 else None
    t_run = time.perf_counter()
    zero = torch.zeros((), device=dev)

    def _nonfinite(which: str, value: Tensor, epoch: int, it: int) -> NonFiniteLossError:
        where = f"epoch {epoch + 1}/{n_epochs}, step {step + 1} (batch {it + 1}/{steps_per_epoch})"
        saved = f"last good checkpoint: {last_good}" if last_good else "no checkpoint was written yet"
        err = NonFiniteLossError(
            f"Non-finite {which} loss ({float(value.detach())}) at {where}; {saved}. "
            "Try a lower train.lr / prior.prior_lr, train.grad_clip, or prior.reg > 0."
        )
        err.epoch, err.step, err.loss_name, err.checkpoint = epoch + 1, step + 1, which, last_good  # type: ignore[attr-defined]
        return err

    total_steps = n_epochs * steps_per_epoch if tcfg.max_steps is None else min(n_epochs * steps_per_epoch, tcfg.max_steps)
    stop_at = tcfg.max_steps
    if warm is not None:
        warm.update(cold_steps=total_steps, fraction=tcfg.warm_fraction)
        total_steps = stop_at = warm_steps(total_steps, tcfg.warm_fraction)
    bar = PhaseProgress(progress_desc, max(total_steps - step, 0), enabled=show_progress)
    surrogate.train()
    try:
        for epoch in range(start_epoch, n_epochs):
            t_ep = time.perf_counter()
            gen = torch.Generator(device=dev)
            gen.manual_seed(derive_seed(seed, "noise", epoch))
            perm_rng = np.random.default_rng(derive_seed(seed, "perm", epoch))
            perm = torch.as_tensor(perm_rng.permutation(n), device=dev)
            sums = {k: torch.zeros((), device=dev) for k in _EPOCH_KEYS}
            n_batches = 0
            for it in range(steps_per_epoch):
                if stop_at is not None and step >= stop_at:
                    raise _Stop
                b = perm[it * bs : (it + 1) * bs]
                xb, yb = x_t[b], y_t[b]
                check = (step + 1) % tcfg.finite_check_every == 0

                # (1) encoder, decoder, value head; α frozen
                if surrogate.prior is not None:
                    surrogate.prior.requires_grad_(False)
                terms = surrogate.elbo_terms(xb, yb, generator=gen)
                loss = (inv_tau * terms["recon"] + tcfg.value_weight * terms["value"]
                        + tcfg.kl_weight * (terms["kl"] - terms["prior_f"]))
                if tcfg.rank_weight > 0 and xb.shape[0] > 1:
                    loss = loss + tcfg.rank_weight * listnet_loss(terms["value_pred"], yb, tcfg.rank_temperature)
                if check and not torch.isfinite(loss):
                    raise _nonfinite("ELBO", loss, epoch, it)
                opt_main.zero_grad(set_to_none=True)
                loss.backward()
                if tcfg.grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(main_params, tcfg.grad_clip)
                opt_main.step()

                # (2) prior
                ploss = torch.zeros((), device=dev)
                pstats: dict[str, Tensor] = {}
                if surrogate.prior is not None and opt_prior is not None:
                    surrogate.prior.requires_grad_(True)
                    z_star = terms["z"].detach()
                    for _ in range(pcfg.prior_steps_per_batch):
                        ploss, pstats = prior_loss(surrogate.prior, z_star, pcfg, gen, schedule)
                        if check and not torch.isfinite(ploss):
                            raise _nonfinite(f"prior ({pcfg.objective})", ploss, epoch, it)
                        opt_prior.zero_grad(set_to_none=True)
                        ploss.backward()
                        if tcfg.grad_clip is not None:
                            torch.nn.utils.clip_grad_norm_(surrogate.prior.parameters(), tcfg.grad_clip)
                        opt_prior.step()

                step += 1
                n_batches += 1
                bar.update()
                vals = {"loss": loss.detach(), "recon": terms["recon"].detach(), "value_mse": terms["value_mse"].detach(),
                        "kl": terms["kl"].detach(), "prior_f": terms["prior_f"].detach(), "prior_loss": ploss.detach(),
                        "f_target_mean": pstats.get("f_target_mean", zero), "f_noise_mean": pstats.get("f_noise_mean", zero)}
                for k, v in vals.items():
                    sums[k] += v
                if step % tcfg.log_every == 0 or step == total_steps:
                    rec = {"step": step, "epoch": epoch + 1, **{k: float(v) for k, v in vals.items()}}
                    history["step_log"].append(rec)
                    if verbose:
                        print(_fmt(f"step {step}", rec), file=sys.stderr)
            _end_epoch(history, sums, n_batches, time.perf_counter() - t_ep)
            if verbose:
                print(_fmt(f"epoch {epoch + 1}/{n_epochs}", {k: history[k][-1] for k in _EPOCH_KEYS}), file=sys.stderr)
            if ckpt is not None:
                _check_params_finite(surrogate, epoch, step)
                _save(ckpt, surrogate, cfg, opt_main, opt_prior, epoch + 1, step, history)
                last_good = f"{ckpt} (epoch {epoch + 1})"
    except _Stop:
        if n_batches:
            _end_epoch(history, sums, n_batches, time.perf_counter() - t_ep)
        if ckpt is not None:
            _check_params_finite(surrogate, epoch, step)
            _save(ckpt, surrogate, cfg, opt_main, opt_prior, epoch, step, history)
    except BaseException:
        bar.__exit__(RuntimeError, None, None)
        raise
    bar.note = f"{step} steps" + (f", final loss {history['loss'][-1]:.4g}" if history["loss"] else "")
    bar.close()
    surrogate.eval()
    history.update(
        train_rows=int(n), total_rows=int(data.n), subsampled=idx is not None, steps=int(step),
        steps_per_epoch=int(steps_per_epoch), epochs=int(n_epochs), device=str(dev), objective=pcfg.objective,
        time_s=history.get("time_s", 0.0) + time.perf_counter() - t_run, config=to_dict(cfg),
    )
    if warm is not None:
        history["warm_start"] = warm
    return surrogate, history


def _end_epoch(history: dict[str, Any], sums: dict[str, Tensor], n_batches: int, seconds: float) -> None:
    for k in _EPOCH_KEYS:
        history[k].append(float(sums[k]) / max(n_batches, 1))
    history["epoch_s"].append(seconds)


def _fmt(head: str, rec: Mapping[str, Any]) -> str:
    parts = [f"{k}={v:.4g}" for k, v in rec.items() if k in _EPOCH_KEYS]
    return f"[latent-ebm] {head}: " + " ".join(parts)


def _check_params_finite(surrogate: LatentEBMSurrogate, epoch: int, step: int) -> None:
    for name, p in surrogate.named_parameters():
        if not torch.isfinite(p).all():
            raise NonFiniteLossError(
                f"Parameter {name!r} became non-finite by the end of epoch {epoch + 1} (step {step}); "
                "the checkpoint was not overwritten."
            )


def _save(ckpt: Path, surrogate: LatentEBMSurrogate, cfg: LatentEBMConfig, opt_main: torch.optim.Optimizer,
          opt_prior: torch.optim.Optimizer | None, epoch: int, step: int, history: dict[str, Any]) -> None:
    state: dict[str, Any] = {"epoch": int(epoch), "step": int(step), "opt_main": opt_main.state_dict()}
    if opt_prior is not None:
        state["opt_prior"] = opt_prior.state_dict()
    save_surrogate(surrogate, cfg, ckpt, train_state=state, history=history)


def _resume(
    ckpt: Path, cfg: LatentEBMConfig, facts: DataFacts, surrogate: LatentEBMSurrogate,
    opt_main: torch.optim.Optimizer, opt_prior: torch.optim.Optimizer | None, dev: torch.device,
) -> tuple[int, int, dict[str, Any]]:
    saved, saved_cfg, state, history = load_checkpoint(ckpt, dev)
    if to_dict(saved_cfg.model) != to_dict(cfg.model) or to_dict(saved_cfg.prior) != to_dict(cfg.prior):
        raise ConfigError(f"Cannot resume from {str(ckpt)!r}: its model/prior settings differ from this config.")
    if surrogate_facts(saved) != facts:
        raise ConfigError(f"Cannot resume from {str(ckpt)!r}: it was trained on data of another shape.")
    if state is None or history is None:
        raise ConfigError(f"Cannot resume from {str(ckpt)!r}: it holds weights only, no trainer state.")
    surrogate.load_state_dict(saved.state_dict())
    opt_main.load_state_dict(state["opt_main"])
    if opt_prior is not None and "opt_prior" in state:
        opt_prior.load_state_dict(state["opt_prior"])
    return int(state["epoch"]), int(state["step"]), history
