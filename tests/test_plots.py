"""The shared plotting helpers draw what they are given."""

import numpy as np
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
    titles = [ax.get_title() for ax in fig.axes[:3]]
    assert titles == ["1", "5 (true 2)", "3"]
    assert fig.axes[1].title.get_color() == "red"


def test_heatmap_annotates_small_matrices():
    fig = plots.heatmap(np.array([[0.1, 0.9], [0.5, 0.5]]), xlabels=["a", "b"], ylabels=["c", "d"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["0.10", "0.90", "0.50", "0.50"]
