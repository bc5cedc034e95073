"""Training: the latent-EBM surrogate (settings, prior objectives, the alternating trainer, checkpoints) and the
baselines' MLP regressors (``training.regressors``)."""

from n2ce_bbo.training.checkpoint import load_surrogate, save_surrogate
from n2ce_bbo.training.settings import LatentEBMConfig, ModelConfig, PriorConfig, TrainConfig
from n2ce_bbo.training.trainer import train_surrogate

__all__ = [
    "LatentEBMConfig",
    "ModelConfig",
    "PriorConfig",
    "TrainConfig",
    "load_surrogate",
    "save_surrogate",
    "train_surrogate",
]
