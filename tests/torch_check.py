"""The forward-and-backward cross-check against a PyTorch module that the layer tests share (float64;
call it after ``pytest.importorskip("torch")``)."""

from __future__ import annotations

import numpy as np


def assert_matches_torch(ref, forward, backward, x: np.ndarray, rng: np.random.Generator, *, out_tol: float,
                         dx_rtol: float, dx_atol: float) -> None:
    """``forward(x)`` equals ``ref(x)`` (rtol = atol = ``out_tol``); then, for one random upstream gradient
    drawn from ``rng``, ``backward(dout)`` equals torch's gradient with respect to ``x``. The parameters'
    gradients are left in ``ref``'s ``.grad`` and in the layer for the caller to compare."""
    import torch

    xt = torch.from_numpy(x).requires_grad_()
    out_t = ref(xt)
    out = forward(x)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=out_tol, atol=out_tol)
    dout = rng.standard_normal(out.shape)
    out_t.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(backward(dout), xt.grad.numpy(), rtol=dx_rtol, atol=dx_atol)
