"""The chain (linear-CRF) decoder's exact maths against brute-force enumeration on tiny L, C."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from n2ce_bbo.models.chain_decoder import (
    PairPotentials,
    chain_log_likelihood,
    chain_log_partition,
    chain_marginals,
    chain_sample,
    chain_viterbi,
    independent_log_likelihood,
)
from n2ce_bbo.models.latent_ebm import LatentEBMSurrogate
from n2ce_bbo.tasks.base import OfflineData
from n2ce_bbo.training import train_surrogate
from n2ce_bbo.training.builder import DataFacts, build_surrogate
from n2ce_bbo.training.checkpoint import load_checkpoint, save_surrogate
from n2ce_bbo.training.settings import LatentEBMConfig, ModelConfig, PriorConfig

pytestmark = pytest.mark.usefixtures("one_thread")


def _all_sequences(length: int, c: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(c), repeat=length)), dtype=torch.long)


def _brute(unary: torch.Tensor, pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every sequence ``[S, L]`` and its log-probability under each row ``[n, S]``, by enumeration."""
    n, length, c = unary.shape
    xs = _all_sequences(length, c)
    w = pair if pair.dim() == 4 else pair.unsqueeze(0).expand(n, -1, -1, -1)
    scores = torch.zeros(n, xs.shape[0], dtype=unary.dtype)
    for i in range(length):
        scores += unary[:, i, xs[:, i]]
    for i in range(length - 1):
        scores += w[:, i, xs[:, i], xs[:, i + 1]]
    return xs, scores - torch.logsumexp(scores, dim=1, keepdim=True)


@pytest.mark.parametrize(("length", "c", "per_row"), [(1, 3, False), (2, 2, False), (4, 3, False), (3, 4, True)])
def test_log_partition_likelihood_and_marginals_match_enumeration(length: int, c: int, per_row: bool) -> None:
    g = torch.Generator().manual_seed(length * 10 + c)
    n = 5
    unary = torch.randn(n, length, c, generator=g, dtype=torch.float64) * 2
    shape = (n, length - 1, c, c) if per_row else (length - 1, c, c)
    pair = torch.randn(*shape, generator=g, dtype=torch.float64) * 2
    xs, logp = _brute(unary, pair)
    # log Z: the log-likelihood of every sequence matches, so log Z does too
    for r in range(n):
        ll = chain_log_likelihood(unary[r : r + 1].expand(xs.shape[0], -1, -1),
                                  pair[r] if per_row else pair, xs)
        torch.testing.assert_close(ll, logp[r])
    assert torch.allclose(logp.exp().sum(1), torch.ones(n, dtype=torch.float64))
    full = chain_log_partition(unary, pair)
    s0 = torch.zeros(n, dtype=torch.float64)
    x0 = xs[0]
    for i in range(length):
        s0 += unary[:, i, x0[i]]
    for i in range(length - 1):
        s0 += (pair[:, i] if per_row else pair[i].expand(n, -1, -1))[:, x0[i], x0[i + 1]]
    torch.testing.assert_close(full, s0 - logp[:, 0])
    # marginals
    marg = chain_marginals(unary, pair)
    brute_m = torch.stack([torch.stack([logp.exp()[:, xs[:, i] == k].sum(1) for k in range(c)], -1)
                           for i in range(length)], 1)
    torch.testing.assert_close(marg, brute_m)
    # Viterbi = the argmax
    torch.testing.assert_close(chain_viterbi(unary, pair), xs[logp.argmax(1)])


