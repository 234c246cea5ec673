"""Checkers for the chapter notebooks' exercises: ``check_dense_backward(my_dense_backward)``.

Each checker runs the learner's function on seeded random inputs, compares what it returns with the
library's own layer or function (and, for gradients, with finite differences from
``common.gradcheck``), prints one line (a pass; the first wrong entry with expected vs got and one hint;
or "not done yet" while the function is still the shipped blank) and returns a ``Result`` with
``passed``, ``done`` and ``message``, so tests can assert on it. A checker never prints the solution.

The reference solutions live in ``common/exercises/solutions/chNN_<folder>.py``, outside the
notebooks, for a learner who wants to look on purpose; the tests run every checker on them.

``EXERCISES`` lists every exercise in course order with the part of the chapter's blog post it belongs
to; ``for_chapter(n)`` gives one chapter's. A new chapter adds a module ``chNN.py`` here with its
checkers and an ``EXERCISES`` tuple, one line in ``_CHAPTERS`` below, a notebook and a solutions file.

>>> r = check_causal_mask(lambda T: None, verbose=False)
>>> r.done, r.passed
(False, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ._core import FAILED, NOT_DONE, PASSED, Result
from .ch01 import check_gate_weights, check_perceptron_predict, check_perceptron_update
from .ch02 import check_collapse_linear, check_dense_forward, check_xor_weights
from .ch03 import check_bce_loss_and_grad, check_dense_backward, check_sigmoid_backward, check_two_layer_backward
from .ch04 import check_adam_step, check_minibatch_indices, check_momentum_step
from .ch05 import check_early_stopping, check_inverted_dropout, check_l2_penalty
from .ch06 import check_conv2d_backward, check_conv2d_forward, check_conv_output_size, check_max_pool2d_backward
from .ch07 import check_batchnorm_backward, check_batchnorm_forward, check_residual_backward
from .ch08 import check_clip_by_global_norm, check_layer_norm, check_lstm_step, check_rnn_step
from .ch09 import check_attention, check_causal_mask, check_masked_softmax, check_split_heads
from .ch10 import check_count_parameters, check_pre_ln_block, check_sampling_distribution, check_sinusoidal_encoding


@dataclass(frozen=True)
class Exercise:
    """One exercise: the learner writes ``function`` (the same name in the notebook and in the solutions
    file) and ``checker`` checks it; ``part`` is the section of the chapter's post it belongs to."""

    chapter: int
    number: int
    function: str
    part: str
    task: str
    checker: Callable[..., Result]

    @property
    def label(self) -> str:
        return f"{self.chapter}.{self.number}"


def _chapter(n: int, *rows) -> tuple[Exercise, ...]:
    return tuple(Exercise(n, i, check.function_name, part, task, check) for i, (check, part, task) in enumerate(rows, 1))


_CHAPTERS = (
    _chapter(1,
             (check_perceptron_predict, "How a Perceptron Works", "the forward pass: weighted sum, bias, step"),
             (check_perceptron_update, "What Clicked for Me", "the perceptron learning rule for one sample"),
             (check_gate_weights, "How a Perceptron Works", "weights for AND, OR and NAND, by hand")),
    _chapter(2,
             (check_dense_forward, "The Breakthrough: Hidden Layers", "a Dense layer's forward pass"),
             (check_collapse_linear, "The Breakthrough: Hidden Layers",
              "two stacked linear layers as one: why a hidden layer needs a non-linearity"),
             (check_xor_weights, "Solving XOR: The Aha Moment", "2-2-1 weights that compute XOR, by hand")),
    _chapter(3,
             (check_bce_loss_and_grad, "The Breakthrough: Learning from Mistakes",
              "binary cross-entropy and its gradient"),
             (check_sigmoid_backward, "The Chain Rule: Error Flows Backward", "the gradient through a sigmoid"),
             (check_dense_backward, "The Chain Rule: Error Flows Backward", "a Dense layer's backward pass"),
             (check_two_layer_backward, "The Chain Rule: Error Flows Backward",
              "backpropagation through a whole 2-layer network")),
    _chapter(4,
             (check_minibatch_indices, "The Three Key Concepts", "one epoch of shuffled mini-batches"),
             (check_momentum_step, "Optimizers as Human Learners", "a momentum step"),
             (check_adam_step, "Optimizers as Human Learners", "an Adam step with bias correction")),
    _chapter(5,
             (check_inverted_dropout, "Dropout: An Ensemble of Smaller Networks", "inverted dropout"),
             (check_l2_penalty, "Weight Decay: Occam's Razor for Neural Networks",
              "the L2 penalty and its gradient (weight matrices only)"),
             (check_early_stopping, "The Regularization Toolkit: A Big Picture View",
              "early stopping: where to stop and which epoch to keep")),
    _chapter(6,
             (check_conv_output_size, "Padding", "the output size of a convolution"),
             (check_conv2d_forward, "Learnable Filter (The Edge Detector)", "a convolution's forward pass"),
             (check_conv2d_backward, "Feature Map", "a convolution's backward pass"),
             (check_max_pool2d_backward, "Pooling (Spatial Summarization)", "max-pooling's backward pass")),
    _chapter(7,
             (check_batchnorm_forward, "Batch Normalization: Tuning Out the Noise", "BatchNorm's forward pass (training)"),
             (check_batchnorm_backward, "Batch Normalization: Tuning Out the Noise", "BatchNorm's backward pass"),
             (check_residual_backward, "Residual Connections: The Shortcut", "a residual block's backward pass")),
    _chapter(8,
             (check_rnn_step, "Learning to Read — Letter by Letter", "one step of a vanilla RNN"),
             (check_clip_by_global_norm, "Training It: Backprop Through Time", "gradient clipping by global norm"),
             (check_lstm_step, "LSTM: Learning to Read Fluently", "one LSTM step"),
             (check_layer_norm, "Layer Normalization: The Normalization That Fits Sequences", "layer normalization")),
    _chapter(9,
             (check_masked_softmax, "Bahdanau's Fix (2014)", "a softmax over the keys with a mask"),
             (check_attention, "Self-Attention: Every Word Sees Every Other Word", "scaled dot-product attention"),
             (check_split_heads, "Multi-Head Attention: Noticing Multiple Things at Once",
              "splitting d_model into heads"),
             (check_causal_mask, "Problem 3: Speed", "the causal mask that lets a decoder train on all positions at once")),
    # Post 10 is not published yet: its parts are the sections of 10-transformer/TRANSFORMER_DEEP_DIVE.md.
    _chapter(10,
             (check_pre_ln_block, "Pre-LN, and why residual sums and LayerNorm", "a pre-LN Transformer block's forward pass"),
             (check_sinusoidal_encoding, "Positions", "the sinusoidal positional encoding"),
             (check_count_parameters, "Counting parameters and FLOPs", "a GPT's parameter count"),
             (check_sampling_distribution, "Temperature and top-k", "the sampling distribution: temperature and top-k")),
)

#: Every exercise, in course order.
EXERCISES: tuple[Exercise, ...] = tuple(e for chapter in _CHAPTERS for e in chapter)


def for_chapter(chapter: int) -> tuple[Exercise, ...]:
    """The exercises of one chapter, in the order its notebook asks them."""
    found = tuple(e for e in EXERCISES if e.chapter == chapter)
    if not found:
        raise ValueError(f"chapter must be one of {sorted({e.chapter for e in EXERCISES})}, got {chapter!r}")
    return found


__all__ = ["Result", "Exercise", "EXERCISES", "for_chapter", "PASSED", "FAILED", "NOT_DONE",
           *sorted(e.checker.__name__ for e in EXERCISES)]
