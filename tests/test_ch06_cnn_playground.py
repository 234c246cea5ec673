"""AppTest for the chapter 06 playground: every tab, its main controls, and the values it shows."""

import numpy as np

from apptest_helpers import metrics, open_tab

import feature_maps
import filters
import pooling
from common.conv import max_pool2d_forward
from common.plots import fmt_num, fmt_pct

PAGE = "06-cnn/cnn_playground.py"


def key(name):
    """The page's widget keys are prefixed by its chapter (``PageState("ch06")``)."""
    return f"ch06_{name}"


def tab(at, label):
    return open_tab(at, label, key=key("tab"))


def test_untrained_page_conv_step_padding_stride_and_explorer_on_demand(app_test):
    at = app_test(PAGE).run()
    assert not at.exception
    # Defaults, before any training.
    assert at.title[0].value == "06 · Convolutional networks"
    assert at.select_slider(key=key("fc_hidden")).value == 128
    assert at.slider(key=key("epochs")).value == 4
    assert at.select_slider(key=key("n_train")).value == 5000
    assert "No run yet" in at.info[-1].value
    assert at.session_state["ch06"]["runs"] == {}

    # Convolution step by step: the shown value is the window times the filter, summed.
    from common.mnist import load_mnist
    d = load_mnist(flatten=False)
    tab(at, "Convolution step by step")
    at.slider(key=key("conv_row")).set_value(8)
    at.slider(key=key("conv_col")).set_value(15).run()
    step = filters.conv_step(d.x_test[0, 0].astype(np.float64), filters.FILTERS["Sobel x (vertical edges)"], 8, 15)
    assert step.value != 0.0
    assert metrics(at)["Output value at this position"] == fmt_num(step.value, 4)
    at.radio(key=key("conv_kind")).set_value("RGB (synthetic)")
    at.multiselect(key=key("conv_filters")).set_value(["Sobel x (vertical edges)", "box blur"]).run()
    at.slider(key=key("conv_row")).set_value(2)
    at.slider(key=key("conv_col")).set_value(1).run()
    assert not at.exception
    kernel = filters.rgb_kernel(filters.FILTERS["Sobel x (vertical edges)"])
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

    # Layer explorer with no trained model: it offers to train one, and then shows real outputs.
    tab(at, "Layer explorer")
    assert "look inside a **trained** CNN" in at.info[-1].value
    at.button(key=key("btn_explorer_train")).click().run()
    assert not at.exception
    model, description = at.session_state["ch06"]["explorer"]
    assert "trained for 1 epoch on 5,000 digits" in description
    assert model.num_params() == 9_098
    assert metrics(at)["True label"] == str(int(d.y_test[0]))
    # Test digit #0 (a 7 in real MNIST; the bundled sample has its own order): the trained CNN's answer.
    probs = feature_maps.layer_outputs(model, d.x_test[:1])[-1][1][0]
    assert metrics(at)["Prediction"] == str(int(probs.argmax())) == str(int(d.y_test[0]))


def test_train_both_then_look_inside(app_test):
    at = app_test(PAGE).run()
    at.select_slider(key=key("fc_hidden")).set_value(16)
    at.select_slider(key=key("f1")).set_value(4)
    at.select_slider(key=key("f2")).set_value(8)
    at.select_slider(key=key("n_train")).set_value(1000)
    at.slider(key=key("epochs")).set_value(2)
    at.button(key=key("btn_train_both")).click().run()
    assert not at.exception

    # FC vs CNN: parameters from the layer shapes, accuracies from the histories.
    m = metrics(at)
    assert m["FC parameters"] == f"{784 * 16 + 16 + 16 * 10 + 10:,}" == "12,730"
    assert m["CNN parameters"] == f"{(4 * 9 + 4) + (8 * 4 * 9 + 8) + (8 * 49 * 10 + 10):,}" == "4,266"
    runs = at.session_state["ch06"]["runs"]
    for name in ("FC", "CNN"):
        h = runs[name]["history"]
        assert h.epochs == 2
        assert m[f"{name} test accuracy"] == fmt_pct(h.val_acc[-1])
        assert 0.3 < h.val_acc[-1] <= 1.0                      # far above chance (10%) after 2 short epochs
    table = at.dataframe[0].value
    assert list(table["model"]) == ["FC", "CNN"]
    assert list(table["parameters"]) == [12_730, 4_266]
    assert "2.98× fewer parameters" in at.success[0].value
    assert list(table["final test accuracy"]) == [fmt_pct(runs[n]["history"].val_acc[-1]) for n in ("FC", "CNN")]
    behind = runs["CNN"]["history"].val_acc[-1] <= runs["FC"]["history"].val_acc[-1]
    assert any("The post says the CNN wins" in i.value for i in at.info) == behind   # said where it is seen
    assert at.session_state["ch06"]["explorer"][0] is runs["CNN"]["model"]

    # Layer explorer on that CNN.
    from common.mnist import load_mnist
    d = load_mnist(flatten=False)
    tab(at, "Layer explorer")
    model = at.session_state["ch06"]["explorer"][0]
    at.number_input(key=key("explore_index")).set_value(3).run()
    probs = feature_maps.layer_outputs(model, d.x_test[3:4])[-1][1][0]
    m = metrics(at)
    assert m["Prediction"] == str(int(probs.argmax()))
    assert m["Confidence"] == fmt_pct(probs.max())
    assert m["True label"] == str(int(d.y_test[3]))
    dims = at.dataframe[0].value
    assert list(dims["output shape"]) == ["1×28×28", "4×28×28", "4×28×28", "4×14×14", "8×14×14", "8×14×14",
                                          "8×7×7", "392", "10", "10"]
    assert dims["parameters"].sum() == 4_266
    stages = at.selectbox(key=key("explore_stage")).options
    at.selectbox(key=key("explore_stage")).set_value(stages[-1]).run()
    assert not at.exception
    at.radio(key=key("explore_source")).set_value("Draw a digit").run()
    assert not at.exception
    # AppTest cannot draw: the canvas returns no image and the page says so instead of inventing one.
    assert any("canvas is empty" in i.value for i in at.info) or any("unavailable" in w.value for w in at.warning)
    assert metrics(at)["True label"] == str(int(d.y_test[0]))

    # Max-pool zoom: the pooled table is the max of each 2×2 block of the real patch.
    tab(at, "Max-pool zoom")
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
