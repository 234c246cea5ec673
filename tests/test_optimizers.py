"""Each optimizer for several steps on f(θ) = ½‖θ‖² (so g = θ) against its update rule written out by
hand, plus weight decay, schedules and argument checks."""

import math

import numpy as np
import pytest

from common import optimizers as O

THETA0 = np.array([[1.0, -2.0], [0.5, 3.0]])
STEPS = 4


def run(opt_cls, theta0=THETA0, steps=STEPS, **kwargs):
    p = theta0.copy()
    g = np.zeros_like(p)
    opt = opt_cls([(p, g)], **kwargs)
    path = []
    for _ in range(steps):
        opt.zero_grad()
        g += p                      # ∇ ½‖θ‖² = θ
        opt.step()
        path.append(p.copy())
    return path


def test_sgd():
    theta, lr = THETA0.copy(), 0.1
    for got in run(O.SGD, lr=lr):
        theta = theta - lr * theta
        np.testing.assert_allclose(got, theta)


def test_momentum():
    theta, v, lr, mu = THETA0.copy(), np.zeros_like(THETA0), 0.1, 0.9
    for got in run(O.Momentum, lr=lr, momentum=mu):
        v = mu * v + theta
        theta = theta - lr * v
        np.testing.assert_allclose(got, theta)


def test_nesterov():
    theta, v, lr, mu = THETA0.copy(), np.zeros_like(THETA0), 0.1, 0.9
    for got in run(O.Nesterov, lr=lr, momentum=mu):
        g = theta
        v = mu * v + g
        theta = theta - lr * (g + mu * v)
        np.testing.assert_allclose(got, theta)


def test_adagrad():
    theta, G, lr, eps = THETA0.copy(), np.zeros_like(THETA0), 0.5, 1e-10
    for got in run(O.Adagrad, lr=lr):
        G = G + theta ** 2
        theta = theta - lr * theta / (np.sqrt(G) + eps)
        np.testing.assert_allclose(got, theta)


def test_rmsprop():
    theta, s, lr, rho, eps = THETA0.copy(), np.zeros_like(THETA0), 0.01, 0.9, 1e-8
    for got in run(O.RMSProp, lr=lr, rho=rho):
        s = rho * s + (1 - rho) * theta ** 2
        theta = theta - lr * theta / (np.sqrt(s) + eps)
        np.testing.assert_allclose(got, theta)


def test_adam_with_bias_correction():
    theta, m, v = THETA0.copy(), np.zeros_like(THETA0), np.zeros_like(THETA0)
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    for t, got in enumerate(run(O.Adam, lr=lr), start=1):
        g = theta
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(got, theta, rtol=1e-12)
    # The first bias-corrected step moves every coordinate by ≈ lr, whatever the gradient's size.
    first = run(O.Adam, steps=1, lr=lr)[0]
    np.testing.assert_allclose(np.abs(THETA0 - first), lr, rtol=1e-6)


def test_adamw_decays_decoupled():
    theta, m, v = THETA0.copy(), np.zeros_like(THETA0), np.zeros_like(THETA0)
    lr, wd, b1, b2, eps = 0.1, 0.1, 0.9, 0.999, 1e-8
    for t, got in enumerate(run(O.AdamW, lr=lr, weight_decay=wd), start=1):
        g = theta.copy()               # the gradient at the pre-decay point
        theta = theta * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        theta = theta - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        np.testing.assert_allclose(got, theta, rtol=1e-12)


