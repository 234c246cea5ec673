"""AppTest for the chapter 06 playground: first load from the shipped checkpoints, every tab, its main
controls, and the values it shows (each compared with the module's own computation)."""

import numpy as np
import pytest

from apptest_helpers import Keys, metrics

import cnn
import feature_maps
import filters
import pooling
from common.conv import max_pool2d_forward
from common.plots import fmt_num, fmt_pct

PAGE = "06-cnn/cnn_playground.py"


key = Keys("ch06")     # the page's widget keys, prefixed as ``PageState("ch06")`` does
tab = key.tab


def captions(at):
    return [c.value for c in at.caption]


@pytest.fixture(scope="module")
def page_data():
    from common.mnist import load_mnist
    return load_mnist(flatten=False)


@pytest.mark.slow
def test_first_load_shows_the_shipped_checkpoints(app_test, page_data):
    d = page_data
    at = app_test(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "06 · Convolutional networks"
    assert at.select_slider(key=key("fc_hidden")).value == cnn.PAGE_DEFAULTS["fc_hidden"] == 128
    assert at.slider(key=key("epochs")).value == cnn.PAGE_DEFAULTS["epochs"] == 4
    assert at.select_slider(key=key("n_train")).value == cnn.PAGE_DEFAULTS["n_train"] == 5000
    assert max(int(o) for o in at.select_slider(key=key("n_train")).options) <= len(d.x_train)
    # FC vs CNN: the checkpoints' recorded accuracies, parameters, per-epoch times; said where they come from.
    m = metrics(at)
    for name, ck in (("FC", "fc"), ("CNN", "cnn")):
        model, meta, h = cnn.load_checkpoint(ck)
        assert m[f"{name} test accuracy"] == fmt_pct(meta["val_acc"], 2) == fmt_pct(h.val_acc[-1], 2)
        assert m[f"{name} parameters"] == f"{model.num_params():,}"
        assert m[f"{name} s/epoch"] == fmt_num(float(np.mean(h.epoch_time)))
    assert any("the shipped checkpoint `06-cnn/checkpoints/cnn.npz`, made by `python 06-cnn/train_cnn.py` · with the "
               "FC network from `fc.npz` beside it" in c for c in captions(at))
    assert m["FC test accuracy"] == "91.20%" and m["CNN test accuracy"] == "95.65%"
    table = at.dataframe[0].value
    assert list(table["epochs run"]) == [4, 4]
    assert "11.2× fewer parameters" in at.success[0].value and "4.45 points higher" in at.success[0].value
    assert not any("No run yet" in i.value for i in at.info)
    assert not any("took" in c for c in captions(at))                  # nothing was trained yet
    assert all(b.label not in ("Train a CNN now",) for b in at.button)

    # Layer explorer: on the shipped CNN, no prompt to train one.
    tab(at, "Layer explorer")
    assert not at.info and all(b.label != "Train a CNN now" for b in at.button)
    shipped = cnn.load_checkpoint("cnn")[0]
    probs = feature_maps.layer_outputs(shipped, d.x_test[:1])[-1][1][0]
    m = metrics(at)
    assert m["Prediction (explorer)"] == str(int(probs.argmax())) == str(int(d.y_test[0]))
    assert m["Confidence (explorer)"] == fmt_pct(probs.max())
    assert any("the shipped checkpoint" in c and "06-cnn/checkpoints/cnn.npz" in c for c in captions(at))
    assert not any(c.startswith("Model: ") for c in captions(at))          # said once, not twice
    # The Flatten and Dense stages: one row per map, the ten class scores with their axes.
    stages = at.selectbox(key=key("explorer_stage")).options
    assert stages[6] == "7. Flatten()" and stages[7] == "8. Dense(784 → 10)"
    at.selectbox(key=key("explorer_stage")).set_value(stages[6]).run()
    assert not at.exception
    assert any("**Flatten: 16·7·7 = 784 values in one vector**" in md.value for md in at.markdown)
    at.selectbox(key=key("explorer_stage")).set_value(stages[7]).run()
    logits = feature_maps.layer_outputs(shipped, d.x_test[:1])[-2][1][0]
    assert any(f"The largest score ({fmt_num(float(logits.max()))}, digit {int(logits.argmax())})" in c
               for c in captions(at))
    at.selectbox(key=key("explorer_stage")).set_value(stages[0]).run()
    assert any("All 8 maps of this stage (8×28×28)" in c for c in captions(at))

    # LeNet-5: the three shipped accuracies side by side, its layers with shapes and parameters.
    tab(at, "LeNet-5 layer by layer")
    m = metrics(at)
    for name, ck in (("FC", "fc"), ("CNN", "cnn"), ("LeNet-5", "lenet5")):
        assert m[f"{name} (shipped) test accuracy"] == fmt_pct(cnn.load_checkpoint(ck)[1]["val_acc"], 2)
    assert m["LeNet-5 (shipped) test accuracy"] == "95.75%"
    dims = at.dataframe[1].value
    assert list(dims["output shape"]) == ["1×28×28", "6×28×28", "6×28×28", "6×14×14", "16×10×10", "16×10×10",
                                          "16×5×5", "400", "120", "120", "84", "84", "10", "10"]
    assert dims["parameters"].sum() == 61_706
    assert [n for n in dims["LeNet-5 name"] if n] == ["C1 conv 5×5", "S2 pool 2", "C3 conv 5×5", "S4 pool 2",
                                                      "C5 dense 120", "F6 dense 84", "output 10"]
    lenet = cnn.load_checkpoint("lenet5")[0]
    probs = feature_maps.layer_outputs(lenet, d.x_test[:1])[-1][1][0]
    assert metrics(at)["Prediction (LeNet-5)"] == str(int(probs.argmax()))
    at.selectbox(key=key("LeNet-5_stage")).set_value("4. Conv2D(6 → 16, 5×5, stride=1, padding=0)").run()
    assert any("All 16 maps of this stage (16×10×10)" in c for c in captions(at))
    at.selectbox(key=key("LeNet-5_stage")).set_value("8. Dense(400 → 120)").run()
    h = feature_maps.layer_outputs(lenet, d.x_test[:1])[7][1][0]
    assert any(f"{int(np.sum(h > 0))} of the 120 units are active" in c for c in captions(at))

    # Types of pooling: the table is pooling_comparison on the first 200 test digits, formatted.
    tab(at, "Types of pooling")
    rows = pooling.pooling_comparison(shipped, d.x_test[:200], "conv2")
    shown = at.dataframe[0].value
    assert list(shown["pooling"]) == ["none", "max 2×2", "average 2×2", "global average"]
    assert list(shown["change, 1-px shift"]) == [pooling.change_text(r["change, 1-px shift"]) for r in rows]
    assert list(shown["change, 2-px shift"]) == [pooling.change_text(r["change, 2-px shift"]) for r in rows]
    m = metrics(at)
    assert (m["Head parameters after max 2×2"], m["Head parameters after average 2×2"],
            m["Head parameters after global average"]) == ("7,850", "7,850", "170")
    note = at.info[-1].value
    assert "**The post says:**" in note and f"by {fmt_pct(rows[1]['change, 1-px shift'], 0)}" in note
    at.radio(key=key("types_layer")).set_value("conv1")
    at.select_slider(key=key("types_n")).set_value(100).run()
    assert not at.exception
    rows = pooling.pooling_comparison(shipped, d.x_test[:100], "conv1")
    assert list(at.dataframe[0].value["change, 1-px shift"]) == [pooling.change_text(r["change, 1-px shift"]) for r in rows]
    assert metrics(at)["Head parameters after global average"] == "90"
    assert any("the small CNN's own head reads the max-pooled conv2 maps: 7,850" in c for c in captions(at))
    # The small CNN trained with each head pooling (the shipped variants), on the first 100 test digits.
    heads = cnn.head_pool_rows(d.x_test[:100], d.y_test[:100])
    shown = at.dataframe[1].value
    assert list(shown["head pooling"]) == ["max", "average", "global average"]
    assert list(shown["head parameters"]) == ["7,850", "7,850", "170"]
    assert list(shown["test accuracy"]) == [fmt_pct(r["test accuracy"], 2) for r in heads]
    assert list(shown["digits shifted 2 px"]) == [fmt_pct(r["accuracy, 2-px shift"], 2) for r in heads]
    assert any("Global average pooling leaves 16 numbers per digit and a 170-parameter head, and the CNN reaches "
               f"only {fmt_pct(heads[2]['test accuracy'], 1)}" in c for c in captions(at))


@pytest.mark.slow
def test_convolution_step_and_padding_stride(app_test, page_data):
    at = app_test(PAGE).run()
    d = page_data
    # Convolution step by step: the shown value is the window times the filter, summed.
    tab(at, "Convolution step by step")
    at.slider(key=key("conv_row")).set_value(8)
    at.slider(key=key("conv_col")).set_value(15).run()
    step = filters.conv_step(d.x_test[0, 0].astype(np.float64), filters.FILTERS["Sobel x (vertical edges)"], 8, 15)
    assert step.value != 0.0
    assert metrics(at)["Output value at this position"] == fmt_num(step.value, 4)
    at.slider(key=key("conv_row")).set_value(20)
    at.slider(key=key("conv_col")).set_value(25).run()             # past the RGB picture's last window
    at.radio(key=key("conv_kind")).set_value("RGB (synthetic)")
    at.multiselect(key=key("conv_filters")).set_value(["Sobel x (vertical edges)", "box blur"]).run()
    assert not at.exception                                      # the picture's own sliders, at their defaults
    kernel = filters.rgb_kernel(filters.FILTERS["Sobel x (vertical edges)"])
    assert metrics(at)["Output value at this position"] == fmt_num(filters.conv_step(filters.rgb_example(12), kernel, 5, 5).value, 4)
    at.slider(key=key("conv_row_rgb")).set_value(2)
    at.slider(key=key("conv_col_rgb")).set_value(1).run()
    assert not at.exception
    np.testing.assert_array_equal(kernel[2], -filters.FILTERS["Sobel x (vertical edges)"])
    step = filters.conv_step(filters.rgb_example(12), kernel, 2, 1)
    assert step.value != 0.0
    assert metrics(at)["Output value at this position"] == fmt_num(step.value, 4)
    assert any(f"= **{fmt_num(step.value, 4)}**" in md.value for md in at.markdown)        # R + G + B sums
    at.multiselect(key=key("conv_filters")).set_value([]).run()
    assert "Pick at least one filter" in at.warning[0].value

    # Padding & stride: the formula's output size, the leftover warning, the kernel that does not fit.
    tab(at, "Padding & stride")
    for size, k, p, s, expected, leftover in [(7, 3, 0, 1, "5×5", False), (6, 3, 0, 2, "2×2", True),
                                              (32, 7, 3, 4, "8×8", True)]:
        at.slider(key=key("pad_size")).set_value(size)
        at.slider(key=key("pad_kernel")).set_value(k)
        at.slider(key=key("pad_padding")).set_value(p)
        at.slider(key=key("pad_stride")).set_value(s).run()
        assert metrics(at)["Output size"] == expected, (size, k, p, s)
        assert bool(at.warning) == leftover, (size, k, p, s)
    at.slider(key=key("pad_size")).set_value(4)
    at.slider(key=key("pad_kernel")).set_value(7)
    at.slider(key=key("pad_padding")).set_value(1).run()
    assert "kernel 7 does not fit an input of size 4 with padding 1" in at.error[0].value


@pytest.mark.slow
def test_train_both_live_then_look_inside(app_test, page_data):
    d = page_data
    at = app_test(PAGE).run()
    at.select_slider(key=key("fc_hidden")).set_value(16)
    at.select_slider(key=key("f1")).set_value(4)
    at.select_slider(key=key("f2")).set_value(8)
    at.select_slider(key=key("n_train")).set_value(1000)
    at.slider(key=key("epochs")).set_value(2)
    at.button(key=key("btn_train_both")).click().run()
    assert not at.exception

    # FC vs CNN: parameters from the layer shapes, accuracies from the histories, the time it took.
    m = metrics(at)
    assert m["FC parameters"] == f"{784 * 16 + 16 + 16 * 10 + 10:,}" == "12,730"
    assert m["CNN parameters"] == f"{(4 * 9 + 4) + (8 * 4 * 9 + 8) + (8 * 49 * 10 + 10):,}" == "4,266"
    runs = at.session_state["ch06"]["runs"]
    for name in ("FC", "CNN"):
        h = runs[name]["history"]
        assert runs[name]["source"] == "trained"
        assert h.epochs == 2 and len(h.val_acc) == 2
        assert m[f"{name} test accuracy"] == fmt_pct(h.val_acc[-1], 2)
        assert 0.3 < h.val_acc[-1] <= 1.0                      # far above chance (10%) after 2 short epochs
    table = at.dataframe[0].value
    assert list(table["model"]) == ["FC", "CNN"]
    assert list(table["parameters"]) == [12_730, 4_266]
    assert "2.98× fewer parameters" in at.success[0].value
    assert list(table["final test accuracy"]) == [fmt_pct(runs[n]["history"].val_acc[-1], 2) for n in ("FC", "CNN")]
    behind = runs["CNN"]["history"].val_acc[-1] <= runs["FC"]["history"].val_acc[-1]
    assert any("**The post says:** the CNN beats" in i.value for i in at.info) == behind   # said where it is seen
    job = at.session_state["ch06"]["job"]
    assert job["done"] and not job["stopped"]
    assert f"Train both took {playground_seconds(job['seconds'])}" in captions(at)
    assert not any("Shown on arrival" in c for c in captions(at))        # the checkpoint caption is gone
    # The curves: two Vega-Lite charts of exactly the trained epochs, train and test, loss and accuracy.
    import json

    import pyarrow as pa                # Streamlit's own dependency: a chart's data travels as Arrow
    curves = {}
    for c in at.get("vega_lite_chart"):
        spec = json.loads(c.proto.spec)
        if spec["encoding"]["x"].get("field") == "epoch":
            curves[spec["title"]["text"].split(" ")[0]] = pa.ipc.open_stream(c.proto.data.data).read_all().to_pylist()
    assert set(curves) == {"loss", "accuracy"}
    for what, field in (("loss", "loss"), ("accuracy", "acc")):
        rows = curves[what]
        for name in ("FC", "CNN"):
            h = runs[name]["history"]
            for split, shown in (("train", "train"), ("val", "test")):
                assert [r["value"] for r in rows if r["run"] == name and r["split"] == shown] == \
                    getattr(h, f"{split}_{field}")

    # Layer explorer on that CNN.
    tab(at, "Layer explorer")
    model = runs["CNN"]["model"]
    assert any("Model: the CNN from “Train both” (4, 8 filters, 2 epochs on 1,000 digits)" in c for c in captions(at))
    at.number_input(key=key("explore_index")).set_value(3).run()
    probs = feature_maps.layer_outputs(model, d.x_test[3:4])[-1][1][0]
    m = metrics(at)
    assert m["Prediction (explorer)"] == str(int(probs.argmax()))
    assert m["Confidence (explorer)"] == fmt_pct(probs.max())
    assert m["True label (explorer)"] == str(int(d.y_test[3]))
    dims = at.dataframe[0].value
    assert list(dims["output shape"]) == ["1×28×28", "4×28×28", "4×28×28", "4×14×14", "8×14×14", "8×14×14",
                                          "8×7×7", "392", "10", "10"]
    assert dims["parameters"].sum() == 4_266
    at.selectbox(key=key("explorer_stage")).set_value("1. Conv2D(1 → 4, 3×3, stride=1, padding=1)").run()
    assert any("All 4 maps of this stage (4×28×28)" in c for c in captions(at))      # not a hard-coded 8
    assert any("all 4; red positive" in md.value for md in at.markdown)
    at.selectbox(key=key("explorer_stage")).set_value("7. Flatten()").run()
    assert any("**Flatten: 8·7·7 = 392 values in one vector**" in md.value for md in at.markdown)
    at.radio(key=key("explore_source")).set_value("Draw a digit").run()
    assert not at.exception
    # AppTest cannot draw: the canvas returns no image and the page says so instead of inventing one.
    assert any("canvas is empty" in i.value for i in at.info) or any("unavailable" in w.value for w in at.warning)
    assert metrics(at)["True label (explorer)"] == str(int(d.y_test[0]))

    # Max-pool zoom: the pooled table is the max of each 2×2 block of the real patch.
    tab(at, "Max-pool zoom")
    model = runs["CNN"]["model"]
    at.number_input(key=key("pool_index")).set_value(1)
    at.slider(key=key("pool_channel")).set_value(2).run()
    fmap = model[1].forward(model[0].forward(d.x_test[1:2]))[0, 2].astype(np.float64)
    top, left = at.slider(key=key("pool_top_1_2")).value, at.slider(key=key("pool_left_1_2")).value
    assert (top, left) == pooling.busiest_patch(fmap)
    patch = fmap[top:top + 4, left:left + 4]
    pooled = at.dataframe[0].value.to_numpy()
    np.testing.assert_allclose(patch.reshape(2, 2, 2, 2).max(axis=(1, 3)), max_pool2d_forward(patch[None, None], 2)[0, 0])
    assert pooled.tolist() == [[fmt_num(v) for v in r] for r in patch.reshape(2, 2, 2, 2).max(axis=(1, 3))]
    at.slider(key=key("pool_dx")).set_value(2)
    at.slider(key=key("pool_dy")).set_value(-1).run()
    tol = pooling.translation_tolerance(model, d.x_test[1:2], -1, 2)
    m = metrics(at)
    assert m["Change before pooling (this digit)"] == fmt_pct(tol["before pooling"], 0)
    assert m["Change after pooling (this digit)"] == fmt_pct(tol["after pooling"], 0)

    # A Stop (any rerun during training) leaves the job unfinished: the next run says what was kept.
    at.session_state["ch06"]["job"]["done"] = False
    at.run()
    assert any("Train both was stopped; the finished epochs are kept (FC 2 of 2, CNN 2 of 2)" in c
               for c in captions(at))
    h = runs["FC"]["history"], runs["CNN"]["history"]
    assert f"The finished epochs took {playground_seconds(h[0].wall_time[-1] + h[1].wall_time[-1])}" in captions(at)


@pytest.mark.slow
def test_train_lenet5_live(app_test, page_data):
    at = app_test(PAGE).run()
    tab(at, "LeNet-5 layer by layer")
    at.select_slider(key=key("n_train")).set_value(500)
    at.slider(key=key("epochs")).set_value(1).run()
    at.button(key=key("btn_train_lenet")).click().run()
    assert not at.exception
    lenet = at.session_state["ch06"]["lenet"]
    h = lenet["history"]
    assert lenet["source"] == "trained" and h.epochs == 1 and lenet["model"].num_params() == 61_706
    assert metrics(at)["LeNet-5 you trained: test accuracy"] == fmt_pct(h.val_acc[-1], 2)
    job = at.session_state["ch06"]["job"]
    assert f"Train LeNet-5 took {playground_seconds(job['seconds'])}" in captions(at)
    # The shipped comparison stays (it is the like-for-like one), and the layer view uses the new model.
    assert metrics(at)["LeNet-5 (shipped) test accuracy"] == "95.75%"
    probs = feature_maps.layer_outputs(lenet["model"], page_data.x_test[:1])[-1][1][0]
    assert metrics(at)["Prediction (LeNet-5)"] == str(int(probs.argmax()))


def playground_seconds(s):
    from common.playground import fmt_seconds
    return fmt_seconds(s)
