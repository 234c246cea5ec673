"""Tiny Shakespeare and a character tokenizer, verified and offline-first. Introduced in chapter 10.

``load_shakespeare()`` returns the 1,115,394 characters of Karpathy's char-rnn corpus (plays by William
Shakespeare, public domain) and says where they came from. It looks, in order, in:

1. the ``data_dir`` you pass (a folder holding ``input.txt`` or ``input.txt.gz``); a folder that has no
   such file, or one that fails its check, is an error;
2. the folder in the environment variable ``P2T_SHAKESPEARE_DIR`` (same rule);
3. the user cache (``~/.cache/perceptrons-to-transformers/tinyshakespeare`` on Linux); a cached file that
   fails its check is moved aside (``input.txt.corrupt``) with a one-line warning and the search goes on;
4. the public URL, downloading into the cache (skipped when ``download=False`` or the environment
   variable ``P2T_SHAKESPEARE_OFFLINE=1``);
5. the copy bundled in the package, ``common/tinyshakespeare.txt.gz`` (434 KB), so everything works on
   first launch with no network. It is the whole corpus, not a sample.

Every file is checked against the SHA-256 of the published text before it is used; a download goes to a
temporary file that is moved into place only once verified. The split is nanoGPT's: the first 90% of the
characters for training (1,003,854), the last 10% for validation (111,540).

>>> tok = CharTokenizer.from_text("hello world")
>>> tok.chars, tok.vocab_size
(' dehlorw', 8)
>>> tok.encode("hold").tolist(), tok.decode(tok.encode("hold"))
([3, 5, 4, 1], 'hold')
"""

from __future__ import annotations

import gzip
import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._download import download_verified
from ._validation import check_array, check_generator, check_positive_int
from .mnist import cache_dir as _mnist_cache_dir

URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
N_CHARS = 1_115_394
FILENAME = "input.txt"
ENV_DIR = "P2T_SHAKESPEARE_DIR"
ENV_OFFLINE = "P2T_SHAKESPEARE_OFFLINE"
BUNDLED_PATH = Path(__file__).with_name("tinyshakespeare.txt.gz")
TRAIN_FRACTION = 0.9
ATTRIBUTION = ("Tiny Shakespeare: plays by William Shakespeare (public domain), as compiled for Andrej "
               "Karpathy's char-rnn (MIT licence).")


class ShakespeareFileError(ValueError):
    """A file that is not the Tiny Shakespeare text (bad gzip data, checksum or encoding)."""


@dataclass(frozen=True)
class Corpus:
    """The text and where it came from; ``train``/``val`` are nanoGPT's 90% / 10% split."""

    text: str
    source: str
    is_bundled: bool

    @property
    def split(self) -> int:
        return int(len(self.text) * TRAIN_FRACTION)

    @property
    def train(self) -> str:
        return self.text[: self.split]

    @property
    def val(self) -> str:
        return self.text[self.split:]

    def __repr__(self) -> str:
        return f"Corpus({len(self.text):,} characters, is_bundled={self.is_bundled}, source={self.source!r})"


# ------------------------------------------------------------------------------------------- tokenizer

