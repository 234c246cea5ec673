"""The course map: one entry per chapter, used by the hub (``app.py``), the README check and the
browser smoke test, so the three never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Chapter:
    number: int
    folder: str
    title: str
    part: str
    post_title: str
    post_url: str
    module: str
    shows: str

    @property
    def playground(self) -> Path:
        return ROOT / self.folder / f"{self.module}_playground.py"

    @property
    def url_path(self) -> str:
        return self.folder

    @property
    def label(self) -> str:
        return f"{self.number:02d} · {self.title}"


_POSTS = "https://dev.to/rnilav/"

CHAPTERS: tuple[Chapter, ...] = (
    Chapter(1, "01-perceptron", "Perceptron", "Foundations", "Perceptron: The Foundation of Modern AI",
            _POSTS + "understanding-perceptrons-the-foundation-of-modern-ai-2g04", "perceptron",
            "the perceptron rule moving a line after each mistake; AND/OR/NAND converge, XOR never does"),
    Chapter(2, "02-multi-layer-perceptron", "Multi-layer perceptron", "Foundations",
            "Multi Layer Perceptron: From Lines to Curves – The Hidden Layer",
            _POSTS + "understanding-ai-from-first-principles-multi-layer-perceptrons-and-the-hidden-layer-breakthrough-44pl",
            "mlp", "hand-set weights that solve XOR, the hidden space where XOR becomes separable, activations"),
    Chapter(3, "03-backpropagation", "Backpropagation", "Foundations",
            "Backpropagation: Errors Flow Backward, Knowledge Flows Forward",
            _POSTS + "3-backpropagation-errors-flow-backward-knowledge-flows-forward-5320", "backprop",
            "training XOR step by step, every intermediate of the backward pass, vanishing gradients"),
    Chapter(4, "04-optimization", "Optimizers", "Training on MNIST",
            "Neural Network Optimizers: From Baby Steps to Intelligent Learning",
            _POSTS + "neural-network-optimizers-from-baby-steps-to-intelligent-learning-44po", "optimization",
            "SGD to Adam racing on MNIST, optimizer paths on loss landscapes, EWMA and bias correction"),
    Chapter(5, "05-regularization", "Regularization", "Training on MNIST", "Regularization: Fighting Overfitting",
            _POSTS + "regularization-fighting-overfitting-2pj", "regularization",
            "the generalization gap opened and closed by dropout, L2, weight decay, early stopping"),
    Chapter(6, "06-cnn", "Convolutional networks", "Architectures", "From Generalists to Specialists: The CNN Shift",
            _POSTS + "from-generalists-to-specialists-the-cnn-shift-1h1d", "cnn",
            "FC vs CNN on MNIST, learned filters and feature maps, convolution, padding, stride, pooling"),
    Chapter(7, "07-normalization-residual", "Normalization & residuals", "Architectures",
            "Understanding Internal Covariate Shift and Residual Connections",
            _POSTS + "understanding-internal-covariate-shift-and-residual-connections-beyond-activation-functions-and-2c8",
            "normalization_residual", "signal and gradients through deep nets with and without BatchNorm and skips"),
    Chapter(8, "08-rnn", "Recurrent networks", "Sequences",
            "Understanding Recurrent Neural Networks: From Forgetting to Remembering",
            _POSTS + "understanding-recurrent-neural-networks-from-forgetting-to-remembering-5f7", "rnn",
            "RNN vs LSTM vs GRU remembering a subject, gradients through time, LSTM gates"),
    Chapter(9, "09-attention", "Attention", "Sequences", "Attention Mechanisms: Stop Compressing, Start Looking Back",
            _POSTS + "attention-mechanisms-stop-compressing-start-looking-back-1bol", "attention",
            "seq2seq with and without attention, learned alignments, scaled dot-product and multi-head"),
    # Post 09 announces Post 10 (the Transformer); it has no published URL yet, so this links the series.
    Chapter(10, "10-transformer", "Transformer", "Transformers",
            "Post 10: the Transformer (announced at the end of Post 09; the series so far)", _POSTS.rstrip("/"), "gpt",
            "a GPT trained in NumPy writing Shakespeare: sampling, attention maps, positions, training live, cost"),
)


def chapter_modules(chapters=None, *, skip: tuple[str, ...] = ("_",)):
    """Yield ``(chapter, module)`` for every module of the chapters numbered in ``chapters`` (``"04"``, …;
    all when empty), file by file in name order, leaving out the playgrounds and the files whose names
    start with one of ``skip``. Each chapter's folder goes on ``sys.path`` (at the end) so that its modules
    import as the chapter's tests import them."""
    import importlib
    import sys

    for ch in CHAPTERS:
        if chapters and f"{ch.number:02d}" not in chapters:
            continue
        folder = ROOT / ch.folder
        if str(folder) not in sys.path:
            sys.path.append(str(folder))
        for path in sorted(folder.glob("*.py")):
            if path.stem.endswith("_playground") or path.stem.startswith(skip):
                continue
            yield ch, importlib.import_module(path.stem)
