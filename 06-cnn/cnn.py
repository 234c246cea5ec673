"""Chapter 06: convolutional networks.

What this chapter adds on top of ``common`` (where ``Conv2D``, ``MaxPool2D``… live):

- the two MNIST models the post compares: a fully connected network and a small CNN that gets higher
  accuracy with **fewer** parameters (weight sharing), plus LeNet-5 adapted to 28×28;
- parameter-count tables for FC, LeNet-5, AlexNet, VGG-16 and ResNet-50, computed from layer shapes
  with the same output-size formula the layers use (no 100-million-parameter array is ever allocated);
- hand-designed filters (Sobel, blur, sharpen) and the convolution written as a sum, step by step;
- the views the playground shows: feature maps after every layer of a trained CNN, a dimension table,
  a max-pool zoom on a real feature map, and the translation-tolerance measurement.

Images are (N, 1, 28, 28) float32 in [0, 1] throughout (``load_mnist(flatten=False)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common import Adam, Dense, Flatten, ReLU, Sequential, fit, softmax_cross_entropy
from common._validation import check_array, check_choice, check_generator, check_positive, check_positive_int
from common.activations import softmax
from common.conv import AvgPool2D, Conv2D, MaxPool2D, conv2d_forward, conv_output_size, max_pool2d_forward

# ------------------------------------------------------------------------------------------ models


def fc_network(rng: np.random.Generator, hidden: int = 128, dtype=np.float32) -> Sequential:
    """Flatten → Dense(784, hidden) → ReLU → Dense(hidden, 10): every pixel wired to every hidden unit.

    Parameters: ``785·hidden + 10·(hidden + 1)`` (101,770 for hidden = 128).
    """
    check_generator("rng", rng)
    check_positive_int("hidden", hidden)
    return Sequential(Flatten(), Dense(784, hidden, rng, dtype=dtype), ReLU(), Dense(hidden, 10, rng, dtype=dtype))


def small_cnn(rng: np.random.Generator, filters: tuple[int, int] = (8, 16), dtype=np.float32) -> Sequential:
    """Conv(1→F₁, 3×3, pad 1) → ReLU → MaxPool 2 → Conv(F₁→F₂, 3×3, pad 1) → ReLU → MaxPool 2 →
    Flatten → Dense(F₂·7·7, 10). The benchmark model; 9,098 parameters with the default (8, 16).

    Shapes: (N, 1, 28, 28) → (N, F₁, 28, 28) → (N, F₁, 14, 14) → (N, F₂, 14, 14) → (N, F₂, 7, 7) →
    (N, 49·F₂) → (N, 10).
    """
    check_generator("rng", rng)
    if len(filters) != 2:
        raise ValueError(f"filters must be two channel counts (conv1, conv2), got {filters!r}")
    f1, f2 = filters
    check_positive_int("filters[0]", f1)
    check_positive_int("filters[1]", f2)
    return Sequential(
        Conv2D(1, f1, 3, rng, padding=1, dtype=dtype), ReLU(), MaxPool2D(2),
        Conv2D(f1, f2, 3, rng, padding=1, dtype=dtype), ReLU(), MaxPool2D(2),
        Flatten(), Dense(f2 * 7 * 7, 10, rng, dtype=dtype))


def lenet5(rng: np.random.Generator, dtype=np.float32) -> Sequential:
    """LeNet-5 (LeCun et al. 1998) adapted to 28×28 MNIST: the first convolution pads by 2, which makes
    the 32×32 input of the original; ReLU instead of the scaled tanh and average pooling as the
    original's subsampling (without its trainable coefficient); C3 connected to all 6 maps.

    Conv(1→6, 5×5, pad 2) → ReLU → AvgPool 2 → Conv(6→16, 5×5) → ReLU → AvgPool 2 → Flatten →
    Dense(400, 120) → ReLU → Dense(120, 84) → ReLU → Dense(84, 10): 61,706 parameters.
    """
    check_generator("rng", rng)
    return Sequential(
        Conv2D(1, 6, 5, rng, padding=2, dtype=dtype), ReLU(), AvgPool2D(2),
        Conv2D(6, 16, 5, rng, dtype=dtype), ReLU(), AvgPool2D(2),
        Flatten(), Dense(400, 120, rng, dtype=dtype), ReLU(), Dense(120, 84, rng, dtype=dtype), ReLU(),
        Dense(84, 10, rng, dtype=dtype))


MODELS = {"FC": fc_network, "CNN": small_cnn, "LeNet-5": lenet5}


def train(model: Sequential, x: np.ndarray, y: np.ndarray, *, epochs: int, rng: np.random.Generator,
          batch_size: int = 64, lr: float = 1e-3, x_val=None, y_val=None, callbacks=()):
    """Adam with softmax cross-entropy (the post's setup); returns the ``History``.
    Shapes: x: (N, 1, 28, 28); y: (N,) labels."""
    check_positive("lr", lr)
    return fit(model, x, y, loss_fn=softmax_cross_entropy, optimizer=Adam(model, lr=lr), epochs=epochs,
               rng=rng, batch_size=batch_size, X_val=x_val, y_val=y_val, callbacks=callbacks)


# -------------------------------------------------------------------------- parameter-count tables

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


# ------------------------------------------------------------------------- hand-designed filters

FILTERS: dict[str, np.ndarray] = {
    "Sobel x (vertical edges)": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "Sobel y (horizontal edges)": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
    "box blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    "Gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float32) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
}


def apply_filters(image: np.ndarray, kernels: np.ndarray, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Convolve one image with a bank of hand-set filters: the same ``conv2d_forward`` the layers use.

    Shapes: image: (H, W) grey or (C, H, W); kernels: (K, K), (F, K, K) for grey, or (F, C, K, K) →
    (F, H_out, W_out).
    """
    image = check_array("image", image, ndim=(2, 3))
    x = image[None, None] if image.ndim == 2 else image[None]
    k = check_array("kernels", kernels, ndim=(2, 3, 4))
    if k.ndim == 2:
        k = k[None, None]
    elif k.ndim == 3:
        k = k[:, None] if x.shape[1] == 1 else k[None]
    if k.shape[1] != x.shape[1]:
        raise ValueError(f"kernels must have {x.shape[1]} channel(s) to match image, got shape {kernels.shape}")
    out, _ = conv2d_forward(x.astype(np.float64), k.astype(np.float64), None, stride, padding)
    return out[0]


@dataclass
class ConvStep:
    """One position of the sliding window: what is multiplied and what it sums to."""

    row: int                 # output position
    col: int
    window: np.ndarray       # (C, K, K) the input patch under the filter (padded input)
    products: np.ndarray     # (C, K, K) window ⊙ kernel
    channel_sums: np.ndarray  # (C,)
    value: float             # Σ over channels = the output value


def conv_step(image: np.ndarray, kernel: np.ndarray, row: int, col: int, stride: int = 1,
              padding: int = 0) -> ConvStep:
    """The convolution at one output position, written out: ``Σ_c Σ_ki Σ_kj x[c, S·i+ki, S·j+kj]·w[c, ki, kj]``.

    Shapes: image: (H, W) or (C, H, W); kernel: (K, K) or (C, K, K).
    """
    image = check_array("image", image, ndim=(2, 3)).astype(np.float64)
    kernel = check_array("kernel", kernel, ndim=(2, 3)).astype(np.float64)
    x = image[None] if image.ndim == 2 else image
    w = kernel[None] if kernel.ndim == 2 else kernel
    if w.shape[0] != x.shape[0]:
        raise ValueError(f"kernel must have {x.shape[0]} channel(s) like image, got shape {kernel.shape}")
    k = w.shape[-1]
    ho = conv_output_size(x.shape[1], k, stride, padding)
    wo = conv_output_size(x.shape[2], k, stride, padding)
    if not (0 <= row < ho and 0 <= col < wo):
        raise ValueError(f"row, col must be inside the {ho}×{wo} output, got ({row}, {col})")
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    window = xp[:, row * stride:row * stride + k, col * stride:col * stride + k]
    products = window * w
    sums = products.sum(axis=(1, 2))
    return ConvStep(row, col, window, products, sums, float(sums.sum()))


def rgb_example(size: int = 8) -> np.ndarray:
    """A small synthetic RGB image (3, size, size): a red vertical bar, a green horizontal bar and a blue
    square, so each channel holds a different pattern (an illustrative input, not data)."""
    check_positive_int("size", size)
    img = np.zeros((3, size, size), dtype=np.float64)
    img[0, :, size // 4:size // 4 + max(1, size // 8) + 1] = 1.0
    img[1, size // 2:size // 2 + max(1, size // 8) + 1, :] = 1.0
    img[2, size - size // 3:, size - size // 3:] = 1.0
    return img


# ---------------------------------------------------------------------- looking inside a trained CNN

def layer_outputs(model: Sequential, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Every intermediate output of ``model`` on ``x`` in evaluation mode, plus the softmax.
    Shapes: x: (N, 1, 28, 28) → [(layer repr, (N, …)), …, ("softmax", (N, 10))]."""
    x = check_array("x", x, ndim=4)
    outs = []
    h = x
    for layer in model.layers:
        h = layer.forward(h, training=False)
        outs.append((repr(layer), h))
    outs.append(("softmax", softmax(h, axis=1)))
    return outs


def dimension_table(model: Sequential, input_shape=(1, 28, 28)) -> list[dict]:
    """Shape, number of values and parameter count after every layer, by running a zero image through
    the model (so the table is what the code does, not what a comment says)."""
    rows = [{"stage": 0, "layer": "input image", "output shape": "×".join(map(str, input_shape)),
             "values": int(np.prod(input_shape)), "parameters": 0}]
    dtype = next(iter(model.params.values())).dtype
    outs = layer_outputs(model, np.zeros((1, *input_shape), dtype=dtype))
    for i, (name, out) in enumerate(outs, start=1):
        params = model.layers[i - 1].num_params() if i <= len(model.layers) else 0
        rows.append({"stage": i, "layer": name, "output shape": "×".join(map(str, out.shape[1:])),
                     "values": int(np.prod(out.shape[1:])), "parameters": params})
    return rows


def max_pool_zoom(feature_map: np.ndarray, top: int, left: int, size: int = 4):
    """A real ``size×size`` patch of one feature map and its 2×2 max-pooled result (``max_pool2d_forward``),
    with the position of each window's winner inside the patch.

    Shapes: feature_map: (H, W) → patch (size, size), pooled (size/2, size/2), winners (size/2, size/2, 2).
    ``top``/``left`` are rounded down to even numbers so the patch lines up with the 2×2 pooling grid.
    """
    fmap = check_array("feature_map", feature_map, ndim=2)
    check_positive_int("size", size)
    if size % 2:
        raise ValueError(f"size must be even to tile with 2×2 windows, got {size}")
    top, left = 2 * (int(top) // 2), 2 * (int(left) // 2)
    if not (0 <= top <= fmap.shape[0] - size and 0 <= left <= fmap.shape[1] - size):
        raise ValueError(f"top, left must keep the {size}×{size} patch inside the {fmap.shape} map, got ({top}, {left})")
    patch = fmap[top:top + size, left:left + size]
    pooled = max_pool2d_forward(patch[None, None], 2)[0, 0]
    winners = np.zeros((size // 2, size // 2, 2), dtype=int)
    for i in range(size // 2):
        for j in range(size // 2):
            win = patch[2 * i:2 * i + 2, 2 * j:2 * j + 2]
            a, b = np.unravel_index(np.argmax(win), (2, 2))
            winners[i, j] = (2 * i + a, 2 * j + b)
    return patch, pooled, winners


def busiest_patch(feature_map: np.ndarray, size: int = 4) -> tuple[int, int]:
    """(top, left) on the 2×2 grid of the ``size×size`` patch with the largest total activation: a
    patch where pooling has something to choose between."""
    fmap = check_array("feature_map", feature_map, ndim=2)
    best, where = -np.inf, (0, 0)
    for top in range(0, fmap.shape[0] - size + 1, 2):
        for left in range(0, fmap.shape[1] - size + 1, 2):
            s = fmap[top:top + size, left:left + size].sum()
            if s > best:
                best, where = s, (top, left)
    return where


def shift_image(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move an image (…, H, W) by (dy, dx) pixels, filling with zeros (MNIST's background)."""
    image = check_array("image", image)
    out = np.zeros_like(image)
    h, w = image.shape[-2:]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_r = slice(max(0, -dy), h - max(0, dy))
    dst_r = slice(max(0, dy), h - max(0, -dy))
    src_c = slice(max(0, -dx), w - max(0, dx))
    dst_c = slice(max(0, dx), w - max(0, -dx))
    out[..., dst_r, dst_c] = image[..., src_r, src_c]
    return out


def translation_tolerance(model: Sequential, images: np.ndarray, dy: int = 0, dx: int = 1) -> dict[str, float]:
    """How much the first conv+ReLU feature maps change when the digits move by (dy, dx), before and
    after the first max-pool, compared position by position (not re-aligned).

    Returns the relative change ``‖f(shifted) - f(original)‖ / ‖f(original)‖`` averaged over the images,
    for the conv output (``"before pooling"``) and the pooled output (``"after pooling"``). Requires a
    model that starts Conv2D → ReLU → MaxPool2D.
    """
    images = check_array("images", images, ndim=4)
    if not (isinstance(model[0], Conv2D) and isinstance(model[2], (MaxPool2D, AvgPool2D))):
        raise ValueError("model must start with Conv2D, an activation and a pooling layer")
    shifted = shift_image(images, dy, dx)

    def maps(x):
        a = model[1].forward(model[0].forward(x.astype(model.params["0.W"].dtype)))
        return a, model[2].forward(a)

    a0, p0 = maps(images)
    a1, p1 = maps(shifted)

    def rel(u, v):
        num = np.sqrt(((u - v) ** 2).sum(axis=(1, 2, 3)))
        den = np.sqrt((u ** 2).sum(axis=(1, 2, 3)))
        return float(np.mean(num / np.maximum(den, 1e-12)))

    return {"before pooling": rel(a0, a1), "after pooling": rel(p0, p1)}


def preprocess_drawing(rgba: np.ndarray | None) -> np.ndarray | None:
    """A drawing from the canvas (H, W, 4) uint8, white strokes on black, to an MNIST-like (1, 28, 28)
    float32 image: the stroke intensity, cropped to its bounding box, scaled so the longer side is 20 px
    and centred by its centre of mass in a 28×28 frame (how MNIST itself was made). ``None`` if empty."""
    if rgba is None:
        return None
    a = check_array("rgba", rgba, ndim=3)
    grey = a[..., :3].astype(np.float32).mean(axis=2) / 255.0
    if a.shape[2] == 4:
        grey = grey * (a[..., 3].astype(np.float32) / 255.0)
    rows, cols = np.nonzero(grey > 0.1)
    if rows.size == 0:
        return None
    crop = grey[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = 20.0 / max(crop.shape)
    new_h, new_w = max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale))
    # Area-average resize by index mapping (no image library needed).
    ri = (np.arange(new_h)[:, None] * crop.shape[0] / new_h).astype(int)
    ci = (np.arange(new_w)[None, :] * crop.shape[1] / new_w).astype(int)
    small = np.zeros((new_h, new_w), np.float32)
    counts = np.zeros((new_h, new_w), np.float32)
    for oy in range(int(np.ceil(crop.shape[0] / new_h))):
        for ox in range(int(np.ceil(crop.shape[1] / new_w))):
            r, c = np.minimum(ri + oy, crop.shape[0] - 1), np.minimum(ci + ox, crop.shape[1] - 1)
            small += crop[r, c]
            counts += 1
    small /= counts
    out = np.zeros((28, 28), np.float32)
    top, left = (28 - new_h) // 2, (28 - new_w) // 2
    out[top:top + new_h, left:left + new_w] = small
    total = out.sum()
    yy, xx = np.indices(out.shape)
    cy, cx = (yy * out).sum() / total, (xx * out).sum() / total
    out = shift_image(out, int(round(13.5 - cy)), int(round(13.5 - cx)))
    return np.clip(out / max(out.max(), 1e-6), 0, 1)[None]


def first_layer_comparison(image=(3, 224, 224), hidden: int = 1000, filters: int = 96, kernel: int = 11) -> dict:
    """The post's table: first-layer parameters of a dense layer vs a conv layer on a 224×224 RGB photo."""
    c, h, w = image
    return {"inputs": c * h * w, "fc weights": c * h * w * hidden, "fc params": c * h * w * hidden + hidden,
            "conv weights": filters * c * kernel * kernel, "conv params": filters * c * kernel * kernel + filters}


def model_names() -> list[str]:
    return list(MODELS)


def build(name: str, rng: np.random.Generator, **kwargs) -> Sequential:
    """A model from ``MODELS`` by name."""
    check_choice("name", name, MODELS)
    return MODELS[name](rng, **kwargs)
