"""MNIST, real and offline.

``load_mnist()`` returns the 60,000/10,000 handwritten digits as float32 in [0, 1] (flattened to 784 or
as (N, 1, 28, 28)) with int64 labels, and says where they came from. It looks, in order, in:

1. the ``data_dir`` you pass;
2. the directory in the environment variable ``P2T_MNIST_DIR``;
3. the user cache directory (``~/.cache/perceptrons-to-transformers/mnist`` on Linux);
4. the public mirrors, downloading into the cache (skipped when ``download=False`` or the environment
   variable ``P2T_MNIST_OFFLINE=1``);
5. the bundled sample ``common/mnist_sample.npz``: a stratified 10,000/2,000 subset of the real data,
   so every playground works on first launch with no network. ``MNIST.is_sample`` tells you.

Every file is the standard IDX format, gzip-compressed or raw. The reader checks the magic number,
the dimensions and the length, and the SHA-256 of the *decompressed* bytes against the published table:
a file that fails is an error naming it, never used. Downloads go to a temporary file that is moved into
place only once verified, so an interrupted download leaves nothing behind. No pickle anywhere.

What happens when something is wrong (every message names the file or folder):

- a folder you chose (``data_dir``, ``P2T_MNIST_DIR``) whose files fail verification, cannot be read, or
  hold only some of the four files is an **error** (naming the missing ones); ``data_dir`` that is a
  file is an error; ``P2T_MNIST_DIR`` naming a missing folder, a file or a folder without MNIST is
  skipped with a one-line ``MNISTWarning`` saying so;
- the **cache heals itself**: a cached file that fails verification is moved aside to ``<name>.corrupt``
  with a one-line warning and downloaded again (or, offline, the loader falls through to the sample); an
  unreadable cache folder is skipped with a warning;
- a download tries every mirror in turn (a connection error, an HTTP error or a corrupt gzip stream
  from one mirror moves on to the next) and, if none serves a verified file, the sample is used and
  ``MNIST.source`` says why.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, licensed CC BY-SA 3.0.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import os
import struct
import sys
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._download import download_verified
from ._validation import check_generator, check_positive_int

#: name → SHA-256 of the decompressed IDX bytes (same for the public downloads and our copy).
FILES = {
    "train_images": ("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train_labels": ("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "test_images": ("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "test_labels": ("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}

#: Public mirrors serving the four ``.gz`` files, tried in turn.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)

ENV_DIR = "P2T_MNIST_DIR"
ENV_OFFLINE = "P2T_MNIST_OFFLINE"
SAMPLE_PATH = Path(__file__).with_name("mnist_sample.npz")
ATTRIBUTION = ("MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, "
               "licensed CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/).")


class MNISTFileError(ValueError):
    """A file that is not valid MNIST IDX data (bad magic, dimensions, length or checksum, a corrupt gzip
    stream). ``path`` is the file when one file is to blame."""

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class MNISTPermissionError(MNISTFileError, PermissionError):
    """A file or folder the loader may not read (both a ``ValueError`` and a ``PermissionError``)."""


class MNISTWarning(UserWarning):
    """A source the loader skipped or repaired, said in one line (the data still loads)."""


def _warn(message: str) -> None:
    warnings.warn(message, MNISTWarning, stacklevel=3)


@dataclass(frozen=True)
class MNIST:
    """The data and where it came from. Images are float32 in [0, 1]; labels int64 in [0, 9]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    is_sample: bool

    def __repr__(self) -> str:
        return (f"MNIST(train={self.x_train.shape}, test={self.x_test.shape}, "
                f"is_sample={self.is_sample}, source={self.source!r})")


# --------------------------------------------------------------------------------------------- IDX

