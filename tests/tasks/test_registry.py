"""Registry: make / register / list_tasks / task_table, unknown names, unknown options, missing data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from n2ce_bbo.errors import ConfigError, DataNotFoundError, UnknownTaskError
from n2ce_bbo.tasks import Task, list_tasks, make, register, task_table
from n2ce_bbo.tasks.data_dir import ENV_VAR

BUILTIN = {
    "TFBind8-Exact-v0", "TFBind10-Exact-v0", "Superconductor-RandomForest-v0", "Branin-Exact-v0", "Ackley-Exact-v0",
    "Hartmann6-Exact-v0", "Rosenbrock-Exact-v0", "Ackley50-Exact-v0", "Ehrlich-Exact-v0",
}


def test_list_tasks_has_builtins() -> None:
    infos = {i.name: i for i in list_tasks()}
    assert set(infos) >= BUILTIN
    assert infos["TFBind8-Exact-v0"].kind == "discrete" and infos["TFBind8-Exact-v0"].needs_data
    assert infos["Branin-Exact-v0"].kind == "continuous" and not infos["Branin-Exact-v0"].needs_data
    assert all(i.description for i in infos.values())


def test_unknown_task_lists_close_matches() -> None:
    with pytest.raises(UnknownTaskError, match="Did you mean 'TFBind8-Exact-v0'") as ei:
        make("TFBind8-Exact-v1")
    assert isinstance(ei.value, KeyError)
    with pytest.raises(UnknownTaskError, match="Branin-Exact-v0"):
        make("branin")


def test_unknown_option_is_named() -> None:
    with pytest.raises(ConfigError, match=r"does not accept option\(s\) \['n_sample'\].*n_samples"):
        make("Branin-Exact-v0", n_sample=10)


def test_missing_data_names_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(DataNotFoundError, match=f"{ENV_VAR}.*--data-dir"):
        make("TFBind8-Exact-v0")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        make("TFBind8-Exact-v0", data_dir=tmp_path / "nope")
    with pytest.raises(DataNotFoundError, match=f"no data found in .*{ENV_VAR}"):
        make("TFBind10-Exact-v0", data_dir=tmp_path)


def test_task_table_without_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    rows = {r["name"]: r for r in task_table()}
    assert set(rows) >= BUILTIN
    tf = rows["TFBind8-Exact-v0"]
    assert not tf["data_found"] and "set N2CE_BBO_DATA_DIR or pass --data-dir" in tf["data"]
    assert tf["rows"] == 32_898 and tf["design_shape"] == (8,) and tf["kind"] == "discrete"
    assert rows["TFBind10-Exact-v0"]["rows"] == 4_161_482
    assert "reproduction" in rows["Superconductor-RandomForest-v0"]["oracle"]
    br = rows["Branin-Exact-v0"]
    assert br["data_found"] and br["rows"] == 4_500 and br["shape"] == "2 reals"
    assert rows["Ehrlich-Exact-v0"]["rows"] == make("Ehrlich-Exact-v0").dataset_size
    for key in ("name", "kind", "shape", "rows", "data", "oracle"):
        assert all(key in r for r in rows.values())


def test_task_table_with_data(data_dir: Path) -> None:
    rows = {r["name"]: r for r in task_table(data_dir)}
    for name in ("TFBind8-Exact-v0", "TFBind10-Exact-v0", "Superconductor-RandomForest-v0"):
        assert rows[name]["data_found"], rows[name]
        assert rows[name]["data"].startswith("found")


def test_task_table_env_var(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv(ENV_VAR, str(data_dir))
    assert {r["name"]: r for r in task_table()}["TFBind8-Exact-v0"]["data_found"]


def test_register_custom_and_overwrite() -> None:
    x = np.random.default_rng(0).normal(size=(20, 2))

    def factory(data_dir: object = None, scale: float = 1.0) -> Task:
        return Task.from_arrays(x, scale * x.sum(1), name="tmp-reg")

    register("TmpReg-v0", factory, kind="continuous", description="tmp", needs_data=False)
    try:
        with pytest.raises(ConfigError, match="already registered"):
            register("TmpReg-v0", factory, kind="continuous", description="tmp", needs_data=False)
        register("TmpReg-v0", factory, kind="continuous", description="tmp2", needs_data=False, overwrite=True)
        assert make("TmpReg-v0", scale=2.0).y.max() == pytest.approx(2 * x.sum(1).max(), rel=1e-6)
        row = {r["name"]: r for r in task_table()}["TmpReg-v0"]
        assert row["rows"] == 20 and row["design_shape"] == (2,)
        with pytest.raises(ConfigError, match="kind must be"):
            register("TmpReg2-v0", factory, kind="mixed", description="", needs_data=False)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="data_dir"):
            register("TmpReg3-v0", lambda: None, kind="continuous", description="", needs_data=False)
    finally:
        from n2ce_bbo.tasks import registry

        registry._TASKS.remove("TmpReg-v0")
