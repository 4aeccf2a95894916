"""Functions an upper layer lends to a lower one, so that imports only go down.

``res.plot()``, ``res.to_html()``, Jupyter's display of a network or a result, and
``sweep(out="result.zarr")`` are conveniences of lower layers (the model, sweeps) that
run code of upper ones (plot, store).  The upper layer registers its function here
when it is imported, and ``import fastrelu`` imports every layer (each is light: the
heavy libraries they use are imported on first use), so the function is there
whenever a user can call the convenience.  The lower layer names what it needs; it
never imports the layer that provides it.

Provided today: ``"figure"`` (``fastrelu.plot.sweep_figure``), ``"page"``
(``fastrelu.plot.html``), ``"repr_html"`` (``fastrelu.plot.page.repr_html``), ``"region_map_figure"``
(``fastrelu.plot.region_map_figure``, for ``RegionMap.plot``) and
``"store"`` (``fastrelu.store.write.sweep_to_store``), ``"store_result"``
(``fastrelu.store.write.result_to_store``, a path's sweep written into a store whole); ``"region_map_page"``
(``fastrelu.plot.region_map_html``), ``"save_region_map"`` and ``"load_region_map"``
(``fastrelu.store.region_map``), for ``RegionMap.to_html``, ``save`` and ``load``;
``"plane_map"`` (``fastrelu.sweeps.sweep._plane_map``), the region map the exact backend's
plane kernel (``fastrelu.kernels.plane_exact``) reads pixels off.  A plane's ``res.plot()`` is
``"figure"``'s, which draws a plane's sweep with ``plane_sweep_figure``.
"""

_PROVIDED = {}


def provide(name, function):
    """Register ``function`` as what ``name`` means (an upper layer calls this at import)."""
    _PROVIDED[name] = function
    return function


def provided(name):
    """The function registered as ``name``; a clear error when its layer was never imported."""
    try:
        return _PROVIDED[name]
    except KeyError:
        raise RuntimeError(
            f"{name!r} is provided by a part of fastrelu that was not imported; import fastrelu first"
        ) from None
