"""Registers the built-in tasks (imported once by the registry)."""

from __future__ import annotations

from pathlib import Path

from n2ce_bbo.tasks import design_bench as db
from n2ce_bbo.tasks.ehrlich import make_ehrlich
from n2ce_bbo.tasks.registry import register
from n2ce_bbo.tasks.synthetic import SPECS, _factory


def _status(source_fn):  # noqa: ANN001, ANN202
    def status(data_dir: str | Path | None) -> tuple[bool, str]:
        return db.data_status(source_fn, data_dir)

    return status


register("TFBind8-Exact-v0", db.make_tfbind8, kind="discrete", needs_data=True,
         description="DNA 8-mers binding SIX6 (Design-Bench); exact lookup oracle",
         design_shape=(8,), num_classes=4, train_rows=db.TFBIND8_TRAIN_ROWS,
         oracle_note="exact (lookup table)", data_source=_status(db.tfbind8_source))
register("TFBind10-Exact-v0", db.make_tfbind10, kind="discrete", needs_data=True,
         description="DNA 10-mers binding pho4 (Design-Bench); exact lookup oracle; options max_samples, seed "
                     "(of the subset; a run's seed unless given)",
         design_shape=(10,), num_classes=4, train_rows=db.TFBIND10_TRAIN_ROWS,
         oracle_note="exact (lookup table, last occurrence)", data_source=_status(db.tfbind10_source),
         run_seed_option="seed")
register("Superconductor-RandomForest-v0", db.make_superconductor, kind="continuous", needs_data=True,
         description="superconductor critical temperature from 86 element amounts (Design-Bench); options seed, cache_dir",
         design_shape=(86,), train_rows=db.SUPERCON_TRAIN_ROWS,
         oracle_note=db.SUPERCON_ORACLE_NOTE, data_source=_status(db.superconductor_source))

for _spec in SPECS:
    register(_spec.name, _factory(_spec), kind="continuous", needs_data=False,
             description=f"{_spec.function} (d={_spec.dim}, maximised), {_spec.n_samples:,} uniform draws, "
                         f"top {100 - _spec.max_percentile:g}% hidden; options n_samples, seed, max_percentile",
             design_shape=(_spec.dim,), train_rows=_spec.train_rows, oracle_note="exact (closed form, BoTorch)")

register("Ehrlich-Exact-v0", make_ehrlich, kind="discrete", needs_data=False,
         description="Ehrlich function (Stanton et al. 2024), v=20, L=32, c=2 motifs of k=4; known optimum 1.0",
         oracle_note="exact (closed form)")
