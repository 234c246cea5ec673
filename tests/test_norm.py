"""common/norm.py: BatchNorm (both modes), LayerNorm, Residual: gradient checks, running statistics,
PyTorch parity, bad input."""

import numpy as np
import pytest

from common.activations import ReLU
from common.conv import Conv2D
from common.gradcheck import check_layer, rel_error
from common.layers import Dense, Sequential
from common.norm import BatchNorm1d, BatchNorm2d, LayerNorm, Residual

from torch_check import assert_matches_torch

TOL = 1e-9   # observed max 2.2e-10 (residual conv block with BatchNorm2d) in float64


def _randomise(layer, rng):
    """Non-trivial γ, β and running statistics, so every term of the gradient is exercised."""
    for k, p in layer.params.items():
        p[...] = rng.standard_normal(p.shape) * 0.5 + (1.0 if "gamma" in k else 0.0)
    for k, b in layer.buffers.items():
        if k.endswith("running_mean"):
            b[...] = rng.standard_normal(b.shape)
        elif k.endswith("running_var"):
            b[...] = rng.uniform(0.5, 2.0, b.shape)
    return layer


def _bn1(rng):
    return BatchNorm1d(4, dtype=np.float64)


def _bn2(rng):
    return BatchNorm2d(3, dtype=np.float64)


def _ln(rng):
    return LayerNorm(5, dtype=np.float64)


def _res_identity(rng):
    return Residual(Sequential(Dense(4, 4, rng, dtype=np.float64), ReLU(), Dense(4, 4, rng, dtype=np.float64)))


def _res_projection(rng):
    return Residual(Sequential(Dense(4, 6, rng, dtype=np.float64), ReLU(), Dense(6, 6, rng, dtype=np.float64)),
                    projection=Dense(4, 6, rng, bias=False, dtype=np.float64))


def _res_bn(rng):
    # No bias before a BatchNorm: BN subtracts the batch mean, so that bias's true gradient is exactly 0
    # and a relative error of two round-off values means nothing (test_bias_before_batchnorm_...).
    return Residual(Sequential(Dense(4, 4, rng, bias=False, dtype=np.float64), BatchNorm1d(4, dtype=np.float64),
                               ReLU()))


def _res_conv(rng):
    body = Sequential(Conv2D(2, 3, 3, rng, stride=2, padding=1, bias=False, dtype=np.float64),
                      BatchNorm2d(3, dtype=np.float64))
    return Residual(body, projection=Conv2D(2, 3, 1, rng, stride=2, bias=False, dtype=np.float64))


CASES = {
    "batchnorm1d train": (_bn1, (6, 4), True),
    "batchnorm1d eval": (_bn1, (6, 4), False),
    "batchnorm2d train": (_bn2, (3, 3, 4, 4), True),
    "batchnorm2d eval": (_bn2, (3, 3, 4, 4), False),
    "layernorm 2d": (_ln, (4, 5), False),
    "layernorm 3d": (_ln, (2, 3, 5), True),
    "residual identity": (_res_identity, (5, 4), False),
    "residual projection": (_res_projection, (5, 4), False),
    "residual with batchnorm train": (_res_bn, (6, 4), True),
    "residual conv projection train": (_res_conv, (3, 2, 5, 5), True),
}


@pytest.mark.parametrize("name", CASES)
def test_gradients_match_finite_differences(name):
    make, shape, training = CASES[name]
    rng = np.random.default_rng(0)
    layer = _randomise(make(rng), rng)
    x = rng.standard_normal(shape) * 2 + 0.5
    errors = check_layer(layer, x, rng, training=training)
    assert set(errors) == {"x"} | set(layer.params)
    assert max(errors.values()) < TOL, errors


def test_bias_before_batchnorm_gets_no_gradient_in_training():
    rng = np.random.default_rng(7)
    model = Sequential(Dense(4, 3, rng, dtype=np.float64), BatchNorm1d(3, dtype=np.float64))
    model.forward(rng.standard_normal((8, 4)), training=True)
    model.backward(rng.standard_normal((8, 3)))
    assert np.abs(model.grads["0.b"]).max() < 1e-14
    assert np.abs(model.grads["0.W"]).max() > 1e-2


def test_batchnorm_train_normalises_and_eval_uses_running_averages():
    rng = np.random.default_rng(1)
    bn = BatchNorm1d(3, dtype=np.float64)
    x = rng.standard_normal((500, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 10.0]
    out = bn.forward(x, training=True)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1 / np.sqrt(1 + 1e-5 / x.var(axis=0)), rtol=1e-12)  # ε's effect
    # One step of the running averages: r = 0.9·r + 0.1·stat, the variance unbiased (PyTorch's rule).
    np.testing.assert_allclose(bn.buffers["running_mean"], 0.1 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.buffers["running_var"], 0.9 + 0.1 * x.var(axis=0, ddof=1), rtol=1e-12)
    assert int(bn.buffers["num_batches_tracked"]) == 1
    for _ in range(200):
        bn.forward(x, training=True)
    np.testing.assert_allclose(bn.buffers["running_mean"], x.mean(axis=0), rtol=1e-6)
    # Eval: a single sample gets the same output as in any batch, normalised by the running stats.
    single = bn.forward(x[:1], training=False)
    np.testing.assert_allclose(single, bn.forward(x, training=False)[:1], rtol=1e-12)
    np.testing.assert_allclose(single, (x[:1] - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + 1e-5), rtol=1e-6)


