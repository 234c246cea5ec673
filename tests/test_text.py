"""common.text: the character tokenizer, the windows, and the Tiny Shakespeare loader's search order
(explicit folder, environment variable, cache, download, bundled copy), with checksums, atomic
downloads and the offline switch. Downloads are served from memory: no test touches the network."""

import gzip
import hashlib
import io
import urllib.request
import warnings

import numpy as np
import pytest

from common import text


@pytest.fixture(scope="module")
def raw() -> bytes:
    return gzip.decompress(text.BUNDLED_PATH.read_bytes())


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env folder, an empty cache, downloads off unless a test turns them on, and any attempt to
    reach the network fails the test."""
    monkeypatch.delenv(text.ENV_DIR, raising=False)
    monkeypatch.setenv(text.ENV_OFFLINE, "1")
    monkeypatch.setattr(text, "cache_dir", lambda: tmp_path / "cache")

    def no_network(*a, **k):
        raise AssertionError("a test tried to reach the network")
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return tmp_path


def serve(monkeypatch, payload: bytes, calls: list):
    """urlopen answers with ``payload`` from memory (and records the URL)."""
    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(payload))}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.close()

    def urlopen(url, timeout=None):
        calls.append(url)
        return Response(payload)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)


# ------------------------------------------------------------------------------------------ tokenizer

def test_tokenizer_round_trip_and_vocabulary(raw):
    corpus = raw.decode()
    tok = text.CharTokenizer.from_text(corpus)
    assert tok.vocab_size == 65 and tok.chars[:3] == "\n !" and tok.chars[-1] == "z"
    ids = tok.encode("To be, or not to be")
    assert ids.dtype == np.int64 and tok.decode(ids) == "To be, or not to be"
    assert tok.decode(np.array([], dtype=np.int64)) == ""
    with pytest.raises(ValueError, match="outside the vocabulary: '#é'"):
        tok.encode("a#é")
    with pytest.raises(ValueError, match=r"\[0, 64\]"):
        tok.decode(np.array([65]))
    with pytest.raises(ValueError, match="repeat"):
        text.CharTokenizer("aba")


def test_windows():
    data = np.arange(100)
    x, y = text.random_windows(data, 8, 5, np.random.default_rng(0))
    assert x.shape == y.shape == (5, 8)
    np.testing.assert_array_equal(y, x + 1)                              # the next character everywhere
    np.testing.assert_array_equal(x[:, 1:] - x[:, :-1], 1)              # consecutive
    again = text.random_windows(data, 8, 5, np.random.default_rng(0))[0]
    np.testing.assert_array_equal(x, again)
    X, Y = text.consecutive_windows(data, 8)
    assert X.shape == (12, 8) and X[1, 0] == 8 and Y[-1, -1] == 96      # 99 // 8 windows, each token once
    assert text.consecutive_windows(data, 8, limit=3)[0].shape == (3, 8)
    with pytest.raises(ValueError, match="longer than block_size"):
        text.random_windows(np.arange(8), 8, 2, np.random.default_rng(0))


# --------------------------------------------------------------------------------------------- loader

def test_bundled_copy_is_the_published_text_and_split_as_nanogpt(isolated, raw):
    assert hashlib.sha256(raw).hexdigest() == text.SHA256 and len(raw) == text.N_CHARS
    corpus = text.load_shakespeare()
    assert corpus.is_bundled and "bundled" in corpus.source
    assert len(corpus.text) == 1_115_394 and corpus.text.startswith("First Citizen:")
    assert len(corpus.train) == 1_003_854 and len(corpus.val) == 111_540
    assert corpus.train + corpus.val == corpus.text


@pytest.mark.parametrize("name, compress", [("input.txt", False), ("input.txt.gz", True)])
def test_explicit_folder_raw_or_gzip(isolated, raw, name, compress):
    folder = isolated / "mine"
    folder.mkdir()
    (folder / name).write_bytes(gzip.compress(raw) if compress else raw)
    corpus = text.load_shakespeare(folder)
    assert not corpus.is_bundled and str(folder / name) in corpus.source and len(corpus.text) == text.N_CHARS


def test_explicit_folder_that_fails_is_an_error(isolated, raw):
    with pytest.raises(FileNotFoundError, match=r"data_dir .*nowhere has no input.txt"):
        text.load_shakespeare(isolated / "nowhere")
    bad = isolated / "bad"
    bad.mkdir()
    (bad / "input.txt").write_bytes(raw[:-1] + b"!")
    with pytest.raises(text.ShakespeareFileError, match=r"bad/input.txt: SHA-256 is"):
        text.load_shakespeare(bad)
    (bad / "input.txt").unlink()
    (bad / "input.txt.gz").write_bytes(b"\x1f\x8b not gzip")
    with pytest.raises(text.ShakespeareFileError, match="corrupt gzip"):
        text.load_shakespeare(bad)


def test_environment_folder(isolated, monkeypatch, raw):
    folder = isolated / "env"
    folder.mkdir()
    (folder / "input.txt").write_bytes(raw)
    monkeypatch.setenv(text.ENV_DIR, str(folder))
    assert str(folder) in text.load_shakespeare().source
    monkeypatch.setenv(text.ENV_DIR, str(isolated / "missing"))
    with pytest.raises(FileNotFoundError, match=text.ENV_DIR):
        text.load_shakespeare()


def test_cache_is_used_and_a_corrupt_cached_file_is_moved_aside(isolated, raw):
    cache = isolated / "cache"
    cache.mkdir()
    (cache / "input.txt").write_bytes(raw)
    assert "the cache" in text.load_shakespeare().source
    (cache / "input.txt").write_bytes(b"not shakespeare")
    with pytest.warns(RuntimeWarning, match="SHA-256 is .*moved it to .*input.txt.corrupt"):
        corpus = text.load_shakespeare()                       # offline: falls through to the bundled copy
    assert corpus.is_bundled
    assert not (cache / "input.txt").exists() and (cache / "input.txt.corrupt").read_bytes() == b"not shakespeare"


def test_download_into_the_cache_verified(isolated, monkeypatch, raw):
    monkeypatch.delenv(text.ENV_OFFLINE)
    calls, progress = [], []
    serve(monkeypatch, raw, calls)
    corpus = text.load_shakespeare(progress=lambda done, total, name: progress.append((done, total)))
    assert calls == [text.URL] and "downloaded" in corpus.source and not corpus.is_bundled
    assert (isolated / "cache" / "input.txt").read_bytes() == raw
    assert progress[-1] == (len(raw), len(raw))
    assert "the cache" in text.load_shakespeare().source                # and next time it is cached


def test_a_wrong_download_leaves_nothing_and_falls_back(isolated, monkeypatch):
    monkeypatch.delenv(text.ENV_OFFLINE)
    calls = []
    serve(monkeypatch, b"<html>rate limited</html>", calls)
    corpus = text.load_shakespeare()
    assert calls and corpus.is_bundled and "download failed" in corpus.source and "SHA-256" in corpus.source
    assert list((isolated / "cache").iterdir()) == []                     # no partial or unverified file


def test_offline_switch_and_download_false_never_download(isolated, monkeypatch):
    assert text.load_shakespeare().is_bundled                             # ENV_OFFLINE=1: urlopen would fail
    monkeypatch.delenv(text.ENV_OFFLINE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert text.load_shakespeare(download=False).is_bundled


def test_missing_bundled_copy_is_a_clear_error(isolated, monkeypatch, tmp_path):
    monkeypatch.setattr(text, "BUNDLED_PATH", tmp_path / "gone.txt.gz")
    with pytest.raises(FileNotFoundError, match="bundled copy .*gone.txt.gz is missing"):
        text.load_shakespeare()
