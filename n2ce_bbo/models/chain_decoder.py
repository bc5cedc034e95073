"""A linear-chain (CRF) decoder for token designs: which token may follow which (docs/method.md §2).

The independent decoder ``p_β(x | z) = Π_i softmax(u_i(z))[x_i]`` cannot say that a token may not follow
another, so neither can the model's ELBO. The chain decoder adds pairwise potentials between neighbours::

    p_β(x | z) = exp(s(x)) / Z(z),   s(x) = Σ_{i<L} u_i(z)[x_i] + Σ_{i<L-1} W_i[x_i, x_{i+1}]

with unary logits ``u [n, L, C]`` from the decoder MLP and pair potentials ``W [L-1, C, C]`` (learned, one
``C × C`` table per neighbouring pair; a per-row ``[n, L-1, C, C]`` is accepted too). Everything is exact and
batched, O(L · C²) per row, in log space:

* :func:`chain_log_partition`: ``log Z`` by the forward algorithm (log-sum-exp; differentiable);
* :func:`chain_log_likelihood`: ``log p(x | z) = s(x) - log Z``;
* :func:`chain_marginals`: per-position marginals ``p(x_i = c | z)`` by forward-backward;
* :func:`chain_viterbi`: the most probable sequence ``argmax_x p(x | z)`` (max-product, back-pointers);
* :func:`chain_sample`: exact samples by forward filtering, backward sampling.

:class:`PairPotentials` holds ``W`` (zeros at construction, so a fresh chain decoder is the independent one).
:func:`independent_log_likelihood` is the independent decoder's ``log p(x | z)``, for the same call sites.
Units: log-potentials and log-likelihoods in nats; token ids int64 in ``0..C-1``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: The decoder kinds of ``model.decoder``.
DECODERS = ("independent", "chain")

#: The trainer's Adam step for the pair potentials is this multiple of ``train.lr``. Why: a pair the data never
#: show gets a gradient of one sign only (its model marginal, small once the unary logits are confident), so under
#: Adam its potential falls by about one step a minibatch: at ``lr = 1e-3`` a few thousand minibatches move it by
#: only a couple of nats, too little to rule the pair out (benchmarks/results/dev/chain_decoder_2026-12-04.md).
PAIR_LR_SCALE = 30.0


class PairPotentials(nn.Module):
    """Learned neighbour potentials ``W`` ``[L-1, C, C]`` (``W[i, a, b]``: token ``a`` at ``i``, ``b`` at ``i+1``).

    Args:
        length: L (``L = 1`` holds an empty ``[0, C, C]`` table: the chain is then the independent decoder).
        num_classes: C.

    Starts at zero, where the chain decoder equals the independent one.
    """

    def __init__(self, length: int, num_classes: int) -> None:
        super().__init__()
        self.pair = nn.Parameter(torch.zeros(max(int(length) - 1, 0), int(num_classes), int(num_classes)))

    def forward(self) -> Tensor:
        """``W`` ``[L-1, C, C]``."""
        return self.pair


def _pairs(unary: Tensor, pair: Tensor) -> Tensor:
    """``pair`` as ``[n or 1, L-1, C, C]`` after checking it against ``unary [n, L, C]``."""
    n, length, c = unary.shape
    if pair.dim() == 3:
        pair = pair.unsqueeze(0)
    if pair.dim() != 4 or pair.shape[1:] != (length - 1, c, c) or pair.shape[0] not in (1, n):
        raise ValueError(f"pair potentials {tuple(pair.shape)} do not fit unary logits {tuple(unary.shape)}: "
                         f"expected [{length - 1}, {c}, {c}] or [{n}, {length - 1}, {c}, {c}]")
    return pair


def _forward(unary: Tensor, pair: Tensor) -> list[Tensor]:
    """Forward messages ``alpha_i [n, C]``: ``log Σ_{x_<i} exp(score of x_≤i with x_i = c)``, for ``i < L``."""
    w = _pairs(unary, pair)
    alpha = [unary[:, 0]]
    for i in range(1, unary.shape[1]):
        alpha.append(torch.logsumexp(alpha[-1].unsqueeze(-1) + w[:, i - 1], dim=1) + unary[:, i])
    return alpha


def chain_log_partition(unary: Tensor, pair: Tensor) -> Tensor:
    """``log Z`` ``[n]`` of the chain with unary logits ``unary [n, L, C]`` and potentials ``pair [L-1, C, C]``
    (or ``[n, L-1, C, C]``), by the forward algorithm; differentiable in both."""
    return torch.logsumexp(_forward(unary, pair)[-1], dim=-1)


def chain_score(unary: Tensor, pair: Tensor, x: Tensor) -> Tensor:
    """Unnormalised ``s(x)`` ``[n]`` of the token sequences ``x`` int64 ``[n, L]``."""
    w = _pairs(unary, pair)
    s = unary.gather(-1, x.unsqueeze(-1)).squeeze(-1).sum(dim=-1)
    if x.shape[1] > 1:
        pos = torch.arange(x.shape[1] - 1, device=x.device)
        rows = torch.arange(x.shape[0], device=x.device) if w.shape[0] > 1 else torch.zeros(1, dtype=torch.long,
                                                                                              device=x.device)
        s = s + w[rows.unsqueeze(-1), pos, x[:, :-1], x[:, 1:]].sum(dim=-1)
    return s


def chain_log_likelihood(unary: Tensor, pair: Tensor, x: Tensor) -> Tensor:
    """Exact ``log p(x | z) = s(x) - log Z`` ``[n]`` (nats) of tokens ``x [n, L]``; differentiable."""
    return chain_score(unary, pair, x) - chain_log_partition(unary, pair)


def independent_log_likelihood(logits: Tensor, x: Tensor) -> Tensor:
    """``Σ_i log softmax(logits_i)[x_i]`` ``[n]`` (nats): the independent decoder's ``log p(x | z)`` for logits
    ``[n, L, C]`` and tokens ``x [n, L]``."""
    return F.log_softmax(logits, dim=-1).gather(-1, x.unsqueeze(-1)).squeeze(-1).sum(dim=-1)


def token_log_likelihood(unary: Tensor, pair: Tensor | None, x: Tensor) -> Tensor:
    """``log p(x | z)`` ``[n]`` of tokens ``x [n, L]``: the chain's with potentials ``pair``, the independent
    decoder's when ``pair`` is ``None``."""
    return independent_log_likelihood(unary, x) if pair is None else chain_log_likelihood(unary, pair, x)