def test_batch_of_one_in_training_mode_erases_the_input():
    bn = BatchNorm1d(3, dtype=np.float64)
    bn.params["beta"][:] = [0.5, -1.0, 2.0]
    a = bn.forward(np.array([[1.0, 2.0, 3.0]]), training=True)
    b = bn.forward(np.array([[-7.0, 40.0, 0.3]]), training=True)
    np.testing.assert_array_equal(a, b)                 # every input becomes β
    np.testing.assert_array_equal(a[0], [0.5, -1.0, 2.0])


def test_running_stats_are_buffers_not_params():
    bn = BatchNorm2d(4)
    assert set(bn.params) == {"gamma", "beta"}
    assert {"running_mean", "running_var"} <= set(bn.buffers)
    model = Sequential(Conv2D(1, 4, 3, np.random.default_rng(0)), bn)
    assert not any("running" in k for k in model.params)
    assert "1.running_mean" in model.buffers
    assert len(model.parameters()) == 4       # W, b, gamma, beta
    # The container's buffer views stay live after a training forward (updated in place).
    model.forward(np.random.default_rng(1).standard_normal((2, 1, 5, 5)).astype(np.float32), training=True)
    assert np.any(model.buffers["1.running_mean"] != 0)
    model.astype(np.float64)
    assert model.buffers["1.running_var"].dtype == np.float64
    assert model.buffers["1.num_batches_tracked"].dtype == np.int64


def test_save_and_load_keep_running_statistics(tmp_path):
    rng = np.random.default_rng(8)
    make = lambda: Sequential(Dense(4, 3, rng), BatchNorm1d(3), Residual(Sequential(LayerNorm(3), Dense(3, 3, rng))))
    model = make()
    x = rng.standard_normal((16, 4)).astype(np.float32)
    for _ in range(3):
        model.forward(x, training=True)
    model.save(tmp_path / "m.npz")
    other = make().load(tmp_path / "m.npz")
    np.testing.assert_array_equal(other.forward(x), model.forward(x))
    assert int(other.buffers["1.num_batches_tracked"]) == 3
    assert "2.body.0.gamma" in other.params


def test_layernorm_normalises_each_sample_and_ignores_the_batch():
    rng = np.random.default_rng(2)
    ln = LayerNorm(6, dtype=np.float64)
    x = rng.standard_normal((4, 6)) * 3 + 7
    out = ln.forward(x)
    np.testing.assert_allclose(out.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(ln.forward(x[:1]), out[:1], rtol=1e-12)
    np.testing.assert_allclose(ln.forward(x, training=True), out, rtol=1e-12)


def test_residual_adds_the_input_and_accumulates_both_branches():
    rng = np.random.default_rng(3)
    body = Sequential(Dense(3, 3, rng, dtype=np.float64))
    block = Residual(body)
    x = rng.standard_normal((2, 3))
    np.testing.assert_allclose(block.forward(x), body.forward(x) + x)
    dout = rng.standard_normal((2, 3))
    dx = block.backward(dout)
    np.testing.assert_allclose(dx, dout @ body[0].params["W"].T + dout)   # F'ᵀ·dout + dout
    # A zero body: the block is the identity and passes the gradient through unchanged (the highway).
    body[0].params["W"][:] = 0
    np.testing.assert_allclose(block.forward(x), x)
    np.testing.assert_allclose(block.backward(dout), dout)
    assert set(block.params) == {"body.0.W", "body.0.b"}


def test_bad_input_raises_value_errors():
    rng = np.random.default_rng(4)
    with pytest.raises(ValueError, match=r"x must have shape \(N, D\) with 4 features"):
        BatchNorm1d(4).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, C, H, W\) with 3 features"):
        BatchNorm2d(3).forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="momentum must be in"):
        BatchNorm1d(4, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be > 0"):
        BatchNorm1d(4, eps=0)
    with pytest.raises(ValueError, match="num_features must be >= 1"):
        LayerNorm(0)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 5\)"):
        LayerNorm(5).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="pass projection="):
        Residual(Dense(4, 6, rng)).forward(np.zeros((1, 4), np.float32))
    with pytest.raises(ValueError, match="body must be a Layer"):
        Residual("dense")
    with pytest.raises(RuntimeError, match="backward called before forward"):
        BatchNorm1d(2).backward(np.zeros((1, 2)))


# --------------------------------------------------------------------------------- PyTorch parity

