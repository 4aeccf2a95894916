"""A newcomer's first hour: the stumbles of a first try, each pinned by a test.

Each test is named after what a user now gets; together they follow the numbered
points of the newcomer report (the package root, the license, how parameters print,
what the exact backend's speed means, options a reader can see).
"""

import pathlib
import subprocess
import sys
import tomllib

import numpy as np
import torch

import fastrelu
from fastrelu.model import Activation

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
