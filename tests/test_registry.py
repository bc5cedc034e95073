"""The shared registry pieces (n2ce_bbo/registry.py), and listing methods or tasks without importing them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from n2ce_bbo.errors import ConfigError, UnknownMethodError
from n2ce_bbo.registry import Registry, did_you_mean, import_target


def test_did_you_mean() -> None:
    assert did_you_mean("n2cee", ["n2ce", "nce", "mle"]) == " Did you mean 'n2ce', 'nce'?"
    assert did_you_mean("zzz", ["n2ce"]) == ""
    # the prefix fallback, case-insensitive, when nothing is similar enough
    assert did_you_mean("tfbind8", ["TFBind8-Exact-v0", "Branin-Exact-v0"], cutoff=0.9, prefix=5) == (
        " Did you mean 'TFBind8-Exact-v0'?"
    )


def test_import_target() -> None:
    assert import_target("n2ce_bbo.registry:Registry") is Registry
    assert import_target("n2ce_bbo.registry:Registry.add") is Registry.add
    with pytest.raises(ConfigError, match="module:attribute"):
        import_target("n2ce_bbo.registry")
    with pytest.raises(ConfigError, match="no attribute 'Nope'"):
        import_target("n2ce_bbo.registry:Nope")


def test_registry_add_get_remove() -> None:
    reg: Registry[int] = Registry("widget", UnknownMethodError)
    reg.add("one", 1)
    reg.add("two", 2)
    assert reg.get("one") == 1 and list(reg) == ["one", "two"] and reg.items() == [("one", 1), ("two", 2)]
    with pytest.raises(ConfigError, match="Widget 'one' is already registered"):
        reg.add("one", 3)
    reg.add("one", 3, overwrite=True)
    assert reg.get("one") == 3
    with pytest.raises(UnknownMethodError, match=r"Unknown widget 'on'\. Did you mean 'one'\? Known widgets: one, two"):
        reg.get("on")
    reg.remove("one")
    reg.remove("absent")
    assert "one" not in reg and "two" in reg


def test_listing_imports_no_baseline_or_task_module() -> None:
    # The latent-EBM method (torch only) is part of the run path that `import n2ce_bbo` loads; the baselines'
    # modules and the task families stay unimported until used, so listing loads neither BoTorch nor CMA.
    code = (
        "import sys, n2ce_bbo\n"
        "n2ce_bbo.list_methods(); n2ce_bbo.list_tasks()\n"
        "from n2ce_bbo.tasks import task_table; task_table()\n"
        "heavy = [m for m in ('botorch', 'cma', 'gpytorch') if m in sys.modules]\n"
        "lazy = [m for m in ('n2ce_bbo.methods.grad', 'n2ce_bbo.methods.cmaes',\n"
        "                    'n2ce_bbo.methods.bo_qei', 'n2ce_bbo.tasks.synthetic') if m in sys.modules]\n"
        "print(heavy, lazy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "[] []", out.stdout + out.stderr


def test_builtin_methods_resolve_to_method_classes() -> None:
    from n2ce_bbo.methods import get_method, list_methods, register_method
    from n2ce_bbo.methods.base import Method
    from n2ce_bbo.methods.registry import _METHODS

    for name in list_methods():
        assert issubclass(get_method(name).cls, Method)
    register_method("test-by-path", "n2ce_bbo.methods.grad:GradientAscent", {"n_members": 2}, "by path")
    try:
        assert get_method("test-by-path").cls.__name__ == "GradientAscent"
        register_method("test-not-a-method", "n2ce_bbo.registry:Registry")
        with pytest.raises(ConfigError, match="not a subclass"):
            _ = get_method("test-not-a-method").cls
    finally:
        _METHODS.remove("test-by-path")
        _METHODS.remove("test-not-a-method")
