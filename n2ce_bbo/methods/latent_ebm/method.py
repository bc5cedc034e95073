"""The latent-EBM method: train the energy-based latent surrogate, then propose designs by sampling
``p(z | y*)`` in latent space (docs/method.md §2-4).

``fit``: the rehearsal chooses the candidate score's weights and the predictive std's recalibration factor
(:mod:`.rehearsal`), then the surrogate is trained on every row (:func:`~n2ce_bbo.training.trainer.train_surrogate`),
and the design-space value model too when the score gives it a share (:mod:`.design_model`).

``propose(budget)``:

1. ``y*`` = best standardised training score + ``propose.y_star_offset``.
2. Sample: chunks of latent chains towards ``y*``, decoded to designs (:mod:`.chains`); with
   ``design_model.ascent_starts`` on, the design model's gradient-ascent iterates from the best training designs
   join them (:mod:`n2ce_bbo.methods.design_ascent`).
3. Refine: the distinct candidates are scored (:mod:`.scoring`) and a shallow local search in design space adds
   the neighbours of the best (:mod:`.local_search`).
4. Fill: when fewer than ``budget`` candidates are new designs, neighbours of the best ones are added.
5. Select: the top ``budget`` distinct designs as a portfolio of the shallow and a deeper search, spaced apart,
   training designs after every new one.

Token spaces small enough to enumerate (``propose.enumerate_limit``) skip steps 2-5: every design is scored.
The data-derived filters every method's proposals pass (:mod:`~n2ce_bbo.methods.filters`, the ``filters``
section) are applied here while searching: token designs with a neighbouring pair the data never contain although
they would be expected to (a structural zero) are never candidates, and the batch is spaced in step 5.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from n2ce_bbo.errors import IncompatibleModelError
from n2ce_bbo.methods.base import Method, Proposal
from n2ce_bbo.methods.design_ascent import ascent_trajectory
from n2ce_bbo.methods.latent_ebm.chains import chain_stats, sample_designs
from n2ce_bbo.methods.latent_ebm.config import LatentEBMMethodConfig, ProposeConfig, renamed_sections
from n2ce_bbo.methods.latent_ebm.design_model import fit_design_model
from n2ce_bbo.methods.latent_ebm.local_search import CandidatePool, fill, refine, select_portfolio
from n2ce_bbo.methods.latent_ebm.rehearsal import rehearse_score_weight
from n2ce_bbo.methods.latent_ebm.scoring import CandidateScorer, density_stats
from n2ce_bbo.methods.search import token_space_size, top_designs
from n2ce_bbo.methods.selection import RowSet, first_occurrences, select_top, top_indices
from n2ce_bbo.methods.support import PairSupport
from n2ce_bbo.methods.trust_region import TrustRegion, data_radius, fit_trust_region
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.tasks.validation import check_budget
from n2ce_bbo.training.trainer import train_surrogate
from n2ce_bbo.utils import PhaseProgress


class LatentEBMMethod(Method):
    """Energy-based latent surrogate (ELBO + N²CE/NCE/MLE/Gaussian prior) with latent-space sampling.

    Attributes (after :meth:`fit` or :meth:`restore`):
        surrogate: the trained :class:`~n2ce_bbo.models.latent_ebm.LatentEBMSurrogate`.
        history: the trainer's history (losses, step log).
        rehearsal: the rehearsal's outcome (``{"weight": w, ...}``, :func:`.rehearsal.rehearse_score_weight`).
        density_stats: mean and std of the training designs' prior log-density.
        design_model: the design-space value model (:mod:`.design_model`), fitted only when the rehearsal (or the
            single listed ``design_model.weights``) gave it a positive share ``β`` or ``design_model.ascent_starts``
            is positive; else ``None``.
        support: the data's neighbouring-pair support under :attr:`filters` (token designs), or ``None``.
    """

    Config = LatentEBMMethodConfig
    reads_constraints = True
    applies_filters = True

    def __init__(self, config: Any = None, **kwargs: Any) -> None:
        super().__init__(renamed_sections(config) if config is None or isinstance(config, dict) else config,
                         **kwargs)
        self.surrogate: Any = None
        self.history: Any = None
        self.rehearsal: dict[str, Any] = {}
        self.density_stats: tuple[float, float] = (0.0, 1.0)
        self.design_model: Any = None
        self._trust_cache: tuple[tuple[Any, int, float], TrustRegion] | None = None

    @property
    def support(self) -> PairSupport | None:
        """The data's neighbouring-pair support under :attr:`filters` (token designs with ``pair_support``)."""
        return self.data_filters().support

    def fit(self, data: OfflineData) -> None:
        """Choose the score weights by rehearsal (when enabled), then train the surrogate (and the design model, when
        it has a share of the score) on every offline row."""
        self.data = data
        t0 = time.perf_counter()
        self.rehearsal = rehearse_score_weight(data, self.config, seed=self.seed, device=self.device,
                                               verbose=self.verbose, show_progress=self.show_progress)
        self.surrogate, self.history = train_surrogate(
            data, self.config.surrogate, seed=self.seed, device=self.device, verbose=self.verbose,
            show_progress=self.show_progress,
        )
        self.surrogate.std_scale = float(self.rehearsal.get("std_scale", 1.0))  # the rehearsal's recalibration
        self.design_model = self._fit_design_model(data)
        self._prepare_proposals(data)
        self.fit_s = time.perf_counter() - t0

    def _design_weight(self) -> float:
        """``β``, the design model's share of the value term: the rehearsal's choice (records written before the
        design model existed: 0)."""
        return float(self.rehearsal.get("design_weight", 0.0))

    def _fit_design_model(self, data: OfflineData) -> Any:
        """The design model on every row when ``β > 0`` or the design-space ascent is on, else ``None`` (no time
        spent on a model nobody reads)."""
        if self._design_weight() <= 0 and self.config.design_model.ascent_starts <= 0:
            return None
        return fit_design_model(data, self.config.design_model, self.seed, self.device)

    def fit_warm(self, data: OfflineData, previous: LatentEBMMethod) -> None:
        """Refit on ``data`` (the previous rows and new ones) starting from ``previous``'s surrogate, for
        ``train.warm_fraction`` of a cold fit's minibatches (a warm start, :mod:`n2ce_bbo.training.warm`).

        The rehearsal is not rerun: its outcome (the chosen score weights, the std's recalibration and the
        calibration record, all measured on the rows the first rehearsal hid) is ``previous``'s, marked
        ``"reused": True`` with a note saying so. The design model (when ``β > 0``) is refitted on ``data`` from
        scratch: it is an ensemble of small MLPs, cheap beside the surrogate.

        Raises:
            ConfigError: ``previous`` has other model / prior settings or another design shape.
        """
        if previous.surrogate is None:
            raise RuntimeError("fit_warm needs a fitted previous method.")
        self.data = data
        t0 = time.perf_counter()
        self.rehearsal = {**previous.rehearsal, "reused": True}
        self.rehearsal.setdefault("reused_note", "not rerun at a warm refit: the score weight and the calibration "
                                  "are those of the cold fit this refit started from (its rehearsal's hidden rows)")
        self.surrogate, self.history = train_surrogate(
            data, self.config.surrogate, seed=self.seed, device=self.device, verbose=self.verbose,
            show_progress=self.show_progress, progress_desc="warm refit", init_from=previous.surrogate,
        )
        self.surrogate.std_scale = float(self.rehearsal.get("std_scale", 1.0))  # the reused recalibration
        self.design_model = self._fit_design_model(data)
        self._prepare_proposals(data)
        self.fit_s = time.perf_counter() - t0

    def restore(self, data: OfflineData, surrogate: Any, history: dict[str, Any] | None = None,
                rehearsal: dict[str, Any] | None = None, design_model: Any = None) -> None:
        """Make the method ready to propose from a surrogate trained earlier (a saved model), without training.

        Args:
            data: the offline rows the surrogate was trained on.
            surrogate: the trained :class:`~n2ce_bbo.models.latent_ebm.LatentEBMSurrogate`.
            history: its training history.
            rehearsal: the rehearsal's outcome recorded at fit time (``{"weight": w, "design_weight": β, ...}``);
                ``None``: the configured weight and the first listed ``β``.
            design_model: the design model fitted with the surrogate (needed when the rehearsal's ``β > 0``).

        Raises:
            IncompatibleModelError: ``β > 0`` without a design model.
        """
        self.data = data
        self.surrogate = surrogate
        self.history = history or {}
        self.rehearsal = dict(rehearsal) if rehearsal else {
            "enabled": False, "weight": self.config.propose.score_weight(data.is_discrete),
            "design_weight": float(self.config.design_model.weights[0])}
        if self._design_weight() > 0 and design_model is None:
            raise IncompatibleModelError(f"the score gives the design model the share {self._design_weight():g}, but "
                                         "no design model was given (a model folder lacks design_model/).")
        self.design_model = design_model
        # models saved before the recalibration have no factor: their std stays as it was
        self.surrogate.std_scale = float(self.rehearsal.get("std_scale", 1.0))
        self._prepare_proposals(data)

    def _prepare_proposals(self, data: OfflineData) -> None:
        """What proposing needs besides the surrogate: the density statistics (the filters are read from the data
        when first needed, :meth:`~n2ce_bbo.methods.base.Method.data_filters`)."""
        pcfg: ProposeConfig = self.config.propose
        self.density_stats = density_stats(self.surrogate, data.x, pcfg.score_batch)

    def scorer(self) -> CandidateScorer:
        """The candidate scorer of the current settings, rehearsed weight, pair support, constraints and trust
        region."""
        return CandidateScorer(self.surrogate, self.density_stats, self.config.propose, float(self.rehearsal["weight"]),
                               self.support, self.constraints, self.trust_region(), self.design_model,
                               self._design_weight())

    def trust_region(self) -> TrustRegion | None:
        """The distance trust region of ``propose.trust_radius`` around the best training designs (``None``: off).
        Read from the data when first asked for under the current settings (a proposal-time setting may change)."""
        pcfg: ProposeConfig = self.config.propose
        if pcfg.trust_radius is None:
            return None
        key = (pcfg.trust_radius, int(pcfg.trust_anchors), float(pcfg.trust_quantile))
        cached = self._trust_cache
        if cached is None or cached[0] != key:
            data = self._require_fit()
            radius = (data_radius(data, pcfg.trust_anchors, self.config.rehearsal.top_fraction, pcfg.trust_quantile)
                      if pcfg.trust_radius == "auto" else float(pcfg.trust_radius))
            cached = (key, fit_trust_region(data, radius, pcfg.trust_anchors))
            self._trust_cache = cached
        return cached[1]

    def candidate_scores(self, x: np.ndarray, weight: float | None = None) -> np.ndarray:
        """``[n]`` float64 candidate scores of the designs ``x [n, ...]`` (:mod:`.scoring`), with the rehearsed weight
        of the in-distribution score or ``weight``."""
        scorer = self.scorer()
        return (scorer if weight is None else dataclasses.replace(scorer, weight=float(weight))).score(x)

    # ------------------------------------------------------------------------------------------ propose
    def propose(self, budget: int) -> Proposal:
        """Sample latent chains towards ``y*`` and decode them, refine and fill the candidates in design space,
        then select the best ``budget`` distinct designs (training designs last). Small token spaces are searched
        whole instead. Every design honours ``self.constraints``."""
        data = self._require_fit()
        budget = check_budget(budget)
        cfg: ProposeConfig = self.config.propose
        t0 = time.perf_counter()
        scorer = self.scorer()
        exhaustive = self._enumerable(data)
        n_units = None if exhaustive else -(-cfg.n_chains // cfg.chain_chunk)  # chunks of chains: most of the time
        with PhaseProgress("proposing", n_units, enabled=self.show_progress, unit="step") as bar:
            if exhaustive:
                proposal = self._propose_exhaustive(data, budget, scorer)
            else:
                proposal = self._propose_sampled(data, budget, scorer, bar)
            proposal.info["propose_s"] = round(time.perf_counter() - t0, 3)
            bar.note = f"{len(proposal.x)} designs" + (" (exhaustive search)" if exhaustive else "")
        return proposal

    def _enumerable(self, data: OfflineData) -> bool:
        limit = self.config.propose.enumerate_limit
        return bool(data.is_discrete and limit and token_space_size(data.dim, int(data.num_classes or 2)) <= limit)

    def _score_info(self, scorer: CandidateScorer) -> dict[str, Any]:
        return {"score_weight": scorer.weight, "design_weight": scorer.design_weight, "rehearsal": self.rehearsal,
                "n_banned_pairs": None if self.support is None else self.support.n_banned,
                "trust_radius": None if (region := self.trust_region()) is None else region.radius,
                "density_mean": self.density_stats[0], "density_std": self.density_stats[1]}

    def _propose_exhaustive(self, data: OfflineData, budget: int, scorer: CandidateScorer) -> Proposal:
        """Score every design of a small token space and select the batch from the best."""
        cfg: ProposeConfig = self.config.propose
        keep = max(64 * budget, 8192)
        x, scores, n_scored = top_designs(scorer.score, data.dim, int(data.num_classes or 2), keep,
                                          exclude=data.x if cfg.exclude_training else None,
                                          allowed=scorer.allowed if scorer.filters else None,
                                          chunk=max(cfg.score_batch, 65536))
        if not len(x):  # every design is a training row or not allowed: fall back to the allowed training rows
            x = data.x.astype(np.int64)
            x = scorer.keep_allowed(x) if self.constraints is not None else x
            scores = scorer.score(x)
        x_top, s_top = select_top(x, scores, budget, min_hamming=self.data_filters().min_hamming)
        info = {"search": "exhaustive", "n_scored": n_scored, "n_candidates": int(x.shape[0]),
                **self._score_info(scorer)}
        return Proposal(x=x_top, scores=s_top, info=info)

    def _propose_sampled(self, data: OfflineData, budget: int, scorer: CandidateScorer,
                         bar: PhaseProgress) -> Proposal:
        """The sampler path of :meth:`propose` (``bar`` advances once per chunk of chains)."""
        cfg: ProposeConfig = self.config.propose
        y_star = float(self.surrogate.y_max_standardized) + cfg.y_star_offset
        sampled, results = sample_designs(self.surrogate, data, cfg, seed=self.seed, y_star=y_star,
                                          device=self.device, parallel=self.parallel, bar=bar)
        n_decoded_unique = int(first_occurrences(sampled).shape[0])
        pool = CandidatePool(scorer.keep_allowed(scorer.project(sampled)), scorer.score, scorer.keep_allowed,
                             scorer.project)
        train_rows = RowSet(data.x, dtype=pool.x.dtype)  # built once: the training data can have millions of rows
        n_unique_sampled = len(pool)
        n_new_sampled = n_unique_sampled - train_rows.count(pool.x)
        n_from_data = pool.add(self._best_training_designs(data))
        trajectory = self._ascent_trajectory(data)
        ascent = trajectory.reshape(-1, *trajectory.shape[2:])
        n_ascent = pool.add(ascent)
        x_share = self._ascent_picks(trajectory, budget, scorer, train_rows)
        n_refined = refine(pool, data, cfg, rounds=cfg.refine_rounds, top=cfg.refine_top, seed=self.seed,
                           stream="refine")
        n_fill = fill(pool, data, cfg, budget=budget, train_rows=train_rows, seed=self.seed)
        x_top, s_top, n_explored, n_from_explore = select_portfolio(pool, data, cfg, budget=budget - len(x_share),
                                                                    train_rows=train_rows, seed=self.seed,
                                                                    filters=self.data_filters(), taken=x_share)
        if len(x_share):  # one batch: new designs best first, then any training designs
            x_top = np.concatenate([x_share, x_top])
            s_top = np.concatenate([scorer.score(x_share), s_top])
            order = np.lexsort((-s_top, train_rows.mask(x_top) if cfg.exclude_training else np.zeros(len(x_top))))
            x_top, s_top = x_top[order], s_top[order]
        info = {
            "y_star_standardized": y_star,
            "sampler": cfg.sampler.name,
            "n_chains": cfg.n_chains,
            "n_chunks": len(results),
            "n_candidates": int(sampled.shape[0]),
            "n_unique_candidates": n_unique_sampled,
            "n_new_unique_candidates": int(n_new_sampled),
            "n_refine_candidates": n_refined,
            "n_training_designs_as_starts": n_from_data,
            "n_ascent_candidates": n_ascent,
            # designs of the batch the ascent reached (the chains may have found some of them too)
            "n_ascent_designs_in_top": RowSet(ascent, dtype=pool.x.dtype).count(x_top) if len(ascent) else 0,
            "n_ascent_share": len(x_share),
            "n_fill_candidates": n_fill,
            "n_explore_candidates": n_explored,
            "n_designs_from_explore": n_from_explore,
            "n_training_designs_in_top": train_rows.count(x_top),
            "search": "sampler",
            "n_unsupported_decoded": n_decoded_unique - n_unique_sampled,
            **self._score_info(scorer),
            **chain_stats(results),
        }
        return Proposal(x=x_top, scores=s_top, info=info)

    def _ascent_trajectory(self, data: OfflineData) -> np.ndarray:
        """``[steps + 1, starts, ...]``: every iterate of the design model's gradient ascent from the
        ``design_model.ascent_starts`` best training designs, the final ones last (``[0, 0, ...]`` when that is 0).

        Raises:
            IncompatibleModelError: the ascent is on but the method holds no design model (a model fitted with it off).
        """
        dcfg = self.config.design_model
        if dcfg.ascent_starts <= 0:
            return data.x[:0][None]
        if self.design_model is None:
            raise IncompatibleModelError("design_model.ascent_starts is on, but this model was fitted without a "
                                         "design model: refit with design_model.ascent_starts > 0.")
        starts = self._top_training_designs(data, dcfg.ascent_starts)
        return ascent_trajectory(self.design_model, starts, data, n_steps=dcfg.ascent_steps, lr=dcfg.ascent_lr,
                                 device=self.device)

    def _ascent_picks(self, trajectory: np.ndarray, budget: int, scorer: CandidateScorer,
                      train_rows: RowSet) -> np.ndarray:
        """The ``design_model.ascent_share`` of the batch that the ascent's own ranking fills: of ``trajectory
        [steps + 1, starts, ...]``, the final iterates and then the earlier ones, each tier ranked by the design
        model's prediction (the ``grad-ensemble`` baseline's order), allowed by the filters, new designs only,
        spaced as the batch is (strictly: designs too close to the picks are left to the candidate score's part,
        which completes the batch). ``[<= share · budget, ...]``, in that order."""
        n = min(budget, int(round(self.config.design_model.ascent_share * budget)))
        filters = self.data_filters()
        picks = trajectory[0, :0]
        if n == 0 or trajectory.shape[1] == 0:
            return picks
        for tier in (trajectory[-1], trajectory[:-1].reshape(-1, *trajectory.shape[2:])):
            x = RowSet(picks, dtype=tier.dtype).new_rows(scorer.keep_allowed(scorer.project(tier)))
            if self.config.propose.exclude_training:
                x = x[~train_rows.mask(x)]
            if not len(x):
                continue
            got, _ = select_top(x, self.design_model.predict(x), n - len(picks), taken=picks if len(picks) else None,
                                min_hamming=filters.min_hamming, min_distance=filters.min_distance,
                                distance_scale=filters.distance_scale, distinct=True, strict=True)
            picks = np.concatenate([picks, got.astype(picks.dtype)])
            if len(picks) >= n:
                break
        return picks

    def _best_training_designs(self, data: OfflineData) -> np.ndarray:
        """The ``refine_from_data`` best training designs by measured score (starting points of the local search)."""
        return self._top_training_designs(data, self.config.propose.refine_from_data)

    @staticmethod
    def _top_training_designs(data: OfflineData, k: int) -> np.ndarray:
        """The ``min(k, n)`` best training designs by measured score, best first (int64 tokens / float32)."""
        k = min(k, data.n)
        if k == 0:
            return data.x[:0]
        x = data.x[top_indices(data.y.reshape(-1).astype(np.float64), k)]
        return x.astype(np.int64) if data.is_discrete else x.astype(np.float32)
