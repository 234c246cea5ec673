"""The shared plotting helpers draw what they are given."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from common import plots
from common.training import History


def test_decision_regions_for_scores_and_classes():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([0, 1, 1, 0])
    fig = plots.decision_regions(lambda p: 1 / (1 + np.exp(-(p[:, 1] - 0.5) * 10)), X, y, title="t", resolution=50)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "t" and len(ax.collections) >= 3     # shading, boundary, 2 scatter sets
    fig = plots.decision_regions(lambda p: np.c_[p[:, 0], 1 - p[:, 0]], X, y, resolution=20)
    assert isinstance(fig, Figure)


def test_training_curves_by_epoch_and_time():
    h = History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7], wall_time=[0.2, 0.4])
    fig = plots.training_curves({"run": h}, metric="loss")
    lines = fig.axes[0].get_lines()
    assert [list(l.get_xdata()) for l in lines] == [[1, 2], [1, 2]]
    fig = plots.training_curves({"run": h.as_dict()}, metric="loss", x="time", log_y=True)
    assert list(fig.axes[0].get_lines()[0].get_xdata()) == [0.2, 0.4]
    assert fig.axes[0].get_yscale() == "log"


def test_image_grid_marks_mistakes_in_red():
    imgs = np.zeros((3, 784))
    fig = plots.image_grid(imgs, labels=[1, 2, 3], predictions=[1, 5, 3], ncols=3)
    texts = fig.axes[0].texts
    assert [t.get_text() for t in texts] == ["1", "5 (true 2)", "3"]
    assert [t.get_color() for t in texts] == ["black", "red", "black"]


def test_image_grid_scales_each_image_to_its_own_range_and_leaves_gaps_white():
    imgs = np.stack([np.full((4, 4), 5.0), np.arange(16.0).reshape(4, 4)])
    imgs[0, 0, 0] = 7.0                                           # image 0 spans 5..7, image 1 spans 0..15
    fig = plots.image_grid(imgs, ncols=2)
    canvas = fig.axes[0].get_images()[0].get_array()
    strip, gap = 2, 1                                             # round(0.15·4) + 1 rows, max(1, round(0.08·4)) columns
    np.testing.assert_allclose(canvas[strip:, :4], (imgs[0] - 5) / 2)
    np.testing.assert_allclose(canvas[strip:, 4 + gap:8 + gap], imgs[1] / 15)
    shown = np.ma.getmaskarray(canvas)                            # NaN is masked: drawn as the white "bad" colour
    assert shown[:strip].all() and shown[:, 4:4 + gap].all() and not shown[strip:, :4].any()


def test_heatmap_annotates_small_matrices():
    fig = plots.heatmap(np.array([[0.1, 0.9], [0.5, 0.5]]), xlabels=["a", "b"], ylabels=["c", "d"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["0.10", "0.90", "0.50", "0.50"]


def test_to_rgb_takes_either_channel_order_and_outline_draws_the_window_border():
    img = np.zeros((3, 4, 4))
    img[0] = 1.0                                                  # a red picture, channels first
    rgb = plots.to_rgb(img, size=8)                               # 4 pixels → 2× repetition
    assert rgb.shape == (8, 8, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, plots.to_rgb(img.transpose(1, 2, 0), size=8))
    assert (rgb[..., 0] == 255).all() and (rgb[..., 1:] == 0).all()
    with pytest.raises(ValueError, match="image must have shape"):
        plots.to_rgb(np.zeros((4, 4)))
    boxed = plots.outline(rgb, 1, 1, 2, 2, (4, 4), edge="#00ff00", thickness=1)
    border = np.zeros((8, 8), bool)
    border[2, 2:6] = border[5, 2:6] = border[2:6, 2] = border[2:6, 5] = True   # original pixels 1–2, scaled ×2
    np.testing.assert_array_equal((boxed == [0, 255, 0]).all(axis=2), border)
    np.testing.assert_array_equal(boxed[~border], rgb[~border])  # the rest untouched, and rgb not modified
    assert (rgb[..., 0] == 255).all()


def test_heatmap_spec_cells_labels_and_annotations():
    """The Vega-Lite heat map: one datum per cell at (x = column, y = row), NaN left blank (null), the
    numbers written only when asked (default ≤ 12×12), the labels by index (repeats allowed), white text on
    the dark end of each scheme, and clear errors."""
    import json
    m = np.array([[0.1, np.nan, 0.3], [0.9, 0.5, 0.7]])
    spec = plots.heatmap_spec(m, xlabels=["a", "a", "b"], ylabels=["r0", "r1"], title="t", vmin=0, vmax=1)
    json.dumps(spec)                                                   # plain JSON: what st.vega_lite_chart sends
    cells = spec["data"]["values"]
    assert len(cells) == 6 and cells[1] == {"x": 1, "y": 0, "v": None}
    assert cells[3] == {"x": 0, "y": 1, "v": 0.9, "t": "0.90"}
    assert spec["title"]["text"] == "t"
    assert spec["encoding"]["x"]["axis"]["labelExpr"] == '["a", "a", "b"][datum.value]'
    assert spec["encoding"]["x"]["axis"]["labelOverlap"] is False
    rect, text = spec["layer"]
    assert rect["encoding"]["color"]["scale"]["domain"] == [0.0, 1.0]
    assert text["encoding"]["color"]["condition"] == {"test": "datum.v < 0.5", "value": "white"}
    greys = plots.heatmap_spec(m, cmap="Greys")["layer"][1]["encoding"]["color"]["condition"]["test"]
    assert greys.startswith("datum.v > ")                             # black is the high end there
    big = plots.heatmap_spec(np.zeros((13, 2)))
    assert len(big["layer"]) == 1 and "t" not in big["data"]["values"][0]
    with pytest.raises(ValueError, match="cmap must be one of"):
        plots.heatmap_spec(m, cmap="jet")
    with pytest.raises(ValueError, match="xlabels and ylabels"):
        plots.heatmap_spec(m, xlabels=["a"])
    with pytest.raises(ValueError, match="non-empty 2-D"):
        plots.heatmap_spec(np.zeros(3))


def test_colorize_fixed_range_and_masked_cells():
    a = np.array([[0.0, 0.5], [np.nan, 2.0]])
    rgb = plots.colorize(a, "gray", size=2, vmin=0, vmax=1, bad="#ff0000")
    assert rgb.shape == (2, 2, 3)
    np.testing.assert_array_equal(rgb[1, 0], [255, 0, 0])              # NaN: the "bad" colour
    np.testing.assert_array_equal(rgb[1, 1], [255, 255, 255])          # 2.0 clipped to vmax: white
    np.testing.assert_array_equal(rgb[0, 0], [0, 0, 0])
    auto = plots.colorize(np.array([[1.0, 3.0]]), "gray", size=2)      # default: the values' own range
    np.testing.assert_array_equal(auto[0, 0], [0, 0, 0])
    np.testing.assert_array_equal(auto[0, 1], [255, 255, 255])


def test_rgb255_is_the_palette_colour_exactly():
    assert plots.rgb255("#ffbf00").tolist() == [255, 191, 0]
    assert plots.rgb255("white").dtype == np.uint8


def test_curves_spec_lines_per_run_and_split():
    """``curves_spec``: one datum per (run, split, epoch) with the recorded value, the runs' colours in
    order, train solid and val dashed (named "test" by default), accuracy in percent, a clear error."""
    import json
    from common.training import History
    h = History()
    h.train_loss, h.val_loss, h.train_acc, h.val_acc = [1.0, 0.5], [1.1, 0.7], [0.6, 0.8], [0.55, 0.75]
    spec = plots.curves_spec({"FC": h, "CNN": {"train_loss": [0.9], "val_loss": [1.0]}}, colors={"CNN": "#123456"},
                             title="loss")
    json.dumps(spec)
    rows = spec["data"]["values"]
    assert rows[:2] == [{"epoch": 1, "value": 1.0, "run": "FC", "split": "train"},
                        {"epoch": 2, "value": 0.5, "run": "FC", "split": "train"}]
    assert {"epoch": 2, "value": 0.7, "run": "FC", "split": "test"} in rows and len(rows) == 6
    enc = spec["encoding"]
    assert enc["color"]["scale"] == {"domain": ["FC", "CNN"], "range": [plots.CLASS_COLORS[0], "#123456"]}
    assert enc["strokeDash"]["scale"] == {"domain": ["train", "test"], "range": [[1, 0], [5, 3]]}
    assert spec["title"]["text"] == "loss" and "format" not in enc["y"].get("axis", {})
    acc = plots.curves_spec({"FC": h}, metric="acc")
    assert acc["encoding"]["y"]["axis"]["format"] == ".0%" and acc["data"]["values"][0]["value"] == 0.6
    with pytest.raises(ValueError, match="metric must be 'loss' or 'acc'"):
        plots.curves_spec({"FC": h}, metric="f1")


def _decode(url):
    """A data URL's PNG as an (H, W, channels) uint8 array."""
    import base64
    import io

    from PIL import Image
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_png_data_url_round_trip_and_errors():
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert np.array_equal(_decode(plots.png_data_url(rgb)), rgb)
    png = plots.figure_png(plots.new_figure(size=(1, 1))[0], dpi=20)
    assert plots.png_data_url(png).endswith(__import__("base64").b64encode(png).decode())          # bytes as given
    with pytest.raises(ValueError, match="uint8"):
        plots.png_data_url(rgb.astype(float))


