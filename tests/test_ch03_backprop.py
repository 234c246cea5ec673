"""Chapter 03: every intermediate of backprop, gradient checks, training XOR, seeds, symmetry, depth."""

import numpy as np
import pytest

import backprop as bp
import seed_sweep as ss
from backprop_measured import doc_sweep
from common.datasets import xor
from common.gradcheck import check_layer
from common.layers import Layer

ACTS = ["sigmoid", "tanh", "relu", "leaky_relu"]


@pytest.mark.parametrize("activation", ACTS)
@pytest.mark.parametrize("sizes", [(2, 2, 1), (2, 4, 3, 1)])
def test_analytic_gradients_equal_finite_differences(activation, sizes):
    X, y = xor()
    net = bp.BackpropNet(sizes, activation, "xavier", np.random.default_rng(3))
    # Biases start at 0, which puts input (0, 0) exactly on ReLU's kink, where f is not differentiable
    # and finite differences straddle it; random biases move every z off the kink.
    for d in net.dense:
        d.params["b"][...] = np.random.default_rng(4).uniform(0.1, 0.5, d.params["b"].shape)
    rows = net.gradient_check(X, y)
    assert len(rows) == 2 * (len(sizes) - 1)
    for r in rows:
        assert r["rel_error"] < 1e-7, (r["layer"], r["param"], r["rel_error"])
    # The same through the generic layer check of common (input gradient included).
    errs = check_layer(net.net, X.copy(), np.random.default_rng(0))
    assert max(errs.values()) < 1e-7


@pytest.mark.parametrize("activation", ACTS)
def test_trace_equals_the_equations_written_by_hand(activation):
    X, y = xor()
    net = bp.BackpropNet((2, 4, 3, 1), activation, "he", np.random.default_rng(7))
    tr, by_hand = net.trace(X, y), net.manual_backward(X, y)
    for t, m in zip(tr.layers, by_hand):
        for key in ("z", "a", "delta", "dW", "db"):
            assert np.allclose(getattr(t, key), m[key], rtol=1e-12, atol=1e-15), key
    assert tr.loss == pytest.approx(net.loss(X, y), rel=1e-14)
    assert np.allclose(tr.y_hat, net.predict_proba(X))


def test_trace_shapes_for_one_example_and_the_batch():
    X, y = xor()
    net = bp.BackpropNet((2, 2, 1), "sigmoid", "xavier", np.random.default_rng(0))
    one = net.trace(X[1:2], y[1:2])
    assert [(t.z.shape, t.delta.shape, t.dW.shape, t.db.shape) for t in one.layers] == \
        [((1, 2), (1, 2), (2, 2), (2,)), ((1, 1), (1, 1), (2, 1), (1,))]
    # The batch gradient is the mean of the four one-example gradients.
    batch = net.trace(X, y)
    singles = [net.trace(X[i:i + 1], y[i:i + 1]) for i in range(4)]
    for l in range(2):
        assert np.allclose(batch.layers[l].dW, np.mean([s.layers[l].dW for s in singles], axis=0))
    # δ at the output is ŷ - y for one example.
    assert np.allclose(one.layers[-1].delta[0, 0], one.y_hat[0] - y[1])


def test_trace_leaves_layer_grads_alone():
    X, y = xor()
    net = bp.BackpropNet((2, 2, 1), "tanh", "xavier", np.random.default_rng(0))
    for d in net.dense:
        d.grads["W"][...] = 7.0
    net.trace(X, y)
    assert all(np.all(d.grads["W"] == 7.0) for d in net.dense)


def test_defaults_reach_100_percent_on_xor():
    net, r = bp.train_xor()          # the playground's defaults
    X, y = xor()
    assert r.final_accuracy == 1.0 and net.accuracy(X, y) == 1.0
    assert net.predict(X).tolist() == y.tolist()
    assert r.epochs_to_converge == 208
    assert r.final_loss == pytest.approx(0.00304, abs=1e-5)
    assert r.history.train_loss[0] > 0.69 and r.history.epochs == bp.DEFAULTS["epochs"]
    assert r.accuracy[0] < 1.0 and len(r.accuracy) == bp.DEFAULTS["epochs"] + 1


