"""The container base (common.layers.Layer): children registered by attribute, params/grads/buffers over
the whole tree, the tree operations defined once, astype refusing under a live optimizer, and save/load
that is atomic and all-or-nothing."""

import os

import numpy as np
import pytest

from common import Adam, BatchNorm1d, Dense, Embedding, LSTM, Layer, ReLU, Residual, Sequential
from common.gradcheck import check_layer


class TwoTowers(Layer):
    """A model written the way every chapter model is: children as attributes, nothing else."""

    def __init__(self, rng):
        super().__init__()
        self.left = Sequential(Dense(3, 4, rng), ReLU())
        self.right = Dense(3, 4, rng, dtype=np.float32)
        self.norm = BatchNorm1d(4)
        self.add_param("scale", np.ones(4, dtype=np.float32))
        self._not_a_child = Dense(3, 4, rng)              # private: a reference, not a child

    def forward(self, x, training=False):
        """out = BN(left(x)) ⊙ scale + right(x)"""
        self._n = self.norm.forward(self.left.forward(x, training), training)
        return self._n * self.params["scale"] + self.right.forward(x)

    def backward(self, dout):
        self._grads["scale"] += (dout * self._n).sum(axis=0)
        return self.left.backward(self.norm.backward(dout * self.params["scale"])) + self.right.backward(dout)


def test_children_params_grads_buffers_and_tree_operations():
    m = TwoTowers(np.random.default_rng(0))
    assert [n for n, _ in m.named_children()] == ["left", "right", "norm"]
    assert list(m.params) == ["scale", "left.0.W", "left.0.b", "right.W", "right.b", "norm.gamma", "norm.beta"]
    assert list(m.grads) == list(m.params)
    assert list(m.buffers) == ["norm.running_mean", "norm.running_var", "norm.num_batches_tracked"]
    assert m.params["right.W"] is m.right.params["W"]
    assert m.num_params() == 4 + 2 * (3 * 4 + 4) + 8
    assert [p for p, _ in m.parameters()][1] is m.left[0].params["W"]
    for _, g in m.parameters():
        g[...] = 1
    m.zero_grad()
    assert not any(g.any() for g in m.grads.values())
    with pytest.raises(TypeError, match="view over its children"):
        m.params["right.W"] = np.zeros((3, 4))
    m.right = ReLU()                                     # replacing a child re-registers it
    assert "right.W" not in m.params


def test_a_model_of_layers_gradchecks_without_an_adapter():
    rng = np.random.default_rng(1)
    m = TwoTowers(rng).astype(np.float64)
    m.params["scale"][...] = rng.uniform(0.5, 1.5, 4)
    errors = check_layer(m, rng.standard_normal((6, 3)), rng, training=True)
    assert set(errors) == {"x", *m.params}
    assert max(errors.values()) < 1e-7, errors


def test_astype_converts_the_tree_keeps_integer_buffers_and_refuses_under_a_live_optimizer():
    m = TwoTowers(np.random.default_rng(0)).astype(np.float64)
    assert all(p.dtype == np.float64 for p in m.params.values())
    assert m.buffers["norm.num_batches_tracked"].dtype == np.int64
    opt = Adam(m.parameters(), lr=1e-3)
    with pytest.raises(RuntimeError, match="call astype before building the optimizer"):
        m.astype(np.float32)
    with pytest.raises(RuntimeError, match="call astype before building the optimizer"):
        m.left.astype(np.float32)                        # a child of an optimized tree too
    del opt
    m.astype(np.float32)                                  # the optimizer is gone: allowed again
    assert m.params["right.W"].dtype == np.float32


def test_summary_of_a_container_that_is_not_sequential():
    text = TwoTowers(np.random.default_rng(0)).summary()
    assert "left" in text and "Dense(3 → 4)" in text and "Total parameters: 44" in text
    with pytest.raises(ValueError, match="input_shape must be a tuple"):
        Sequential(Dense(2, 2, np.random.default_rng(0))).summary(5)


