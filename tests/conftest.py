"""Shared fixtures: every comparison test runs once per backend; one headless browser.

A backend that cannot be loaded is a test *error*, never a skip: CI installs and
builds all of them, so a missing one means a broken install.  So is a missing browser:
pages are tested in Debian's Chromium, driven by Playwright, which never downloads one.
"""

import os
import shutil
import tempfile

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


CHROMIUM = os.environ.get("FASTRELU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(request):
    """A headless Chromium with a fresh profile, one per test module; fails (never skips)
    when it cannot start.  A module sets ``BROWSER_VIEWPORT`` for another window size."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:
        pytest.fail(f"Playwright is needed to test pages in a browser (pip install playwright): {e}")
    viewport = getattr(request.module, "BROWSER_VIEWPORT", {"width": 1100, "height": 1000})
    profile = tempfile.mkdtemp(prefix="fastrelu-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True,
                                                   args=CHROMIUM_FLAGS, viewport=viewport)
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)
