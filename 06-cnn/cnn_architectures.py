"""Chapter 06: parameter counts and receptive fields of CNN architectures, from layer shapes alone.

A small table-building language (``ArchTable``: ``.conv``, ``.pool``, ``.bn``, ``.fc``, ``.bottleneck``)
tracks (C, H, W) through a network with the same ``conv_output_size`` the layers use and counts each
layer's parameters with its formula, so LeNet-5, AlexNet, VGG-16 and ResNet-50 are counted without
allocating a 100-million-parameter array. The tests compare each total with the published count and
with models built from ``common`` layers.

>>> small_cnn_table().total, lenet5_table().total, f"{resnet50_table().total:,}"
(9098, 61706, '25,557,032')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common._validation import check_positive_int
from common.conv import conv_output_size


@dataclass
class ArchRow:
    """One layer of an architecture table: its output shape and its parameter count with the formula."""

    name: str
    output_shape: tuple[int, ...]
    params: int
    formula: str


@dataclass
class ArchTable:
    """Builds a table layer by layer from shapes alone, tracking (C, H, W) with ``conv_output_size``.

    ``conv(F, K, S, P)`` adds ``F·(C·K·K) + F`` parameters (no bias term when ``bias=False``, as before a
    BatchNorm); ``bn()`` adds ``2C`` (γ and β; the running statistics are buffers, not parameters);
    ``fc(H)`` flattens and adds ``D·H + H``.
    """

    name: str
    shape: tuple[int, ...]
    rows: list[ArchRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(r.params for r in self.rows)

    def _add(self, name, shape, params, formula):
        self.shape = shape
        self.rows.append(ArchRow(name, shape, params, formula))
        return self

    def conv(self, name: str, filters: int, kernel: int, stride: int = 1, padding: int = 0, *, bias: bool = True):
        c, h, w = self.shape
        ho, wo = conv_output_size(h, kernel, stride, padding), conv_output_size(w, kernel, stride, padding)
        params = filters * c * kernel * kernel + (filters if bias else 0)
        formula = f"{filters}·({c}·{kernel}·{kernel})" + (f" + {filters}" if bias else "")
        return self._add(name, (filters, ho, wo), params, formula)

    def pool(self, name: str, kernel: int, stride: int | None = None, padding: int = 0):
        c, h, w = self.shape
        s = kernel if stride is None else stride
        return self._add(name, (c, conv_output_size(h, kernel, s, padding), conv_output_size(w, kernel, s, padding)),
                         0, "0")

    def global_pool(self, name: str = "global avg pool"):
        return self._add(name, (self.shape[0],), 0, "0")

    def bn(self, name: str):
        c = self.shape[0]
        return self._add(name, self.shape, 2 * c, f"2·{c}")

    def fc(self, name: str, units: int):
        d = int(np.prod(self.shape))
        return self._add(name, (units,), d * units + units, f"{d}·{units} + {units}")

    def bottleneck(self, name: str, width: int, stride: int = 1, expansion: int = 4):
        """ResNet-50's block: 1×1 (→ width) → 3×3 (stride) → 1×1 (→ 4·width), each conv bias-free and
        followed by BatchNorm; a 1×1 projection (+ BN) on the shortcut when the shape changes. One row."""
        c, h, w = self.shape
        out_c = width * expansion
        inner = ArchTable(name, self.shape)
        inner.conv("1x1", width, 1, bias=False).bn("bn").conv("3x3", width, 3, stride, 1, bias=False).bn("bn")
        inner.conv("1x1", out_c, 1, bias=False).bn("bn")
        params = inner.total
        formula = f"{width}·{c} + 2·{width} + {width}·{width}·9 + 2·{width} + {out_c}·{width} + 2·{out_c}"
        if stride != 1 or c != out_c:
            params += out_c * c + 2 * out_c
            formula += f" + projection {out_c}·{c} + 2·{out_c}"
        return self._add(name, inner.shape, params, formula)

    def params_of(self, prefix: str) -> int:
        """Parameters of the rows whose name starts with ``prefix`` (``"fc"``: a net's dense layers)."""
        return sum(r.params for r in self.rows if r.name.startswith(prefix))

    def as_records(self) -> list[dict]:
        return [{"layer": r.name, "output shape": "×".join(str(s) for s in r.output_shape), "parameters": r.params,
                 "formula": r.formula} for r in self.rows]


def fc_table(image=(3, 224, 224), hidden: int = 1000) -> ArchTable:
    """The post's opening example: one fully connected layer on a 224×224 RGB photo."""
    return ArchTable("FC layer on 224×224×3", image).fc(f"dense {hidden}", hidden)


def mnist_fc_table(hidden: int = 128) -> ArchTable:
    return ArchTable("FC 784-128-10", (1, 28, 28)).fc(f"dense {hidden}", hidden).fc("dense 10", 10)


def small_cnn_table(filters=(8, 16)) -> ArchTable:
    t = ArchTable("small CNN", (1, 28, 28))
    t.conv("conv1 3×3", filters[0], 3, 1, 1).pool("max pool 2", 2)
    t.conv("conv2 3×3", filters[1], 3, 1, 1).pool("max pool 2", 2)
    return t.fc("dense 10", 10)


def lenet5_table() -> ArchTable:
    t = ArchTable("LeNet-5 (28×28, padded)", (1, 28, 28))
    t.conv("C1 conv 5×5", 6, 5, 1, 2).pool("S2 pool 2", 2).conv("C3 conv 5×5", 16, 5).pool("S4 pool 2", 2)
    return t.fc("C5 dense 120", 120).fc("F6 dense 84", 84).fc("output 10", 10)


def alexnet_table() -> ArchTable:
    """AlexNet as in torchvision (the single-GPU variant of Krizhevsky et al. 2012, 64 first-layer
    filters instead of the paper's 96 split over two GPUs): 61,100,840 parameters."""
    t = ArchTable("AlexNet", (3, 224, 224))
    t.conv("conv1 11×11/4", 64, 11, 4, 2).pool("max pool 3/2", 3, 2)
    t.conv("conv2 5×5", 192, 5, 1, 2).pool("max pool 3/2", 3, 2)
    t.conv("conv3 3×3", 384, 3, 1, 1).conv("conv4 3×3", 256, 3, 1, 1).conv("conv5 3×3", 256, 3, 1, 1)
    t.pool("max pool 3/2", 3, 2)
    return t.fc("fc6", 4096).fc("fc7", 4096).fc("fc8", 1000)


def vgg16_table() -> ArchTable:
    """VGG-16 (configuration D, Simonyan & Zisserman 2014): 13 3×3 convolutions, 3 dense layers."""
    t = ArchTable("VGG-16", (3, 224, 224))
    for block, (width, n) in enumerate(((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), start=1):
        for i in range(1, n + 1):
            t.conv(f"conv{block}_{i} 3×3", width, 3, 1, 1)
        t.pool(f"max pool {block}", 2)
    return t.fc("fc6", 4096).fc("fc7", 4096).fc("fc8", 1000)


def resnet50_table() -> ArchTable:
    """ResNet-50 (He et al. 2015, torchvision's v1.5 with the stride on the 3×3 convolution)."""
    t = ArchTable("ResNet-50", (3, 224, 224))
    t.conv("conv1 7×7/2", 64, 7, 2, 3, bias=False).bn("bn1").pool("max pool 3/2", 3, 2, 1)
    for stage, (width, blocks, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)), start=2):
        for b in range(blocks):
            t.bottleneck(f"conv{stage}_{b + 1} bottleneck", width, stride if b == 0 else 1)
    return t.global_pool().fc("fc", 1000)