def test_gradient_of_log_partition_is_the_marginals() -> None:
    g = torch.Generator().manual_seed(3)
    unary = torch.randn(4, 5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    pair = torch.randn(4, 3, 3, generator=g, dtype=torch.float64)
    chain_log_partition(unary, pair).sum().backward()
    assert unary.grad is not None
    torch.testing.assert_close(unary.grad, chain_marginals(unary.detach(), pair))


def test_sampling_frequencies_match_the_probabilities() -> None:
    g = torch.Generator().manual_seed(7)
    length, c, draws = 3, 3, 60_000
    unary = torch.randn(1, length, c, generator=g)
    pair = torch.randn(length - 1, c, c, generator=g) * 1.5
    pair[0, 1, 2] = -50.0  # a banned transition is never sampled
    xs, logp = _brute(unary.double(), pair.double())
    x = chain_sample(unary.expand(draws, -1, -1), pair, generator=torch.Generator().manual_seed(11))
    codes = (x * torch.tensor([c * c, c, 1])).sum(1)
    freq = torch.bincount(codes, minlength=c**length).double() / draws
    p = logp[0].exp()
    # within 5 binomial standard errors everywhere (and exactly 0 where p is ~0)
    assert torch.all((freq - p).abs() <= 5 * (p * (1 - p) / draws).sqrt() + 1e-12)
    assert not bool(((x[:, 0] == 1) & (x[:, 1] == 2)).any())


def test_zero_potentials_are_the_independent_decoder() -> None:
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(6, 4, 5, generator=g)
    x = torch.randint(0, 5, (6, 4), generator=g)
    w = PairPotentials(4, 5)()
    torch.testing.assert_close(chain_log_likelihood(logits, w, x), independent_log_likelihood(logits, x))
    torch.testing.assert_close(chain_viterbi(logits, w), logits.argmax(-1))
    torch.testing.assert_close(chain_marginals(logits, w), torch.softmax(logits, -1))


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        chain_log_partition(torch.zeros(2, 4, 3), torch.zeros(4, 3, 3))


# ---------------------------------------------------------------------------------------------- in the surrogate
def _markov_rows(n: int, length: int, c: int, banned: tuple[int, int], seed: int) -> np.ndarray:
    """``n`` token rows ``[n, L]`` whose neighbours never form the pair ``banned``."""
    rng = np.random.default_rng(seed)
    x = np.empty((n, length), dtype=np.int64)
    x[:, 0] = rng.integers(0, c, n)
    for i in range(1, length):
        nxt = rng.integers(0, c, n)
        clash = (x[:, i - 1] == banned[0]) & (nxt == banned[1])
        nxt[clash] = (banned[1] + 1 + rng.integers(0, c - 1, int(clash.sum()))) % c
        x[:, i] = nxt
    return x


def _chain_surrogate(decoder: str = "chain") -> LatentEBMSurrogate:
    cfg = LatentEBMConfig(model=ModelConfig(latent_dim=3, hidden=16, prior_hidden=8, decoder=decoder),  # type: ignore[arg-type]
                          prior=PriorConfig(K=2))
    torch.manual_seed(0)
    s = build_surrogate(cfg, DataFacts(5, True, 3, False))
    with torch.no_grad():
        for p in s.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return s.eval()


def test_surrogate_uses_the_chain_everywhere_it_decodes() -> None:
    s, ind = _chain_surrogate(), _chain_surrogate("independent")
    assert s.pair_potentials is not None and ind.pair_potentials is None
    x = torch.as_tensor(_markov_rows(40, 5, 3, (0, 1), 0))
    z = torch.randn(40, 3)
    with torch.no_grad():
        unary, pair = s.decode_standardized(z), s.pair_potentials()
        np.testing.assert_array_equal(s.decode_designs(z), chain_viterbi(unary, pair).numpy())
        torch.testing.assert_close(s.decode(z).exp(), chain_marginals(unary, pair))
        mu = s.encode(x)[0]
        _, lp = s.value_and_log_density(x, batch_size=16)
        torch.testing.assert_close(lp, s.log_prior(mu) + chain_log_likelihood(s.decode_standardized(mu), pair, x))
        _, lp_ind = ind.value_and_log_density(x)
        torch.testing.assert_close(lp_ind, ind.log_prior(ind.encode(x)[0]))
    terms = s.elbo_terms(x, torch.zeros(40), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = -chain_log_likelihood(s.decode_standardized(terms["z"]), pair, x).mean()
    torch.testing.assert_close(terms["recon"].detach(), expected)
    terms["recon"].backward()
    assert s.pair_potentials.pair.grad is not None and s.pair_potentials.pair.grad.abs().sum() > 0


def test_the_fitted_chain_learns_a_banned_pair_and_its_score_separates() -> None:
    x = _markov_rows(600, 6, 3, (0, 1), 1)
    y = (x == 2).sum(1).astype(np.float32)[:, None]
    data = OfflineData(x=x, y=y, is_discrete=True, num_classes=3, name="markov")
    cfg = {"model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 16, "decoder": "chain"}, "prior": {"K": 2},
           "train": {"max_steps": 300, "batch_size": 64, "lr": 3e-3}}
    torch.set_num_threads(1)
    s, _ = train_surrogate(data, cfg, seed=100, device="cpu")
    assert s.pair_potentials is not None
    w = s.pair_potentials.pair.detach()
    others = torch.ones(3, 3, dtype=torch.bool)
    others[0, 1] = False
    # the unseen pair is pushed well below every seen one, at every position
    assert bool((w[:, 0, 1] < w[:, others].min(dim=1).values - 1.0).all())
    rng = np.random.default_rng(2)
    cand = rng.integers(0, 3, size=(2000, 6))
    bad = ((cand[:, :-1] == 0) & (cand[:, 1:] == 1)).any(1)
    _, lp = s.value_and_log_density(cand)
    lp_np = lp.numpy()
    # AUC of the design-space score: feasible above infeasible
    auc = (lp_np[~bad][:, None] > lp_np[bad][None, :]).mean()
    assert auc > 0.95
    designs = s.decode_designs(torch.randn(500, 4))
    assert not ((designs[:, :-1] == 0) & (designs[:, 1:] == 1)).any()


def test_checkpoint_round_trip_and_old_checkpoints_decode_independently(tmp_path: Path) -> None:
    cfg = LatentEBMConfig(model=ModelConfig(latent_dim=3, hidden=16, prior_hidden=8, decoder="chain"),
                          prior=PriorConfig(K=2))
    s = _chain_surrogate()
    s.set_data_stats(None, np.arange(6.0))
    t, cfg2, _, _ = load_checkpoint(save_surrogate(s, cfg, tmp_path / "chain"), device="cpu")
    assert cfg2.model.decoder == "chain" and t.pair_potentials is not None
    z = torch.randn(9, 3)
    np.testing.assert_array_equal(s.decode_designs(z), t.decode_designs(z))
    x = _markov_rows(9, 5, 3, (0, 1), 3)
    assert torch.equal(s.value_and_log_density(x)[1], t.value_and_log_density(x)[1])
    # a manifest written before the key existed loads as "independent", whatever the default is
    old_cfg = LatentEBMConfig(model=ModelConfig(latent_dim=3, hidden=16, prior_hidden=8), prior=PriorConfig(K=2))
    old = build_surrogate(old_cfg, DataFacts(5, True, 3, False))
    path = save_surrogate(old, old_cfg, tmp_path / "old")
    manifest = json.loads((path / "config.json").read_text())
    del manifest["config"]["model"]["decoder"]
    (path / "config.json").write_text(json.dumps(manifest))
    loaded, cfg3, _, _ = load_checkpoint(path, device="cpu")
    assert cfg3.model.decoder == "independent" and loaded.pair_potentials is None


def test_a_model_folder_keeps_the_chain_decoder(tmp_path: Path) -> None:
    import n2ce_bbo

    rng = np.random.default_rng(0)
    x = _markov_rows(80, 6, 4, (0, 1), 4)
    seqs = ["".join("ACGT"[t] for t in row) for row in x]
    ys = rng.normal(size=80).tolist()
    config = {"model": {"latent_dim": 4, "hidden": 32, "prior_hidden": 16, "decoder": "chain"}, "prior": {"K": 2},
              "train": {"max_steps": 5, "batch_size": 64}, "rehearsal": {"enabled": False}}
    model = n2ce_bbo.fit((seqs, ys), config=config, device="cpu")
    path = model.save(tmp_path / "m")
    assert json.loads((path / "surrogate" / "config.json").read_text())["config"]["model"]["decoder"] == "chain"
    back = n2ce_bbo.load(path, device="cpu")
    assert back.method.surrogate.pair_potentials is not None
    assert torch.equal(back.method.surrogate.pair_potentials.pair, model.method.surrogate.pair_potentials.pair)


def test_the_rehearsal_keeps_a_positive_weight_only_for_the_chain_on_data_with_structural_zeros() -> None:
    from n2ce_bbo.config import from_dict
    from n2ce_bbo.methods.latent_ebm.config import LatentEBMMethodConfig
    from n2ce_bbo.methods.latent_ebm.rehearsal import _candidate_weights

    rng = np.random.default_rng(5)
    banned = OfflineData(x=_markov_rows(2000, 6, 3, (0, 1), 5), y=np.zeros((2000, 1), np.float32), is_discrete=True,
                         num_classes=3)
    uniform = OfflineData(x=rng.integers(0, 3, (2000, 6)), y=np.zeros((2000, 1), np.float32), is_discrete=True,
                          num_classes=3)
    chain, independent = (from_dict(LatentEBMMethodConfig, {"model": {"decoder": d}}) for d in ("chain", "independent"))
    assert _candidate_weights(chain, banned) == [0.1, 0.3, 1.0]
    assert _candidate_weights(chain, uniform) == [0.0, 0.1, 0.3, 1.0]
    assert _candidate_weights(independent, banned) == [0.0, 0.1, 0.3, 1.0]
