"""Chapter 06 docs: every table in the README and the deep dive is recomputed from the code."""

import re

import numpy as np
import pytest

import cnn
from markdown_tables import table_dicts as table
from common.chapters import ROOT
from common.conv import conv_output_size, max_pool2d_forward

DEEP_DIVE = (ROOT / "06-cnn" / "CNN_ARCHITECTURE_DEEP_DIVE.md").read_text()
README = (ROOT / "06-cnn" / "README.md").read_text()




def num(cell: str) -> float:
    return float(re.sub(r"[,%×]", "", cell))


def test_output_size_table():
    rows = table(DEEP_DIVE, "output-size")
    assert len(rows) == 7
    for r in rows:
        assert conv_output_size(int(r["H"]), int(r["K"]), int(r["S"]), int(r["P"])) == int(r["H_out"]), r


def test_first_layer_table():
    rows = table(DEEP_DIVE, "first-layer")
    c = cnn.first_layer_comparison()
    assert num(rows[0]["parameters"]) == c["fc weights"]
    assert num(rows[1]["parameters"]) == c["conv weights"]


@pytest.mark.parametrize("name, make", [("small-cnn", cnn.small_cnn_table), ("lenet5", cnn.lenet5_table)])
def test_layer_tables(name, make):
    rows = table(DEEP_DIVE, name)
    assert rows == [{k: str(v) for k, v in r.items()} for r in make().as_records()]


def test_receptive_field_table():
    rows = table(DEEP_DIVE, "receptive-field")
    assert rows == [{k: str(v) for k, v in r.items()} for r in cnn.receptive_field(cnn.SMALL_CNN_LAYERS)]
    assert cnn.receptive_field(cnn.VGG_STACK)[-1]["receptive field"] == 7          # "three 3×3 see 7×7"


def test_lineage_table_and_the_numbers_in_the_prose():
    rows = table(DEEP_DIVE, "lineage")
    assert [{k: num(v) if k != "architecture" else v for k, v in r.items()} for r in rows] == \
        [{k: (float(v) if k != "architecture" else v) for k, v in r.items()} for r in cnn.lineage_table()]
    alex_fc = sum(r.params for r in cnn.alexnet_table().rows if r.name.startswith("fc"))
    vgg = cnn.vgg16_table()
    vgg_fc = sum(r.params for r in vgg.rows if r.name.startswith("fc"))
    assert f"{alex_fc:,}" in DEEP_DIVE and round(100 * alex_fc / cnn.alexnet_table().total) == 96
    assert f"{vgg_fc:,}" in DEEP_DIVE and round(100 * vgg_fc / vgg.total) == 89
    assert round(next(r.params for r in vgg.rows if r.name == "fc6") / 1e6, 1) == 102.8
    assert round(vgg.total / cnn.resnet50_table().total, 1) == 5.4
    assert "75,008" in DEEP_DIVE
    assert "2,049,000" in DEEP_DIVE and cnn.resnet50_table().rows[-1].params == 2_049_000
    small = cnn.small_cnn_table()
    assert round(100 * small.rows[-1].params / small.total) == 86
    assert round(cnn.mnist_fc_table().total / small.total, 1) == 11.2


def test_pooling_example():
    fmap = np.array([[1, 3, 2, 4], [5, 6, 1, 2], [3, 8, 4, 7], [1, 2, 6, 3]], dtype=float)
    pooled = max_pool2d_forward(fmap[None, None], 2)[0, 0]
    assert "[6 4]" in DEEP_DIVE and "[8 7]" in DEEP_DIVE
    np.testing.assert_array_equal(pooled, [[6, 4], [8, 7]])


def test_readme_parameter_counts():
    rows = table(README, "fc-vs-cnn")
    rng = np.random.default_rng(0)
    assert num(rows[0]["parameters"]) == cnn.fc_network(rng).num_params()
    assert num(rows[1]["parameters"]) == cnn.small_cnn(rng).num_params()
    for name, make in cnn.ARCHITECTURES.items():
        assert f"{make().total:,}" in README, name
