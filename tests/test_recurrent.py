"""common.recurrent: gradient checks (float64) for every cell, sequence layer and Embedding, including the
initial and final states; gradient accumulation across time steps; the batched projections against a
step-by-step loop; clipping; torch parity (optional)."""

import numpy as np
import pytest

from common.gradcheck import check_layer, numerical_gradient, rel_error
from common.recurrent import (GRU, LSTM, RNN, Embedding, GRUCell, LSTMCell, RNNCell, clip_grad_norm,
                              global_grad_norm, scatter_add_rows, scatter_add_rows_naive, sigmoid)

SEQ = [RNN, LSTM, GRU]
CELLS = [RNNCell, LSTMCell, GRUCell]
TOL = 1e-8


def _state(cls, rng, n, h):
    if cls in (LSTM, LSTMCell):
        return (rng.standard_normal((n, h)), rng.standard_normal((n, h)))
    return rng.standard_normal((n, h))


@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("cls", SEQ)
def test_sequence_gradcheck_input_and_params(cls, layer_norm):
    rng = np.random.default_rng(0)
    layer = cls(3, 4, rng, layer_norm=layer_norm).astype(np.float64)
    if layer_norm:
        assert layer.params["cell.ln_g"].shape == layer.params["cell.Wh"].shape[1:]
        for k in ("ln_g", "ln_b"):
            layer.cell.params[k] += rng.standard_normal(layer.cell.params[k].shape) * 0.3
    errors = check_layer(layer, rng.standard_normal((2, 5, 3)), rng, extras=())
    assert set(errors) == {"x", *layer.params}
    # LayerNorm divides by σ of a 4-unit block, which is small on the first steps (the state starts at
    # 0): the loss surface is steeper there and the O(h²) finite-difference error grows to ~1e-8.
    assert max(errors.values()) < (1e-7 if layer_norm else TOL), errors


@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("cls", SEQ)
def test_sequence_gradcheck_through_initial_and_final_state(cls, layer_norm):
    """A non-zero initial state and a loss on the final state too (as in an encoder–decoder): the
    sequence contract's ``state=`` in, ``extras["state"]`` out, ``backward(dout, state=…)`` and
    ``extra_grads["state"]``, all through the one ``check_layer``."""
    rng = np.random.default_rng(1)
    layer = cls(3, 4, rng, layer_norm=layer_norm).astype(np.float64)
    s0 = _state(cls, rng, 2, 4)
    errors = check_layer(layer, rng.standard_normal((2, 6, 3)), rng, inputs={"state": s0})
    expect_state = {"state.h", "state.c"} if cls is LSTM else {"state"}
    assert set(errors) == {"x", *layer.params} | expect_state
    assert max(errors.values()) < (1e-7 if layer_norm else TOL), errors


