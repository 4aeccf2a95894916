"""
The classic demo
================

A random network of one input, 100 hidden ReLU units and one output, swept from
x = -100 to 100 in steps of 0.01: its output, its slope dy/dx and how many hidden units
are off, at each of 20,001 points.  This is what the ``fastrelu`` command draws.
"""

import fastrelu

net = fastrelu.Network.random(hidden=100, seed=0)  # initialised as PyTorch's nn.Linear
res = fastrelu.sweep(net, start=-100.0, stop=100.0, step=0.01)
print(f"{len(res.x):,} points on the {res.backend} backend; y from {res.y.min():.3f} to {res.y.max():.3f}")

# %%
# The figure: the thin grey lines are the exact kinks (``fastrelu.kinks``), and the
# inset zooms onto where they crowd together.

fig = res.plot(seed=0, kinks=True, zoom="auto")

# %%
# The same weights without the ReLU: the *linear twin* is one straight line, while its
# units cross zero exactly where the ReLU network's do.

from fastrelu.plot import compare_figure

fig = compare_figure(net, seed=0, kinks=True)
