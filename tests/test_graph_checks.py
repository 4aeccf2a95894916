"""A graph's nodes: a dtype reaches every parameter, and a node that cannot run is refused
when the graph is built, naming it."""

import numpy as np
import pytest
import torch
from torch import nn

import fastrelu
from fastrelu.model.graph import shape_of


class MinusConstant(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.b(torch.relu(self.a(x) - 0.125))  # fx keeps 0.125 as a Python (then numpy) scalar


def test_a_float32_graph_stays_float32_through_a_constant():
    torch.manual_seed(0)
    net = fastrelu.Network.from_torch(MinusConstant().float())
    f32 = net.graph.astype(np.float32)
    consts = [n.params["const"] for n in f32.nodes if n.params.get("const") is not None]
    assert consts and all(np.asarray(c).dtype == np.float32 for c in consts)
    res = fastrelu.sweep(net, along=(np.zeros(3), np.ones(3)), num=11, backend="numpy", dtype="float32")
    assert res.y.dtype == np.float32 and res.slope.dtype == np.float32


def test_a_scale_with_more_axes_than_its_input_is_refused_naming_the_node():
    with pytest.raises(ValueError, match=r"node 'mul' \(scale\) takes arrays of at most 2 axes"):
        shape_of("scale", [(2, 4)], {"scale": np.ones((3, 1, 4)), "shift": None}, "mul")
    assert shape_of("scale", [(1, 4)], {"scale": np.ones((3, 4)), "shift": None}, "mul") == (3, 4)