@pytest.mark.parametrize("cls", CELLS)
def test_cell_gradcheck_with_state(cls):
    rng = np.random.default_rng(2)
    cell = cls(3, 4, rng).astype(np.float64)
    errors = check_layer(cell, rng.standard_normal((3, 3)), rng, inputs={"state": _state(cls, rng, 3, 4)})
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("cls", CELLS)
def test_step_backward_fast_equals_the_naive_reference(cls, layer_norm):
    """``_step_backward`` (preallocated rows, a contiguous W_hᵀ) gives exactly what
    ``_step_backward_naive`` (the docstring's equations) gives."""
    rng = np.random.default_rng(12)
    fast = cls(3, 5, rng, layer_norm=layer_norm).astype(np.float64)
    naive = cls(3, 5, np.random.default_rng(0), layer_norm=layer_norm).astype(np.float64)
    for k in fast.params:
        naive.params[k][...] = fast.params[k]
    state = _state(cls, rng, 4, 5)
    x = rng.standard_normal((4, 3))
    new, cache = fast._step(fast._project_input(x), state)
    dstate = _state(cls, rng, 4, 5)
    a = fast._step_backward(dstate, cache, np.empty((4, fast.n_gates * 5)), np.ascontiguousarray(fast.params["Wh"].T))
    b = naive._step_backward_naive(dstate, cache)
    for u, v in zip(a, b):
        for uu, vv in zip(u if isinstance(u, tuple) else (u,), v if isinstance(v, tuple) else (v,)):
            np.testing.assert_allclose(uu, vv, rtol=1e-12, atol=1e-14)
    for k in fast.grads:
        np.testing.assert_allclose(fast.grads[k], naive.grads[k], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("layer_norm", [False, True])
@pytest.mark.parametrize("cls,cell_cls", list(zip(SEQ, CELLS)))
def test_sequence_equals_cell_steps_and_grads_accumulate_over_steps(cls, cell_cls, layer_norm):
    """The batched projection (one matmul for all steps) gives what stepping the cell gives, and the
    sequence's weight gradient is the sum of the per-step gradients."""
    rng = np.random.default_rng(3)
    seq = cls(3, 5, rng, layer_norm=layer_norm).astype(np.float64)
    x = rng.standard_normal((4, 7, 3))
    dout = rng.standard_normal((4, 7, 5))
    hs = seq.forward(x)
    seq.zero_grad()
    dx = seq.backward(dout)
    cell = cell_cls(3, 5, np.random.default_rng(0), layer_norm=layer_norm).astype(np.float64)
    for k in cell.params:
        cell.params[k][...] = seq.cell.params[k]
    state, caches = None, []
    for t in range(7):
        state, cache = cell.step(x[:, t], state)
        caches.append(cache)
        h = state[0] if isinstance(state, tuple) else state
        np.testing.assert_allclose(h, hs[:, t], rtol=1e-12, atol=1e-12)
    dprev, dxs = None, []
    per_step_wh = []
    for t in range(6, -1, -1):
        before = cell.grads["Wh"].copy()
        if isinstance(state, tuple):
            dh = dout[:, t] if dprev is None else dout[:, t] + dprev[0]
            dxt, dprev = cell.step_backward((dh, None if dprev is None else dprev[1]), caches[t])
        else:
            dh = dout[:, t] if dprev is None else dout[:, t] + dprev
            dxt, dprev = cell.step_backward(dh, caches[t])
        per_step_wh.append(cell.grads["Wh"] - before)
        dxs.append(dxt)
    np.testing.assert_allclose(np.stack(dxs[::-1], axis=1), dx, rtol=1e-10, atol=1e-12)
    for k in cell.grads:
        np.testing.assert_allclose(cell.grads[k], seq.cell.grads[k], rtol=1e-10, atol=1e-12)
    # every step after the first contributed to W_h (accumulation across time, not overwriting); the
    # first multiplies h_{-1} = 0
    assert all(np.linalg.norm(g) > 1e-8 for g in per_step_wh[:-1]) and not per_step_wh[-1].any()


@pytest.mark.parametrize("cls", SEQ)
def test_backward_accumulates_across_calls(cls):
    rng = np.random.default_rng(4)
    layer = cls(2, 3, rng).astype(np.float64)
    x = rng.standard_normal((2, 4, 2))
    dout = rng.standard_normal((2, 4, 3))
    layer.forward(x)
    layer.zero_grad()
    layer.backward(dout)
    once = {k: g.copy() for k, g in layer.grads.items()}
    layer.backward(dout)
    for k in once:
        np.testing.assert_allclose(layer.grads[k], 2 * once[k], rtol=1e-12)
    layer.zero_grad()
    assert all(not g.any() for g in layer.grads.values())


def test_final_state_and_hidden_states():
    rng = np.random.default_rng(5)
    lstm = LSTM(3, 4, rng)
    hs = lstm.forward(rng.standard_normal((2, 6, 3)).astype(np.float32))
    assert hs.shape == (2, 6, 4) and hs.dtype == np.float32
    np.testing.assert_array_equal(lstm.extras["state"].h, hs[:, -1])
    gates = lstm.gate_activations()
    assert set(gates) == {"i", "f", "o", "g", "c"}
    np.testing.assert_allclose(gates["o"] * np.tanh(gates["c"]), hs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(gates["c"][:, -1], lstm.extras["state"].c)
    gru = GRU(3, 4, rng)
    hs = gru.forward(rng.standard_normal((2, 6, 3)))
    np.testing.assert_array_equal(gru.extras["state"], hs[:, -1])
    g = gru.gate_activations()
    assert g["z"].shape == (2, 6, 4) and (g["z"] > 0).all() and (g["z"] < 1).all()


def test_forget_bias_and_defaults():
    rng = np.random.default_rng(0)
    H = 5
    lstm = LSTM(2, H, rng, forget_bias=1.0)
    b = lstm.params["cell.b"]
    np.testing.assert_array_equal(b[H:2 * H], 1.0)
    assert not b[:H].any() and not b[2 * H:].any()
    assert not LSTM(2, H, rng, forget_bias=0.0).params["cell.b"].any()
    assert LSTM(2, H, rng, forget_bias=np.float32(2)).cell.forget_bias == 2.0
    # recurrent weights start orthogonal: W_hᵀ W_h = I for each gate block
    wh = RNN(2, H, rng).params["cell.Wh"].astype(np.float64)
    np.testing.assert_allclose(wh.T @ wh, np.eye(H), atol=1e-6)


def test_dh_records_gradient_reaching_each_step():
    """``layer.extra_grads["hs"][:, t]`` is ∂L/∂h_t: with a loss on the last step only, it equals the numerical
    derivative of the loss with respect to a perturbation added to h_t... checked at t = T-1 and via the
    recurrence dh_{t-1} = (dh_t ⊙ (1 - h_t²)) W_hᵀ for the RNN."""
    rng = np.random.default_rng(6)
    rnn = RNN(2, 3, rng).astype(np.float64)
    hs = rnn.forward(rng.standard_normal((1, 5, 2)))
    dout = np.zeros_like(hs)
    dout[:, -1] = rng.standard_normal((1, 3))
    rnn.backward(dout)
    dh = rnn.extra_grads["hs"]
    np.testing.assert_array_equal(dh[:, -1], dout[:, -1])
    for t in range(4, 0, -1):
        expect = (dh[:, t] * (1 - hs[:, t] ** 2)) @ rnn.cell.params["Wh"].T
        np.testing.assert_allclose(dh[:, t - 1], expect, rtol=1e-12)


def test_embedding_forward_backward():
    rng = np.random.default_rng(7)
    emb = Embedding(6, 3, rng).astype(np.float64)
    ids = np.array([[0, 2, 2], [5, 0, 1]])
    out = emb.forward(ids)
    np.testing.assert_array_equal(out[1, 0], emb.params["W"][5])
    dout = rng.standard_normal(out.shape)
    emb.zero_grad()
    assert emb.backward(dout) is None
    num = numerical_gradient(lambda: emb.forward(ids), emb.params["W"], dout)
    assert rel_error(emb.grads["W"], num) < 1e-9
    np.testing.assert_allclose(emb.grads["W"][2], dout[0, 1] + dout[0, 2])   # used twice: both summed
    assert not emb.grads["W"][3].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scatter_add_rows_equals_np_add_at_bit_for_bit(dtype):
    """The embedding backward's sorted, grouped sum against ``np.add.at`` (its reference): the same bits,
    with repeated tokens, a skewed token distribution (a character corpus's), a nonzero starting gradient
    (the tied head's contribution comes first), signed zeros, an absent token and no rows at all."""
    rng = np.random.default_rng(3)
    for V, M, D, skewed in [(65, 768, 128, True), (7, 50, 3, True), (1, 9, 4, True), (30, 1, 5, True),
                            (5, 0, 2, True), (9, 40, 1, True), (4, 30, 300, True), (20, 640, 16, False)]:
        # skewed: some tokens never seen, a long group (one reduction per token); uniform (and the small
        # cases): groups of similar sizes, summed in one padded reduction
        ids = np.minimum(rng.geometric(0.15, M) - 1, V - 1) if skewed else rng.integers(0, V, M)
        rows = (rng.standard_normal((M, D)) * 10.0 ** rng.uniform(-4, 4, (M, 1))).astype(dtype)
        rows[rng.random(rows.shape) < 0.1] = -0.0
        G = rng.standard_normal((V, D)).astype(dtype)
        G[:, 0] = -0.0
        rows[:, 0] = -0.0                                                  # column 0: a sum of -0.0s only
        a, b = G.copy(), G.copy()
        scatter_add_rows_naive(a, ids, rows)
        scatter_add_rows(b, ids, rows)
        assert a.tobytes() == b.tobytes()


def test_sigmoid_is_stable():
    x = np.array([-1000.0, -5.0, 0.0, 5.0, 1000.0])
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-np.clip(x, -700, 700))), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm():
    g1, g2 = np.array([3.0, 0.0]), np.array([[4.0]])
    pairs = [(np.zeros(2), g1), (np.zeros((1, 1)), g2)]
    assert global_grad_norm(pairs) == pytest.approx(5.0)
    assert clip_grad_norm(pairs, 10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(g1, [3.0, 0.0])                  # under the limit: untouched
    assert clip_grad_norm(pairs, 1.0) == pytest.approx(5.0)
    assert global_grad_norm(pairs) == pytest.approx(1.0, rel=1e-5)
    assert g1[0] / g2[0, 0] == pytest.approx(3 / 4) and g1[1] == 0     # direction kept


def _after_forward(cls):
    layer = cls(2, 3, np.random.default_rng(0))
    layer.forward(np.zeros((2, 4, 2), dtype=np.float32))
    return layer


@pytest.mark.parametrize("call,match", [
    (lambda: LSTM(0, 3, np.random.default_rng(0)), "input_size"),
    (lambda: GRU(2, -1, np.random.default_rng(0)), "hidden_size"),
    (lambda: RNN(2, 3, None), "rng"),
    (lambda: LSTM(2, 3, np.random.default_rng(0), forget_bias=float("nan")), "forget_bias"),
    (lambda: RNN(2, 3, np.random.default_rng(0)).forward(np.zeros((2, 3))), "x must have shape"),
    (lambda: RNN(2, 3, np.random.default_rng(0)).forward(np.zeros((2, 4, 5))), "x must have shape"),
    (lambda: LSTM(2, 3, np.random.default_rng(0)).forward(np.zeros((2, 4, 2)), state=np.zeros((2, 3))),
     r"state must be a pair \(h, c\)"),
    (lambda: GRU(2, 3, np.random.default_rng(0)).forward(np.zeros((2, 4, 2)), state=np.zeros((1, 3))),
     "state h"),
    (lambda: Embedding(5, 2, np.random.default_rng(0)).forward(np.array([[5]])), "ids must be in"),
    (lambda: Embedding(5, 2, np.random.default_rng(0)).forward(np.array([[0.5]])), "integer"),
    (lambda: clip_grad_norm([], -1.0), "max_norm"),
    (lambda: GRU(2, 3, np.random.default_rng(0), layer_norm="yes"), "layer_norm"),
    (lambda: RNN(2, 3, np.random.default_rng(0)).backward(np.zeros((1, 1, 3))), "before forward"),
    (lambda: _after_forward(LSTM).backward(np.zeros((2, 4, 3)), state=np.zeros((2, 3))), r"pair \(dh, dc\)"),
    (lambda: _after_forward(LSTM).backward(None), "dout must be an array"),
    (lambda: _after_forward(GRU).backward(np.zeros((2, 4, 5))), r"dout must have shape \(2, 4, 3\)"),
    (lambda: RNN(2, 3, np.random.default_rng(0)).forward(np.zeros((0, 4, 2))), "at least one sequence"),
    # integer x is promoted to the parameter dtype (the one rule, common._validation.check_float_array);
    # complex, object and string arrays are refused
    (lambda: RNN(2, 3, np.random.default_rng(0)).forward(np.zeros((2, 4, 2), dtype=complex)),
     r"x must be a real \(float or integer\) array"),
])
def test_bad_input_raises_valueerror(call, match):
    with pytest.raises((ValueError, RuntimeError), match=match):
        call()


# ---------------------------------------------------------------------------------------------------------
# PyTorch parity (float64)
# ---------------------------------------------------------------------------------------------------------

def _to_torch(layer, kind):
    torch = pytest.importorskip("torch")
    D, H = layer.input_size, layer.hidden_size
    p = {k: torch.from_numpy(v.astype(np.float64)) for k, v in layer.cell.params.items()}
    if kind == "rnn":
        m = torch.nn.RNN(D, H, batch_first=True).double()
        wx, wh, bih, bhh = p["Wx"].T, p["Wh"].T, p["b"], torch.zeros(H, dtype=torch.float64)
    elif kind == "lstm":
        m = torch.nn.LSTM(D, H, batch_first=True).double()
        order = np.r_[0:H, H:2 * H, 3 * H:4 * H, 2 * H:3 * H]      # ours i,f,o,g → torch i,f,g,o
        wx, wh, bih = p["Wx"][:, order].T, p["Wh"][:, order].T, p["b"][order]
        bhh = torch.zeros(4 * H, dtype=torch.float64)
    else:
        m = torch.nn.GRU(D, H, batch_first=True).double()
        sign = torch.ones(3 * H, dtype=torch.float64)
        sign[H:2 * H] = -1                                          # torch's z is our 1 - z
        wx, wh, bih, bhh = (p["Wx"] * sign).T, (p["Wh"] * sign).T, p["bx"] * sign, p["bh"] * sign
    with torch.no_grad():
        m.weight_ih_l0.copy_(wx)
        m.weight_hh_l0.copy_(wh)
        m.bias_ih_l0.copy_(bih)
        m.bias_hh_l0.copy_(bhh)
    return torch, m


@pytest.mark.parametrize("kind,cls", [("rnn", RNN), ("lstm", LSTM), ("gru", GRU)])
def test_torch_parity_forward_and_backward(kind, cls):
    rng = np.random.default_rng(8)
    layer = cls(3, 4, rng).astype(np.float64)
    if kind == "gru":
        for k in ("bx", "bh"):
            layer.cell.params[k][...] = rng.standard_normal(12) * 0.3
    else:
        layer.cell.params["b"][...] = rng.standard_normal(layer.cell.params["b"].shape) * 0.3
    torch, m = _to_torch(layer, kind)
    x = rng.standard_normal((2, 6, 3))
    dout = rng.standard_normal((2, 6, 4))
    hs = layer.forward(x)
    layer.zero_grad()
    dx = layer.backward(dout)
    xt = torch.from_numpy(x).requires_grad_(True)
    out, _ = m(xt)
    out.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(hs, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    H = 4
    if kind == "lstm":
        order = np.r_[0:H, H:2 * H, 3 * H:4 * H, 2 * H:3 * H]
        inv = np.argsort(order)
        np.testing.assert_allclose(layer.cell.grads["Wx"], m.weight_ih_l0.grad.numpy().T[:, inv], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.cell.grads["Wh"], m.weight_hh_l0.grad.numpy().T[:, inv], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.cell.grads["b"], m.bias_ih_l0.grad.numpy()[inv], rtol=1e-9, atol=1e-12)
    elif kind == "gru":
        sign = np.ones(3 * H)
        sign[H:2 * H] = -1
        np.testing.assert_allclose(layer.cell.grads["Wx"], m.weight_ih_l0.grad.numpy().T * sign, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.cell.grads["Wh"], m.weight_hh_l0.grad.numpy().T * sign, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.cell.grads["bh"], m.bias_hh_l0.grad.numpy() * sign, rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_allclose(layer.cell.grads["Wx"], m.weight_ih_l0.grad.numpy().T, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.cell.grads["Wh"], m.weight_hh_l0.grad.numpy().T, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(layer.cell.grads["b"], m.bias_ih_l0.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_torch_parity_embedding_and_clipping():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    emb = Embedding(7, 3, rng).astype(np.float64)
    ids = rng.integers(0, 7, size=(4, 5))
    dout = rng.standard_normal((4, 5, 3))
    emb.forward(ids)
    emb.backward(dout)
    te = torch.nn.Embedding(7, 3).double()
    with torch.no_grad():
        te.weight.copy_(torch.from_numpy(emb.params["W"]))
    te(torch.from_numpy(ids)).backward(torch.from_numpy(dout))
    np.testing.assert_allclose(emb.grads["W"], te.weight.grad.numpy(), rtol=1e-12)
    norm_t = torch.nn.utils.clip_grad_norm_([te.weight], 0.5)
    norm = clip_grad_norm(emb, 0.5)
    assert norm == pytest.approx(float(norm_t), rel=1e-12)
    np.testing.assert_allclose(emb.grads["W"], te.weight.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("N,T,D,H,dtype", [(32, 20, 16, 48, np.float32), (32, 12, 16, 32, np.float32),
                                          (64, 30, 10, 32, np.float32), (5, 7, 3, 4, np.float64),
                                          (1, 3, 2, 5, np.float32), (8, 5, 4, 24, np.float64)])
def test_lstm_feature_major_loop_equals_the_loop_over_cells(N, T, D, H, dtype):
    """``LSTM.forward``/``backward`` (the feature-major loop) against ``forward_by_cell``/``backward_by_cell``
    (the loop over ``LSTMCell._step``), with an initial state and a gradient on the final state: every
    output, gradient, state and gate. Bit for bit at the chapters' sizes (batch 32, H 32 or 48); elsewhere the
    transposed matrix products may round differently in the last bit."""
    rng = np.random.default_rng(7)
    fast, ref = LSTM(D, H, rng, dtype=dtype), LSTM(D, H, np.random.default_rng(0), dtype=dtype)
    for k in fast.params:
        ref.params[k][...] = fast.params[k]
    x, dout = rng.standard_normal((N, T, D)).astype(dtype), rng.standard_normal((N, T, H)).astype(dtype)
    s0 = tuple(rng.standard_normal((N, H)).astype(dtype) for _ in range(2))
    dfinal = (rng.standard_normal((N, H)).astype(dtype), None)
    given = dout.copy()
    pairs = [(fast.forward(x, state=s0), ref.forward_by_cell(x, state=s0))]
    pairs += [(fast.gate_activations()[k], ref.gate_activations()[k]) for k in "ifogc"]
    pairs += list(zip(fast.extras["state"], ref.extras["state"]))
    for _ in range(2):                                   # twice: the work arrays are reused, grads accumulate
        pairs.append((fast.backward(dout, state=dfinal), ref.backward_by_cell(dout, state=dfinal)))
    pairs += [(fast.grads[k], ref.grads[k]) for k in fast.grads]
    pairs += list(zip(fast.extra_grads["state"], ref.extra_grads["state"]))
    np.testing.assert_array_equal(dout, given)            # the gradient it was given is left as it was
    pairs.append((fast.extra_grads["hs"], ref.extra_grads["hs"]))
    for a, b in pairs:
        assert a.shape == b.shape and a.dtype == b.dtype == dtype
        if N == 32:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6 if dtype == np.float32 else 1e-13)


def test_lstm_with_layer_norm_takes_the_loop_over_cells():
    rng = np.random.default_rng(8)
    lstm = LSTM(3, 4, rng, layer_norm=True)
    lstm.forward(rng.standard_normal((2, 5, 3)))
    assert type(lstm._cache).__name__ == "SequenceCache"
    plain = LSTM(3, 4, rng)
    plain.forward(rng.standard_normal((2, 5, 3)))
    assert type(plain._cache).__name__ == "LSTMRunCache"
