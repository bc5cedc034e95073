"""The energy-based latent surrogate of designs and values (docs/method.md §2).

Generative model (latent ``z ∈ R^{d_z}``):

* prior ``p_α(z) ∝ N(z; 0, I) · exp(f_α(z))`` with ``f_α`` a K-stage :class:`~n2ce_bbo.models.ebm_prior.EBMPrior`
  (or ``f ≡ 0``: the plain Gaussian prior);
* decoder ``p_β(x | z)``: Gaussian with mean ``g_β(z)`` and fixed std ``decoder_std`` on *standardised*
  continuous designs; tokens: independent categoricals with logits ``[L, C]``, or (``decoder="chain"``) a linear-chain
  CRF, those logits plus neighbour potentials ``W [L-1, C, C]`` (:mod:`~n2ce_bbo.models.chain_decoder`);
* value head ``p_γ(y | z) = N(y; h_γ(z), σ_y²)`` on *standardised* scores;
* encoder ``q_φ(z | x) = N(μ_φ(x), diag exp(logvar_φ(x)))``.

Units: every public method takes designs in their original units (continuous floats ``[n, d]``, or integer
token ids ``[n, L]``), numpy or torch. Scores are standardised ``(y - y_mean) / y_std`` with the training
statistics held as buffers (saved with the weights).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from n2ce_bbo.errors import InvalidDataError
from n2ce_bbo.models import chain_decoder as chain
from n2ce_bbo.models.ebm_prior import EBMPrior
from n2ce_bbo.models.mlp import MLP, TokenInput, make_activation

#: Encoder log-variances are clamped to this range (std between ~2.5e-3 and ~7.4).
LOGVAR_MIN, LOGVAR_MAX = -12.0, 4.0


class LatentEBMSurrogate(nn.Module):
    """Encoder, decoder, value head and (optional) EBM prior over a shared latent space.

    Args:
        design_dim: d (continuous) or L (tokens).
        is_discrete: token designs when True.
        num_classes: C, required for token designs.
        latent_dim: d_z.
        hidden: width of the encoder, decoder and value-head MLPs.
        depth: hidden layers of each of those MLPs.
        prior_stages: K stage networks of the EBM prior; ``0`` means the plain Gaussian prior (``f ≡ 0``).
        prior_hidden: width of the stage networks.
        prior_depth: hidden layers per stage network.
        share_prior_trunk: one trunk with K heads instead of K networks.
        activation: hidden non-linearity.
        decoder_std: std of the Gaussian decoder, in standardised design units (continuous only).
        y_noise_std: σ_y of the value head, in standardised score units.
        value_heads: E independently initialised value heads on the shared latent; ``h`` is their mean, and
            their spread is an uncertainty estimate (see :meth:`value_members`).
        has_bounds: whether a ``[2, d]`` design box is held (continuous); :meth:`decode_designs` clips to it.
        decoder: tokens: ``"independent"`` or ``"chain"`` (plus neighbour potentials ``pair_potentials``, and a
            design-space in-distribution score, :meth:`value_and_log_density`); ignored for continuous designs.

    Attribute ``std_scale`` (float, 1 when built): the factor :meth:`predictive_std` multiplies the std by.
    """

    # buffers (registered in __init__; x_mean, x_std and bounds for continuous designs only)
    y_stats: Tensor
    x_mean: Tensor
    x_std: Tensor
    bounds: Tensor

    def __init__(
        self,
        design_dim: int,
        *,
        is_discrete: bool,
        num_classes: int | None = None,
        latent_dim: int = 16,
        hidden: int = 256,
        depth: int = 2,
        prior_stages: int = 6,
        prior_hidden: int = 64,
        prior_depth: int = 2,
        share_prior_trunk: bool = False,
        activation: str = "silu",
        decoder_std: float = 0.3,
        y_noise_std: float = 0.05,
        value_heads: int = 1,
        has_bounds: bool = False,
        decoder: str = "independent",
    ) -> None:
        super().__init__()
        if decoder not in chain.DECODERS:
            raise InvalidDataError(f"decoder must be one of {chain.DECODERS}, got {decoder!r}")
        if is_discrete and (num_classes is None or num_classes < 2):
            raise InvalidDataError(f"token designs need num_classes >= 2, got {num_classes!r}")
        if design_dim < 1 or latent_dim < 1 or value_heads < 1:
            raise InvalidDataError(
                f"design_dim, latent_dim and value_heads must be >= 1, got {design_dim}, {latent_dim}, {value_heads}"
            )
        self.design_dim = int(design_dim)
        self.is_discrete = bool(is_discrete)
        self.num_classes = int(num_classes) if is_discrete and num_classes is not None else None
        self.latent_dim = int(latent_dim)
        self.decoder_std = float(decoder_std)
        self.y_noise_std = float(y_noise_std)
        # The predictive std's recalibration factor (a plain attribute, not a weight: the fit sets it from its
        # rehearsal and a saved model gets it back from the rehearsal's record; 1 leaves the std as trained).
        self.std_scale = 1.0
        self.has_bounds = bool(has_bounds) and not is_discrete
        d, dz = self.design_dim, self.latent_dim

        self.encoder: nn.Module
        if self.is_discrete:
            c = int(self.num_classes or 0)
            self.encoder = nn.Sequential(
                TokenInput(d, c, hidden), make_activation(activation),
                MLP(hidden, hidden, 2 * dz, depth=max(depth - 1, 0), activation=activation),
            )
            self.decoder = MLP(dz, hidden, d * c, depth=depth, activation=activation)
            self.pair_potentials = chain.PairPotentials(d, c) if decoder == "chain" else None
        else:
            self.encoder = MLP(d, hidden, 2 * dz, depth=depth, activation=activation)
            self.decoder = MLP(dz, hidden, d, depth=depth, activation=activation)
            self.pair_potentials = None
            self.register_buffer("x_mean", torch.zeros(d))
            self.register_buffer("x_std", torch.ones(d))
            if self.has_bounds:
                self.register_buffer("bounds", torch.stack([torch.full((d,), -math.inf), torch.full((d,), math.inf)]))
        self.value_heads = nn.ModuleList(
            [MLP(dz, hidden, 1, depth=depth, activation=activation) for _ in range(int(value_heads))]
        )
        self.prior: EBMPrior | None = (
            EBMPrior(dz, prior_stages, hidden=prior_hidden, depth=prior_depth, shared_trunk=share_prior_trunk,
                     activation=activation)
            if prior_stages > 0 else None
        )
        # (y_mean, y_std, best training y standardised)
        self.register_buffer("y_stats", torch.tensor([0.0, 1.0, 0.0]))

    # ------------------------------------------------------------------ data statistics
    @torch.no_grad()
    def set_data_stats(self, x: np.ndarray | None, y: np.ndarray, bounds: np.ndarray | None = None) -> None:
        """Store standardisation statistics.

        Args:
            x: continuous training designs ``[n, d]`` (ignored for tokens; may be ``None`` then).
            y: training scores ``[n]`` or ``[n, 1]`` (raw units).
            bounds: ``[2, d]`` design box (continuous, only if constructed with ``has_bounds``).
        """
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if y.size == 0 or not np.all(np.isfinite(y)):
            raise InvalidDataError("y must be non-empty and finite to standardise it.")
        mean, std = float(y.mean()), float(y.std())
        std = std if std > 1e-12 else 1.0
        self.y_stats.copy_(torch.tensor([mean, std, (float(y.max()) - mean) / std]))
        if not self.is_discrete:
            if x is None:
                raise InvalidDataError("continuous designs need x to compute their standardisation.")
            xa = np.asarray(x, dtype=np.float64)
            xm, xs = xa.mean(axis=0), xa.std(axis=0)
            xs = np.where(xs > 1e-8, xs, 1.0)
            self.x_mean.copy_(torch.as_tensor(xm, dtype=torch.float32))
            self.x_std.copy_(torch.as_tensor(xs, dtype=torch.float32))
            if self.has_bounds:
                if bounds is None:
                    raise InvalidDataError("this surrogate was built with has_bounds=True but no bounds were given.")
                self.bounds.copy_(torch.as_tensor(np.asarray(bounds, dtype=np.float32)))

    @property
    def y_mean(self) -> float:
        """Training-score mean (raw units)."""
        return float(self.y_stats[0])

    @property
    def y_std(self) -> float:
        """Training-score standard deviation (raw units; 1 for constant scores)."""
        return float(self.y_stats[1])

    @property
    def y_max_standardized(self) -> float:
        """Best training score, standardised."""
        return float(self.y_stats[2])

    def standardize_y(self, y: Any) -> Any:
        """``(y - y_mean) / y_std``; numpy in, numpy out; torch in, torch out."""
        return (y - self.y_mean) / self.y_std

    def unstandardize_y(self, y: Any) -> Any:
        """``y · y_std + y_mean``; numpy in, numpy out; torch in, torch out."""
        return y * self.y_std + self.y_mean

    # ------------------------------------------------------------------ helpers
    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return self.y_stats.device

    def as_designs(self, x: Any, validate: bool = True) -> Tensor:
        """Designs as a tensor on this module's device: int64 ``[n, L]`` tokens or float32 ``[n, d]``.

        ``validate=False`` skips the token-range check (a device sync), for data checked once up front.

        Raises:
            InvalidDataError: wrong rank or width, tokens out of range.
        """
        t = x.to(self.device) if isinstance(x, Tensor) else torch.as_tensor(np.array(x), device=self.device)
        if t.dim() != 2 or t.shape[1] != self.design_dim:
            raise InvalidDataError(f"designs must have shape [n, {self.design_dim}], got {tuple(t.shape)}")
        if self.is_discrete:
            t = t.long()
            if validate and t.numel() and (int(t.min()) < 0 or int(t.max()) >= int(self.num_classes or 0)):
                raise InvalidDataError(f"token ids must lie in 0..{self.num_classes - 1}")  # type: ignore[operator]
            return t
        return t.float()

    # ------------------------------------------------------------------ encoder / decoder / heads
    def encode(self, x: Any) -> tuple[Tensor, Tensor]:
        """``q_φ(z | x)``: designs ``[n, d]`` / tokens ``[n, L]`` (original units) -> ``(mu [n, d_z], logvar [n, d_z])``."""
        return self._encode_tensor(self.as_designs(x))

    def _encode_tensor(self, t: Tensor) -> tuple[Tensor, Tensor]:
        inp = t if self.is_discrete else (t - self.x_mean) / self.x_std
        out = self.encoder(inp)
        mu, logvar = out.chunk(2, dim=-1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    def decode_standardized(self, z: Tensor) -> Tensor:
        """Decoder output: continuous mean in *standardised* units ``[n, d]``; tokens: (unary) logits ``[n, L, C]``."""
        out = self.decoder(z)
        if self.is_discrete:
            return out.reshape(z.shape[0], self.design_dim, int(self.num_classes or 0))
        return out

    def decode(self, z: Tensor) -> Tensor:
        """``z [n, d_z]`` -> continuous: decoder mean in ORIGINAL units ``[n, d]``; tokens: per-position logits
        ``[n, L, C]`` (the chain decoder's are its log-marginals ``log p(x_i | z)``)."""
        out = self.decode_standardized(z)
        if self.pair_potentials is not None:
            return chain.chain_marginals(out, self.pair_potentials()).clamp_min(1e-30).log()
        return out if self.is_discrete else out * self.x_std + self.x_mean

    def token_log_likelihood(self, t: Tensor, z: Tensor) -> Tensor:
        """Exact ``log p_β(x | z)`` ``[n]`` (nats) of tokens ``t`` int64 ``[n, L]`` given latents ``z [n, d_z]``."""
        pair = None if self.pair_potentials is None else self.pair_potentials()
        return chain.token_log_likelihood(self.decode_standardized(z), pair, t)

    @torch.no_grad()
    def decode_designs(self, z: Tensor) -> np.ndarray:
        """Final designs from latents ``z [n, d_z]``: tokens the most probable int64 ``[n, L]`` (argmax; Viterbi for
        the chain decoder); continuous float32 ``[n, d]`` clipped to the design box when one is held."""
        if self.pair_potentials is not None:
            return chain.chain_viterbi(self.decode_standardized(z), self.pair_potentials()).cpu().numpy()
        out = self.decode(z)
        if self.is_discrete:
            return out.argmax(dim=-1).cpu().numpy().astype(np.int64)
        if self.has_bounds:
            out = torch.maximum(torch.minimum(out, self.bounds[1]), self.bounds[0])
        return out.float().cpu().numpy()

    def value_members(self, z: Tensor) -> Tensor:
        """Every value head's prediction ``[E, n]`` (standardised scores)."""
        return torch.stack([head(z).squeeze(-1) for head in self.value_heads])

    def value(self, z: Tensor) -> Tensor:
        """Value ``h_γ(z)``: the mean of the value heads, predicted standardised score ``[n]``."""
        if len(self.value_heads) == 1:
            return self.value_heads[0](z).squeeze(-1)
        return self.value_members(z).mean(dim=0)

    def prior_f(self, z: Tensor) -> Tensor:
        """``f_α(z) = Σ_k f_k(z)`` ``[n]``; identically 0 (still differentiable in ``z``) for the Gaussian prior."""
        if self.prior is None:
            return (z * 0.0).sum(dim=-1)
        return self.prior(z)

    def log_prior(self, z: Tensor, prior_weight: float = 1.0) -> Tensor:
        """Unnormalised ``log p_α(z) = -||z||²/2 + w · f_α(z)`` ``[n]``."""
        return -0.5 * z.square().sum(dim=-1) + prior_weight * self.prior_f(z)

    def log_p_z_given_y(
        self, z: Tensor, y_star: float, value_weight: float = 1.0, prior_weight: float = 1.0
    ) -> Tensor:
        """Unnormalised ``log p(z | y*) = log p_α(z) - value_weight · (y* - h(z))² / (2 σ_y²)`` ``[n]``.

        Args:
            z: latents ``[n, d_z]``.
            y_star: target score, standardised.
            value_weight: weight of the value likelihood.
            prior_weight: weight ``w`` of ``f_α``.
        """
        resid = y_star - self.value(z)
        return self.log_prior(z, prior_weight) - value_weight * resid.square() / (2.0 * self.y_noise_std**2)

    @torch.no_grad()
    def score(self, x: Any, prior_weight: float = 1.0, batch_size: int = 4096) -> Tensor:
        """Design score (docs/method.md §4): ``h_γ(μ(x)) + w · f_α(μ(x))``, standardised units, ``[n]`` (detached).

        Args:
            x: designs ``[n, d]`` / tokens ``[n, L]`` in original units.
            prior_weight: ``w``.
            batch_size: rows per forward pass.
        """
        out = [self.value(mu) + prior_weight * self.prior_f(mu) for _, mu in self._encoded_batches(x, batch_size)]
        return torch.cat(out) if out else torch.zeros(0, device=self.device)

    def _encoded_batches(self, x: Any, batch_size: int) -> Iterator[tuple[Tensor, Tensor]]:
        """``(designs [b, ...], encoder means μ(x) [b, d_z])`` of ``x`` in batches of at most ``batch_size`` rows."""
        t = self.as_designs(x)
        for s in range(0, t.shape[0], batch_size):
            yield t[s : s + batch_size], self._encode_tensor(t[s : s + batch_size])[0]

    @torch.no_grad()
    def value_and_log_density(self, x: Any, batch_size: int = 4096) -> tuple[Tensor, Tensor]:
        """Predicted value and in-distribution score of designs, from one encoding pass (detached).

        Args:
            x: designs ``[n, d]`` / tokens ``[n, L]`` in original units.
            batch_size: rows per forward pass.

        Returns:
            ``(h, log_p)``: ``h = h_γ(μ(x))`` ``[n]`` (standardised score units) and the in-distribution score
            ``log_p`` ``[n]`` (nats, up to ``log Z_α``; high where the training designs lie). Independent (and
            continuous) decoder: the prior log-density at the encoding ``log p_α(μ(x)) = f_α(μ(x)) - ||μ(x)||²/2``.
            Chain decoder: design-space, ``log p_β(x | μ(x)) + log p_α(μ(x))`` (the ELBO's terms at the posterior
            mean), low for a design with a neighbour pair the data never show.
        """
        members, lp = self.heads_and_log_density(x, batch_size)
        return self.head_mean(members), lp

    @torch.no_grad()
    def heads_and_log_density(self, x: Any, batch_size: int = 4096) -> tuple[Tensor, Tensor]:
        """Every value head's prediction at the encoding and the in-distribution score, from one pass (detached).

        Args:
            x: designs ``[n, d]`` / tokens ``[n, L]`` in original units.
            batch_size: rows per forward pass.

        Returns:
            ``(members [E, n], log_p [n])``: ``members[k] = h_k(μ(x))`` (standardised score units; their mean over
            ``k`` is :meth:`value`, computed the same way) and ``log_p`` as in :meth:`value_and_log_density`.
        """
        ms, lps = [], []
        for t, mu in self._encoded_batches(x, batch_size):
            ms.append(self.value_members(mu))
            lp = self.log_prior(mu)
            lps.append(lp if self.pair_potentials is None else lp + self.token_log_likelihood(t, mu))
        if not ms:
            return torch.zeros(len(self.value_heads), 0, device=self.device), torch.zeros(0, device=self.device)
        return torch.cat(ms, dim=1), torch.cat(lps)

    def predictive_std(self, members: Tensor) -> Tensor:
        """Predictive std ``s · sqrt(var_k h_k + σ_y²)`` ``[n]`` (standardised score units) of head predictions
        ``members [E, n]``: the std of the equal mixture of the heads' ``N(h_k, σ_y²)`` (spread taken over the
        ``E`` heads with divisor ``E``; ``σ_y`` alone for one head), times the recalibration factor
        ``s = std_scale`` (1 unless set; the latent-EBM method sets it from its rehearsal)."""
        spread = members.var(dim=0, unbiased=False) if members.shape[0] > 1 else torch.zeros_like(members[0])
        return self.std_scale * (spread + self.y_noise_std**2).sqrt()

    @staticmethod
    def head_mean(members: Tensor) -> Tensor:
        """``h`` from head predictions ``members [E, n]``, exactly as :meth:`value` combines them ``[n]``."""
        return members[0] if members.shape[0] == 1 else members.mean(dim=0)

    # ------------------------------------------------------------------ training terms
    def elbo_terms(self, x: Tensor, y_std: Tensor, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """Minibatch terms of the negative ELBO (each a batch mean; scalar tensors) and the posterior sample.

        Args:
            x: designs ``[n, d]`` / tokens ``[n, L]`` (original units).
            y_std: standardised scores ``[n]``.
            generator: random generator for the reparameterised sample (on this module's device).

        Returns:
            ``recon``: ``-log p_β(x|z)`` up to a constant (continuous: ``Σ_d (x_s - g)² / (2 σ_x²)``;
            tokens: summed cross-entropy, or the chain's exact ``-log p_β(x|z)``); ``value``: ``(y - h(z))² / (2 σ_y²)``;
            ``kl``: ``KL(q ‖ N(0, I))``; ``prior_f``: ``E_q f_α(z)``; ``value_mse``: ``(y - h(z))²``; ``z``: ``[n, d_z]``;
            ``value_pred``: each head's ``h(z)`` ``[k, n]``.
        """
        t = self.as_designs(x, validate=False)
        mu, logvar = self._encode_tensor(t)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + (0.5 * logvar).exp() * eps
        dec = self.decode_standardized(z)
        if self.pair_potentials is not None:
            recon = -chain.chain_log_likelihood(dec, self.pair_potentials(), t).mean()
        elif self.is_discrete:
            recon = F.cross_entropy(dec.reshape(-1, dec.shape[-1]), t.reshape(-1), reduction="sum") / t.shape[0]
        else:
            xs = (t - self.x_mean) / self.x_std
            recon = 0.5 * ((xs - dec) / self.decoder_std).square().sum(dim=-1).mean()
        # Every head fits the data on its own (not their mean), so the heads stay an ensemble.
        sq = (y_std.reshape(1, -1) - (members := self.value_members(z))).square().mean(dim=0)
        kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).sum(dim=-1).mean()
        return {
            "recon": recon,
            "value": sq.mean() / (2.0 * self.y_noise_std**2),
            "value_mse": sq.mean(),
            "kl": kl,
            "prior_f": self.prior_f(z).mean(),
            "z": z, "value_pred": members,
        }
