"""The ``fastrelu`` command: every subcommand in a real subprocess on small sizes,
readable outputs, ``bench`` catching a broken backend, one-line errors."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels.registry import ALIASES
from fastrelu.cli.main import EXIT_ERROR, main
from fastrelu.model.slices import random_line

SUBCOMMANDS = ["sweep", "compare", "plot", "bench", "backends"]


def run(args, cwd, env_extra=None, script=None):
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "FASTRELU_DEBUG")}
    env["DISPLAY"] = ":987"  # a display that does not exist: a window would fail
    env.update(env_extra or {})
    cmd = [sys.executable, "-c", script] if script else [sys.executable, "-m", "fastrelu", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def assert_one_line_error(out):
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("fastrelu")
    return lines[0]


# -- every subcommand in a subprocess ----------------------------------------------


def test_no_arguments_runs_the_demo(tmp_path):
    out = run([], tmp_path)
    assert out.returncode == 0, out.stderr
    png = tmp_path / "fastrelu-sweep.png"
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000
    for word in ("points        20,001", "hidden units", "backend", "pairs/s", "slope changes", "y range"):
        assert word in out.stdout


def test_console_script(tmp_path):
    exe = shutil.which("fastrelu") or str(Path(sys.executable).with_name("fastrelu"))
    assert os.path.exists(exe), "the fastrelu console script is not installed"
    out = subprocess.run([exe, "sweep", "--hidden", "4", "--num", "101", "--plot", "s.svg"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "s.svg").read_text().lstrip().startswith("<?xml")


def test_sweep_saves_a_readable_result(tmp_path):
    out = run(["sweep", "--hidden", "16", "--seed", "5", "--start", "-3", "--stop", "3", "--step", "0.5",
               "--backend", "numpy", "--out", "r.npz"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "fastrelu-sweep.png").exists()  # --out alone: no figure
    res = fastrelu.SweepResult.load(tmp_path / "r.npz")
    ref = fastrelu.sweep(fastrelu.Network.random(16, seed=5), -3, 3, 0.5, backend="numpy")
    assert res.network == ref.network and res.backend == "numpy"
    np.testing.assert_array_equal(res.y, ref.y)
    assert "points        13" in out.stdout and f"slope changes {np.count_nonzero(ref.slope_changes)}" in out.stdout


def test_sweep_loaded_network_float32_to_pdf(tmp_path):
    fastrelu.Network.random(6, seed=1).save(tmp_path / "net.npz")
    out = run(["sweep", "--network", "net.npz", "--num", "501", "--dtype", "float32", "--threads", "1",
               "--plot", "f.pdf", "--out", "r.npz", "--no-kinks", "--no-zoom"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "f.pdf").read_bytes().startswith(b"%PDF")
    assert fastrelu.SweepResult.load(tmp_path / "r.npz").dtype == np.float32
    assert "float32" in out.stdout and "net.npz" in out.stdout


def test_plot_a_saved_result(tmp_path):
    fastrelu.sweep(fastrelu.Network.random(5, seed=0), -2, 2, num=401).save(tmp_path / "res.npz")
    out = run(["plot", "res.npz"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "res.png").stat().st_size > 1000
    out = run(["plot", "res.npz", "--plot", "res.svg", "--title", "hello", "--zoom", "-1", "1"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "hello" in (tmp_path / "res.svg").read_text()


def test_compare(tmp_path):
    out = run(["compare", "--hidden", "10", "--seed", "2", "--num", "1001"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "fastrelu-compare.png").stat().st_size > 10_000
    out = run(["compare", "--hidden", "10", "--start", "-5", "--stop", "5", "--step", "0.1", "--plot", "c.svg"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "linear twin" in (tmp_path / "c.svg").read_text()


def test_bench_all_backends_agree(tmp_path):
    out = run(["bench", "--num", "3000", "--hidden", "64", "--repeat", "1"], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    for name, info in fastrelu.backends().items():
        assert any(row.startswith(name) for row in out.stdout.splitlines()), name
        if info.available:
            assert f"{name} " in out.stdout and "DISAGREES" not in out.stdout
    assert "vs numpy" in out.stdout and "pairs/s" in out.stdout


BROKEN = """
import sys
sys.path.insert(0, {folder!r})
from fastrelu.kernels.registry import register
from fastrelu.kernels.params import one_layer
register("broken", "dense", "numpy", "deliberately wrong at one point", [("brokenkernel", "one_layer", one_layer)])
from fastrelu.cli.main import EXIT_ERROR, main
sys.exit(main(["bench", "--num", "2000", "--hidden", "50", "--repeat", "1"]))
"""

BROKEN_KERNEL = """
from fastrelu.kernels import dense_numpy as _reference


def sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative):
    _reference.sweep_kernel(x, w1, b1, w2, b2, c, alpha, y, slope, negative)
    {damage}


get_num_threads = _reference.get_num_threads
set_num_threads = _reference.set_num_threads
"""


@pytest.mark.parametrize("damage, verdict", [
    ("y[len(y) // 2] += 1e-6", "DISAGREES"),
    ("negative[:] = 0", "DISAGREES"),
    ("raise RuntimeError('kernel exploded')", "FAILED: RuntimeError: kernel exploded"),
])
def test_bench_flags_a_broken_backend(tmp_path, damage, verdict):
    (tmp_path / "brokenkernel.py").write_text(BROKEN_KERNEL.format(damage=damage))
    out = run([], tmp_path, script=BROKEN.format(folder=str(tmp_path)))
    assert out.returncode == 1, out.stdout + out.stderr
    row = next(r for r in out.stdout.splitlines() if r.startswith("broken"))
    assert verdict in row
    assert "Traceback" not in out.stderr and "disagree" in out.stderr
    # the good backends still agree in the same table
    assert all("DISAGREES" not in r for r in out.stdout.splitlines() if r.startswith("numpy"))


def test_backends(tmp_path):
    out = run(["backends"], tmp_path)
    assert out.returncode == 0, out.stderr
    for name in fastrelu.backends():
        assert any(row.startswith(name) for row in out.stdout.splitlines())
    assert "auto chooses" in out.stdout
    out = run(["backends"], tmp_path, env_extra={"FASTRELU_BACKEND": "numpy"})
    assert "auto chooses  numpy" in out.stdout and "$FASTRELU_BACKEND=numpy" in out.stdout


def test_backends_show_both_axes(capsys):
    assert main(["backends"]) == 0
    rows = capsys.readouterr().out.splitlines()
    head = next(r for r in rows if r.startswith("backend "))
    assert head.split()[:4] == ["backend", "algorithm", "engine", "also"]
    for name, info in fastrelu.backends().items():
        row = next(r for r in rows if r.startswith(name + " "))
        assert row.split()[1] == info.algorithm and f" {info.engine} " in row, row
    for alias, name in ALIASES.items():
        assert alias in next(r for r in rows if r.startswith(name + " "))
    assert {info.algorithm for info in fastrelu.backends().values()} == {"dense", "exact"}


def test_backends_by_their_axes(capsys, tmp_path, monkeypatch):
    # the names backend= takes, <algorithm>_<engine>, go to --backend and --backends too
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--hidden", "8", "--num", "11", "--backend", "dense_numpy", "--out", "r.npz"]) == 0
    assert fastrelu.SweepResult.load(tmp_path / "r.npz").backend == "numpy"
    assert "backend       numpy" in capsys.readouterr().out
    assert main(["bench", "--num", "500", "--hidden", "16", "--repeat", "1",
                 "--backends", "dense_numpy,exact,numpy"]) == 0
    rows = capsys.readouterr().out.splitlines()
    table = [r.split()[0] for r in rows[2:]]
    assert table == ["numpy", "exact"], rows  # dense_numpy and numpy are one backend, listed once
    assert all("agrees" in r for r in rows[2:])


@pytest.mark.parametrize("sub", [None, *SUBCOMMANDS])
def test_help_with_an_example(tmp_path, sub):
    out = run(["--help"] if sub is None else [sub, "--help"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "examples:" in out.stdout and "fastrelu" in out.stdout


# -- errors: one line, non-zero, no traceback ------------------------------------------


def test_errors_in_a_subprocess_are_one_line(tmp_path):
    (tmp_path / "notes.npz").write_bytes(b"not a zip file")
    for args, words in [
        (["sweep", "--hidden", "0"], "hidden must be >= 1"),
        (["plot", "missing.npz"], "no such file"),
        (["plot", "notes.npz"], "not a fastrelu result"),
        (["bench", "--num", "zero"], "invalid int value"),
    ]:
        line = assert_one_line_error(run(args, tmp_path))
        assert words in line, line


BAD = [
    (["sweep", "--step", "-1"], "step must be > 0"),
    (["sweep", "--step", "0.1", "--num", "5"], "not allowed with argument"),
    (["sweep", "--start", "1", "--stop", "0"], "stop must be >= start"),
    (["sweep", "--plot", "figure.jpg"], ".png, .svg or .pdf"),
    (["sweep", "--plot", "no/such/folder/f.png"], "no such folder"),
    (["sweep", "--backend", "nope"], "backend must be one of"),
    (["sweep", "--activation", "tanh"], "invalid choice"),
    (["sweep", "--network", "missing.npz"], "no such file"),
    (["sweep", "--network", "x.npz", "--hidden", "3"], "leave them out with --network"),
    (["sweep", "--threads", "0"], "threads must be >= 1"),
    (["sweep", "--dtype", "float16"], "invalid choice"),
    (["sweep", "--hidden", "2.5"], "invalid int value"),
    (["sweep", "--nonsense"], "unrecognized arguments"),
    (["swep"], "invalid choice"),
    (["bench", "--backends", "nope"], "unknown backend 'nope'"),
    (["bench", "--backends", "numpy,dense_x"], "unknown backend 'dense_x'; known: exact, cffi, numba, numpy, dense_c"),
    (["bench", "--repeat", "0"], "--repeat must be >= 1"),
    (["plot"], "required"),
    (["compare", "--zoom", "1"], "expected 2 arguments"),
    # deep networks: --widths, --along, --activation, --outputs
    (["sweep", "--widths", "1,x,1"], "comma-separated layer widths such as 1,64,64,1"),
    (["sweep", "--widths", "1,4"], "at least three widths"),
    (["sweep", "--widths", "1,0,1"], "every width must be >= 1"),
    (["sweep", "--widths", "1,4,1", "--hidden", "3"], "not allowed with argument"),
    (["sweep", "--widths", "2,4,1"], "the network takes 2 inputs: give --along X0 X1"),
    (["compare", "--widths", "3,4,4,1"], "the network takes 3 inputs: give --along X0 X1"),
    (["bench", "--widths", "2,4,1"], "the network takes 2 inputs: give --along X0 X1"),
    (["sweep", "--widths", "2,4,1", "--along", "0,0,0", "1,1,1"], "X0 has 3 numbers but the network takes 2 inputs"),
    (["sweep", "--widths", "2,4,1", "--along", "0,0", "1,1,1"], "X1 has 3 numbers but the network takes 2 inputs"),
    (["compare", "--widths", "2,4,1", "--along", "-1,-1", "1"], "X1 has 1 number but the network takes 2 inputs"),
    (["sweep", "--widths", "2,4,1", "--along", "0,0"], "--along takes two points X0 X1"),
    (["sweep", "--widths", "2,4,1", "--along", "0,0", "1,1", "2,2"], "--along takes two points X0 X1"),
    (["sweep", "--widths", "2,4,1", "--along", "0,a", "1,1"], "X0 must be comma-separated numbers"),
    (["sweep", "--widths", "2,4,1", "--along", "1,1", "1,1"], "x0 and x1 are the same point"),
    (["sweep", "--widths", "2,4,1", "--along"], "expected at least one argument"),
    (["sweep", "--activation", "gelu"], "invalid choice"),
    (["sweep", "--network", "x.npz", "--widths", "1,2,1"], "leave them out with --network"),
    (["sweep", "--network", "x.npz", "--seed", "1"], "leave them out with --network"),
    (["sweep", "--outputs", "a"], "output indices"),
    (["sweep", "--widths", "1,4,3", "--num", "11", "--outputs", "3"], "outputs must be indices of the network's 3 outputs"),
]


@pytest.mark.parametrize("args, words", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_arguments(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTRELU_DEBUG", raising=False)
    code = main(args)
    err = capsys.readouterr().err
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastrelu"), err
    assert words in lines[0], lines[0]
    assert not any(p.suffix in (".png", ".npz") for p in tmp_path.iterdir())  # failed before writing


def test_bad_arguments_fail_before_the_sweep(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    calls = []
    monkeypatch.setattr(sys.modules["fastrelu.cli.main"], "sweep", lambda *a, **k: calls.append(1))  # where the command looks it up
    assert main(["sweep", "--plot", "figure.gif"]) != 0
    assert calls == []


FIGURE_OPTIONS = [
    (["--zoom", "5", "1"], "--zoom LO HI needs finite numbers with LO < HI, got 5 1"),
    (["--zoom", "0", "nan"], "--zoom LO HI needs finite numbers with LO < HI, got 0 nan"),
    (["--dpi", "0"], "--dpi must be a number > 0, got 0"),
    (["--html", "no/such/dir/page.html"], "--html: 'no/such/dir/page.html': no such folder"),
    (["--plot", "no/such/dir/f.png"], "--plot: 'no/such/dir/f.png': no such folder"),
]


@pytest.mark.parametrize("command", ["sweep", "compare", "plot"])
@pytest.mark.parametrize("options, words", FIGURE_OPTIONS, ids=[" ".join(o) for o, _ in FIGURE_OPTIONS])
def test_bad_figure_options_fail_before_any_computation(command, options, words, capsys, tmp_path, monkeypatch):
    # the figure and page come after the sweep: their options are checked before it
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FASTRELU_DEBUG", raising=False)
    calls = []
    # patched where the command looks them up (it imports them at the top of cli/main.py)
    for name in ("sweep", "compare_figure", "open_result"):
        monkeypatch.setattr(sys.modules["fastrelu.cli.main"], name, lambda *a, _name=name, **k: calls.append(_name))
    args = [command, *(["res.npz"] if command == "plot" else ["--hidden", "4", "--num", "11"]), *options]
    assert main(args) == EXIT_ERROR
    out = capsys.readouterr()
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastrelu") and words in lines[0], out.err
    assert calls == [] and out.out == "" and list(tmp_path.iterdir()) == []


def test_help_and_version_return_zero(capsys):
    assert main(["--version"]) == 0
    assert fastrelu.__version__ in capsys.readouterr().out
    assert main(["sweep", "-h"]) == 0
    assert "--hidden" in capsys.readouterr().out


def test_bare_options_go_to_the_demo(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--hidden", "3", "--num", "51"]) == 0
    assert (tmp_path / "fastrelu-sweep.png").exists()
    assert "hidden units  3" in capsys.readouterr().out


def test_main_is_wired_as_the_console_script():
    text = textwrap.dedent(Path(__file__).resolve().parents[1].joinpath("pyproject.toml").read_text())
    assert 'fastrelu = "fastrelu.cli:main"' in text


# -- deep networks: --widths, --activation, --along, --network of any depth -------------

LINE = ([-1.0, -1.0], [1.0, 1.0])


def test_sweep_deep_network_along_a_line(tmp_path):
    out = run(["sweep", "--widths", "2,16,16,3", "--seed", "2", "--along", "-1,-1", "1,1", "--num", "2001",
               "--backend", "numpy", "--out", "r.npz", "--plot", "deep.png"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "deep.png").read_bytes().startswith(b"\x89PNG")
    res = fastrelu.SweepResult.load(tmp_path / "r.npz")
    ref = fastrelu.sweep(fastrelu.Network.random([2, 16, 16, 3], seed=2), along=LINE, num=2001, backend="numpy")
    assert res.network == ref.network and res.network.widths == (1, 16, 16, 3)
    np.testing.assert_array_equal(res.along[0], [-1, -1])
    np.testing.assert_array_equal(res.along[1], [1, 1])
    np.testing.assert_array_equal(res.y, ref.y)
    np.testing.assert_array_equal(res.negative_by_layer, ref.negative_by_layer)
    for words in ("points        2,001  (t from 0 to 1 along the line)", "x0 = (-1, -1)", "x1 = (1, 1)",
                  "widths 2,16,16,3", "2→16×2→3, depth 2, relu, seed 2, float64", "hidden units  32 in all (16+16), 3 outputs",
                  "backend       numpy", "pairs/s, pairs = points x hidden units in all",
                  f"slope changes {np.count_nonzero(ref.slope_changes)}"):
        assert words in out.stdout, (words, out.stdout)


def test_deep_pairs_are_points_times_hidden_units_in_all(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    clock = iter([10.0, 12.0])  # the sweep "takes" 2 s: no timing in the test

    class FakeTime:
        @staticmethod
        def perf_counter():
            return next(clock)

    monkeypatch.setattr(sys.modules["fastrelu.cli.main"], "time", FakeTime)  # the module, not main()
    assert main(["sweep", "--widths", "2,16,16,3", "--along", "-1,-1", "1,1", "--num", "2001", "--backend", "numpy",
                 "--out", "r.npz"]) == 0
    text = capsys.readouterr().out
    assert f"time          2.000 s  ({2001 * 32 / 2:.3g} pairs/s, pairs = points x hidden units in all)" in text


def test_one_input_deep_network_needs_no_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--widths", "1,8,8,1", "--activation", "leaky_relu", "--num", "501", "--backend", "numpy",
                 "--out", "r.npz"]) == 0
    res = fastrelu.SweepResult.load(tmp_path / "r.npz")
    assert res.along is None and res.x[0] == -100.0 and res.x[-1] == 100.0
    assert [str(a) for a in res.network.activations] == ["leaky_relu", "leaky_relu"]
    text = capsys.readouterr().out
    assert "points        501  (x from -100 to 100)" in text and "widths 1,8,8,1" in text and "depth 2" in text
    assert "hidden units  16 in all (8+8), 1 output" in text


def test_one_layer_summary_keeps_its_format(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--widths", "1,8,1", "--num", "11", "--out", "r.npz"]) == 0
    text = capsys.readouterr().out
    assert "hidden units  8  (relu, seed 0, float64)" in text and "widths" not in text
    assert "pairs/s)" in text and "pairs = points" not in text


@pytest.mark.parametrize("name", fastrelu.model.NAMES)
def test_every_activation_name(name, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--widths", "2,4,4,2", "--activation", name, "--along", "0,0", "1,-1", "--num", "21",
                 "--backend", "numpy", "--out", "r.npz"]) == 0
    net = fastrelu.SweepResult.load(tmp_path / "r.npz").network
    assert all(str(a) == name for a in net.activations)
    assert f"depth 2, {name}, seed 0" in capsys.readouterr().out


def test_along_random_is_drawn_from_the_seed(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--widths", "3,8,2", "--seed", "4", "--along", "random", "--num", "11", "--backend", "numpy",
                 "--out", "r.npz"]) == 0
    x0, x1 = np.random.default_rng([4, 1]).standard_normal((2, 3))
    np.testing.assert_array_equal(random_line(3, seed=4), (x0, x1))  # the line the Python API draws
    res = fastrelu.SweepResult.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(res.along[0], x0)
    np.testing.assert_array_equal(res.along[1], x1)
    assert "(random, seed 4)" in capsys.readouterr().out
    # one end given, the other random; a loaded network takes --seed for the random points only
    fastrelu.Network.random([3, 8, 2], seed=4).save(tmp_path / "net.npz")
    assert main(["sweep", "--network", "net.npz", "--seed", "4", "--along", "0,0,0", "random", "--num", "11",
                 "--backend", "numpy", "--out", "r2.npz"]) == 0
    res2 = fastrelu.SweepResult.load(tmp_path / "r2.npz")
    np.testing.assert_array_equal(res2.along[0], [0, 0, 0])
    np.testing.assert_array_equal(res2.along[1], x1)


def test_network_file_of_any_depth(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = fastrelu.Network.random([3, 8, 8, 8, 2], seed=5, activation="relu6")
    net.save(tmp_path / "net.npz")
    assert main(["sweep", "--network", "net.npz", "--along", "0,0,0", "1,2,3", "--num", "101", "--backend", "numpy",
                 "--out", "r.npz"]) == 0
    res = fastrelu.SweepResult.load(tmp_path / "r.npz")
    ref = fastrelu.sweep(net, along=([0, 0, 0], [1, 2, 3]), num=101, backend="numpy")
    np.testing.assert_array_equal(res.y, ref.y)
    text = capsys.readouterr().out
    assert "widths 3,8,8,8,2" in text and "depth 3, relu6, from net.npz" in text
    # a network of several inputs without --along: one line, before any sweep
    assert main(["sweep", "--network", "net.npz", "--num", "11"]) == EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the network takes 3 inputs: give --along X0 X1" in err[0]


def test_negative_numbers_in_along(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--widths", "2,4,1", "--along", "-1e-3,-.5", "-2,+3.5", "--start", "-1", "--num", "5",
                 "--backend", "numpy", "--out", "r.npz"]) == 0
    res = fastrelu.SweepResult.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(res.along[0], [-1e-3, -0.5])
    np.testing.assert_array_equal(res.along[1], [-2.0, 3.5])
    assert res.x[0] == -1.0 and res.x[-1] == 1.0


def test_compare_deep_network(tmp_path):
    out = run(["compare", "--widths", "2,16,16,3", "--along", "-1,-1", "1,1", "--num", "1001", "--backend", "numpy",
               "--activation", "leaky_relu", "--plot", "c.svg"], tmp_path)
    assert out.returncode == 0, out.stderr
    svg = (tmp_path / "c.svg").read_text()
    assert "linear twin (same weights, no leaky_relu)" in svg and "t along the line" in svg and "layer 2" in svg


def test_plot_a_stored_deep_result(tmp_path):
    out = run(["sweep", "--widths", "2,8,8,2", "--along", "random", "--num", "2001", "--backend", "numpy",
               "--out", "deep.zarr", "--chunk", "500", "--no-progress"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "chunks        5 computed now, 5 in all" in out.stdout
    out = run(["plot", "deep.zarr", "--outputs", "1"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "deep.png").stat().st_size > 10_000
    out = run(["plot", "deep.zarr", "--plot", "deep.svg"], tmp_path)
    assert out.returncode == 0, out.stderr
    svg = (tmp_path / "deep.svg").read_text()
    assert "2→8×2→2 ReLU network, along a line" in svg and "output 1" in svg and "layer 2" in svg


def test_bench_deep_network(tmp_path):
    out = run(["bench", "--widths", "2,16,16,3", "--along", "-1,-1", "1,1", "--num", "2000", "--repeat", "1"], tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2,000 points x 32 hidden units in all (widths 2,16,16,3, depth 2, 3 outputs, along a line)" in out.stdout
    assert "DISAGREES" not in out.stdout and "FAILED" not in out.stdout
    rows = out.stdout.splitlines()
    ran = 0
    for name, info in fastrelu.backends().items():
        row = next(r for r in rows if r.startswith(name))
        ran += "agrees" in row
        assert "agrees" in row or "cannot run this network" in row or not info.available, row
    numpy_row = next(r for r in rows if r.startswith("numpy"))
    assert "agrees" in numpy_row and ran >= 2  # numpy and at least the exact backend


def test_threads_printed_are_the_ones_the_sweep_ran_on(capsys, tmp_path, monkeypatch):
    # a --threads run printed the backend's default count (all cores) after it
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--hidden", "16", "--num", "1001", "--backend", "cffi", "--threads", "1"]) == 0
    assert "(1 thread)" in capsys.readouterr().out


def test_dpi_reaches_the_reduction(tmp_path, monkeypatch):
    # --dpi above 300 once drew a figure reduced for 150 dpi: too few columns
    seen = {}
    import fastrelu.plot.figures as figures

    real = figures._columns_for

    def spy(fig, columns):
        seen["columns"] = real(fig, columns)
        return seen["columns"]

    monkeypatch.setattr(figures, "_columns_for", spy)
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--hidden", "16", "--num", "200001", "--dpi", "600", "--plot", "a.png", "--no-kinks"]) == 0
    assert seen["columns"] >= 10 * 600 * 2  # figure width x dpi x oversampling


def test_map_draws_the_regions_of_a_plane(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["map", "--widths", "2,16,16,1", "--pixels", "32"]) == 0
    out = capsys.readouterr().out
    net = fastrelu.Network.random([2, 16, 16, 1], seed=0)
    m = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)))
    assert f"regions       {len(m):,} faces, {m.n_vertices:,} vertices, {m.n_edges:,} edges" in out
    assert (tmp_path / "fastrelu-map.png").stat().st_size > 1000


def test_map_through_a_random_plane_is_the_api_s(tmp_path, capsys, monkeypatch):
    from fastrelu.model.slices import random_plane

    monkeypatch.chdir(tmp_path)
    assert main(["map", "--widths", "6,12,3", "--plane", "random", "--seed", "2", "--plot", "m.svg", "--pixels", "16"]) == 0
    net = fastrelu.Network.random([6, 12, 3], seed=2)
    m = fastrelu.regions(net, plane=random_plane(6, seed=2))
    assert f"regions       {len(m):,} faces" in capsys.readouterr().out
    assert (tmp_path / "m.svg").exists()


@pytest.mark.parametrize("args, words", [
    (["--widths", "3,8,1"], "give --plane X0 X1 X2"),
    (["--widths", "3,8,1", "--plane", "1,2,3", "random"], "--plane takes three points"),
    (["--widths", "3,8,1", "--plane", "1,2,3", "1,2", "0,0,1"], "--plane: X1 has 2 numbers"),
    (["--widths", "3,8,1", "--plane", "0,0,0", "1,1,1", "2,2,2"], "--plane"),
    (["--bounds", "1", "0", "0", "1"], "--bounds"),
    (["--plot", "map.gif"], "--plot"),
    (["--pixels", "1"], "--pixels must be at least 2"),
])
def test_map_bad_arguments_are_one_line(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["map", *args]) == EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err
    assert list(tmp_path.iterdir()) == []