def test_raster_spec_pixels_orientation_legend_and_errors():
    a = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    spec = plots.raster_spec(a, cmap="viridis", vmin=0, vmax=5, xlabel="col", ylabel="row", title="t", legend_title="v")
    image, legend = spec["layer"]
    pixels = _decode(image["data"]["values"][0]["url"])
    assert np.array_equal(pixels, plots.colorize(a, "viridis", size=1, vmin=0, vmax=5))      # row 0 at the top
    x, y = image["encoding"]["x"], image["encoding"]["y"]
    assert x["scale"]["domain"] == [-0.5, 2.5] and not x["scale"]["reverse"]
    assert y["scale"]["domain"] == [-0.5, 1.5] and y["scale"]["reverse"]                     # the y axis runs down
    assert (x["title"], y["title"], spec["title"]["text"]) == ("col", "row", "t")
    scale = legend["encoding"]["color"]["scale"]
    assert scale["domain"][0] == 0 and scale["domain"][-1] == 5 and len(scale["range"]) == len(scale["domain"])
    lower = plots.raster_spec(a, origin="lower", alpha=0.5, legend=False)
    assert len(lower["layer"]) == 1
    flipped = _decode(lower["layer"][0]["data"]["values"][0]["url"])
    full = plots.colorize(a, "viridis", size=1)
    assert np.array_equal(flipped, np.round(255 - 0.5 * (255 - full[::-1].astype(float))).astype(np.uint8))
    for bad, match in [(dict(a=np.zeros(3)), "2-D"), (dict(a=a, origin="left"), "origin"),
                       (dict(a=a, cmap="nope"), "cmap"), (dict(a=a, alpha=0), "alpha")]:
        with pytest.raises(ValueError, match=match):
            plots.raster_spec(**bad)


