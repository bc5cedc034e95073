"""Building a latent-EBM surrogate from its settings and the facts of the data it will model.

:func:`build_surrogate` is the one place that turns a :class:`~n2ce_bbo.training.settings.LatentEBMConfig` into
a fresh :class:`~n2ce_bbo.models.latent_ebm.LatentEBMSurrogate`; the trainer and checkpoint loading both use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training.settings import LatentEBMConfig


@dataclass(frozen=True)
class DataFacts:
    """What the surrogate's architecture needs to know about the data.

    Attributes:
        design_dim: d (continuous) or L (tokens).
        is_discrete: token designs.
        num_classes: C for tokens, else ``None``.
        has_bounds: a continuous design box is held.
    """

    design_dim: int
    is_discrete: bool
    num_classes: int | None = None
    has_bounds: bool = False


def data_facts(data: OfflineData) -> DataFacts:
    """The :class:`DataFacts` of offline data."""
    return DataFacts(
        design_dim=data.dim,
        is_discrete=bool(data.is_discrete),
        num_classes=int(data.num_classes) if data.is_discrete and data.num_classes is not None else None,
        has_bounds=(not data.is_discrete) and data.bounds is not None,
    )


def surrogate_facts(surrogate: LatentEBMSurrogate) -> DataFacts:
    """The :class:`DataFacts` a surrogate was built with."""
    return DataFacts(surrogate.design_dim, surrogate.is_discrete, surrogate.num_classes, surrogate.has_bounds)


def build_surrogate(config: LatentEBMConfig, facts: DataFacts) -> LatentEBMSurrogate:
    """A freshly initialised surrogate for ``config`` and the data described by ``facts``
    (initialisation uses torch's global RNG: seed it first)."""
    m = config.model
    return LatentEBMSurrogate(
        facts.design_dim,
        is_discrete=facts.is_discrete,
        num_classes=facts.num_classes,
        latent_dim=m.latent_dim,
        hidden=m.hidden,
        depth=m.depth,
        prior_stages=config.prior.K if config.prior.uses_ebm else 0,
        prior_hidden=m.prior_hidden,
        prior_depth=m.prior_depth,
        share_prior_trunk=m.share_prior_trunk,
        activation=m.activation,
        decoder_std=m.decoder_std,
        y_noise_std=m.y_noise_std,
        value_heads=m.value_heads,
        has_bounds=facts.has_bounds,
        decoder=m.decoder,
    )
