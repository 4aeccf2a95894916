"""The examples in the docstrings run and say what they show; every public name has one."""

import doctest
import importlib
import pkgutil

import pytest

import fastrelu

MODULES = sorted(m.name for m in pkgutil.walk_packages(fastrelu.__path__, "fastrelu.") if m.name not in ("fastrelu.__main__", "fastrelu.cli.main"))


@pytest.mark.parametrize("name", ["fastrelu", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failures == 0


@pytest.mark.parametrize("name", fastrelu.__all__)
def test_every_public_name_is_documented_with_an_example(name):
    obj = getattr(fastrelu, name)
    doc = obj.__doc__ or ""
    assert doc.strip(), f"fastrelu.{name} has no docstring"
    if callable(obj) and not isinstance(obj, type) or name in ("Network", "SweepResult"):
        assert ">>>" in doc, f"fastrelu.{name}'s docstring has no example"


def test_import_is_cheap():
    # nothing heavy at import time: no Numba, no compiled kernel, no matplotlib
    import subprocess
    import sys

    code = "import sys, fastrelu; print(sorted(m for m in ('numba', 'matplotlib', 'fastrelu.kernels._c') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_numba_kernel_runs_as_plain_python_for_coverage():
    # NUMBA_DISABLE_JIT=1 turns the kernels into Python, so coverage can see them
    import subprocess
    import sys

    code = (
        "import numpy as np, fastrelu\n"
        "from fastrelu.kernels.agreement import compare\n"
        "net = fastrelu.Network.random(70, seed=1)\n"
        "res = fastrelu.sweep(net, num=3000, backend='numba')\n"
        "print(compare(res, fastrelu.sweep(net, num=3000, backend='numpy')).ok)\n"
    )
    env = {**__import__("os").environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