@pytest.mark.parametrize("f", [lambda x, y: 1 / (1 + np.exp(-4 * np.sin(5 * x) * np.cos(4 * y))),   # saddles
                               lambda x, y: (x - 0.5) ** 2 + (y - 0.4) ** 2 + 0.45])              # one ring
def test_contour_segments_are_matplotlibs(f):
    """Marching squares gives exactly the segments Matplotlib's contour joins into its lines."""
    xs, ys = np.linspace(-0.5, 1.5, 60), np.linspace(-0.7, 1.5, 50)
    gx, gy = np.meshgrid(xs, ys)
    z = f(gx, gy)
    mine = {frozenset([tuple(np.round(s[:2], 9)), tuple(np.round(s[2:], 9))])
            for s in plots.contour_segments(z, 0.5, xs, ys)}
    theirs = set()
    for path in Figure().subplots().contour(gx, gy, z, levels=[0.5]).get_paths():
        start = prev = None
        for vertex, code in path.iter_segments(simplify=False, curves=False):
            v = tuple(np.round(vertex, 9))
            if code == path.MOVETO:
                start = prev = v
                continue
            if code == path.CLOSEPOLY:
                v = start
            if v != prev:
                theirs.add(frozenset([prev, v]))
            prev = v
    assert mine and mine == theirs
    with pytest.raises(ValueError, match="shape"):
        plots.contour_segments(z.T, 0.5, xs, ys)


