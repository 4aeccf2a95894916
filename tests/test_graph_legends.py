"""A graph network's activation nodes named in the sweep figure and on the page (issue 16):
the negative count's parts are ``node <name>`` with each activation node's name as
``net.nodes`` gives it, in the order of ``negative_by_layer``'s columns (max-pool nodes
count no negative units); a dense chain keeps ``layer k``.  The page is read in headless
Chromium (tests/test_html.py's helpers): its legend, the tooltip's counts by node, and a
kink's switching units named by node.
"""

import numpy as np
import pytest
from test_graph import model_of
from test_html import open_page, panel_box, to_screen, tooltip_rows, zoom

import fastrelu
from fastrelu.plot.page import html


def graph_net(name):
    m, shape, *_ = model_of(name)
    return fastrelu.Network.from_torch(m, shape), shape


def act_names(net):
    return [n.name for n in net.nodes if n.kind == "act"]


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.mark.parametrize("name", ["cat", "convs"])
def test_the_figure_names_the_activation_nodes(name):
    net, shape = graph_net(name)
    assert net.is_graph
    rng = np.random.default_rng(0)
    res = fastrelu.sweep(net, along=tuple(rng.normal(size=(2, *shape))), num=2001)
    names = act_names(net)
    assert res.negative_by_layer.shape[1] == len(names) > 1
    if name == "convs":
        assert any(n.kind == "maxpool" for n in net.nodes)  # a max-pool node is not a part of the count
    fig = res.plot()
    ax_n = fig.axes[2]
    # the stack's legend lists the top first, as for a chain's layers
    assert legend_texts(ax_n) == ["all activations", *[f"node {n}" for n in reversed(names)]]
    assert f"in {len(names)} activation nodes" in ax_n.get_ylabel()
    # one band per activation node, under its name
    fills = {c.get_label(): c for c in ax_n.collections if c.get_label().startswith("node ")}
    assert set(fills) == {f"node {n}" for n in names}


def test_a_chain_keeps_its_layers():
    deep = fastrelu.Network.random([2, 8, 8, 1], seed=0)
    fig = fastrelu.sweep(deep, along=([-1, -1], [1, 1]), num=101).plot()
    assert legend_texts(fig.axes[2]) == ["all layers", "layer 2", "layer 1"]


@pytest.fixture(scope="module")
def cat_page(tmp_path_factory):
    net, shape = graph_net("cat")
    x0, x1 = np.random.default_rng(3).normal(size=(2, *shape))
    path = html(net, tmp_path_factory.mktemp("graph") / "cat.html", along=(x0, x1), start=0.0, stop=1.0)
    return net, (x0, x1), path


def test_the_page_names_the_activation_nodes(browser, cat_page):
    net, along, path = cat_page
    names = act_names(net)
    r = fastrelu.regions(net, along=along, start=0.0, stop=1.0, boundaries=True)
    page, errors = open_page(browser, path)
    try:
        labels = page.evaluate("""() => {
            const f = Bokeh.documents[0].get_model_by_name('negative');
            const legends = [...f.center, ...f.left, ...f.right, ...f.above, ...f.below].filter(r => r.items !== undefined);
            return [legends.flatMap(l => l.items.map(i => i.label.value)), legends.map(l => l.visible)];
        }""")
        assert labels == [[*[f"node {n}" for n in names], "all activations"], [True]]

        # hovering a piece: its counts, node by node, under a row that names the nodes
        widths = r.hi - r.lo
        i = int(np.argmax(widths))
        w = widths[i]
        zoom(page, r.lo[i] + 0.2 * w, r.hi[i] - 0.2 * w)
        left, top, width, height = panel_box(page, "negative")
        page.mouse.move(left + width / 2, top + height / 2)
        key = f"by node ({', '.join(names)})"
        rows, text = tooltip_rows(page, key)
        assert [int(v) for v in rows[key].split(",")] == list(r.negative_by_layer[i]), text
        assert int(rows["negative units"]) == r.negative[i], text

        # a kink's marker names its switching units by node
        kinks = set(fastrelu.kinks(net, along=along, start=0.0, stop=1.0).tolist())
        j = next(k for k in np.argsort(-np.minimum(widths[:-1], widths[1:])) if r.hi[k] in kinks)
        k = r.hi[j]
        zoom(page, k - 1e-7, k + 1e-7)
        page.mouse.move(0, 0)
        page.mouse.move(*to_screen(page, "output", k, r.slope[j, 0] * k + r.intercept[j, 0]))
        rows, text = tooltip_rows(page, "switching (node, unit)")
        node, unit = r.switching(j)
        want = " ".join(f"({net.nodes[int(a)].name}, {int(b)})" for a, b in zip(node, unit))
        assert rows["switching (node, unit)"] == want, text
        assert errors == []
    finally:
        page.close()
