"""
The region map of a plane
=========================

On a plane, a ReLU network's linear regions are convex polygons.
``fastrelu.regions(net, bounds=...)`` maps every one of them exactly for a network of two
inputs, and ``fastrelu.regions(net, plane=(x0, x1, x2))`` on the plane through three
inputs of a network of any input size.  ``m.plot()`` draws the map.
"""

import numpy as np

import fastrelu

net = fastrelu.Network.random([2, 32, 32, 32, 1], seed=0)
m = fastrelu.regions(net, bounds=((-1, 1), (-1, 1)))
print(f"{len(m)} regions, {m.n_vertices} vertices, {m.n_edges} edges on [-1, 1]^2")

# %%
# The figure colours each region by its activation pattern (the same pattern keeps its
# colour in another map), shades the edges by layer and, beside the map, draws the
# output, the size of its gradient and the number of units that are off, pixel by pixel.

fig = m.plot(pixels=300)

# %%
# Each region carries its exact affine map: ``slope`` (the gradient in the plane) and
# ``intercept``, from its activation pattern.  ``m.locate`` finds the region of a point,
# and the map's value there is the network's.

points = np.random.default_rng(0).uniform(-1, 1, size=(5, 2))
faces = m.locate(points)
mapped = np.einsum("ij,ij->i", m.slope[faces].reshape(len(faces), -1), points) + m.intercept[faces].ravel()
print("largest difference from net(x):", np.abs(mapped - net(points).ravel()).max())

# %%
# A network of many inputs: the plane through three random inputs of a 784-input
# network, in coordinates centred on them (lengths and areas are those of input space).

big = fastrelu.Network.random([784, 64, 64, 10], seed=1)
a, b, c = np.random.default_rng(1).normal(size=(3, 784))
m784 = fastrelu.regions(big, plane=(a, b, c))
print(f"{len(m784)} regions on the plane through three inputs of a 784→64×2→10 network")
fig = m784.plot(pixels=200)