ARCHITECTURES = {"LeNet-5": lenet5_table, "AlexNet": alexnet_table, "VGG-16": vgg16_table,
                 "ResNet-50": resnet50_table}


def lineage_table() -> list[dict]:
    """Year, depth (weight layers) and parameters of each architecture, computed from its table."""
    years = {"LeNet-5": 1998, "AlexNet": 2012, "VGG-16": 2014, "ResNet-50": 2015}
    out = []
    for name, make in ARCHITECTURES.items():
        t = make()
        weight_layers = sum(1 for r in t.rows if r.params and not r.name.startswith("bn"))
        if name == "ResNet-50":
            weight_layers = 1 + 3 * 16 + 1           # conv1, 16 bottlenecks of 3 convs, fc
        out.append({"architecture": name, "year": years[name], "weight layers": weight_layers,
                    "parameters": t.total})
    return out


def receptive_field(layers) -> list[dict]:
    """Receptive field growth through a stack of ``(name, kernel, stride)`` layers (convolutions and
    pools alike): ``r_l = r_{l-1} + (K_l - 1)·j_{l-1}`` and ``j_l = j_{l-1}·S_l``, where ``j`` is the
    distance in input pixels between two neighbouring outputs (the "jump") and ``r`` the side of the
    input square one output sees. Starts from r = j = 1 (a pixel sees itself)."""
    r, j = 1, 1
    rows = []
    for name, k, s in layers:
        check_positive_int("kernel", k)
        check_positive_int("stride", s)
        r, j = r + (k - 1) * j, j * s
        rows.append({"layer": name, "kernel": k, "stride": s, "jump": j, "receptive field": r})
    return rows