def test_defaults_converge_for_every_seed_in_a_sweep():
    assert doc_sweep().fraction_converged == 1.0      # seeds 0–99, shared with the doc tests


def test_the_model_is_a_layer_trained_by_fit():
    net, r = bp.train_xor(epochs=20)
    assert isinstance(net, Layer) and dict(net.named_children()) == {"net": net.net}
    assert sorted(net.params) == ["net.0.W", "net.0.b", "net.2.W", "net.2.b"] and net.num_params() == 17
    assert r.history.epochs == 20 and len(r.history.batch_loss) == 20     # common.fit's History


@pytest.mark.parametrize("shared", [True, False])
def test_stacked_dense_gradients(shared):
    rng = np.random.default_rng(0)
    layer = ss.StackedDense(rng.standard_normal((3, 2, 4)), rng.standard_normal((3, 1, 4)))
    x = rng.standard_normal((5, 2) if shared else (3, 5, 2))
    errs = check_layer(layer, x, rng)
    assert set(errs) == {"x", "W", "b"} and max(errs.values()) < 1e-8


def test_the_stack_is_the_separate_networks_side_by_side():
    X, y = xor()
    nets = [bp.BackpropNet((2, 4, 3, 1), "tanh", "xavier", np.random.default_rng(s)) for s in range(3)]
    stack = ss.stack_seeds(nets)
    out = stack.forward(X)
    for k, net in enumerate(nets):
        assert np.allclose(out[k], net.forward(X), rtol=0, atol=1e-14)
    targets = np.repeat(y.reshape(-1, 1, 1).astype(float), 3, axis=1)
    loss, dout = ss.seedwise_bce(out, targets)
    stack.zero_grad()
    stack.backward(dout)
    for k, net in enumerate(nets):
        tr = net.trace(X, y)
        assert np.allclose(stack[0].grads["W"][k], tr.layers[0].dW, atol=1e-14)
        assert np.allclose(stack[4].grads["b"][k, 0], tr.layers[2].db, atol=1e-14)
    assert loss == pytest.approx(sum(net.loss(X, y) for net in nets), rel=1e-12)


def test_sweep_rows_equal_separate_training_runs():
    seeds = [0, 1, 5]
    s = ss.sweep(seeds, architecture="2-2-1", activation="sigmoid", lr=0.5, epochs=1500)
    for k, seed in enumerate(seeds):
        _, r = bp.train_xor("2-2-1", "sigmoid", lr=0.5, epochs=1500, seed=seed)
        assert s.final_accuracy[k] == r.final_accuracy
        assert s.final_loss[k] == pytest.approx(r.final_loss, rel=1e-9)
        assert s.epochs_to_converge[k] == (r.epochs_to_converge if r.epochs_to_converge is not None else -1)
        trained, _ = bp.train_xor("2-2-1", "sigmoid", lr=0.5, epochs=1500, seed=seed)
        for a, b in zip(s.network(k).get_params(), trained.get_params()):
            assert np.allclose(a["W"], b["W"], rtol=1e-9, atol=1e-12)


def test_some_seeds_get_stuck_with_two_hidden_units():
    s2, s4 = doc_sweep(architecture="2-2-1"), doc_sweep(architecture="2-4-1")
    assert s2.fraction_converged == 0.59 and s4.fraction_converged == 1.0
    assert set(s2.final_accuracy[~s2.converged]) <= {0.5, 0.75}
    _, r = bp.train_xor(architecture="2-2-1", seed=1)
    assert r.final_accuracy == 0.5 and r.epochs_to_converge is None


