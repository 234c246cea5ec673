"""Chapter 06: looking inside a CNN: every layer's output for one input, and the shape table.

``layer_outputs`` runs a ``Sequential`` layer by layer in evaluation mode and keeps every intermediate
output (plus the softmax), which the playground's layer explorer draws as feature maps;
``dimension_table`` is the shape/values/parameters table of those stages, computed by running the model
(so the table is what the code does, not what a comment says).

>>> import numpy as np, cnn
>>> model = cnn.small_cnn(np.random.default_rng(0))
>>> [r["output shape"] for r in dimension_table(model)][:4]
['1×28×28', '8×28×28', '8×28×28', '8×14×14']
"""

from __future__ import annotations

import numpy as np

from common import Sequential
from common._validation import check_array
from common.activations import softmax


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
    the model."""
    rows = [{"stage": 0, "layer": "input image", "output shape": "×".join(map(str, input_shape)),
             "values": int(np.prod(input_shape)), "parameters": 0}]
    dtype = next(iter(model.params.values())).dtype
    outs = layer_outputs(model, np.zeros((1, *input_shape), dtype=dtype))
    for i, (name, out) in enumerate(outs, start=1):
        params = model.layers[i - 1].num_params() if i <= len(model.layers) else 0
        rows.append({"stage": i, "layer": name, "output shape": "×".join(map(str, out.shape[1:])),
                     "values": int(np.prod(out.shape[1:])), "parameters": params})
    return rows
