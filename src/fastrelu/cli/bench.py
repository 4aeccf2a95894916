"""``fastrelu bench``: time each backend on one grid and check it against the numpy reference."""

import sys
import time
from contextlib import contextmanager

from ..kernels.agreement import compare
from ..kernels.registry import ALIASES, select
from ..sweeps.sweep import sweep
from .errors import CommandError
from .report import rate

# pairs/s is "-" for the exact backend, which evaluates no (point, unit) pairs (report.SPEEDS)
HEAD = ("backend", "dtype", "time [s]", "points/s", "pairs/s", "vs numpy", "agreement with the numpy reference")


def backend_names(text, available):
    """The backends ``--backends A,B`` names (default all of ``available``), each once.

    A backend may be named by its two axes (``dense_c`` for ``cffi``), as ``backend=``
    takes it; its row carries the name results record.
    """
    if not text:
        return list(available)
    names = []
    for word in text.split(","):
        name = ALIASES.get(word, word)
        if name not in available:
            raise CommandError(f"--backends: unknown backend {word!r}; known: {', '.join([*available, *ALIASES])}")
        if name not in names:  # an alias and its name are one backend
            names.append(name)
    return names


class Stages:
    """What ``bench`` is doing, one line per stage on stderr (with its time when it ends), so
    that nothing runs silently for long; off with ``--no-progress``.

    A new kind of case (a plane, say) announces its stages with the same ``stage``.
    """

    def __init__(self, on=True, stream=None):
        self.on = on
        self.stream = sys.stderr if stream is None else stream

    @contextmanager
    def stage(self, text):
        if not self.on:
            yield
            return
        print(f"bench: {text} ...", end="", file=self.stream, flush=True)
        t0 = time.perf_counter()
        try:
            yield
        finally:
            print(f" {time.perf_counter() - t0:.1f} s", file=self.stream, flush=True)


def run(net, along, of_t, names, available, *, start, stop, num, threads, repeat, progress=True):
    """Time ``names`` (best of ``repeat``) sweeping ``net`` over ``num`` points and compare each
    with the numpy reference, by the rule of ``fastrelu.kernels.agreement``.

    With ``progress``, each stage (a backend's runs, its check against the reference) is
    a line on stderr as it starts, with its time when it ends (``Stages``).

    ``of_t`` is what the kernels run, ``on_line(net, along)[0]``: it says which backends
    have a kernel for the network.

    Returns the table's rows (strings, columns as ``HEAD``) and how many backends failed
    or disagree.  A backend that cannot run here, or has no kernel for this network, is
    a row saying so and no failure.
    """
    grid = dict(start=start, stop=stop, num=num, along=along)
    stages = Stages(progress)

    def timed(name, what=""):
        with stages.stage(f"{name}{what}: {repeat} timed run{'s' if repeat != 1 else ''} of {num:,} points"):
            # A tiny sweep first so that a JIT compile is not timed.
            sweep(net, start, stop, num=16, along=along, backend=name, threads=threads)
            best, res = float("inf"), None
            for _ in range(repeat):
                t0 = time.perf_counter()
                res = sweep(net, **grid, backend=name, threads=threads)
                best = min(best, time.perf_counter() - t0)
        return res, best

    pairs = num * net.hidden
    ref, ref_time = timed("numpy", " (the reference)")
    rows, failed = [], 0
    for name in names:
        info = available[name]
        if not info.available:
            rows.append((name, "-", "-", "-", "-", "-", f"unavailable: {info.reason}"))
            continue
        try:
            select(name, of_t, num)
        except RuntimeError as exc:  # available, but without a kernel for this network: not a disagreement
            rows.append((name, "-", "-", "-", "-", "-", f"cannot run this network: {exc}"))
            continue
        if name == "numpy":
            res, seconds = ref, ref_time
        else:
            try:
                res, seconds = timed(name)
            except Exception as exc:  # a broken backend is a row of the table, not the end of it
                failed += 1
                rows.append((name, net.dtype.name, "-", "-", "-", "-", f"FAILED: {type(exc).__name__}: {exc}"))
                continue
        with stages.stage(f"{name}: checking every point against the numpy reference"):
            agreement = compare(res, ref)
        failed += not agreement.ok
        rows.append((name, res.dtype.name, f"{seconds:.4f}", rate(num, seconds),
                     "-" if info.algorithm == "exact" else rate(pairs, seconds),
                     f"{ref_time / seconds:.1f}x" if seconds > 0 else "-", str(agreement)))
    return rows, failed
