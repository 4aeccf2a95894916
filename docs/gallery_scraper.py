"""The gallery's image scraper: the figures an example block made, pyplot's or not.

fastrelu's figures (``res.plot()``, ``m.plot()``, ``fastrelu.plot.*``) are plain
``matplotlib.figure.Figure`` objects on the Agg canvas, never registered with pyplot, so
sphinx-gallery's own scraper (which asks pyplot for its figures) does not see them.
This one takes, after each block, pyplot's open figures and then every figure that the
example holds in a variable (``fig = res.plot()``), each once, in that order.
"""

import weakref

_seen = weakref.WeakSet()  # figures already shown (weak: a closed example's figures go)


def scrape(block, block_vars, gallery_conf, **kwargs):
    """Save the block's new figures and return their reST (sphinx-gallery's scraper API)."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    from sphinx_gallery.scrapers import figure_rst

    figures = [plt.figure(n) for n in plt.get_fignums()]
    figures += [v for v in block_vars["example_globals"].values() if isinstance(v, Figure)]
    paths = []
    for fig in figures:
        if fig in _seen:
            continue
        _seen.add(fig)
        path = next(block_vars["image_path_iterator"])
        fig.savefig(path)
        paths.append(path)
    plt.close("all")
    return figure_rst(paths, gallery_conf["src_dir"])
