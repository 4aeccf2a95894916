"""A newcomer's first hour: the stumbles of a first try, each pinned by a test.

Each test is named after what a user now gets; together they follow the numbered
points of the newcomer report (the package root, the license, how parameters print,
what the exact backend's speed means, options a reader can see).
"""

import inspect
import pathlib
import re
import subprocess
import sys
import tomllib

import numpy as np
import pytest
import torch

import fastrelu
from fastrelu.cli.main import main
from fastrelu.model import Activation
from fastrelu.plot import html, sweep_figure
from fastrelu.store import StoredResult

ROOT = pathlib.Path(__file__).resolve().parent.parent


# -- point 1: fastrelu.plot after a bare `import fastrelu` -----------------------------

def test_plot_is_reachable_after_import_fastrelu_alone():
    # a fresh interpreter: no earlier import of fastrelu.plot in this process can hide a miss
    code = "import fastrelu; fastrelu.plot.sweep_figure; fastrelu.plot.html; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


# -- point 10: the license ----------------------------------------------------------------

def test_the_mit_license_is_there_and_shipped():
    text = ROOT.joinpath("LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the fastrelu developers" in text
    project = tomllib.loads(ROOT.joinpath("pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and "LICENSE" in project["license-files"]


# -- point 10: float32 parameters print as the shortest decimal ----------------------------

def test_a_float32_parameter_prints_as_its_shortest_decimal_and_keeps_its_value():
    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.LeakyReLU(0.1), torch.nn.Linear(3, 1))
    net = fastrelu.Network.from_torch(model)
    (act,) = net.activations
    assert net.dtype == np.float32
    assert repr(act) == "Activation('leaky_relu', negative_slope=0.1)"
    assert "0.10000000149011612" not in repr(net)
    # the value held is still exactly the float32 one the network computes with
    assert act.params["negative_slope"] == float(np.float32(0.1)) != 0.1
    assert act.kernel_form(3)[0].tolist() == [float(np.float32(0.1))] * 3


def test_float64_parameters_print_as_before():
    act = Activation("leaky_relu", negative_slope=float(np.float32(0.1)))  # a float64 that is not 0.1
    assert repr(act) == "Activation('leaky_relu', negative_slope=0.10000000149011612)"
    assert repr(Activation("hardtanh", min_val=-0.3, max_val=0.7)) == "Activation('hardtanh', min_val=-0.3, max_val=0.7)"


def test_float32_defaults_still_print_as_the_bare_name():
    net = fastrelu.Network.random([1, 4, 4, 1], activation="leaky_relu", seed=0).astype("float32")
    assert [str(a) for a in net.activations] == ["leaky_relu", "leaky_relu"]
    p = Activation("prelu", weight=0.3).astype("float32")
    assert repr(p) == "Activation('prelu', weight=0.3)" and p.params["weight"] == float(np.float32(0.3))


# -- point 10: the exact backend's speed is in points/s, not pairs/s -----------------------

def _column(table, name, row_name):
    """The cell of ``row_name``'s row under the header ``name`` of a printed table."""
    lines = table.splitlines()
    (head,) = [i for i, line in enumerate(lines) if line.startswith("backend ")]
    starts = [m.start() for m in re.finditer(r"(?:^|(?<=  ))\S", lines[head])]
    k = starts.index(lines[head].index(name))
    (row,) = [line for line in lines[head + 1:] if line.split()[0] == row_name]
    return row[starts[k]:starts[k + 1] if k + 1 < len(starts) else None].strip()


def test_bench_gives_no_pairs_per_second_for_the_exact_backend(capsys):
    assert main(["bench", "--num", "3000", "--hidden", "64", "--repeat", "1", "--backends", "exact,cffi"]) == 0
    out = capsys.readouterr().out
    assert _column(out, "pairs/s", "exact") == "-"
    assert float(_column(out, "points/s", "exact")) > 0
    assert float(_column(out, "pairs/s", "cffi")) > 0 and float(_column(out, "points/s", "cffi")) > 0
    assert "exact" in out.splitlines()[0] and "points/s" in out.splitlines()[0]  # the headline says why


def test_the_sweep_summary_gives_points_per_second_for_the_exact_backend(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--hidden", "64", "--num", "2001", "--backend", "exact", "--out", "r.npz"]) == 0
    (line,) = [s for s in capsys.readouterr().out.splitlines() if s.startswith("time ")]
    assert re.search(r"\(\S+ points/s", line), line
    assert not re.search(r"\d[0-9.e+]* pairs/s", line), line


def test_the_bench_help_says_what_the_speeds_count(capsys):
    assert main(["bench", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "points/s" in text and "pairs/s" in text and "exact" in text


# -- point 10: the options of res.plot() and res.to_html() are visible ----------------------

def _params(function, drop):
    return [(p.name, p.default) for p in inspect.signature(function).parameters.values() if p.name not in drop]


@pytest.mark.parametrize("method", [fastrelu.SweepResult.plot, StoredResult.plot], ids=["SweepResult", "StoredResult"])
def test_plot_methods_take_the_options_of_sweep_figure(method):
    # names and defaults both: a method that drifted from the figure would draw another default
    assert _params(method, {"self"}) == _params(sweep_figure, {"res"})
    doc = inspect.getdoc(method)
    assert "Parameters" in doc and ">>>" in doc
    for name, _ in _params(method, {"self"}):
        assert re.search(rf"\b{name}\b", doc.split("Parameters", 1)[1]), name


def test_to_html_takes_the_options_of_html():
    # a result carries its own line, so html's along= (for a network) is not the method's
    assert _params(fastrelu.SweepResult.to_html, {"self"}) == _params(html, {"net_or_result", "along"})
    doc = inspect.getdoc(fastrelu.SweepResult.to_html)
    assert "Parameters" in doc and ">>>" in doc
    for name, _ in _params(fastrelu.SweepResult.to_html, {"self"}):
        assert re.search(rf"\b{name}\b", doc.split("Parameters", 1)[1]), name


def test_plot_methods_pass_every_option_on():
    res = fastrelu.sweep(fastrelu.Network.random(20, seed=0), -5, 5, num=2001)
    fig = res.plot(kinks=True, title="mine", figsize=(6, 5), dpi=50, columns=100)
    assert fig._suptitle.get_text() == "mine" and tuple(fig.get_size_inches()) == (6, 5) and fig.dpi == 50
    assert any(c.get_gid() == "kinks" for c in fig.axes[0].collections)
    page = res.to_html(title="my page", width=400)
    assert "my page" in page


# -- point 2: the CPU build of torch -----------------------------------------------------

def test_the_readme_says_how_to_get_torch_without_cuda():
    text = ROOT.joinpath("README.md").read_text()
    install = text[:text.index("## Python API")]  # the install section, where the extra is named
    cpu = install.find("pip install torch --index-url https://download.pytorch.org/whl/cpu")
    assert cpu >= 0 and install.find('pip install ".[torch]"', cpu) > cpu  # the CPU wheel first, then the extra


# -- point 4: one default range for sweep, kinks and regions ------------------------------

def test_regions_along_a_line_cover_t_from_0_to_1_as_the_sweep_does():
    net = fastrelu.Network.random([3, 16, 16, 2], seed=1)
    x0, x1 = np.random.default_rng(0).standard_normal((2, 3)) * 20  # far apart: pieces beyond t in [0, 1]
    res = fastrelu.sweep(net, along=(x0, x1))
    r = fastrelu.regions(net, along=(x0, x1))
    assert (r.lo[0], r.hi[-1]) == (res.x[0], res.x[-1]) == (0.0, 1.0)
    assert r.lo.tolist() == fastrelu.regions(net, 0, 1, along=(x0, x1)).lo.tolist()
    t = fastrelu.kinks(net, along=(x0, x1))
    assert t.tolist() == fastrelu.kinks(net, 0, 1, along=(x0, x1)).tolist() and t.size > 0
    # the whole line is one explicit request away, and holds more
    whole = fastrelu.regions(net, -np.inf, np.inf, along=(x0, x1))
    assert (whole.lo[0], whole.hi[-1]) == (-np.inf, np.inf) and len(whole) > len(r)


@pytest.mark.parametrize("widths", [[1, 200, 1], [1, 32, 32, 1]], ids=["one layer", "deep"])
def test_kinks_and_regions_of_a_scalar_network_cover_the_sweeps_default_range(widths):
    rand = fastrelu.Network.random(widths, seed=2)
    # biases scaled up so that kinks lie beyond the default range too
    net = fastrelu.Network.from_layers([(w, 300 * b) for w, b in rand.layers], rand.activations)
    res = fastrelu.sweep(net)
    k = fastrelu.kinks(net)
    r = fastrelu.regions(net)
    assert (r.lo[0], r.hi[-1]) == (res.x[0], res.x[-1]) == (-100.0, 100.0)
    assert k.min() >= -100 and k.max() <= 100 and len(r) == k.size + 1
    whole = fastrelu.kinks(net, -np.inf, np.inf)
    assert whole.size > k.size and np.abs(whole).max() > 100  # this network has kinks beyond the default range


def test_the_default_range_is_stated_once():
    from fastrelu.model import slices
    doc = inspect.getdoc(fastrelu.regions) + inspect.getdoc(fastrelu.kinks)
    assert doc.count("-100 to 100") == 2 and doc.count("t from 0 to 1") == 2 and doc.count("np.inf") >= 2
    assert slices.DEFAULT_RANGE == (-100.0, 100.0) and slices.DEFAULT_LINE_RANGE == (0.0, 1.0)
    readme = ROOT.joinpath("README.md").read_text()
    assert "`kinks` and `regions` cover the same default range" in readme


# -- point 3: a Numba compile on a default path is announced and timed apart ---------------

def _cli(args, cwd, env):
    return subprocess.run([sys.executable, "-m", "fastrelu", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env)


def test_a_first_deep_exact_sweep_announces_its_compile_once_and_times_it_apart(tmp_path):
    import os
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache"), "FASTRELU_NUMBA_CACHE": "1"}
    # the deep exact walk (the default path) now has its C twin: nothing to compile there
    exact = _cli(["sweep", "--widths", "1,16,16,1", "--num", "1001", "--backend", "exact", "--out", "e.npz", "--force"],
                 tmp_path, env)
    assert exact.returncode == 0 and "compiling" not in exact.stderr, exact.stderr
    # where a compile still happens (the Numba backend asked for), it is announced once and timed apart
    args = ["sweep", "--widths", "1,16,16,1", "--num", "1001", "--backend", "numba", "--out", "r.npz", "--force"]
    first = _cli(args, tmp_path, env)
    assert first.returncode == 0, first.stderr
    announced = [line for line in first.stderr.splitlines() if "compiling" in line]
    assert len(announced) == 1 and "once" in announced[0] and "cached for next time" in announced[0], first.stderr
    out = first.stdout.splitlines()
    (compile_line,) = [s for s in out if s.startswith("compile ")]
    (time_line,) = [s for s in out if s.startswith("time ")]
    assert float(compile_line.split()[1]) > 0 and out.index(compile_line) == out.index(time_line) + 1
    # the next run reads Numba's cache: silent, and no compile to report
    second = _cli(args, tmp_path, env)
    assert second.returncode == 0, second.stderr
    assert "compiling" not in second.stderr and not any(s.startswith("compile ") for s in second.stdout.splitlines())


# -- point 6: the sweep's time is the computation's; writing is said and timed apart ---------

def test_writing_a_result_is_announced_and_timed_apart_from_the_sweep(tmp_path, monkeypatch, capsys):
    import importlib
    import types
    cli_figures = importlib.import_module("fastrelu.cli.figures")
    cli_main = importlib.import_module("fastrelu.cli.main")  # the module: fastrelu.cli.main is also the function
    clock = [0.0]
    fake = types.SimpleNamespace(perf_counter=lambda: clock[0])
    monkeypatch.setattr(cli_main, "time", fake)
    monkeypatch.setattr(cli_figures, "time", fake)
    monkeypatch.setattr(cli_figures, "BIG_FILE", 1000)  # this small result counts as big
    real_sweep, real_save = cli_main.sweep, fastrelu.SweepResult.save

    def sweep(*a, **kw):  # the computation takes 2 s on the fake clock, writing 100 s
        assert "out" not in kw  # an .npz is written after the sweep, not inside its timing
        clock[0] += 2.0
        return real_sweep(*a, **kw)

    def save(self, path):
        assert "writing r.npz (" in capsys.readouterr().err  # said before the file is written
        clock[0] += 100.0
        real_save(self, path)

    monkeypatch.setattr(cli_main, "sweep", sweep)
    monkeypatch.setattr(fastrelu.SweepResult, "save", save)
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--hidden", "10", "--num", "1001", "--backend", "numpy", "--out", "r.npz"]) == 0
    out = capsys.readouterr().out.splitlines()
    (time_line,) = [s for s in out if s.startswith("time ")]
    (result,) = [s for s in out if s.startswith("result ")]
    assert time_line.split()[1] == "2.000" and "pairs/s" in time_line
    assert re.search(r"\(\d[\d.]* kB, written in 100\.000 s\)", result), result
    assert fastrelu.SweepResult.load(tmp_path / "r.npz").y.shape == (1001,)


# -- point 7: nothing is overwritten silently ---------------------------------------------------

@pytest.mark.parametrize("args, option", [
    (["sweep", "--hidden", "8", "--num", "101", "--plot", "f.png"], "--plot"),
    (["sweep", "--hidden", "8", "--num", "101", "--out", "r.npz"], "--out"),
    (["sweep", "--hidden", "8", "--num", "101", "--plot", "f.png", "--html", "p.html"], "--html"),
    (["compare", "--hidden", "8", "--num", "101", "--plot", "c.svg"], "--plot"),
    (["map", "--widths", "2,6,1", "--pixels", "20", "--plot", "m.png"], "--plot"),
], ids=["figure", "result", "page", "compare", "map"])
def test_an_existing_file_is_replaced_only_with_force(args, option, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    name = args[args.index(option) + 1]
    (tmp_path / name).write_bytes(b"another command's file")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{option}: {name} exists; --force replaces it" in err and len(err.splitlines()) == 1
    assert (tmp_path / name).read_bytes() == b"another command's file"  # untouched, and refused before the work
    assert main([*args, "--force"]) == 0
    assert (tmp_path / name).read_bytes() != b"another command's file"


def test_the_plot_of_a_saved_result_does_not_replace_an_existing_figure(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", "--hidden", "8", "--num", "101", "--out", "r.npz"]) == 0
    assert main(["plot", "r.npz"]) == 0 and (tmp_path / "r.png").exists()
    capsys.readouterr()
    assert main(["plot", "r.npz"]) == 2 and "r.png exists; --force" in capsys.readouterr().err
    assert main(["plot", "r.npz", "--force"]) == 0


def _written(command):
    """The figures a command line of an example names: --plot, and the one ``fastrelu plot
    RESULT`` derives from its argument."""
    words = command.split()
    named = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "--plot"]
    if words[1:2] == ["plot"] and "--plot" not in words:
        named.append(words[2].rstrip("/").rsplit(".", 1)[0] + ".png")
    return named


def test_no_two_help_examples_write_the_same_named_figure(capsys):
    seen = {}
    for sub in ("sweep", "compare", "plot", "map", "bench", "backends"):
        main([sub, "--help"])
        text = capsys.readouterr().out
        for line in text.split("examples:", 1)[1].splitlines():
            for command in line.split("#")[0].split("&&"):
                command = command.strip()
                if command.startswith("fastrelu"):
                    for name in _written(command):
                        assert name not in seen or seen[name] == command, (name, seen.get(name), command)
                        seen[name] = command
    assert "deep.png" in seen and "deep-outputs.png" in seen


# -- point 8: points from .npy files, and what to do with a PyTorch model file ---------------

def test_along_reads_npy_files_and_rows_of_a_data_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    images = np.random.default_rng(0).random((5, 8, 8))  # five 8x8 "images": rows of 64 inputs
    np.save("images.npy", images)
    np.save("zero.npy", np.zeros(64))
    net = fastrelu.Network.random([64, 16, 3], seed=0)
    net.save("net.npz")
    assert main(["sweep", "--network", "net.npz", "--along", "zero.npy", "images.npy:3", "--num", "101",
                 "--out", "a.npz"]) == 0
    res = fastrelu.SweepResult.load("a.npz")
    np.testing.assert_array_equal(res.along[0], np.zeros(64))
    np.testing.assert_array_equal(res.along[1], images[3].ravel())
    assert main(["sweep", "--network", "net.npz", "--along", "images.npy:0", "images.npy:-1", "--num", "101",
                 "--out", "b.npz"]) == 0
    np.testing.assert_array_equal(fastrelu.SweepResult.load("b.npz").along[1], images[-1].ravel())
    capsys.readouterr()
    # and the plane's points too
    assert main(["map", "--network", "net.npz", "--plane", "images.npy:0", "images.npy:1", "zero.npy",
                 "--pixels", "20", "--plot", "m.png"]) == 0


@pytest.mark.parametrize("along, words", [
    (["images.npy", "zero.npy"], "images.npy holds 5 rows; name one as images.npy:ROW"),
    (["zero.npy", "images.npy:5"], "names row '5', but images.npy has rows 0 to 4"),
    (["zero.npy", "missing.npy"], "cannot read X1 from 'missing.npy'"),
    (["zero.npy", "short.npy"], "X1 has 3 numbers but the network takes 64 inputs"),
])
def test_bad_npy_points_are_one_line_errors(along, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    np.save("images.npy", np.zeros((5, 64)))
    np.save("zero.npy", np.zeros(64))
    np.save("short.npy", np.zeros(3))
    fastrelu.Network.random([64, 4, 1], seed=0).save("net.npz")
    assert main(["sweep", "--network", "net.npz", "--along", *along, "--out", "a.npz"]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("name", ["model.pt", "model.npz"], ids=["named as torch", "a torch file named .npz"])
def test_a_pytorch_model_file_says_how_to_convert_it(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)), name)
    for command in (["sweep", "--network", name], ["map", "--network", name]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert "fastrelu.Network.from_torch(model).save('net.npz')" in err and len(err.splitlines()) == 1, err
    main(["sweep", "--help"])
    assert "Network.from_torch(model).save('net.npz')" in "".join(capsys.readouterr().out.split())  # argparse may break the long word


# -- point 5: bench says what it is doing -----------------------------------------------------

def test_bench_announces_every_stage_before_it_runs(monkeypatch, capsys):
    import importlib
    bench = importlib.import_module("fastrelu.cli.bench")
    seen = []  # (what ran, the stderr printed before it)
    real_compare, real_sweep = bench.check_part, bench.sweep

    def compare(res, tol):
        seen.append(("compare", capsys.readouterr().err))
        return real_compare(res, tol)

    def sweep(*a, **kw):
        seen.append(("sweep " + kw["backend"], capsys.readouterr().err))
        return real_sweep(*a, **kw)

    monkeypatch.setattr(bench, "check_part", compare)
    monkeypatch.setattr(bench, "sweep", sweep)
    assert main(["bench", "--num", "2000", "--hidden", "32", "--repeat", "2", "--backends", "exact,numba"]) == 0
    # each backend's first sweep and each check come right after a line saying so
    sweeps = {what: err for what, err in seen if err and what != "compare"}
    assert sweeps.keys() == {"sweep numpy", "sweep exact", "sweep numba"}
    for what, err in sweeps.items():
        assert f"bench: {what.split()[1]}" in err and "timed run" in err, (what, err)
    checks = [err for what, err in seen if what == "compare"]
    assert len(checks) == 2, checks
    for name, err in zip(("exact", "numba"), checks):
        assert f"bench: {name}: checking every point against the numpy reference" in err, err
    # the other calls (the timed runs) follow within the announced stage
    assert len(seen) == 3 * (1 + 2) + 2  # three backends (the reference too): one untimed and two timed runs; two checks


def test_bench_no_progress_is_silent_on_stderr(capsys):
    assert main(["bench", "--num", "2000", "--hidden", "32", "--repeat", "1", "--backends", "exact", "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "exact" in captured.out


def test_bench_checks_in_parts_with_the_verdict_of_one_check(monkeypatch):
    import dataclasses
    import importlib
    bench = importlib.import_module("fastrelu.cli.bench")
    from fastrelu.kernels.agreement import compare
    monkeypatch.setattr(bench, "CHECK_MIN", 500)
    net = fastrelu.Network.random([2, 16, 16, 3], seed=0)
    ref = fastrelu.sweep(net, along=([-1, -1], [1, 1]), num=12_001, backend="numpy")
    good = fastrelu.sweep(net, along=([-1, -1], [1, 1]), num=12_001, backend="exact")
    y = good.y.copy()
    y[[5, 7000, 11_999]] += 1e-3  # three points off, in three parts
    bad = fastrelu.SweepResult(good.x, y, good.slope, good.negative, network=good.network, backend=good.backend,
                               negative_by_layer=good.negative_by_layer, along=good.along)
    for res in (good, bad, ref):
        whole = compare(res, ref)
        parts = bench.check(res, bench.reference(ref, "test", progress=False))
        assert dataclasses.asdict(parts) == dataclasses.asdict(whole)
    tols = bench.reference(ref, "test", progress=False)
    assert not bench.check(bad, tols).ok
    assert bench.check(bad, tols).y_errors == 3
    # a plane's result, pixel by pixel
    plane = fastrelu.sweep(net, plane=[[0, 0], [1, 0], [0, 1]], num=(40, 30), backend="numpy")
    other = fastrelu.sweep(net, plane=[[0, 0], [1, 0], [0, 1]], num=(40, 30), backend="exact")
    monkeypatch.setattr(bench, "CHECK_MIN", 100)
    assert (dataclasses.asdict(bench.check(other, bench.reference(plane, "test", progress=False)))
            == dataclasses.asdict(compare(other, plane)))


def test_bench_computes_the_references_tolerances_once_for_every_backend(monkeypatch):
    import importlib
    bench = importlib.import_module("fastrelu.cli.bench")
    calls = []
    real = bench.tolerances
    monkeypatch.setattr(bench, "tolerances", lambda ref: calls.append(len(ref)) or real(ref))
    assert main(["bench", "--num", "3000", "--hidden", "32", "--repeat", "1", "--backends", "numpy,exact,numba",
                 "--no-progress"]) == 0
    assert sum(calls) == 3000  # the reference's points once, not once per backend


def test_the_demo_run_twice_replaces_its_own_figure_and_says_so(tmp_path, monkeypatch, capsys):
    """The first command a newcomer types must work the second time too: its default
    figure is its own, replaced with a line on stderr; a figure named with --plot is not."""
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    first = (tmp_path / "fastrelu-sweep.png").stat().st_mtime_ns
    capsys.readouterr()
    (tmp_path / "fastrelu-sweep.png").write_bytes(b"an earlier demo's figure")
    assert main([]) == 0
    assert "replacing fastrelu-sweep.png" in capsys.readouterr().err
    assert (tmp_path / "fastrelu-sweep.png").read_bytes()[:4] == b"\x89PNG" and first
    (tmp_path / "mine.png").write_bytes(b"mine")
    assert main(["sweep", "--hidden", "8", "--num", "101", "--plot", "mine.png"]) == 2
    assert (tmp_path / "mine.png").read_bytes() == b"mine"