class CharTokenizer:
    """Characters ↔ integer ids: the vocabulary is the sorted set of characters of a corpus.

    ``encode(text) -> (len(text),) int64``; ``decode(ids) -> str``. A character outside the vocabulary is
    a ``ValueError`` naming it.
    """

    def __init__(self, chars: str) -> None:
        if not isinstance(chars, str) or not chars:
            raise ValueError(f"chars must be a non-empty string of distinct characters, got {chars!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("chars must not repeat a character")
        self.chars = chars
        self._index = {c: i for i, c in enumerate(chars)}
        self._table = np.array(list(chars))

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty string")
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        unknown = sorted(set(text) - self._index.keys())
        if unknown:
            raise ValueError(f"text has characters outside the vocabulary: {''.join(unknown)!r} "
                             f"(the vocabulary is {self.chars!r})")
        return np.fromiter((self._index[c] for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        ids = check_array("ids", ids, ndim=1)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= self.vocab_size):
            raise ValueError(f"ids must be integers in [0, {self.vocab_size - 1}]")
        return "".join(self._table[ids]) if ids.size else ""

    def __repr__(self) -> str:
        return f"CharTokenizer({self.vocab_size} characters)"


# -------------------------------------------------------------------------------------------- windows

def random_windows(data: np.ndarray, block_size: int, batch_size: int, rng: np.random.Generator):
    """A batch of ``batch_size`` windows at random offsets (nanoGPT's ``get_batch``): inputs
    ``x[n] = data[i:i+T]`` and targets ``y[n] = data[i+1:i+T+1]`` (the next character at every
    position). Shapes: data: (M,) ids; x, y: (batch_size, block_size)."""
    data = check_array("data", data, ndim=1)
    check_positive_int("block_size", block_size)
    check_positive_int("batch_size", batch_size)
    check_generator("rng", rng)
    if len(data) <= block_size:
        raise ValueError(f"data must be longer than block_size={block_size}, got {len(data)} tokens")
    starts = rng.integers(0, len(data) - block_size, size=batch_size)
    idx = starts[:, None] + np.arange(block_size + 1)                        # (N, T + 1)
    w = data[idx]
    return w[:, :-1], w[:, 1:]


def consecutive_windows(data: np.ndarray, block_size: int, limit: int | None = None):
    """The data cut into consecutive non-overlapping windows, ``(x, y)`` each (M, block_size) with y the
    next character of every x; every token of ``data`` but the last partial window is predicted once,
    with a context of 1 … block_size characters (what nanoGPT's random validation windows average over).
    ``limit`` keeps the first ``limit`` windows."""
    data = check_array("data", data, ndim=1)
    check_positive_int("block_size", block_size)
    M = (len(data) - 1) // block_size
    if limit is not None:
        check_positive_int("limit", limit)
        M = min(M, limit)
    if M == 0:
        raise ValueError(f"data must hold more than block_size={block_size} tokens, got {len(data)}")
    x = data[: M * block_size].reshape(M, block_size)
    y = data[1: M * block_size + 1].reshape(M, block_size)
    return x, y


# ---------------------------------------------------------------------------------------------- files

def cache_dir() -> Path:
    """The per-user cache folder for Tiny Shakespeare (beside MNIST's)."""
    return _mnist_cache_dir().parent / "tinyshakespeare"


def read_text_file(path) -> str:
    """The verified text of ``path`` (raw or gzip-compressed). Raises ``FileNotFoundError`` if it does not
    exist and ``ShakespeareFileError`` naming it if it is not the published text."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ShakespeareFileError(f"{path}: corrupt gzip data ({exc})") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise ShakespeareFileError(f"{path}: SHA-256 is {digest}, expected {SHA256}; the file is corrupt or "
                                   "not Tiny Shakespeare")
    return raw.decode("utf-8")


def _find(directory: Path) -> Path | None:
    for candidate in (directory / FILENAME, directory / f"{FILENAME}.gz"):
        if candidate.is_file():
            return candidate
    return None


def download_shakespeare(directory, url: str = URL, progress=None, timeout: float = 30.0) -> Path:
    """Download the text into ``directory/input.txt``, verified before it is moved into place (an
    interrupted or wrong download leaves nothing behind). ``progress(bytes_done, bytes_total_or_None,
    filename)`` is called as chunks arrive. Returns the path written."""
    return download_verified(url, Path(directory) / FILENAME, read_text_file, progress, timeout)


def _explicit(directory: Path, what: str) -> Corpus:
    path = _find(directory)
    if path is None:
        raise FileNotFoundError(f"{what} {directory} has no {FILENAME} or {FILENAME}.gz")
    return Corpus(read_text_file(path), f"Tiny Shakespeare from {path} (SHA-256 verified)", False)


def load_shakespeare(data_dir=None, *, download: bool = True, progress=None) -> Corpus:
    """Tiny Shakespeare from the first place that has it (see the module docstring for the order)."""
    if data_dir is not None:
        return _explicit(Path(data_dir), "data_dir")
    if os.environ.get(ENV_DIR):
        return _explicit(Path(os.environ[ENV_DIR]), f"the folder in {ENV_DIR},")
    cache = cache_dir()
    cached = _find(cache)
    if cached is not None:
        try:
            return Corpus(read_text_file(cached), f"Tiny Shakespeare from the cache {cached} (SHA-256 verified)", False)
        except ShakespeareFileError as exc:
            aside = cached.with_name(cached.name + ".corrupt")
            os.replace(cached, aside)
            warnings.warn(f"{exc}; moved it to {aside}", RuntimeWarning, stacklevel=2)
    failure = None
    offline = os.environ.get(ENV_OFFLINE, "").lower() in ("1", "true", "yes")
    if download and not offline:
        try:
            path = download_shakespeare(cache, progress=progress)
            return Corpus(read_text_file(path), f"Tiny Shakespeare downloaded to {path} (SHA-256 verified)", False)
        except (OSError, ShakespeareFileError) as exc:
            failure = f"download failed: {exc}"
    if not BUNDLED_PATH.is_file():
        raise FileNotFoundError(f"Tiny Shakespeare not found in {cache}" + (f" ({failure})" if failure else "") +
                                f" and the bundled copy {BUNDLED_PATH} is missing")
    return Corpus(read_text_file(BUNDLED_PATH),
                  f"the copy bundled with the package, {BUNDLED_PATH.name} (SHA-256 verified)"
                  + (f"; {failure}" if failure else ""), True)
