"""The MNIST loader: IDX parsing and validation, checksums, the download path (against a local server),
the bundled sample and the real files."""

import gzip
import hashlib
import http.server
import os
import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from common import mnist


def idx_bytes(arr: np.ndarray) -> bytes:
    return struct.pack(">HBB", 0, 0x08, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + \
        arr.astype(np.uint8).tobytes()


def synthetic(n_train=12, n_test=5, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_dir(directory: Path, arrays: dict, compress=True) -> dict:
    """Write the four files; return name → (stem, sha256) as in ``mnist.FILES``."""
    directory.mkdir(parents=True, exist_ok=True)
    table = {}
    for key, (stem, _) in mnist.FILES.items():
        data = idx_bytes(arrays[key])
        table[key] = (stem, hashlib.sha256(data).hexdigest())
        path = directory / (stem + ".gz" if compress else stem)
        path.write_bytes(gzip.compress(data) if compress else data)
    return table


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env dir, an empty cache, downloads off unless a test turns them on."""
    monkeypatch.delenv(mnist.ENV_DIR, raising=False)
    monkeypatch.setenv(mnist.ENV_OFFLINE, "1")
    monkeypatch.setattr(mnist, "cache_dir", lambda: tmp_path / "cache")
    return tmp_path


# ------------------------------------------------------------------------------------------ parsing

def test_parse_idx_round_trip():
    arr = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    np.testing.assert_array_equal(mnist.parse_idx(idx_bytes(arr)), arr)
    labels = np.array([3, 1, 4], dtype=np.uint8)
    np.testing.assert_array_equal(mnist.parse_idx(idx_bytes(labels)), labels)


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b"\x00\x00\x09\x03" + b[4:], "bad IDX magic number"),
    (lambda b: b"\x01\x00\x08\x03" + b[4:], "bad IDX magic number"),
    (lambda b: b[:-1], "header declares shape"),
    (lambda b: b + b"\x00", "header declares shape"),
    (lambda b: b[:2], "too short"),
    (lambda b: b[:9], "truncated IDX header"),
])
def test_parse_idx_rejects_bad_files_by_name(mutate, message):
    data = idx_bytes(np.zeros((2, 28, 28), dtype=np.uint8))
    with pytest.raises(mnist.MNISTFileError, match=f"myfile: {message}"):
        mnist.parse_idx(mutate(data), "myfile")


@pytest.mark.parametrize("compress", [True, False])
def test_read_dir_gz_and_raw(tmp_path, compress):
    arrays = synthetic()
    write_dir(tmp_path, arrays, compress=compress)
    out = mnist.read_mnist_dir(tmp_path, verify=False)
    for key in arrays:
        np.testing.assert_array_equal(out[key], arrays[key])


def test_read_dir_checks_checksums_and_names_the_file(tmp_path):
    write_dir(tmp_path, synthetic())
    with pytest.raises(mnist.MNISTFileError, match=r"train-images-idx3-ubyte.gz: SHA-256 .* expected ba8910"):
        mnist.read_mnist_dir(tmp_path, verify=True)


def test_read_dir_structural_errors(tmp_path):
    arrays = synthetic()
    arrays["train_labels"] = arrays["train_labels"][:-1]
    write_dir(tmp_path / "a", arrays)
    with pytest.raises(mnist.MNISTFileError, match="12 train images but 11 train labels"):
        mnist.read_mnist_dir(tmp_path / "a", verify=False)
    arrays = synthetic()
    arrays["test_images"] = np.zeros((5, 20, 20), np.uint8)
    write_dir(tmp_path / "b", arrays)
    with pytest.raises(mnist.MNISTFileError, match=r"t10k-images-idx3-ubyte.gz: expected \(N, 28, 28\) images"):
        mnist.read_mnist_dir(tmp_path / "b", verify=False)
    arrays = synthetic()
    arrays["test_labels"][0] = 12
    write_dir(tmp_path / "c", arrays)
    with pytest.raises(mnist.MNISTFileError, match="test labels outside 0-9"):
        mnist.read_mnist_dir(tmp_path / "c", verify=False)
    (tmp_path / "d").mkdir()
    with pytest.raises(FileNotFoundError, match="no train-images-idx3-ubyte.gz or train-images-idx3-ubyte"):
        mnist.read_mnist_dir(tmp_path / "d")
    write_dir(tmp_path / "e", synthetic())
    (tmp_path / "e" / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(mnist.MNISTFileError, match="train-labels-idx1-ubyte.gz: corrupt gzip"):
        mnist.read_mnist_dir(tmp_path / "e", verify=False)


# -------------------------------------------------------------------------------------- resolution

def test_explicit_directory_with_matching_checksums(isolated, monkeypatch):
    arrays = synthetic()
    table = write_dir(isolated / "mine", arrays)
    monkeypatch.setattr(mnist, "FILES", table)
    data = mnist.load_mnist(isolated / "mine")
    assert not data.is_sample and "real MNIST from" in data.source
    assert data.x_train.shape == (12, 784) and data.x_train.dtype == np.float32
    assert data.x_train.max() <= 1.0 and data.y_train.dtype == np.int64
    np.testing.assert_allclose(data.x_test[0], arrays["test_images"][0].ravel() / 255.0, rtol=1e-6)
    images = mnist.load_mnist(isolated / "mine", flatten=False, dtype=np.float64).x_train
    assert images.shape == (12, 1, 28, 28) and images.dtype == np.float64


def test_environment_directory_is_used(isolated, monkeypatch):
    table = write_dir(isolated / "env", synthetic())
    monkeypatch.setattr(mnist, "FILES", table)
    monkeypatch.setenv(mnist.ENV_DIR, str(isolated / "env"))
    assert str(isolated / "env") in mnist.load_mnist().source


def test_a_corrupt_file_is_never_used(isolated):
    write_dir(isolated / "bad", synthetic())   # checksums will not match the real table
    with pytest.raises(mnist.MNISTFileError, match="SHA-256"):
        mnist.load_mnist(isolated / "bad")


def test_falls_back_to_the_bundled_sample_and_says_so(isolated):
    data = mnist.load_mnist()
    assert data.is_sample
    assert "bundled sample: 10,000 train / 2,000 test" in data.source
    assert data.x_train.shape == (10_000, 784) and data.x_test.shape == (2_000, 784)
    assert np.bincount(data.y_train).tolist() == [1000] * 10
    assert np.bincount(data.y_test).tolist() == [200] * 10
    with pytest.raises(FileNotFoundError, match="MNIST not found"):
        mnist.load_mnist(allow_sample=False)


def test_sample_is_small_and_pickle_free():
    assert mnist.SAMPLE_PATH.stat().st_size <= 3_000_000
    with np.load(mnist.SAMPLE_PATH, allow_pickle=False) as data:
        assert "CC BY-SA 3.0" in str(data["attribution"])
        assert data["train_images"].dtype == np.uint8


def test_bad_dtype():
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        mnist.load_mnist(dtype=np.int32)


# ---------------------------------------------------------------------------------------- download

class _Server:
    """A loopback HTTP server: path → bytes, anything else 404."""

    def __init__(self, routes):
        routes_ = routes

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = routes_.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                declared = len(body)
                if isinstance(body, tuple):            # (body, declared length): a cut-off response
                    body, declared = body
                self.send_response(200)
                self.send_header("Content-Length", str(declared))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_tries_mirrors_verifies_and_leaves_no_partial_file(isolated, monkeypatch):
    arrays = synthetic()
    table = {k: (stem, hashlib.sha256(idx_bytes(arrays[k])).hexdigest()) for k, (stem, _) in mnist.FILES.items()}
    monkeypatch.setattr(mnist, "FILES", table)
    good = {f"/good/{stem}.gz": gzip.compress(idx_bytes(arrays[k])) for k, (stem, _) in table.items()}
    corrupt = {f"/corrupt/{stem}.gz": gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07") for stem, _ in table.values()}
    progress = []
    with _Server({**good, **corrupt}) as server:
        mirrors = (server.url + "/missing/", server.url + "/corrupt/", server.url + "/good/")
        monkeypatch.setattr(mnist, "MIRRORS", mirrors)
        monkeypatch.delenv(mnist.ENV_OFFLINE)
        data = mnist.load_mnist(progress=lambda done, total, name: progress.append((done, total, name)))
    assert "downloaded to" in data.source and not data.is_sample
    np.testing.assert_array_equal(data.y_train, arrays["train_labels"])
    files = sorted(p.name for p in (isolated / "cache").iterdir())
    assert files == sorted(f"{stem}.gz" for stem, _ in table.values())     # no .part left behind
    assert progress and progress[-1][0] == progress[-1][1]


def test_download_file_rejects_a_checksum_mismatch(tmp_path):
    body = gzip.compress(b"hello")
    with _Server({"/f.gz": body}) as server:
        with pytest.raises(mnist.MNISTFileError, match="SHA-256"):
            mnist.download_file(server.url + "/f.gz", tmp_path / "f.gz", sha256="0" * 64)
        assert list(tmp_path.iterdir()) == []
        mnist.download_file(server.url + "/f.gz", tmp_path / "f.gz", hashlib.sha256(b"hello").hexdigest())
    assert (tmp_path / "f.gz").read_bytes() == body


def test_when_every_mirror_fails_the_sample_is_used_with_the_reason(isolated, monkeypatch):
    with _Server({}) as server:
        monkeypatch.setattr(mnist, "MIRRORS", (server.url + "/nothing/",))
        monkeypatch.delenv(mnist.ENV_OFFLINE)
        data = mnist.load_mnist()
    assert data.is_sample and "download failed" in data.source
    assert not any((isolated / "cache").glob("*.part"))


# ------------------------------------------------------------------------------------------ real

def test_real_mnist(real_mnist):
    assert real_mnist.x_train.shape == (60_000, 784) and real_mnist.x_test.shape == (10_000, 784)
    assert real_mnist.x_train.dtype == np.float32
    assert 0.0 == real_mnist.x_train.min() and real_mnist.x_train.max() == 1.0
    assert np.bincount(real_mnist.y_train).tolist()[:3] == [5923, 6742, 5958]
    assert "SHA-256 verified" in real_mnist.source


def test_sample_is_a_subset_of_real_mnist(real_mnist):
    with np.load(mnist.SAMPLE_PATH, allow_pickle=False) as data:
        idx = data["train_indices"]
        np.testing.assert_array_equal(real_mnist.y_train[idx], data["train_labels"])
        np.testing.assert_allclose(real_mnist.x_train[idx[:50]], data["train_images"][:50].reshape(50, -1) / 255.0,
                                   rtol=1e-6)


# ------------------------------------------------------------------------------- a loader that heals
# Issue 12: every broken source is a clear error naming it (a folder you chose) or is skipped/repaired
# with a one-line MNISTWarning (the cache, P2T_MNIST_DIR that points nowhere), and the sample still works.

def corrupt_deflate(data: bytes) -> bytes:
    """A gzip file whose deflate stream is broken: gzip.decompress raises zlib.error, not OSError."""
    g = gzip.compress(data)
    for pos in range(10, len(g) - 8):                 # the first flipped byte that breaks the stream itself
        bad = bytearray(g)
        bad[pos] ^= 0xFF
        try:
            gzip.decompress(bytes(bad))
        except zlib.error:
            return bytes(bad)
        except (OSError, EOFError):
            pass
    raise AssertionError("no single flipped byte gives a zlib.error")


@pytest.fixture
def table(monkeypatch):
    """Checksums of the synthetic set, so a synthetic folder verifies like real MNIST."""
    arrays = synthetic()
    t = {k: (stem, hashlib.sha256(idx_bytes(arrays[k])).hexdigest()) for k, (stem, _) in mnist.FILES.items()}
    monkeypatch.setattr(mnist, "FILES", t)
    mnist._read_cached.cache_clear()
    return arrays


def _break(directory: Path, stem: str, how: str) -> Path:
    path = directory / f"{stem}.gz"
    if how == "deflate":
        path.write_bytes(corrupt_deflate(gzip.decompress(path.read_bytes())))
    elif how == "checksum":
        data = bytearray(gzip.decompress(path.read_bytes()))
        data[-1] ^= 1
        path.write_bytes(gzip.compress(bytes(data)))
    elif how == "truncated":
        path.write_bytes(path.read_bytes()[:30])
    return path


@pytest.mark.parametrize("how, message", [
    ("deflate", "corrupt gzip data"), ("checksum", "SHA-256"), ("truncated", "corrupt gzip data"),
])
@pytest.mark.parametrize("where", ["data_dir", "env"])
def test_a_broken_file_in_a_folder_you_chose_is_an_error_naming_it(isolated, table, monkeypatch, how, message, where):
    write_dir(isolated / "mine", table)
    bad = _break(isolated / "mine", "train-labels-idx1-ubyte", how)
    if where == "env":
        monkeypatch.setenv(mnist.ENV_DIR, str(isolated / "mine"))
    with pytest.raises(mnist.MNISTFileError, match=message) as e:
        mnist.load_mnist(isolated / "mine" if where == "data_dir" else None)
    assert str(bad) in str(e.value)


def test_read_dir_names_the_file_with_a_corrupt_deflate_stream(tmp_path):
    write_dir(tmp_path, synthetic())
    bad = _break(tmp_path, "t10k-images-idx3-ubyte", "deflate")
    with pytest.raises(mnist.MNISTFileError, match="corrupt gzip data") as e:
        mnist.read_mnist_dir(tmp_path, verify=False)
    assert str(bad) in str(e.value) and e.value.path == bad


@pytest.mark.parametrize("how", ["deflate", "checksum", "truncated"])
def test_a_broken_cache_file_is_moved_aside_and_fetched_again(isolated, table, monkeypatch, how):
    cache = isolated / "cache"
    write_dir(cache, table)
    bad = _break(cache, "train-images-idx3-ubyte", how)
    good = {f"/m/{stem}.gz": gzip.compress(idx_bytes(table[k])) for k, (stem, _) in mnist.FILES.items()}
    with _Server(good) as server:
        monkeypatch.setattr(mnist, "MIRRORS", (server.url + "/m/",))
        monkeypatch.delenv(mnist.ENV_OFFLINE)
        with pytest.warns(mnist.MNISTWarning, match="moved it to .*train-images-idx3-ubyte.gz.corrupt") as w:
            data = mnist.load_mnist()
    assert len(w) == 1 and "\n" not in str(w[0].message)              # one line
    assert not data.is_sample and "downloaded to" in data.source
    np.testing.assert_array_equal(data.y_train, table["train_labels"])
    assert (cache / "train-images-idx3-ubyte.gz.corrupt").exists()
    mnist._read_cached.cache_clear()
    assert not mnist.load_mnist().is_sample                             # healed: the next run reads the cache


def test_a_broken_cache_file_offline_falls_through_to_the_sample(isolated, table):
    write_dir(isolated / "cache", table)
    _break(isolated / "cache", "t10k-labels-idx1-ubyte", "deflate")
    with pytest.warns(mnist.MNISTWarning, match="t10k-labels-idx1-ubyte.gz: corrupt gzip data"):
        data = mnist.load_mnist()
    assert data.is_sample and "failed verification" in data.source
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                  # the bad file is out of the way now
        assert mnist.load_mnist().is_sample


def test_download_moves_on_from_a_mirror_with_a_corrupt_deflate_stream(isolated, table, monkeypatch):
    good = {f"/good/{stem}.gz": gzip.compress(idx_bytes(table[k])) for k, (stem, _) in mnist.FILES.items()}
    broken = {f"/broken/{stem}.gz": corrupt_deflate(idx_bytes(table[k])) for k, (stem, _) in mnist.FILES.items()}
    cut = {f"/cut/{stem}.gz": (body[:20], len(body)) for stem, body in
           ((stem, gzip.compress(idx_bytes(table[k]))) for k, (stem, _) in mnist.FILES.items())}
    with _Server({**good, **broken, **cut}) as server:
        target = mnist.download_mnist(isolated / "dl", mirrors=(server.url + "/broken/", server.url + "/cut/",
                                                                 server.url + "/good/"))
        assert sorted(p.name for p in target.iterdir()) == sorted(f"{s}.gz" for s, _ in mnist.FILES.values())
        with pytest.raises(OSError, match=r"(?s)could not download .*broken/: MNISTFileError: .*broken/"
                                          r"train-images-idx3-ubyte.gz: corrupt gzip.*cut/: .*the connection ended"):
            mnist.download_mnist(isolated / "dl2", mirrors=(server.url + "/broken/", server.url + "/cut/"))
        assert not any((isolated / "dl2").iterdir())                    # nothing partial left
        monkeypatch.setattr(mnist, "MIRRORS", (server.url + "/broken/",))
        monkeypatch.delenv(mnist.ENV_OFFLINE)
        data = mnist.load_mnist()
    assert data.is_sample and "download failed" in data.source


@pytest.mark.parametrize("missing", ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"])
@pytest.mark.parametrize("where", ["data_dir", "env", "read_mnist_dir"])
def test_three_of_four_files_names_the_missing_one(isolated, table, monkeypatch, missing, where):
    write_dir(isolated / "part", table)
    (isolated / "part" / f"{missing}.gz").unlink()
    if where == "read_mnist_dir":
        with pytest.raises(FileNotFoundError, match=f"has 3 of the 4 MNIST files; missing {missing}.gz"):
            mnist.read_mnist_dir(isolated / "part")
        return
    if where == "env":
        monkeypatch.setenv(mnist.ENV_DIR, str(isolated / "part"))
    with pytest.raises(FileNotFoundError, match=f"has 3 of the 4 MNIST files; missing {missing}.gz"):
        mnist.load_mnist(isolated / "part" if where == "data_dir" else None)


def test_three_of_four_in_the_cache_offline_says_which_in_the_source(isolated, table):
    write_dir(isolated / "cache", table)
    (isolated / "cache" / "train-labels-idx1-ubyte.gz").unlink()
    data = mnist.load_mnist()
    assert data.is_sample and "missing train-labels-idx1-ubyte.gz" in data.source


@pytest.mark.parametrize("kind, message", [
    ("missing", "does not exist; ignoring it"), ("file", "is a file, not a folder; ignoring it"),
    ("empty", "holds none of the four MNIST files; ignoring it"),
])
def test_env_dir_that_points_nowhere_says_so(isolated, monkeypatch, kind, message):
    target = isolated / "envdir"
    if kind == "file":
        target.write_text("not a folder")
    elif kind == "empty":
        target.mkdir()
    monkeypatch.setenv(mnist.ENV_DIR, str(target))
    with pytest.warns(mnist.MNISTWarning, match=f"P2T_MNIST_DIR={target} {message}"):
        data = mnist.load_mnist()
    assert data.is_sample and str(target) in data.source


@pytest.mark.parametrize("data_dir, message", [
    (lambda d: d / "a-file", "data_dir must be a folder, got the file"),
    (lambda d: 5, r"data_dir must be a folder path \(str or pathlib.Path\), got int"),
])
def test_data_dir_that_is_not_a_folder_is_an_error(isolated, data_dir, message):
    (isolated / "a-file").write_text("x")
    with pytest.raises(ValueError, match=message):
        mnist.load_mnist(data_dir(isolated))


def _deny(monkeypatch, target: Path, what: str):
    """Simulate chmod 000 (which does not stop root): reading ``target`` (a file) or looking inside it (a
    folder) raises PermissionError."""
    if what == "file":
        real = Path.read_bytes

        def read_bytes(self):
            if self == target:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    else:
        real = Path.is_file

        def is_file(self, *a, **k):
            if self.parent == target:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *a, **k)

        monkeypatch.setattr(Path, "is_file", is_file)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_permission_errors_in_a_folder_you_chose_are_clear(isolated, table, monkeypatch, what):
    write_dir(isolated / "mine", table)
    target = isolated / "mine" / "train-images-idx3-ubyte.gz" if what == "file" else isolated / "mine"
    _deny(monkeypatch, target, what)
    with pytest.raises(mnist.MNISTPermissionError, match="permission denied") as e:
        mnist.load_mnist(isolated / "mine")
    assert str(target) in str(e.value)
    assert isinstance(e.value, PermissionError) and isinstance(e.value, ValueError)


def test_an_unreadable_cache_folder_is_skipped_with_a_warning(isolated, table, monkeypatch):
    write_dir(isolated / "cache", table)
    _deny(monkeypatch, isolated / "cache", "folder")
    with pytest.warns(mnist.MNISTWarning, match="skipping the MNIST cache: .*permission denied"):
        data = mnist.load_mnist()
    assert data.is_sample


def test_an_unreadable_cache_file_is_moved_aside(isolated, table, monkeypatch):
    write_dir(isolated / "cache", table)
    _deny(monkeypatch, isolated / "cache" / "t10k-images-idx3-ubyte.gz", "file")
    with pytest.warns(mnist.MNISTWarning, match="cannot read the file \\(permission denied\\); moved it to"):
        assert mnist.load_mnist().is_sample


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="running as root: chmod 000 does not stop root from reading "
                           "(the monkeypatched rows above simulate it)")
@pytest.mark.parametrize("what", ["file", "folder"])
def test_real_chmod_000(isolated, table, what):
    write_dir(isolated / "mine", table)
    target = isolated / "mine" / "train-images-idx3-ubyte.gz" if what == "file" else isolated / "mine"
    target.chmod(0)
    try:
        with pytest.raises(mnist.MNISTPermissionError, match="permission denied"):
            mnist.load_mnist(isolated / "mine")
    finally:
        target.chmod(0o755)
