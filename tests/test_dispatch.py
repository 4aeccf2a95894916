"""The backend registry: availability, fallback, the environment override, threads."""

import sys

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels import registry as _dispatch


@pytest.fixture
def fresh_registry():
    """Forget imported backends before and after, so a simulated absence is seen and undone."""
    _dispatch._forget()
    yield
    _dispatch._forget()


def _hide(monkeypatch, *modules):
    # None in sys.modules makes `import name` raise ImportError, as if not installed
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_backends_lists_every_backend_with_availability():
    infos = fastrelu.backends()
    assert {"numpy", "numba", "cffi"} <= set(infos)
    for name, info in infos.items():
        assert info.name == name and info.available and info.reason == ""


def test_auto_chooses_by_the_request():
    # exact wherever it is faster (all but tiny layers), else the C kernel
    assert fastrelu.sweep(fastrelu.Network.random(1000, seed=0), num=5).backend == "exact"
    assert fastrelu.sweep(fastrelu.Network.random(2, seed=0), num=5).backend == "cffi"
    # fastrelu.backend names the first choice, before any request is seen
    assert fastrelu.backend == "exact"


def test_missing_numba_falls_back(monkeypatch, fresh_registry):
    # every module of the backend (a module imported before would not import numba again)
    _hide(monkeypatch, "numba", "fastrelu.kernels.dense_numba", "fastrelu.kernels.graph_numba")
    info = fastrelu.backends()["numba"]
    assert not info.available and "numba" in info.reason
    net = fastrelu.Network.random(8, seed=0)
    assert fastrelu.sweep(net, num=5).backend != "numba"
    with pytest.raises(RuntimeError, match="'numba' is not available.*numba"):
        fastrelu.sweep(net, num=5, backend="numba")


def test_missing_c_module_falls_back(monkeypatch, fresh_registry):
    _hide(monkeypatch, "fastrelu.kernels._c", "fastrelu.kernels.dense_c", "fastrelu.kernels.graph_c")
    assert not fastrelu.backends()["cffi"].available
    net = fastrelu.Network.random(8, seed=0)
    assert fastrelu.sweep(net, num=5).backend not in ("cffi",)


def test_only_numpy_left(monkeypatch, fresh_registry):
    _hide(monkeypatch, "numba", "fastrelu.kernels.dense_numba", "fastrelu.kernels.graph_numba", "fastrelu.kernels._c",
          "fastrelu.kernels.dense_c", "fastrelu.kernels.graph_c")
    for name in list(_dispatch._REGISTRY):
        if name != "numpy":
            for kernel in _dispatch._REGISTRY[name].kernels:
                monkeypatch.setattr(kernel, "module_name", "fastrelu.kernels.dense_c")
    assert [n for n, i in fastrelu.backends().items() if i.available] == ["numpy"]
    assert fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=5).backend == "numpy"


def test_import_fastrelu_without_numba_or_c_module():
    import subprocess

    code = (
        "import sys; sys.modules['numba'] = None; sys.modules['fastrelu.kernels._c'] = None\n"
        "import fastrelu\n"
        "net = fastrelu.Network.random(4, seed=0)\n"
        "print(fastrelu.sweep(net, num=3, backend='numpy').backend, fastrelu.backends()['numba'].available)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["numpy", "False"]


def test_env_var_overrides_auto(monkeypatch):
    net = fastrelu.Network.random(8, seed=0)
    for name in fastrelu.backends():
        monkeypatch.setenv("FASTRELU_BACKEND", name)
        assert fastrelu.sweep(net, num=5).backend == name
        # an explicit request still wins over the environment
        assert fastrelu.sweep(net, num=5, backend="numpy").backend == "numpy"


def test_env_var_with_unknown_name(monkeypatch):
    monkeypatch.setenv("FASTRELU_BACKEND", "fortran")
    with pytest.raises(ValueError, match=r"\$FASTRELU_BACKEND must be one of .*'numba'.*got 'fortran'"):
        fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=5)


def test_unknown_backend_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"backend must be one of \['auto', .*'numpy'.*\], got 'gpu'"):
        fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=5, backend="gpu")
    with pytest.raises(TypeError, match="backend must be a str"):
        fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=5, backend=3)


@pytest.mark.parametrize("name", ["numba", "cffi"])
def test_threads_applied_and_restored_even_on_error(monkeypatch, name):
    _, module = _dispatch.select(name)
    before = module.get_num_threads()
    assert before >= 2, "these tests need at least 2 threads to tell a change"
    seen = []

    def failing_kernel(*args):
        seen.append(module.get_num_threads())
        raise RuntimeError("kernel failed")

    monkeypatch.setattr(module, "sweep_kernel", failing_kernel)
    with pytest.raises(RuntimeError, match="kernel failed"):
        fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=5, backend=name, threads=1)
    assert seen == [1]
    assert module.get_num_threads() == before


def test_numba_and_c_openmp_in_one_process():
    # both thread pools alive in one process, used in turn and from threads at once
    from concurrent.futures import ThreadPoolExecutor

    net = fastrelu.Network.random(512, seed=9)
    ref = fastrelu.sweep(net, num=50_001, backend="numpy")

    def run(name):
        return fastrelu.sweep(net, num=50_001, backend=name, threads=2)

    for name in ["numba", "cffi", "numba", "cffi"]:
        np.testing.assert_array_equal(run(name).negative, ref.negative)
    with ThreadPoolExecutor(2) as pool:
        for res in pool.map(run, ["cffi", "numba", "cffi", "numba"]):
            np.testing.assert_array_equal(res.negative, ref.negative)


def test_no_numba_kernel_is_compiled_parallel():
    # Numba's parallel layers hang in a forked process (OpenMP) or abort on concurrent
    # calls (workqueue); the kernels run on fastrelu's threads instead (kernels/threads.py)
    from fastrelu.kernels import walk as exact_deep, walk_numba, exact_numba, dense_numba as numba_kernel

    jitted = [f for m in (numba_kernel, exact_numba, walk_numba, exact_deep) for f in vars(m).values() if hasattr(f, "targetoptions")]
    assert len(jitted) > 10 and not any(f.targetoptions.get("parallel") for f in jitted)


def test_too_many_threads_is_a_clear_error():
    with pytest.raises(ValueError, match="threads must be at most 1024"):
        fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=5, backend="numba", threads=100_000)
    with pytest.raises(ValueError, match="threads must be >= 1"):
        fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=5, threads=0)