def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of one uint8 IDX file into an array of its declared shape.

    Layout: two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions d, then d
    big-endian uint32 sizes, then the values.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"data must be the bytes of an IDX file, got {type(data).__name__}")
    if len(data) < 4:
        raise MNISTFileError(f"{name}: too short to be an IDX file ({len(data)} bytes)")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08 or ndim not in (1, 3):
        raise MNISTFileError(f"{name}: bad IDX magic number 0x{data[:4].hex()} "
                             "(expected 0x00000801 for labels or 0x00000803 for images)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MNISTFileError(f"{name}: truncated IDX header")
    dims = struct.unpack(">" + "I" * ndim, data[4:header])
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(data) != expected:
        raise MNISTFileError(f"{name}: header declares shape {dims} ({expected} bytes) "
                             f"but the file has {len(data)} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise MNISTPermissionError(f"{path}: cannot read the file (permission denied)", path) from None
    except OSError as exc:
        raise MNISTFileError(f"{path}: cannot read the file ({exc.strerror or exc})", path) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:     # zlib.error: a corrupt deflate stream
            raise MNISTFileError(f"{path}: corrupt gzip data ({exc})", path) from None
    return raw


def _find(directory: Path, stem: str) -> Path | None:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        try:
            if candidate.is_file():
                return candidate
        except PermissionError:
            raise MNISTPermissionError(f"{directory}: cannot look inside the folder (permission denied)") from None
    return None


def _present(directory: Path) -> tuple[dict[str, Path], list[str]]:
    """The MNIST files in ``directory`` (key → path) and the stems of the missing ones."""
    found, missing = {}, []
    for key, (stem, _) in FILES.items():
        path = _find(directory, stem)
        if path is None:
            missing.append(stem)
        else:
            found[key] = path
    return found, missing


def _kind(path: Path) -> str:
    """"dir", "file" or "missing"; a path the loader may not look at is an ``MNISTPermissionError``."""
    try:
        if path.is_dir():
            return "dir"
        return "file" if path.exists() else "missing"
    except PermissionError:
        raise MNISTPermissionError(f"{path}: cannot look at it (permission denied)") from None


def _missing_text(directory: Path, found: dict, missing: list[str]) -> str:
    return (f"{directory} has {len(found)} of the 4 MNIST files; missing "
            + ", ".join(f"{stem}.gz (or {stem})" for stem in missing))


def read_mnist_dir(directory, verify: bool = True) -> dict[str, np.ndarray]:
    """Read and validate the four IDX files in ``directory`` (``.gz`` or raw).

    Returns uint8 arrays ``train_images (60000, 28, 28)``, ``train_labels (60000,)``, ``test_images``,
    ``test_labels``. Raises ``FileNotFoundError`` if a file is missing and ``MNISTFileError`` naming the
    file if one is malformed or (with ``verify``) fails its SHA-256 check.
    """
    directory = Path(directory)
    found, missing = _present(directory)
    if missing:
        stem = missing[0]
        raise FileNotFoundError(f"{directory}: no {stem}.gz or {stem} "
                                f"({_missing_text(directory, found, missing)})")
    out = {}
    for key, (stem, sha) in FILES.items():
        path = found[key]
        data = _read_bytes(path)
        if verify:
            digest = hashlib.sha256(data).hexdigest()
            if digest != sha:
                raise MNISTFileError(f"{path}: SHA-256 of the decompressed content is {digest}, "
                                     f"expected {sha}; the file is corrupt or not MNIST", path)
        try:
            arr = parse_idx(data, str(path))
        except MNISTFileError as exc:
            raise MNISTFileError(str(exc), path) from None
        want_ndim = 3 if key.endswith("images") else 1
        if arr.ndim != want_ndim or (want_ndim == 3 and arr.shape[1:] != (28, 28)):
            raise MNISTFileError(f"{path}: expected {'(N, 28, 28) images' if want_ndim == 3 else '(N,) labels'}, "
                                 f"got shape {arr.shape}", path)
        out[key] = arr
    for split in ("train", "test"):
        n_img, n_lab = len(out[f"{split}_images"]), len(out[f"{split}_labels"])
        if n_img != n_lab:
            raise MNISTFileError(f"{directory}: {n_img} {split} images but {n_lab} {split} labels")
        if n_lab and out[f"{split}_labels"].max() > 9:
            raise MNISTFileError(f"{directory}: {split} labels outside 0-9", found[f"{split}_labels"])
    return out


@functools.lru_cache(maxsize=4)
def _read_cached(directory: str, verify: bool) -> dict[str, np.ndarray]:
    arrays = read_mnist_dir(directory, verify)
    for a in arrays.values():
        a.flags.writeable = False
    return arrays


# ------------------------------------------------------------------------------------------- paths

def cache_dir() -> Path:
    """The per-user cache directory for MNIST."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "perceptrons-to-transformers" / "mnist"


def _move_aside(path: Path) -> Path | None:
    """Rename a cache file that failed verification to ``<name>.corrupt`` (kept for a look, out of the
    loader's way); delete it if it cannot be renamed. Returns where it went (None if it could not move)."""
    aside = path.with_name(path.name + ".corrupt")
    try:
        os.replace(path, aside)
        return aside
    except OSError:
        try:
            path.unlink()
        except OSError:
            return None
        return path


# ---------------------------------------------------------------------------------------- download

def download_file(url: str, target: Path, sha256: str, progress=None, timeout: float = 30.0) -> None:
    """Download ``url`` (a gzip'd IDX file) to ``target``, verifying the decompressed SHA-256.

    The bytes go to a temporary file beside ``target`` which is renamed into place only once verified;
    on any failure it is deleted, so no partial or unverified file is ever left.
    ``progress(bytes_done, bytes_total_or_None, filename)`` is called as chunks arrive.
    """
    def verify(tmp: Path) -> None:
        try:
            data = _read_bytes(tmp)
        except MNISTFileError as exc:
            raise MNISTFileError(f"{url}: {str(exc).split(': ', 1)[-1]}") from None
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise MNISTFileError(f"{url}: SHA-256 of the decompressed content is {digest}, expected {sha256}")

    download_verified(url, target, verify, progress, timeout)


def download_mnist(directory, mirrors=None, progress=None) -> Path:
    """Download the four files into ``directory`` from the first mirror (default ``MIRRORS``) that serves
    a verified copy. Raises ``OSError`` listing every mirror's failure if none does."""
    directory = Path(directory)
    mirrors = MIRRORS if mirrors is None else mirrors
    for stem, sha in FILES.values():
        if _find(directory, stem) is not None:
            continue
        errors = []
        for mirror in mirrors:
            try:
                download_file(mirror + stem + ".gz", directory / f"{stem}.gz", sha, progress)
                break
            except (OSError, ValueError, http.client.HTTPException) as exc:   # the next mirror may serve it
                errors.append(f"{mirror}: {type(exc).__name__}: {exc}")
        else:
            raise OSError(f"could not download {stem}.gz from any mirror:\n  " + "\n  ".join(errors))
    return directory


# ------------------------------------------------------------------------------------------ sample

def stratified_indices(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``n`` rows with the classes as equally represented as ``n`` allows, in random order."""
    check_positive_int("n", n)
    check_generator("rng", rng)
    if n > len(y):
        raise ValueError(f"n must be <= the number of rows ({len(y)}), got {n}")
    classes = np.unique(y)
    per_class = np.full(len(classes), n // len(classes))
    per_class[: n % len(classes)] += 1
    picks = []
    for c, k in zip(classes, per_class):
        members = np.flatnonzero(y == c)
        picks.append(rng.choice(members, size=min(k, len(members)), replace=False))
    idx = np.concatenate(picks)
    if len(idx) < n:  # a class too small for its share: fill from the rest
        rest = np.setdiff1d(np.arange(len(y)), idx)
        idx = np.concatenate([idx, rng.choice(rest, size=n - len(idx), replace=False)])
    return rng.permutation(idx)


def _load_sample() -> dict[str, np.ndarray]:
    if not SAMPLE_PATH.is_file():
        raise FileNotFoundError(f"the bundled MNIST sample {SAMPLE_PATH} is missing")
    try:
        with np.load(SAMPLE_PATH, allow_pickle=False) as data:
            return {k: data[k] for k in ("train_images", "train_labels", "test_images", "test_labels")}
    except Exception as exc:
        raise MNISTFileError(f"{SAMPLE_PATH}: the bundled MNIST sample is unreadable ({type(exc).__name__}: {exc})",
                             SAMPLE_PATH) from None


# ------------------------------------------------------------------------------------------- entry

def _from_cache(directory: Path, fetch: bool, progress, notes: list[str]):
    """(arrays, whether anything was downloaded) from the user cache, or (None, False).

    A file that fails verification is moved aside with a one-line warning and fetched again (when
    downloads are allowed), so a corrupt cache never breaks a page; a cache that cannot be read is skipped
    with a warning."""
    downloaded = False
    for _ in range(len(FILES) + 1):               # each round repairs at least one file or gives up
        try:
            found, missing = _present(directory) if _kind(directory) == "dir" else ({}, ["all"])
        except MNISTPermissionError as exc:
            _warn(f"skipping the MNIST cache: {exc}")
            notes.append(str(exc))
            return None, False
        if missing:
            if not fetch:
                if found:
                    notes.append(_missing_text(directory, found, missing))
                return None, False
            try:
                download_mnist(directory, progress=progress)
            except OSError as exc:
                notes.append(f"download failed: {exc}")
                return None, False
            downloaded = True
        try:
            arrays = _read_cached(str(directory.resolve()), True)
        except MNISTFileError as exc:
            bad = [exc.path] if exc.path is not None else list(_present(directory)[0].values())
            moved = [_move_aside(p) for p in bad]
            where = ", ".join(str(m) for m in moved if m is not None) or "nowhere (it could not be moved)"
            _warn(f"MNIST cache: {exc}; moved it to {where}" + (" and downloading it again" if fetch else ""))
            notes.append(f"a cached file failed verification: {exc}")
            if not fetch or any(m is None for m in moved):
                return None, False
            continue
        return arrays, downloaded
    return None, False


def _to_float(images: np.ndarray, flatten: bool, dtype) -> np.ndarray:
    x = images.astype(dtype) / dtype(255.0)
    return x.reshape(len(x), -1) if flatten else x.reshape(len(x), 1, 28, 28)


def load_mnist(data_dir=None, *, flatten: bool = True, dtype=np.float32, download: bool = True,
               allow_sample: bool = True, progress=None) -> MNIST:
    """Load MNIST from the first place that has it (see the module docstring for the order and for what
    happens when a source is broken).

    ``progress(bytes_done, bytes_total_or_None, filename)`` reports a download. Raises
    ``FileNotFoundError`` if nothing is found, nothing can be downloaded and ``allow_sample`` is False.
    """
    try:
        dtype = np.dtype(dtype).type
    except TypeError:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dtype).name}")
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise ValueError(f"data_dir must be a folder path (str or pathlib.Path), got {type(data_dir).__name__}")
        data_dir = Path(data_dir).expanduser()
        if _kind(data_dir) == "file":
            raise ValueError(f"data_dir must be a folder, got the file {data_dir}")
    fetch = download and os.environ.get(ENV_OFFLINE, "").lower() not in ("1", "true", "yes")
    looked, notes = [], []
    arrays = source = None

    # 1-2. folders you chose: used if complete; a broken file or a partial set is an error (data_dir may
    # also be completed by the download below)
    for label in ("data_dir", ENV_DIR):
        if label == "data_dir":
            directory = data_dir
        else:
            env = os.environ.get(ENV_DIR)
            directory = Path(env).expanduser() if env else None
            kind = _kind(directory) if directory is not None else None
            if kind in ("missing", "file"):
                _warn(f"{ENV_DIR}={env} " + ("does not exist" if kind == "missing" else "is a file, not a folder")
                      + "; ignoring it")
                notes.append(f"{ENV_DIR}={env} " + ("does not exist" if kind == "missing" else "is a file"))
                directory = None
        if directory is None:
            continue
        looked.append(str(directory))
        found, missing = _present(directory) if _kind(directory) == "dir" else ({}, [s for s, _ in FILES.values()])
        if not missing:
            arrays = _read_cached(str(directory.resolve()), True)
            source = f"real MNIST from {directory} (SHA-256 verified)"
            break
        if found and not (label == "data_dir" and fetch):
            raise FileNotFoundError(f"{label}: {_missing_text(directory, found, missing)}")
        if not found:
            if label == ENV_DIR:
                _warn(f"{ENV_DIR}={env} holds none of the four MNIST files; ignoring it")
            notes.append(f"{directory} has no MNIST files")

    # 3. the user cache, healed when a file fails verification (downloads go to data_dir when it is given)
    if arrays is None:
        arrays, downloaded = _from_cache(cache_dir(), fetch and data_dir is None, progress, notes)
        if arrays is not None:
            how = "downloaded to" if downloaded else "from"
            source = f"real MNIST {how} {cache_dir()} (SHA-256 verified)"
        looked.append(str(cache_dir()))

    # 4. download into data_dir (the cache was handled above)
    if arrays is None and data_dir is not None and fetch:
        try:
            download_mnist(data_dir, progress=progress)
            arrays = _read_cached(str(data_dir.resolve()), True)
            source = f"real MNIST downloaded to {data_dir} (SHA-256 verified)"
        except OSError as exc:
            notes.append(f"download failed: {exc}")

    if arrays is None:
        if not allow_sample:
            raise FileNotFoundError(f"MNIST not found in {', '.join(looked)}" + "".join(f"; {n}" for n in notes))
        arrays = _load_sample()
        source = (f"bundled sample: {len(arrays['train_labels']):,} train / {len(arrays['test_labels']):,} "
                  "test images, a stratified subset of real MNIST. Full MNIST was not found"
                  + (f" ({'; '.join(notes)})" if notes else "")
                  + f"; put the four files in {cache_dir()} or set {ENV_DIR} for the full set.")
        is_sample = True
    else:
        is_sample = False

    return MNIST(
        x_train=_to_float(arrays["train_images"], flatten, dtype),
        y_train=arrays["train_labels"].astype(np.int64),
        x_test=_to_float(arrays["test_images"], flatten, dtype),
        y_test=arrays["test_labels"].astype(np.int64),
        source=source,
        is_sample=is_sample,
    )
