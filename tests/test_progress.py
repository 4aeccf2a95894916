"""Progress bars of the Python API (``fastrelu.utils.progress``): a long in-memory sweep
shows one on stderr, ``progress=False`` none, and the parts it runs in change no bit."""

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels.agreement import compare
from fastrelu.utils import progress as progress_module


@pytest.fixture
def short(monkeypatch):
    """Every sweep counts as long, and its bar shows at once (a machine's speed plays no part)."""
    monkeypatch.setattr(progress_module, "MIN_PAIRS", 0)
    monkeypatch.setattr(progress_module, "MIN_PART", 100)
    monkeypatch.setattr(progress_module, "DELAY", 0.0)


def _same(a, b):
    for field in ("y", "slope", "negative", "negative_by_layer"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


@pytest.mark.parametrize("backend", ["numpy", "numba", "exact", "cffi"])
def test_a_long_sweep_shows_a_bar_on_stderr_and_the_same_bits(short, capsys, backend):
    net = fastrelu.Network.random([1, 32, 32, 2], seed=0)
    quiet = fastrelu.sweep(net, -3.0, 3.0, num=5001, backend=backend, progress=False)
    assert capsys.readouterr().err == ""
    shown = fastrelu.sweep(net, -3.0, 3.0, num=5001, backend=backend)
    err = capsys.readouterr().err
    assert "fastrelu.sweep" in err and "100%" in err, err
    if backend == "numpy":  # BLAS rounds a block of rows by its shape: within the rounding rule
        assert compare(shown, quiet).ok
    else:
        _same(shown, quiet)


def test_a_plane_sweep_in_parts_keeps_its_pixels(short, capsys):
    net = fastrelu.Network.random([3, 16, 16, 1], seed=1)
    plane = ([0, 0, 0], [1, 0, 0], [0, 1, 1])
    for backend in ("numba", "exact"):
        quiet = fastrelu.sweep(net, plane=plane, num=(60, 40), backend=backend, progress=False)
        shown = fastrelu.sweep(net, plane=plane, num=(60, 40), backend=backend, progress=True)
        assert "fastrelu.sweep" in capsys.readouterr().err
        _same(shown, quiet)


def test_a_quick_sweep_prints_nothing(capsys):
    fastrelu.sweep(fastrelu.Network.random(64, seed=0), num=1000)  # far below MIN_PAIRS: one part, no bar
    assert capsys.readouterr().err == ""


def test_progress_must_be_a_bool_or_none():
    with pytest.raises(TypeError, match="progress must be True, False or None"):
        fastrelu.sweep(fastrelu.Network.random(8, seed=0), num=10, progress="yes")


def test_the_command_lines_no_progress_silences_the_sweeps_bar(short, capsys, tmp_path, monkeypatch):
    from fastrelu.cli.main import main
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--hidden", "32", "--num", "5000", "--out", "r.npz", "--force"]) == 0
    assert "fastrelu.sweep" in capsys.readouterr().err
    assert main(["sweep", "--hidden", "32", "--num", "5000", "--out", "r.npz", "--force", "--no-progress"]) == 0
    assert "fastrelu.sweep" not in capsys.readouterr().err
