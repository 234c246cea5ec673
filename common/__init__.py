"""Perceptrons to Transformers: the shared engine.

Every building block the chapters use, defined once, in NumPy: layers with a ``forward``/``backward``
contract, losses fused with their gradients, initialisers, optimizers, a training loop, gradient checking,
small data sets, MNIST and the plotting helpers the playgrounds share.

>>> import numpy as np
>>> from common import Dense, ReLU, Sequential, Adam, softmax_cross_entropy, fit
>>> rng = np.random.default_rng(0)
>>> model = Sequential(Dense(784, 128, rng), ReLU(), Dense(128, 10, rng))
"""

# First: glibc keeps the memory one training step frees for the next (see common/_memory.py).
from . import _memory  # noqa: F401
from . import activations, attention, conv, datasets, gradcheck, init, losses, norm, optimizers, recurrent, training
from .conv import AvgPool2D, Conv2D, GlobalAvgPool2D, MaxPool2D
from .norm import BatchNorm1d, BatchNorm2d, LayerNorm, Residual
from .recurrent import GRU, LSTM, RNN, Embedding
from .activations import ELU, GELU, SELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .gradcheck import check_layer, numerical_gradient, rel_error
from .layers import Dense, Dropout, Flatten, Layer, Sequential
from .losses import binary_cross_entropy_with_logits, mse, softmax_cross_entropy
from .optimizers import SGD, Adagrad, Adam, AdamW, CosineLR, Momentum, Nesterov, RMSProp, StepLR
from .training import Callback, EarlyStopping, History, ProgressCallback, StopWhen, accuracy, evaluate, fit

__all__ = [
    "activations", "attention", "conv", "datasets", "gradcheck", "init", "losses", "norm", "optimizers",
    "recurrent", "training",
    "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "Residual",
    "RNN", "LSTM", "GRU", "Embedding",
    "Layer", "Dense", "Dropout", "Flatten", "Sequential",
    "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "SELU", "GELU", "Softmax",
    "softmax_cross_entropy", "binary_cross_entropy_with_logits", "mse",
    "SGD", "Momentum", "Nesterov", "Adagrad", "RMSProp", "Adam", "AdamW", "StepLR", "CosineLR",
    "fit", "evaluate", "accuracy", "History", "Callback", "ProgressCallback", "EarlyStopping", "StopWhen",
    "check_layer", "numerical_gradient", "rel_error",
]
