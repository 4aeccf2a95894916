"""Benchmark fixtures: a warm-up call before timing, throughput in pairs/s, and a table
of ratios between backends measured in the same run (printed at the end).

Run:  python -m pytest benchmarks --benchmark-only   (see benchmarks/README.md)
"""

import pytest

import fastrelu

_RESULTS = {}  # (group, backend) -> (seconds, pairs/s)


@pytest.fixture
def run_sweep(benchmark):
    """Time ``fastrelu.sweep(net, **grid)`` after one untimed call (JIT compile, caches)."""

    def run(net, backend, group, rounds=3, **grid):
        fastrelu.sweep(net, backend=backend, **grid)
        res = benchmark.pedantic(fastrelu.sweep, args=(net,), kwargs={"backend": backend, **grid}, rounds=rounds, iterations=1)
        seconds = benchmark.stats.stats.min
        pairs = len(res) * net.hidden / seconds
        benchmark.extra_info.update(pairs_per_s=pairs, points=len(res), hidden=net.hidden, dtype=res.dtype.name, backend=backend)
        _RESULTS[(group, backend)] = (seconds, pairs)
        return res

    return run


@pytest.fixture(scope="module")
def print_uncaptured(request):
    """``print_uncaptured(print_table)`` calls ``print_table(print)`` with pytest's output
    capture off, so a module's table of ratios reaches the terminal, not the captured output."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")

    def run(print_table):
        if capture is None:
            print_table(print)
            return
        with capture.global_and_fixture_disabled():
            print_table(print)

    return run


@pytest.fixture(scope="module", autouse=True)
def _module_table(request, print_uncaptured):
    """After a module's benchmarks: its table of ratios, when it keeps results in ``_RESULTS``
    and prints them with ``_print_table(line)``."""
    yield
    results, table = (getattr(request.module, name, None) for name in ("_RESULTS", "_print_table"))
    if results and table is not None:
        print_uncaptured(table)


def pytest_terminal_summary(terminalreporter):
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.section("fastrelu throughput (best of rounds; ratios within this run)")
    tr.write_line(f"| {'group':<34} | {'backend':<7} | {'time (s)':>9} | {'pairs/s':>9} | {'x numpy':>8} |")
    tr.write_line(f"| {'-' * 34} | {'-' * 7} | {'-' * 9} | {'-' * 9} | {'-' * 8} |")
    for (group, backend), (seconds, pairs) in sorted(_RESULTS.items()):
        base = _RESULTS.get((group, "numpy"))
        ratio = f"{pairs / base[1]:8.1f}" if base else f"{'-':>8}"
        tr.write_line(f"| {group:<34} | {backend:<7} | {seconds:9.4f} | {pairs:9.3g} | {ratio} |")