@pytest.mark.parametrize("init", ["zeros", "constant"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_symmetric_initialisation_keeps_hidden_units_identical(init, activation):
    net, r = bp.train_xor(activation=activation, init=init, epochs=500, snapshot_every=100)
    assert bp.hidden_unit_spread(net) == 0.0
    assert r.final_accuracy < 1.0
    for params in r.snapshots.values():
        W1 = params[0]["W"]
        assert np.all(W1 == W1[:, :1])
    xav, _ = bp.train_xor(activation=activation, init="xavier", epochs=10)
    assert bp.hidden_unit_spread(xav) > 0.1


def test_snapshots_replay_training():
    net, r = bp.train_xor(epochs=300, snapshot_every=100)
    assert sorted(r.snapshots) == [0, 100, 200, 300]
    X, y = xor()
    replay = net.copy().set_params(r.snapshots[300])
    assert np.allclose(replay.predict_proba(X), net.predict_proba(X))
    start = net.copy().set_params(r.snapshots[0])
    assert start.loss(X, y) == pytest.approx(r.history.train_loss[0])


def test_one_step_is_an_sgd_update_with_the_traced_gradients():
    X, y = xor()
    net = bp.BackpropNet((2, 2, 1), "sigmoid", "xavier", np.random.default_rng(0))
    tr = net.trace(X[2:3], y[2:3])
    new = bp.one_step(net, X[2:3], y[2:3], lr=0.5)
    for old_p, new_p, t in zip(net.get_params(), new.get_params(), tr.layers):
        assert np.allclose(new_p["W"], old_p["W"] - 0.5 * t.dW, atol=1e-15)
        assert np.allclose(new_p["b"], old_p["b"] - 0.5 * t.db, atol=1e-15)
    assert new.loss(X[2:3], y[2:3]) < net.loss(X[2:3], y[2:3])


def test_optimizers_from_common_train_xor():
    X, y = xor()
    for name in ("momentum", "adam"):
        net = bp.BackpropNet((2, 4, 1), "tanh", "xavier", np.random.default_rng(0))
        r = bp.train(net, X, y, lr=0.05, epochs=500, rng=np.random.default_rng(0), optimizer=name)
        assert r.final_accuracy == 1.0, name


def test_vanishing_gradients_with_depth():
    sig = bp.gradient_norms_at_init(10, "sigmoid")
    tanh = bp.gradient_norms_at_init(10, "tanh")
    relu = bp.gradient_norms_at_init(10, "relu")
    assert sig.shape == (11,)
    # Sigmoid: the first layer's gradient is about a million times smaller than the last one's.
    assert sig[-1] / sig[0] > 1e5
    assert tanh[-1] / tanh[0] < 10 and relu[-1] / relu[0] < 100
    assert np.all(np.diff(np.log(sig)) > 0)    # shrinks at every layer going backwards


def test_layer_spread_and_weight_scale():
    assert bp.layer_spread([1.0, 4.0, 2.0]) == 4.0
    assert bp.layer_spread([0.0, 1.0]) == float("inf") and np.isnan(bp.layer_spread([0.0, 0.0]))
    plain = bp.gradient_norms_at_init(10, "sigmoid")
    scaled = bp.gradient_norms_at_init(10, "sigmoid", weight_scale=4.0)
    assert plain[-1] / plain[0] > 100 * (scaled[-1] / scaled[0])


@pytest.mark.parametrize("activation, arch, seed, trained, verdict", [
    ("relu", "2-4-1", 0, False, "kink"), ("leaky_relu", "2-4-1", 0, False, "kink"),
    ("relu", "2-8-1", 0, True, "kink"), ("leaky_relu", "2-2-1", 1, True, "round-off"),
    ("tanh", "2-4-1", 0, False, "ok"), ("relu", "2-4-1", 0, True, "ok"),
])
def test_gradient_check_verdicts(activation, arch, seed, trained, verdict):
    X, y = xor()
    net = (bp.train_xor(arch, activation, seed=seed)[0] if trained else
           bp.BackpropNet(bp.ARCHITECTURES[arch], activation, "xavier", np.random.default_rng(seed)))
    rows = net.gradient_check(X[:1], y[:1])
    got, value = net.check_verdict(X[:1], y[:1], rows)
    assert got == verdict
    worst = max(r["rel_error"] for r in rows)
    if verdict == "ok":
        assert value == worst < 1e-6
    elif verdict == "kink":
        assert worst > 1e-6 and value < 1e-5
    else:
        assert worst > 1e-6 and value < 1e-12      # the absolute difference: round-off


def test_units_off():
    X, _ = xor()
    net = bp.BackpropNet((2, 2, 1), "relu", "zeros")
    assert bp.units_off(net, X).all()          # zero weights: every unit outputs exactly 0


def test_gradient_check_flags_the_relu_kink():
    # At initialisation (zero biases) input (0, 0) gives z = 0 for every hidden ReLU: the one-sided
    # derivatives differ there, so the centred difference disagrees with the subgradient 0 backprop uses.
    X, y = xor()
    net = bp.BackpropNet((2, 2, 1), "relu", "xavier", np.random.default_rng(3))
    rows = {(r["layer"], r["param"]): r["rel_error"] for r in net.gradient_check(X[:1], y[:1])}
    assert rows[(1, "b")] > 0.1
    rows = {(r["layer"], r["param"]): r["rel_error"] for r in net.gradient_check(X[1:], y[1:])}
    assert max(rows.values()) < 1e-7


def test_decide_treats_exact_ties_as_class_zero():
    assert bp.decide(np.array([1e-17, -1e-17, 0.1, -0.1])).tolist() == [0, 0, 1, 0]


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="sizes must end with 1"):
        bp.BackpropNet((2, 3), "tanh", "xavier", rng)
    with pytest.raises(ValueError, match="activation must be one of"):
        bp.BackpropNet((2, 2, 1), "swish", "xavier", rng)
    with pytest.raises(ValueError, match="init must be one of"):
        bp.BackpropNet((2, 2, 1), "tanh", "orthogonal", rng)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        bp.BackpropNet((2, 2, 1), "tanh", "xavier", None)
    with pytest.raises(ValueError, match="architecture must be one of"):
        bp.train_xor(architecture="2-3-1")
    with pytest.raises(ValueError, match="lr must be > 0"):
        bp.train_xor(lr=0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        net = bp.BackpropNet((2, 2, 1), "tanh", "xavier", rng)
        bp.train(net, *xor(), lr=0.1, epochs=1, rng=rng, optimizer="lbfgs")
    with pytest.raises(ValueError, match=r"X must have shape \(N, 2\)"):
        bp.BackpropNet((2, 2, 1), "tanh", "xavier", rng).trace(np.ones((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="seeds must be a non-empty"):
        ss.sweep([])
    with pytest.raises(ValueError, match=r"b must have shape \(S, 1, H\)"):
        ss.StackedDense(np.zeros((2, 3, 4)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="weight_scale must be > 0"):
        bp.gradient_norms_at_init(2, "tanh", weight_scale=0)
    with pytest.raises(ValueError, match="depth must be >= 1"):
        bp.gradient_norms_at_init(0, "tanh")
    with pytest.raises(ValueError, match="float64"):
        bp.BackpropNet((2, 2, 1), "tanh", "xavier", rng, dtype=np.float32).gradient_check(*xor())



def test_float32_network_trains_like_float64():
    X, y = xor()
    net = bp.BackpropNet((2, 4, 1), "tanh", "xavier", np.random.default_rng(0), dtype=np.float32)
    r = bp.train(net, X.astype(np.float32), y, lr=0.5, epochs=2000, rng=np.random.default_rng(0))
    assert net.dense[0].params["W"].dtype == np.float32 and net.trace(X.astype(np.float32), y).layers[0].dW.dtype == np.float32
    assert r.final_accuracy == 1.0 and r.epochs_to_converge == 208
    _, r64 = bp.train_xor()
    assert r.final_loss == pytest.approx(r64.final_loss, rel=1e-3)


def test_trace_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    X, y = xor()
    net = bp.BackpropNet((2, 4, 3, 1), "tanh", "he", np.random.default_rng(2))
    tr = net.trace(X, y)
    params = [{k: torch.tensor(v, requires_grad=True) for k, v in p.items()} for p in net.get_params()]
    a = torch.tensor(X)
    for l, p in enumerate(params):
        z = a @ p["W"] + p["b"]
        a = torch.tanh(z) if l < len(params) - 1 else z
    loss = torch.nn.functional.binary_cross_entropy_with_logits(a[:, 0], torch.tensor(y, dtype=torch.float64))
    loss.backward()
    assert loss.item() == pytest.approx(tr.loss, rel=1e-12)
    for p, t in zip(params, tr.layers):
        assert np.allclose(p["W"].grad.numpy(), t.dW, rtol=1e-10, atol=1e-14)
        assert np.allclose(p["b"].grad.numpy(), t.db, rtol=1e-10, atol=1e-14)
