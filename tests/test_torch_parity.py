"""Optional cross-checks against PyTorch in float64 (skipped where torch is not installed).

The mapping doubles as a phrasebook for readers moving on to PyTorch: our ``Dense(D, H)`` holds
``W`` as (D, H), torch's ``nn.Linear`` holds ``weight`` as (H, D) = Wᵀ.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from common import activations as A  # noqa: E402
from common import optimizers as O  # noqa: E402
from common.layers import Dense  # noqa: E402
from common.losses import binary_cross_entropy_with_logits, mse, softmax_cross_entropy  # noqa: E402

T = lambda a: torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=True)  # noqa: E731


def test_dense_forward_and_backward():
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, rng, dtype=np.float64)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 3))
    lin = torch.nn.Linear(5, 3).double()
    with torch.no_grad():
        lin.weight.copy_(torch.from_numpy(layer.params["W"].T.copy()))
        lin.bias.copy_(torch.from_numpy(layer.params["b"]))
    xt = T(x)
    out = lin(xt)
    out.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(layer.forward(x), out.detach().numpy(), rtol=1e-12)
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.grads["W"], lin.weight.grad.numpy().T, rtol=1e-12)
    np.testing.assert_allclose(layer.grads["b"], lin.bias.grad.numpy(), rtol=1e-12)


ACTIVATION_TWINS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda x: torch.nn.functional.leaky_relu(x, 0.01),
    "elu": torch.nn.functional.elu,
    "selu": torch.nn.functional.selu,
    "gelu": lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
}


@pytest.mark.parametrize("name", list(ACTIVATION_TWINS))
def test_activation_and_layer(name):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 7)) * 3
    dout = rng.standard_normal(x.shape)
    xt = T(x)
    yt = ACTIVATION_TWINS[name](xt)
    yt.backward(torch.from_numpy(dout))
    f, df = A.ACTIVATIONS[name]
    np.testing.assert_allclose(f(x), yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(df(x) * dout, xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    layer = A.get_layer(name)
    np.testing.assert_allclose(layer.forward(x), yt.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_softmax_layer():
    rng = np.random.default_rng(2)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    xt = T(x)
    yt = torch.softmax(xt, dim=-1)
    yt.backward(torch.from_numpy(dout))
    layer = A.Softmax()
    np.testing.assert_allclose(layer.forward(x), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.backward(dout), xt.grad.numpy(), rtol=1e-10, atol=1e-15)


def _assert_loss_matches(torch_loss, ours, z, target, grad_rtol=1e-10, grad_atol=1e-15):
    """Our loss and its gradient on logits/predictions ``z`` against ``torch_loss`` (mean reduction)."""
    zt = T(z)
    loss = torch_loss(zt, torch.from_numpy(target))
    loss.backward()
    value, d = ours(z, target)
    assert value == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(d, zt.grad.numpy(), rtol=grad_rtol, atol=grad_atol)


def test_losses():
    rng = np.random.default_rng(3)
    z = rng.standard_normal((8, 5)) * 4
    y = rng.integers(0, 5, 8)
    _assert_loss_matches(torch.nn.functional.cross_entropy, softmax_cross_entropy, z, y)

    yb = rng.integers(0, 2, (8, 5)).astype(np.float64)
    _assert_loss_matches(torch.nn.functional.binary_cross_entropy_with_logits, binary_cross_entropy_with_logits, z,
                         yb)

    target = rng.standard_normal((8, 5))
    _assert_loss_matches(torch.nn.functional.mse_loss, mse, z, target, grad_rtol=1e-12, grad_atol=0)


OPTIMIZER_TWINS = {
    "SGD": (dict(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "SGD+L2": (dict(lr=0.1, weight_decay=0.05), lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.05)),
    "Momentum": (dict(lr=0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "Nesterov": (dict(lr=0.05, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "Adagrad": (dict(lr=0.1), lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-10)),
    "RMSProp": (dict(lr=0.01, rho=0.9), lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
    "Adam": (dict(lr=0.01), lambda p: torch.optim.Adam(p, lr=0.01)),
    "Adam+L2": (dict(lr=0.01, weight_decay=0.1), lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1)),
    "AdamW": (dict(lr=0.01, weight_decay=0.1), lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", list(OPTIMIZER_TWINS))
def test_optimizer_several_steps(name):
    """Ten steps on a small quadratic loss: every parameter matches torch's to 1e-10.

    Weight decay in torch applies to every parameter, ours to matrices only, so the parity problem uses
    matrices only.
    """
    kwargs, make_torch = OPTIMIZER_TWINS[name]
    cls = O.get(name.split("+")[0])
    rng = np.random.default_rng(4)
    A_ = 0.5 * rng.standard_normal((3, 3))   # small enough that every optimizer stays stable
    W0, V0 = rng.standard_normal((3, 2)), rng.standard_normal((2, 4))
    params = [W0.copy(), V0.copy()]
    grads = [np.zeros_like(p) for p in params]
    opt = cls(list(zip(params, grads)), **kwargs)
    tparams = [torch.tensor(p, requires_grad=True) for p in (W0, V0)]
    topt = make_torch(tparams)
    At = torch.from_numpy(A_)
    for _ in range(10):
        # L = ½‖A W V‖², computed twice: by hand for ours, by autograd for torch.
        W, V = params
        R = A_ @ W @ V
        opt.zero_grad()
        grads[0] += A_.T @ R @ V.T
        grads[1] += (A_ @ W).T @ R
        opt.step()
        topt.zero_grad()
        (0.5 * (At @ tparams[0] @ tparams[1]).pow(2).sum()).backward()
        topt.step()
    for ours, theirs, start in zip(params, tparams, (W0, V0)):
        assert np.all(np.isfinite(ours)) and not np.allclose(ours, start)
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
