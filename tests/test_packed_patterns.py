"""Patterns packed in bits (``analysis.patterns.PackedPatterns``): the region map keeps each
layer's regions as bits (a ReLU unit one bit), and everything read from them is what the
unpacked rows give."""

import numpy as np
import pytest
import torch

import fastrelu
from fastrelu.analysis.patterns import PackedPatterns, pattern_hashes, splitmix

from test_plane import SQUARE, _torch_mlp


@pytest.mark.parametrize("bits", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("width", [1, 7, 8, 9, 64, 1000])
def test_round_trip(bits, width):
    rng = np.random.default_rng(bits * 1000 + width)
    r = rng.integers(0, 1 << bits, (257, width)).astype(np.int8)
    p = PackedPatterns.pack(r, bits)
    assert p.shape == (257, width) and len(p) == 257
    assert p.data.shape == (257, (width * bits + 7) // 8)
    np.testing.assert_array_equal(p.rows(), r)
    idx = rng.integers(0, 257, 40)
    np.testing.assert_array_equal(p.rows(idx), r[idx])
    np.testing.assert_array_equal(p.take(idx).rows(), r[idx])
    for t in range(1 << bits):
        np.testing.assert_array_equal(p.count_at_most(t), np.count_nonzero(r <= t, axis=1))
    # equal rows, equal bytes (what the merge of tiles compares); different rows, different bytes
    same = (r[:, None, :] == r[None, :, :]).all(axis=2)
    bsame = (p.data[:, None, :] == p.data[None, :, :]).all(axis=2)
    np.testing.assert_array_equal(same, bsame)


def test_bits_from_the_data_and_bad_rows():
    assert PackedPatterns.pack(np.array([[0, 1, 1]])).bits == 1
    assert PackedPatterns.pack(np.array([[0, 5, 1]])).bits == 3
    with pytest.raises(ValueError, match="negative"):
        PackedPatterns.pack(np.array([[0, -1]]))
    with pytest.raises(ValueError, match="does not fit in 1 bits"):
        PackedPatterns.pack(np.array([[0, 2]]), bits=1)
    with pytest.raises(ValueError, match="take 1 bytes"):
        PackedPatterns(np.zeros((3, 2), np.uint8), 8, 1)


@pytest.mark.parametrize("act, bits", [(torch.nn.ReLU, 1), (torch.nn.Hardtanh, 2)])
def test_a_map_keeps_its_patterns_in_bits(act, bits):
    net = fastrelu.Network.from_torch(_torch_mlp([2, 12, 12, 1], seed=21, act=act))
    m = fastrelu.regions(net, bounds=SQUARE)
    for r in m._walk.regions:
        assert r.bits == bits and r.data.shape[1] == (12 * bits + 7) // 8
    # unpacked where read: int8, every region of the activation (tests/test_plane.py checks them against torch)
    assert m.pattern.dtype == np.int8 and m.pattern.shape == (len(m), 24)
    assert m.pattern.max() == (1 if act is torch.nn.ReLU else 3)


@pytest.mark.parametrize("bits", [[1], [2], [3], [1, 1, 1], [1, 2, 3, 4], [7, 1]])
def test_hash_sums_of_layers_give_the_hash_of_the_whole_pattern(bits):
    rng = np.random.default_rng(sum(bits) * 31 + len(bits))
    widths = rng.integers(1, 40, len(bits))
    layers = [rng.integers(0, 1 << b, (200, w)).astype(np.int8) for b, w in zip(bits, widths)]
    layers[0][:3] = 0  # all off, all on: the ends of the range
    layers[0][3:6] = (1 << bits[0]) - 1
    total, start = np.zeros(200, np.uint64), 0
    for b, r in zip(bits, layers):
        total += PackedPatterns.pack(r, b).hash_sums(start)
        start += r.shape[1]
    np.testing.assert_array_equal(splitmix(total ^ np.uint64(start)), pattern_hashes(np.concatenate(layers, axis=1)))


@pytest.mark.parametrize("act", [torch.nn.ReLU, torch.nn.Hardtanh])
def test_pattern_hash_read_off_the_bits(act):
    net = fastrelu.Network.from_torch(_torch_mlp([2, 16, 16, 16, 1], seed=22, act=act))
    m = fastrelu.regions(net, bounds=SQUARE)
    h = m.pattern_hash  # before the pattern is unpacked: read off the bits
    assert "pattern" not in m._lazy
    np.testing.assert_array_equal(h, pattern_hashes(m.pattern))
    assert np.unique(h).size == len(m)  # one face a pattern
