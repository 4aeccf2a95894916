"""fastrelu lines: the summary printed, the table and the figure written, bad input refused."""

import numpy as np
import pytest

import fastrelu
from fastrelu.cli.main import main


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = fastrelu.Network.random([16, 12, 12, 3], seed=0)
    net.save("net.npz")
    rng = np.random.default_rng(1)
    np.save("rows.npy", rng.normal(size=(10, 4, 4)))  # images, flattened to 16 inputs
    np.save("pairs.npy", rng.normal(size=(3, 2, 16)))
    np.save("odd.npy", rng.normal(size=(5, 16)))
    return net, rng


def test_pairs_of_rows(files, capsys):
    net, _ = files
    assert main(["lines", "--network", "net.npz", "--pairs", "rows.npy"]) == 0
    out = capsys.readouterr().out
    assert "5 lines through a 16->12->12->3 network" in out and "fastrelu-lines.npz" in out and "fastrelu-lines.png" in out
    rows = np.load("rows.npy").reshape(10, 16)
    assert fastrelu.LineStats.load("fastrelu-lines.npz") == fastrelu.line_stats(net, rows[0::2], rows[1::2], progress=False)
    with open("fastrelu-lines.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_pairs_array_random_pairs_and_dask(files, capsys):
    net, _ = files
    assert main(["lines", "--network", "net.npz", "--pairs", "pairs.npy", "--out", "p.npz", "--plot", "p.svg"]) == 0
    pairs = np.load("pairs.npy")
    assert fastrelu.LineStats.load("p.npz") == fastrelu.line_stats(net, pairs[:, 0], pairs[:, 1], progress=False)
    assert main(["lines", "--network", "net.npz", "--pairs", "rows.npy", "--random", "7", "--seed", "3", "--out", "r.npz",
                 "--plot", "r.png", "--workers", "1"]) == 0
    table = fastrelu.LineStats.load("r.npz")
    assert len(table) == 7 and (table.length > 0).all()  # never a row paired with itself
    assert main(["lines", "--widths", "5,8,8,1", "--random", "4", "--out", "w.npz", "--plot", "w.png"]) == 0
    assert len(fastrelu.LineStats.load("w.npz")) == 4


@pytest.mark.parametrize("argv,message", [
    (["--pairs", "odd.npy"], "5 rows do not make pairs"),
    (["--pairs", "pairs.npy", "--random", "3"], "--random draws pairs of rows"),
    (["--random", "0"], "--random must be >= 1"),
    ([], "give --pairs DATA.npy"),
    (["--pairs", "missing.npy"], "--pairs: cannot read missing.npy"),
    (["--pairs", "rows.npy", "--out", "t.csv"], "--out: the table is written as .npz"),
    (["--pairs", "rows.npy", "--plot", "t.txt"], "--plot:"),
])
def test_bad_input(files, capsys, argv, message):
    assert main(["lines", "--network", "net.npz", *argv]) != 0
    assert message in capsys.readouterr().err


def test_wrong_width_and_no_network(files, capsys):
    np.save("wide.npy", np.zeros((4, 17)))
    assert main(["lines", "--network", "net.npz", "--pairs", "wide.npy"]) != 0
    assert "expected (n, 2, 16) pairs or (m, 16) rows" in capsys.readouterr().err
    assert main(["lines", "--pairs", "rows.npy"]) != 0
    assert "give --network FILE.npz" in capsys.readouterr().err
    assert main(["lines", "--network", "net.npz", "--pairs", "rows.npy"]) == 0
    assert main(["lines", "--network", "net.npz", "--pairs", "rows.npy"]) != 0  # never overwritten unasked
    assert "--force replaces it" in capsys.readouterr().err
