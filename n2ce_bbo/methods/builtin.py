"""The built-in methods as one table: name -> where the class lives (imported only when the method is made),
preset overrides of its config defaults, and a one-line description. Listing methods imports no method module
(so neither BoTorch nor CMA)."""

from __future__ import annotations

from typing import Any

_LATENT = "n2ce_bbo.methods.latent_ebm:LatentEBMMethod"
_GRAD = "n2ce_bbo.methods.grad:GradientAscent"

#: ``name -> ("module:Class", preset, description)``.
BUILTIN_METHODS: dict[str, tuple[str, dict[str, Any], str]] = {
    "n2ce": (_LATENT, {"prior": {"objective": "n2ce", "M": 100, "K": 6}},
             "Latent EBM surrogate with a Noisier-NCE prior (M=100, K=6); Langevin sampling of p(z|y*)."),
    "nce": (_LATENT, {"prior": {"objective": "nce", "M": 1, "K": 6}},
            "Latent EBM surrogate with a standard NCE prior (M=1, K=6); Langevin sampling of p(z|y*)."),
    "mle": (_LATENT, {"prior": {"objective": "mle"}},
            "Latent EBM surrogate with a prior trained by short-run-Langevin maximum likelihood."),
    "gaussian": (_LATENT, {"prior": {"objective": "gaussian"}},
                 "Latent-variable surrogate with a plain N(0, I) prior (no EBM); Langevin sampling of p(z|y*)."),
    "grad": (_GRAD, {}, "Gradient ascent on one MLP's prediction (Design-Bench 'Grad')."),
    "grad-ensemble": (_GRAD, {"n_members": 5},
                      "Gradient ascent on the mean of an MLP ensemble (Design-Bench 'gradient ascent, mean ensemble')."),
    "cmaes": ("n2ce_bbo.methods.cmaes:CMAES", {},
              "CMA-ES restarts on an MLP surrogate's prediction (Design-Bench 'CMA-ES')."),
    "bo-qei": ("n2ce_bbo.methods.bo_qei:BOqEI", {},
               "Batch BO: GP on a data subset + qLogEI, proposals labelled by the GP mean (Design-Bench 'BO-qEI')."),
}
