"""Shared fixtures: every comparison test runs once per backend.

A backend that cannot be loaded is a test *error*, never a skip: CI installs and
builds all of them, so a missing one means a broken install.
"""

import numpy as np
import pytest

import fastrelu
from fastrelu.kernels.agreement import compare
from fastrelu.kernels.registry import _REGISTRY

ALL_BACKENDS = list(_REGISTRY)


@pytest.fixture(params=ALL_BACKENDS)
def backend(request):
    """The name of each registered backend, failing if it is not available here."""
    info = fastrelu.backends()[request.param]
    if not info.available:
        pytest.fail(f"backend {info.name!r} is not available: {info.reason}")
    return request.param


def assert_agrees(net, backend, **grid):
    """Sweep ``net`` with ``backend`` and with the numpy reference; assert they agree.

    Returns the (result, reference) pair for further checks.
    """
    res = fastrelu.sweep(net, backend=backend, **grid)
    ref = fastrelu.sweep(net, backend="numpy", **grid)
    assert res.backend == backend
    assert res.dtype == ref.dtype
    agreement = compare(res, ref)
    assert agreement.ok, str(agreement)
    return res, ref


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
