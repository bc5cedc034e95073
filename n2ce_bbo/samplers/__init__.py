"""Samplers: pure functions that move a batch of independent chains ``[n, d]`` given a log-density or an
objective callable (Langevin, SVGD, gradient ascent, token-logit ascent)."""

from n2ce_bbo.samplers.gradient_ascent import gradient_ascent, smoothed_logits, token_logit_ascent
from n2ce_bbo.samplers.langevin import langevin, log_prob_grad
from n2ce_bbo.samplers.svgd import median_bandwidth, pairwise_sq_dists, svgd, svgd_direction

__all__ = [
    "gradient_ascent", "langevin", "log_prob_grad", "median_bandwidth", "pairwise_sq_dists", "smoothed_logits", "svgd",
    "svgd_direction", "token_logit_ascent",
]