@pytest.mark.parametrize("two_d", [False, True])
def test_batchnorm_matches_torch_in_both_modes(two_d):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    shape = (4, 3, 5, 5) if two_d else (8, 3)
    ours = (BatchNorm2d if two_d else BatchNorm1d)(3, dtype=np.float64)
    ref = (torch.nn.BatchNorm2d if two_d else torch.nn.BatchNorm1d)(3).double()
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    ours.params["gamma"][:], ours.params["beta"][:] = gamma, beta
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(gamma))
        ref.bias.copy_(torch.from_numpy(beta))
    for step in range(3):                                        # training: 3 batches
        x = rng.standard_normal(shape) * 2 + step
        ref.train()
        assert_matches_torch(ref, lambda v: ours.forward(v, training=True), ours.backward, x, rng, out_tol=1e-12,
                             dx_rtol=1e-10, dx_atol=1e-12)
    np.testing.assert_allclose(ours.buffers["running_mean"], ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.buffers["running_var"], ref.running_var.numpy(), rtol=1e-12)
    ours.zero_grad()
    ref.zero_grad()
    ref.eval()                                                   # evaluation: running statistics
    x = rng.standard_normal(shape)
    assert_matches_torch(ref, lambda v: ours.forward(v, training=False), ours.backward, x, rng, out_tol=1e-12,
                         dx_rtol=1e-12, dx_atol=1e-12)
    np.testing.assert_allclose(ours.grads["gamma"], ref.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.grads["beta"], ref.bias.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_layernorm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    ours = LayerNorm(5, dtype=np.float64)
    ours.params["gamma"][:] = rng.standard_normal(5)
    ours.params["beta"][:] = rng.standard_normal(5)
    ref = torch.nn.LayerNorm(5).double()
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ours.params["gamma"]))
        ref.bias.copy_(torch.from_numpy(ours.params["beta"]))
    x = rng.standard_normal((2, 3, 5)) * 3
    xt = torch.from_numpy(x).requires_grad_()
    out_t = ref(xt)
    np.testing.assert_allclose(ours.forward(x), out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal(x.shape)
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.grads["gamma"], ref.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grads["beta"], ref.bias.grad.numpy(), rtol=1e-12)


def test_rel_error_helper_sanity():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0


def test_residual_block_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    body = Sequential(Dense(4, 6, rng, dtype=np.float64), ReLU(), Dense(6, 6, rng, dtype=np.float64))
    proj = Dense(4, 6, rng, bias=False, dtype=np.float64)
    ours = Residual(body, projection=proj)
    lin1, lin2, lin_p = torch.nn.Linear(4, 6).double(), torch.nn.Linear(6, 6).double(), torch.nn.Linear(4, 6, bias=False).double()
    with torch.no_grad():       # torch.nn.Linear stores W transposed: (out, in)
        lin1.weight.copy_(torch.from_numpy(body[0].params["W"].T))
        lin1.bias.copy_(torch.from_numpy(body[0].params["b"]))
        lin2.weight.copy_(torch.from_numpy(body[2].params["W"].T))
        lin2.bias.copy_(torch.from_numpy(body[2].params["b"]))
        lin_p.weight.copy_(torch.from_numpy(proj.params["W"].T))
    x = rng.standard_normal((5, 4))
    xt = torch.from_numpy(x).requires_grad_()
    out_t = lin2(torch.relu(lin1(xt))) + lin_p(xt)
    np.testing.assert_allclose(ours.forward(x), out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    dout = rng.standard_normal((5, 6))
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(ours.backward(dout), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.grads["body.0.W"], lin1.weight.grad.numpy().T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours.grads["projection.W"], lin_p.weight.grad.numpy().T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(6,), (4, 6), (2, 3, 6)])
def test_layernorm_fast_path_equals_the_reference(shape):
    """``LayerNorm`` (einsum row sums, one pass fewer per term) against ``layer_norm_naive`` and
    ``layer_norm_backward_naive`` (the equations, ``batchnorm_backward`` over the last axis)."""
    from common.norm import layer_norm_backward_naive, layer_norm_naive

    rng = np.random.default_rng(0)
    ln = LayerNorm(6, dtype=np.float64)
    ln.params["gamma"][...] = rng.standard_normal(6)
    ln.params["beta"][...] = rng.standard_normal(6)
    x, dout = rng.standard_normal(shape) * 3 + 1, rng.standard_normal(shape)
    ref, xhat, inv_std = layer_norm_naive(x, ln.params["gamma"], ln.params["beta"], ln.eps)
    np.testing.assert_allclose(ln.forward(x), ref, rtol=0, atol=1e-14)
    dx_ref, dgamma, dbeta = layer_norm_backward_naive(dout, xhat, inv_std, ln.params["gamma"])
    np.testing.assert_allclose(ln.backward(dout), dx_ref, rtol=0, atol=1e-14)
    np.testing.assert_allclose(ln.grads["gamma"], dgamma, rtol=0, atol=1e-14)
    np.testing.assert_allclose(ln.grads["beta"], dbeta, rtol=0, atol=1e-14)