def test_regions_spec_layers_line_only_where_the_score_crosses():
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    y = np.array([0, 0, 1, 1])
    spec = plots.regions_spec(lambda p: 1 / (1 + np.exp(-(p[:, 1] - 0.5) * 10)), X, y, resolution=40, title="t")
    marks = [l["mark"]["type"] for l in spec["layer"]]
    assert marks == ["image", "point", "rule", "point"]          # shading, its colour bar, the 0.5 line, the data
    rule = spec["layer"][2]["data"]["values"]
    assert all(abs(r["y"] - 0.5) < 1e-9 and abs(r["y2"] - 0.5) < 1e-9 for r in rule)
    points = spec["layer"][3]["data"]["values"]
    assert [p["class"] for p in points] == ["class 0", "class 0", "class 1", "class 1"]
    flat = plots.regions_spec(lambda p: np.full(len(p), 0.3), X, y, resolution=20, colorbar=False)
    assert [l["mark"]["type"] for l in flat["layer"]] == ["image", "point"]        # no line, no colour bar
    with pytest.raises(ValueError, match="one score per point"):
        plots.regions_spec(lambda p: np.c_[p[:, 0], p[:, 1]], X, y)


def test_lines_spec_series_styles_and_errors():
    spec = plots.lines_spec({"a": ([1, 2, 3], [3.0, 2.0, 1.0]), "b": ([1, 2], [0.5, 0.25])},
                            colors={"a": "#000000", "b": "#ff0000"}, styles={"b": "points"}, x_title="t",
                            y_title="v", x_log=True, title="T")
    a, b = spec["layer"]
    assert [r["y"] for r in a["data"]["values"]] == [3.0, 2.0, 1.0] and a["mark"]["type"] == "line"
    assert b["mark"]["type"] == "point" and [r["series"] for r in b["data"]["values"]] == ["b", "b"]
    assert a["encoding"]["color"]["scale"] == {"domain": ["a", "b"], "range": ["#000000", "#ff0000"]}
    assert a["encoding"]["x"]["scale"]["type"] == "log" and spec["title"]["text"] == "T"
    with pytest.raises(ValueError, match="colour for every series"):
        plots.lines_spec({"a": ([1], [1])}, colors={})
    with pytest.raises(ValueError, match="styles must be"):
        plots.lines_spec({"a": ([1], [1])}, colors={"a": "#000"}, styles={"a": "wavy"})
    with pytest.raises(ValueError, match="same shape"):
        plots.lines_spec({"a": ([1, 2], [1])}, colors={"a": "#000"})


def test_lines_spec_log_y_fixed_range_ticks_and_markers():
    spec = plots.lines_spec({"a": ([1e-3, 1e-2], [0.5, 0.1])}, colors={"a": "#000"}, x_log=True, y_log=True,
                            y_domain=(0, 1), x_ticks={1e-3: "10⁻³", 1e-2: "10⁻²"}, markers=True, width=200)
    layer = spec["layer"][0]
    x, y = layer["encoding"]["x"], layer["encoding"]["y"]
    assert y["scale"] == {"type": "log", "domain": [0.0, 1.0]} and layer["mark"]["point"] is True
    assert x["axis"]["values"] == [1e-3, 1e-2] and "'10⁻³'" not in x["axis"]["labelExpr"]
    assert '"10⁻³"' in x["axis"]["labelExpr"] and spec["width"] == 200


def test_lines_spec_markers_on_the_named_lines_and_a_fixed_x_range():
    spec = plots.lines_spec({"batch": ([1, 2, 3], [3.0, 2.5, 2.4]), "val": ([2], [2.6])},
                            colors={"batch": "#000", "val": "#f00"}, markers=["val"], x_domain=(0, 100))
    batch, val = spec["layer"]
    assert batch["mark"]["point"] is False and val["mark"]["point"] is True
    assert batch["encoding"]["x"]["scale"] == {"nice": False, "domain": [0.0, 100.0]}