def test_l2_weight_decay_applies_to_matrices_only():
    W, b = np.ones((2, 2)), np.ones(2)
    gW, gb = np.zeros_like(W), np.zeros_like(b)
    O.SGD([(W, gW), (b, gb)], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(W, 1 - 0.1 * 0.5)     # g + λθ with g = 0
    np.testing.assert_array_equal(b, 1.0)            # bias untouched
    W, b = np.ones((2, 2)), np.ones(2)
    O.AdamW([(W, np.zeros_like(W)), (b, np.zeros_like(b))], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(W, 1 - 0.1 * 0.5)
    np.testing.assert_array_equal(b, 1.0)


def test_coupled_l2_in_adam_is_normalised_away_but_adamw_is_not():
    # With g = 0 and L2 only, Adam's step is ≈ lr·sign(θ) (the decay is divided by √v̂);
    # AdamW shrinks θ by the factor (1 - ηλ) exactly.
    W = np.full((2, 2), 10.0)
    O.Adam([(W, np.zeros_like(W))], lr=0.01, weight_decay=0.01).step()
    np.testing.assert_allclose(W, 10 - 0.01, rtol=1e-6)
    W = np.full((2, 2), 10.0)
    O.AdamW([(W, np.zeros_like(W))], lr=0.01, weight_decay=0.01).step()
    np.testing.assert_allclose(W, 10 * (1 - 1e-4))


def test_optimizer_accepts_a_model_and_updates_in_place():
    from common import Dense, Sequential
    model = Sequential(Dense(2, 2, np.random.default_rng(0), dtype=np.float64))
    before = model.params["0.W"].copy()
    opt = O.SGD(model, lr=1.0)
    model.grads["0.W"][...] = 1.0
    opt.step()
    np.testing.assert_allclose(model.params["0.W"], before - 1.0)
    opt.zero_grad()
    assert not model.grads["0.W"].any()


def test_schedules():
    p = np.zeros(1)
    opt = O.SGD([(p, np.zeros(1))], lr=1.0)
    step = O.StepLR(opt, step_size=2, gamma=0.5)
    assert [step.step() for _ in range(5)] == [1.0, 0.5, 0.5, 0.25, 0.25]
    opt = O.SGD([(p, np.zeros(1))], lr=1.0)
    cos = O.CosineLR(opt, total_epochs=4, lr_min=0.0)
    lrs = [cos.step() for _ in range(5)]
    np.testing.assert_allclose(lrs, [0.5 * (1 + math.cos(math.pi * e / 4)) for e in (1, 2, 3, 4, 4)], atol=1e-15)


@pytest.mark.parametrize("call, message", [
    (lambda: O.SGD([], lr=-0.1), "lr must be > 0"),
    (lambda: O.SGD([], lr=0), "lr must be > 0"),
    (lambda: O.Momentum([], lr=0.1, momentum=1.0), r"momentum must be in \[0.0, 1.0\)"),
    (lambda: O.Adam([], beta1=1.2), r"beta1 must be in"),
    (lambda: O.Adam([], eps=0), "eps must be > 0"),
    (lambda: O.SGD([], lr=0.1, weight_decay=-1), "weight_decay must be >= 0"),
    (lambda: O.SGD([np.zeros(2)], lr=0.1), r"params\[0\] must be a \(param, grad\) pair"),
    (lambda: O.SGD([(np.zeros(2), np.zeros(3))], lr=0.1), "same shape"),
    (lambda: O.get("LBFGS"), "optimizer must be one of"),
    (lambda: O.StepLR(O.SGD([], lr=1), step_size=0), "step_size must be >= 1"),
])
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("group_max", [0, 1 << 15], ids=["single", "grouped"])
def test_adam_fast_update_equals_the_equations(group_max, monkeypatch):
    """``Adam._update`` (in place, one scratch buffer, the bias corrections folded into the step size)
    and the grouped path ``Adam.step`` takes for small parameters, against ``adam_update_naive`` (the
    docstring's equations), over 30 steps in float64."""
    monkeypatch.setattr(O.Adam, "GROUP_MAX_SIZE", group_max)
    rng = np.random.default_rng(0)
    p = rng.standard_normal((5, 4))
    q, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
    g = np.zeros_like(p)
    opt = O.Adam([(p, g)], lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6)
    for t in range(1, 31):
        g[...] = rng.standard_normal(g.shape) * (1 + t % 3)
        opt.step()
        q, m, v = O.adam_update_naive(q, g, m, v, t, lr=0.01, beta1=0.8, beta2=0.95, eps=1e-6)
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(opt.state[0]["m"], m, rtol=1e-13)
    np.testing.assert_allclose(opt.state[0]["v"], v, rtol=1e-13)


def test_schedule_errors_and_lr_at():
    opt = O.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr_min must be <="):
        O.CosineLR(opt, 10, lr_min=0.5)
    with pytest.raises(ValueError, match="warmup must be < total_epochs"):
        O.CosineLR(opt, 10, warmup=10)
    with pytest.raises(ValueError, match="interval must be one of"):
        O.StepLR(opt, 2, interval="batch")
    with pytest.raises(ValueError, match="optimizer must be an Optimizer"):
        O.StepLR(None, 1)
    cos = O.CosineLR(opt, 10, lr_min=0.01, warmup=2)
    assert opt.lr == pytest.approx(0.1 / 3) and cos.lr_at(2) == pytest.approx(0.1) and cos.lr_at(99) == 0.01


def test_adamw_refuses_a_decay_that_flips_signs():
    with pytest.raises(ValueError, match="lr·weight_decay must be < 1"):
        O.AdamW([], lr=10, weight_decay=1)


def test_clip_grad_norm_refuses_non_finite_gradients():
    g = np.array([1.0, np.nan])
    with pytest.raises(FloatingPointError, match="NaN or inf"):
        O.clip_grad_norm([(np.zeros(2), g)], 1.0)


@pytest.mark.parametrize("cls,kwargs", [(O.Adam, {}), (O.Adam, {"weight_decay": 0.01}),
                                        (O.AdamW, {"weight_decay": 0.1})])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_adam_grouped_step_is_bitwise_the_per_parameter_update(cls, kwargs, dtype, monkeypatch):
    """``Adam.step`` updates the small parameters together in flat buffers; elementwise it is the same
    float arithmetic as ``_update`` on each parameter in turn (``Optimizer.step``), so bitwise equal,
    moments included. Shapes: one matrix above ``GROUP_MAX_SIZE`` (single), small matrices and biases
    (grouped), a non-contiguous gradient and a float64 parameter among float32 ones (its own group)."""
    monkeypatch.setattr(O.Adam, "GROUP_MAX_SIZE", 50)
    rng = np.random.default_rng(3)
    shapes = [(8, 10), (10,), (4, 3, 2), (3,), (1,)]

    def build():
        ps = [rng.standard_normal(s).astype(dtype) for s in shapes] + [rng.standard_normal(5)]
        return ps, [np.zeros_like(p) for p in ps]

    state = rng.bit_generator.state
    ps_fast, gs_fast = build()
    rng.bit_generator.state = state
    ps_ref, gs_ref = build()
    gs_fast[2] = np.zeros((2, 3, 4), dtype).transpose(2, 1, 0)        # a non-contiguous gradient
    gs_ref[2] = np.zeros((2, 3, 4), dtype).transpose(2, 1, 0)
    fast = cls(list(zip(ps_fast, gs_fast)), lr=0.01, **kwargs)
    ref = cls(list(zip(ps_ref, gs_ref)), lr=0.01, **kwargs)
    singles, groups = fast._make_plan()
    expected = [5] if dtype == np.float64 else [1, 4]            # one group per dtype
    assert singles == [0] and sorted(len(g.members) for g in groups) == expected
    for _ in range(7):
        for g_fast, g_ref in zip(gs_fast, gs_ref):
            g_fast[...] = g_ref[...] = rng.standard_normal(g_ref.shape)
        fast.step()
        O.Optimizer.step(ref)                     # the plain loop: ref._update per parameter
    for i, (p_fast, p_ref) in enumerate(zip(ps_fast, ps_ref)):
        assert p_fast.dtype == p_ref.dtype
        assert np.array_equal(p_fast, p_ref), i
        assert np.array_equal(fast.state[i]["m"], ref.state[i]["m"])
        assert np.array_equal(fast.state[i]["v"], ref.state[i]["v"])


def test_adam_grouped_step_follows_moments_replaced_from_outside(monkeypatch):
    """Resuming a run puts loaded moments into ``state`` (``10-transformer/gpt.py: load_run``): the
    grouped path must pick them up, and agree bitwise with an uninterrupted run."""
    monkeypatch.setattr(O.Adam, "GROUP_MAX_SIZE", 1 << 15)
    rng = np.random.default_rng(4)
    grads = [[rng.standard_normal(s).astype(np.float32) for s in ((3, 4), (4,))] for _ in range(6)]

    def pairs():
        ps = [np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), np.ones(4, np.float32)]
        return ps, [np.zeros_like(p) for p in ps]

    ps, gs = pairs()
    whole = O.Adam(list(zip(ps, gs)), lr=0.01)
    for step in grads:
        for g, new in zip(gs, step):
            g[...] = new
        whole.step()
    qs, hs = pairs()
    first = O.Adam(list(zip(qs, hs)), lr=0.01)
    for step in grads[:3]:
        for g, new in zip(hs, step):
            g[...] = new
        first.step()
    saved = [(s["m"].copy(), s["v"].copy()) for s in first.state]
    rs, ks = [q.copy() for q in qs], [np.zeros_like(q) for q in qs]
    second = O.Adam(list(zip(rs, ks)), lr=0.01)
    second.step()                                # builds a plan with fresh moments …
    for p, q in zip(rs, qs):
        p[...] = q
    for state, (m, v) in zip(second.state, saved):
        state.update(m=m.copy(), v=v.copy())     # … which resuming then replaces
    second.t = 3
    for step in grads[3:]:
        for g, new in zip(ks, step):
            g[...] = new
        second.step()
    for p, q in zip(rs, ps):
        assert np.array_equal(p, q)


def test_adam_grouped_step_survives_a_deep_copy():
    """A deep copy of an optimizer (its state views become plain arrays) keeps training like the
    original: the grouped path notices and rebuilds its buffers around the copied moments."""
    import copy

    def make():
        ps = [np.linspace(-1, 1, 6).reshape(2, 3), np.ones(3)]
        return ps, [np.full_like(p, 0.5) for p in ps]

    ps, gs = make()
    opt = O.Adam(list(zip(ps, gs)), lr=0.1)
    opt.step()
    twin = copy.deepcopy(opt)
    for _ in range(3):
        opt.step()
        twin.step()
    for (p, _), (q, _) in zip(opt.pairs, twin.pairs):
        assert np.array_equal(p, q)
    for a, b in zip(opt.state, twin.state):
        assert np.array_equal(a["m"], b["m"]) and np.array_equal(a["v"], b["v"])