def chain_marginals(unary: Tensor, pair: Tensor) -> Tensor:
    """Per-position marginals ``p(x_i = c | z)`` ``[n, L, C]`` (each row sums to 1), by forward-backward."""
    w = _pairs(unary, pair)
    alpha = _forward(unary, pair)
    length = unary.shape[1]
    beta = [torch.zeros_like(unary[:, 0])]
    for i in range(length - 2, -1, -1):
        beta.append(torch.logsumexp(w[:, i] + (unary[:, i + 1] + beta[-1]).unsqueeze(1), dim=-1))
    beta.reverse()
    log_m = torch.stack(alpha, dim=1) + torch.stack(beta, dim=1)
    return (log_m - torch.logsumexp(log_m, dim=-1, keepdim=True)).exp()


def chain_viterbi(unary: Tensor, pair: Tensor) -> Tensor:
    """The most probable sequence of each row, ``argmax_x s(x)``: int64 ``[n, L]`` (ties: the lowest token)."""
    w = _pairs(unary, pair)
    n, length, _ = unary.shape
    delta = unary[:, 0]
    back = []
    for i in range(1, length):
        best, arg = (delta.unsqueeze(-1) + w[:, i - 1]).max(dim=1)  # over the previous token: [n, C]
        back.append(arg)
        delta = best + unary[:, i]
    out = torch.empty(n, length, dtype=torch.long, device=unary.device)
    out[:, -1] = delta.argmax(dim=-1)
    for i in range(length - 2, -1, -1):
        out[:, i] = back[i].gather(1, out[:, i + 1 : i + 2]).squeeze(1)
    return out


def chain_sample(unary: Tensor, pair: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Exact samples ``x ~ p(x | z)``, one per row: int64 ``[n, L]`` (forward filtering, backward sampling)."""
    w = _pairs(unary, pair)
    alpha = _forward(unary, pair)
    n, length, _ = unary.shape
    out = torch.empty(n, length, dtype=torch.long, device=unary.device)

    def draw(logp: Tensor) -> Tensor:
        return torch.multinomial(F.softmax(logp, dim=-1), 1, generator=generator).squeeze(1)

    out[:, -1] = draw(alpha[-1])
    for i in range(length - 2, -1, -1):
        # p(x_i = a | x_{i+1}) ∝ exp(alpha_i[a] + W_i[a, x_{i+1}])
        col = w[:, i].expand(n, -1, -1).gather(2, out[:, i + 1].view(n, 1, 1).expand(n, w.shape[2], 1))
        out[:, i] = draw(alpha[i] + col.squeeze(-1))
    return out