def _model(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(Dense(4, 3, rng), BatchNorm1d(3), Residual(Sequential(ReLU(), Dense(3, 3, rng))))


def test_save_appends_npz_and_load_finds_it(tmp_path):
    m, other = _model(0), _model(1)
    written = m.save(tmp_path / "model")
    assert written == tmp_path / "model.npz" and written.exists()
    other.load(tmp_path / "model")
    for k in m.params:
        np.testing.assert_array_equal(other.params[k], m.params[k])


def test_save_is_atomic_a_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    _model(0).save(path)
    good = path.read_bytes()

    def broken_savez(f, **arrays):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        _model(1).save(path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]            # no temporary file left behind


def test_load_is_all_or_nothing(tmp_path):
    m = _model(0)
    path = m.save(tmp_path / "m.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    target = _model(1)
    before = {k: v.copy() for k, v in target.params.items()}
    # a wrong shape in the LAST array: nothing may have been copied before the check fails
    last = sorted(k for k in arrays if k.startswith("param:"))[-1]
    bad = dict(arrays, **{last: np.zeros((7, 7), np.float32)})
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(ValueError, match="has shape"):
        target.load(tmp_path / "bad.npz")
    for k, v in before.items():
        np.testing.assert_array_equal(target.params[k], v)
    huge = dict(arrays, **{"param:0.W": np.full((4, 3), 1e300)})
    np.savez(tmp_path / "huge.npz", **huge)
    with pytest.raises(ValueError, match="not finite in float32"):
        target.load(tmp_path / "huge.npz")
    noarch = {k: v for k, v in arrays.items() if k != "architecture"}
    np.savez(tmp_path / "noarch.npz", **noarch)
    with pytest.raises(ValueError, match="no architecture record"):
        target.load(tmp_path / "noarch.npz")
    for k, v in before.items():
        np.testing.assert_array_equal(target.params[k], v)


@pytest.mark.parametrize("content, match", [
    (b"", "not a"), (b"PK\x03\x04 truncated zip", "not a"), (b"plain text", "not a"),
])
def test_load_of_a_broken_file_names_the_path(tmp_path, content, match):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match) as e:
        _model().load(path)
    assert "broken.npz" in str(e.value)


def test_load_errors_for_missing_files_folders_and_npy(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        _model().load(tmp_path / "nothing.npz")
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(ValueError, match="must be a file"):
        _model().load(tmp_path / "d.npz")
    np.save(tmp_path / "x.npy", np.zeros(3))
    with pytest.raises(ValueError, match="does not exist"):
        _model().load(tmp_path / "x.npy")                # x.npy.npz: an .npy is not a checkpoint
    with pytest.raises(ValueError, match="path must be a file path"):
        _model().save(5)
    with pytest.raises(ValueError, match="existing folder"):
        _model().save(tmp_path / "no" / "such" / "m.npz")


def test_sequence_models_save_and_load(tmp_path):
    rng = np.random.default_rng(3)
    model = Sequential(Embedding(7, 3, rng), LSTM(3, 4, rng))
    path = model.save(tmp_path / "seq")
    other = Sequential(Embedding(7, 3, np.random.default_rng(4)), LSTM(3, 4, np.random.default_rng(4))).load(path)
    ids = rng.integers(0, 7, (2, 5))
    np.testing.assert_array_equal(other.forward(ids), model.forward(ids))
    with np.load(path) as data:
        assert "param:1.cell.Wx" in data.files and os.path.getsize(path) > 0


def test_meta_and_extras_travel_with_a_checkpoint_and_load_ignores_them(tmp_path):
    from common.checkpoints import history_arrays, read_extras, read_history, read_meta
    from common.training import History

    m = _model(0)
    h = History(train_loss=[0.9, 0.4], val_acc=[0.6, 0.8], batch_loss=[1.0, 0.8, 0.5])
    path = m.save(tmp_path / "run", meta={"seed": 0, "epochs": 2, "note": "seeded"},
                  extras={**history_arrays(h, "fit"), "alphabet": np.array(list("abc"))})
    assert read_meta(path) == {"seed": 0, "epochs": 2, "note": "seeded"}
    assert read_history(path, "fit").batch_loss == [1.0, 0.8, 0.5]
    assert read_extras(path)["alphabet"].tolist() == ["a", "b", "c"]
    other = _model(1).load(path)
    np.testing.assert_array_equal(other.params["0.W"], m.params["0.W"])
    with pytest.raises(ValueError, match="no history 'other'"):
        read_history(path, "other")
    with pytest.raises(ValueError, match="no objects"):
        m.save(tmp_path / "bad", extras={"x": np.array([{}], dtype=object)})


def test_checkpoint_readers_name_a_broken_file(tmp_path):
    from common.checkpoints import read_meta
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="broken.npz"):
        read_meta(bad)