SMALL_CNN_LAYERS = (("conv1 3×3", 3, 1), ("max pool 2", 2, 2), ("conv2 3×3", 3, 1), ("max pool 2", 2, 2))
VGG_STACK = (("conv 3×3", 3, 1), ("conv 3×3", 3, 1), ("conv 3×3", 3, 1))


def first_layer_comparison(image=(3, 224, 224), hidden: int = 1000, filters: int = 96, kernel: int = 11) -> dict:
    """The post's table: first-layer parameters of a dense layer vs a conv layer on a 224×224 RGB photo."""
    c, h, w = image
    return {"inputs": c * h * w, "fc weights": c * h * w * hidden, "fc params": c * h * w * hidden + hidden,
            "conv weights": filters * c * kernel * kernel, "conv params": filters * c * kernel * kernel + filters}


#: (H, K, P, S, what it is): the rows of the deep dive's output-size table.
OUTPUT_SIZE_EXAMPLES = (
    (28, 3, 0, 1, "no padding: K − 1 = 2 pixels lost"),
    (28, 3, 1, 1, "\"same\" padding P = (K − 1)/2"),
    (28, 5, 2, 1, "LeNet-5's C1 on MNIST"),
    (28, 2, 0, 2, "2×2 max-pool"),
    (7, 2, 0, 2, "odd size: the last row is dropped"),
    (227, 11, 0, 4, "AlexNet's first layer (paper)"),
    (224, 7, 3, 2, "ResNet's first layer"),
)


# ------------------------------------------------------------------- the deep dive's tables, as markdown

def markdown_table(records: list[dict], columns=None) -> str:
    """Records as a markdown table (header, separator, one row per record); numbers printed as given."""
    columns = list(columns or records[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r[c]) for c in columns) + " |" for r in records]
    return "\n".join(lines) + "\n"


def output_size_markdown() -> str:
    return markdown_table([{"H": h, "K": k, "P": p, "S": s, "H_out": conv_output_size(h, k, s, p), "what it is": what}
                           for h, k, p, s, what in OUTPUT_SIZE_EXAMPLES])


def first_layer_markdown() -> str:
    c = first_layer_comparison()
    return markdown_table([
        {"layer": f"dense, {c['inputs']:,} inputs → 1,000 units (weights)", "parameters": f"{c['fc weights']:,}"},
        {"layer": "conv, 96 filters of 11×11×3 (weights)", "parameters": f"{c['conv weights']:,}"}])


def lineage_markdown() -> str:
    return markdown_table([{**r, "parameters": f"{r['parameters']:,}"} for r in lineage_table()])


#: Every measured table of the deep dive: (document, marker) → the function that writes it
#: (``python -m tests.regenerate_doc_tables 06`` rewrites them; ``tests/test_ch06_docs.py`` compares).
DOC_TABLES = {
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: output-size"): output_size_markdown,
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: first-layer"): first_layer_markdown,
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: small-cnn"): lambda: markdown_table(small_cnn_table().as_records()),
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: lenet5"): lambda: markdown_table(lenet5_table().as_records()),
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: receptive-field"):
        lambda: markdown_table(receptive_field(SMALL_CNN_LAYERS)),
    ("CNN_ARCHITECTURE_DEEP_DIVE.md", "table: lineage"): lineage_markdown,
}
