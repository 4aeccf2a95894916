"""The package builds where its users are: from its sdist, without a C compiler, with clang.

These build in subprocesses (tens of seconds in all) because a broken build is
invisible to the rest of the suite, which runs against one installed build.
"""

import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels.agreement import compare
from fastrelu.kernels.params import one_layer_params
from fastrelu.utils import config

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run(cmd, **kw):
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def test_sdist_holds_everything_the_build_needs(tmp_path):
    _run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path), str(ROOT)])
    (sdist,) = tmp_path.glob("fastrelu-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {pathlib.PurePosixPath(n).relative_to(pathlib.PurePosixPath(n).parts[0]).as_posix() for n in tar.getnames()}
    for path in ROOT.joinpath("csrc").iterdir():
        if path.suffix in (".c", ".h", ".inc", ".py"):
            assert f"csrc/{path.name}" in names
    assert {"setup.py", "pyproject.toml", "README.md", "LICENSE"} <= names  # MIT asks for its text in every copy
    assert "src/fastrelu/utils/config.py" in names  # build_c.py reads the kernels' constants there


def test_c_sources_hold_no_copy_of_the_config_constants():
    # config.py is the one place of these numbers: a C file that defined one itself
    # could drift from the Numba twin's, and one compiled without them must refuse
    names = "|".join(config.C_CONSTANTS)
    for path in ROOT.joinpath("csrc").iterdir():
        if path.suffix in (".c", ".h", ".inc"):
            assert not re.search(rf"#\s*define\s+({names})\b", path.read_text()), path.name
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    assert cc, "a C compiler is needed"
    for source in ("dense_c.c", "exact_c.c"):
        out = subprocess.run([cc, "-fsyntax-only", "-I", str(ROOT / "csrc"), str(ROOT / "csrc" / source)], capture_output=True, text=True)
        assert out.returncode != 0 and "src/fastrelu/utils/config.py" in out.stderr, (source, out.stderr[-2000:])


def test_install_without_a_c_compiler_falls_back(tmp_path):
    # CC=false: every compile fails, as on a machine with no compiler; the wheel
    # builds without the C kernel, and fastrelu says why cffi is unavailable
    env = {**os.environ, "CC": "false"}
    _run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "-q"], env=env)
    (wheel,) = tmp_path.glob("fastrelu-*.whl")
    site = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel), "-q"])
    code = (
        "import fastrelu\n"
        "info = fastrelu.backends()['cffi']\n"
        "assert not info.available and 'not built' in info.reason, info\n"
        "res = fastrelu.sweep(fastrelu.Network.random(3, seed=0), num=5)\n"
        "assert res.backend != 'cffi'\n"
        "print('ok', res.backend)\n"
    )
    out = _run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(site)}, cwd=tmp_path)
    assert out.stdout.startswith("ok")


def _clang_module(tmp_path):
    """The C kernel built by clang (with OpenMP from libomp), loaded under another name."""
    clang = shutil.which("clang")
    assert clang, "clang is needed (Debian's clang and libomp-dev; .ci/run installs them)"
    build = tmp_path / "clang"
    env = {**os.environ, "CC": clang}
    _run([sys.executable, str(ROOT / "csrc" / "build_c.py"), str(build)], env=env, cwd=ROOT)
    (so,) = build.glob("fastrelu/kernels/_c.*.so")
    spec = importlib.util.spec_from_file_location("_c", so)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_clang_build_agrees_by_the_rounding_rule(tmp_path):
    # clang gets the portable build (no clones, no FMA in its baseline): not the
    # same bits as the Numba twin, but within the rounding bound every backend meets
    mod = _clang_module(tmp_path)
    ffi, lib = mod.ffi, mod.lib
    assert lib.FASTRELU_BUILD_KIND == 0 and lib.FASTRELU_OPENMP == 1
    net = fastrelu.Network.random(777, seed=5)
    ref = fastrelu.sweep(net, num=4001, backend="numpy")
    x = np.array(ref.x)
    w1, b1, w2, b2, c, alpha = one_layer_params(net, np.dtype(np.float64))
    y, slope, negative = np.empty_like(x), np.empty_like(x), np.empty(x.shape, np.int32)

    def ptr(a, kind="double[]"):
        return ffi.from_buffer(kind, a)

    lib.sweep_kernel_f64(ptr(x), x.shape[0], ptr(w1), ptr(b1), ptr(w2), b2, ptr(c), w1.shape[0], alpha,
                         ptr(y), ptr(slope), ptr(negative, "int32_t[]"))
    res = fastrelu.SweepResult(x, y, slope, negative, network=net, backend="clang")
    agreement = compare(res, ref)
    assert agreement.ok, agreement


def test_the_c_module_exports_only_its_init():
    # every other symbol is hidden, so none can clash with another library's
    from fastrelu.kernels import _c

    nm = shutil.which("nm")
    assert nm, "nm (binutils) is needed to read the module's symbols"
    out = _run([nm, "-D", "--defined-only", _c.__file__]).stdout
    names = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert names == {"PyInit__c"}, names
