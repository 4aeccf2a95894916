"""
Looking inside a digit classifier
=================================

We train a small ReLU network on scikit-learn's 8x8 handwritten digits with PyTorch,
convert it to a :class:`fastrelu.Network`, and look inside it exactly: along the
straight line from one digit's image to another's, and on the plane through three.
"""

# %%
# Train a small classifier
# ------------------------
# ``load_digits`` ships with scikit-learn: 1,797 images of 8x8 pixels (values 0 to 16)
# and their labels.  We scale the pixels to [0, 1], keep a quarter of the images for
# testing, and train a network of two hidden layers of 64 units with Adam, on the
# whole training set at once: 200 steps take about a second on one CPU thread (a model
# this small trains fastest on one thread; more only wait for each other).

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits

import fastrelu

digits = load_digits()
X = digits.data / 16.0
labels = digits.target
rng = np.random.default_rng(0)
order = rng.permutation(len(X))
test, train = order[: len(X) // 4], order[len(X) // 4:]

torch.set_num_threads(1)
torch.manual_seed(0)
model = torch.nn.Sequential(
    torch.nn.Linear(64, 64), torch.nn.ReLU(),
    torch.nn.Linear(64, 64), torch.nn.ReLU(),
    torch.nn.Linear(64, 10),
)
Xt = torch.tensor(X, dtype=torch.float32)
yt = torch.tensor(labels)
optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(200):
    optimiser.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(Xt[train]), yt[train])
    loss.backward()
    optimiser.step()

with torch.no_grad():
    accuracy = (model(Xt[test]).argmax(1) == yt[test]).float().mean().item()
print(f"training loss {loss.item():.3f}; test accuracy {accuracy:.1%}")

# %%
# Convert it
# ----------
# :meth:`fastrelu.Network.from_torch` reads the ``nn.Sequential`` layer by layer.  The
# model's parameters are float32; we ask for float64 so that the exact analysis below
# works in double precision on the very same weights.

net = fastrelu.Network.from_torch(model, dtype="float64")
print(net.widths, "inputs, hidden units per layer, outputs;", net.hidden, "hidden units")
x_check = X[test[:5]]
print("largest difference from PyTorch:",
      np.abs(net(x_check) - model(torch.tensor(x_check, dtype=torch.float32)).detach().numpy()).max())

# %%
# Along the line from a 3 to an 8
# -------------------------------
# ``x(t) = x0 + t*(x1 - x0)`` runs from the image of a 3 (``t = 0``) to the image of an
# 8 (``t = 1``); the images in between are pixel-wise blends.  A sweep along the line
# gives, at 20,001 values of ``t``, the ten outputs (the logits), their slopes
# ``dy/dt`` and the number of hidden units that are off, per layer.

x0 = X[np.flatnonzero(labels == 3)[0]]
x1 = X[np.flatnonzero(labels == 8)[0]]
res = fastrelu.sweep(net, along=(x0, x1))
fig = res.plot(kinks=True, title="A digit classifier from a 3 (t = 0) to an 8 (t = 1)")

# %%
# The exact pieces
# ----------------
# Between kinks the network is exactly linear in ``t``.  :func:`fastrelu.regions`
# lists every linear piece: where it starts and ends, its slope and intercept per
# output, and how many units are off.  ``decisions`` gives the exact values of ``t``
# where the predicted class (the largest logit) changes, and ``decision_classes`` the
# classes on either side.

pieces = fastrelu.regions(net, along=(x0, x1), start=0, stop=1)
print(len(pieces), "linear pieces between the 3 and the 8;", pieces.n_kinks, "kinks")
before, after = pieces.decision_classes
for t, a, b in zip(pieces.decisions, before, after):
    print(f"t = {t:.6f}: the prediction changes from {a} to {b}")

# %%
# The images where the prediction changes, beside the two ends: the classifier's own
# boundary between the digits, found exactly rather than by sampling ``t``.

ts = [0.0, *pieces.decisions, 1.0]
captions = [f"class {int(np.argmax(net(x0)))}",
            *(f"boundary {a} | {b}" for a, b in zip(before, after)),
            f"class {int(np.argmax(net(x1)))}"]
fig, axes = plt.subplots(1, len(ts), figsize=(2 * len(ts), 2.4))
for ax, t, caption in zip(axes, ts, captions):
    ax.imshow((x0 + t * (x1 - x0)).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(f"t = {t:.3f}\n{caption}", fontsize=9)
    ax.set_axis_off()
fig.tight_layout()

# %%
# The plane through three digits
# ------------------------------
# On a plane the linear regions are convex polygons.
# ``fastrelu.regions(net, plane=(a, b, c))`` maps every one of them exactly on the
# plane through three images (here a 0, a 1 and a 7), in coordinates centred on them;
# ``m.plot()`` colours each region by its activation pattern, draws the output over
# the plane beside it and the classifier's decision boundary.

a, b, c = (X[np.flatnonzero(labels == d)[0]] for d in (0, 1, 7))
m = fastrelu.regions(net, plane=(a, b, c))
print(len(m), "linear regions on the plane;", m.n_vertices, "vertices")
fig = m.plot(pixels=200, title="A digit classifier on the plane through a 0, a 1 and a 7")
