"""
A deep PyTorch model along a line between two digits
====================================================

A network of 64 inputs cannot be drawn over its input space, but it can be drawn
exactly along the straight line between two inputs: here the images of a 0 and of a 6
from scikit-learn's digits (8x8 pixels, bundled: nothing is downloaded), through an
untrained PyTorch model of three hidden layers.  See the tutorial for a trained one.
"""

import numpy as np
import torch
from sklearn.datasets import load_digits

import fastrelu

torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(64, 128), torch.nn.ReLU(),
    torch.nn.Linear(128, 128), torch.nn.LeakyReLU(0.1),
    torch.nn.Linear(128, 64), torch.nn.ReLU(),
    torch.nn.Linear(64, 10),
)
net = fastrelu.Network.from_torch(model, dtype="float64")  # the same weights, analysed in float64

digits = load_digits()
x0 = digits.data[np.flatnonzero(digits.target == 0)[0]] / 16.0
x1 = digits.data[np.flatnonzero(digits.target == 6)[0]] / 16.0

# %%
# The sweep: ``x(t) = x0 + t*(x1 - x0)`` for 20,001 values of ``t`` from 0 to 1; ten
# outputs, their slopes ``dy/dt``, and the units that are off, split by layer.

res = fastrelu.sweep(net, along=(x0, x1))
print(res.y.shape, "outputs;", res.negative_by_layer.shape, "off units per layer")

# %%
# The exact pieces: every interval of ``t`` on which the network is linear.  Between
# two kinks each output is exactly ``intercept + slope * t``; ``switching(i)`` names the
# (layer, unit) pairs that switch where piece ``i`` ends.

pieces = fastrelu.regions(net, along=(x0, x1), start=0, stop=1)
print(len(pieces), "linear pieces,", pieces.n_kinks, "kinks")
print(pieces.to_table(max_rows=6))
layer, unit = pieces.switching(0)
print(f"piece 0 ends at t = {pieces.hi[0]:.6f}, where unit {unit[0]} of hidden layer {layer[0]} switches")

# %%
# The figure marks those kinks as thin grey lines.  Dashed lines would mark where the
# predicted class (the largest output) changes, ``pieces.decisions``: this untrained
# model predicts the same class all along the line (the tutorial's trained one does not).

print("predicted class changes at t =", pieces.decisions)

fig = res.plot(kinks=True, title="An untrained 64→128×2→64→10 model from a 0 (t = 0) to a 6 (t = 1)")

# %%
# PyTorch agrees: the model evaluated at a few points of the line gives the sweep's
# outputs there, within float32 rounding (the model's own precision).

t = res.x[::5000]
xt = torch.tensor(x0 + t[:, None] * (x1 - x0), dtype=torch.float32)
print("largest difference from PyTorch:", np.abs(model(xt).detach().numpy() - res.y[::5000]).max())
