"""Chapter 05 (regularization): inverted dropout, the L2 penalty and its gradient, early stopping."""

from __future__ import annotations

import numpy as np

from ..optimizers import SGD
from ..training import EarlyStopping, History, TrainingState
from ._core import against_finite_differences, as_array, call, checker, compare, fail, seed_for, unpack


@checker("inverted_dropout", "inverted_dropout")
def check_inverted_dropout(fn):
    """``inverted_dropout(x, p, rng, training) -> out``: drop each unit with probability p in training and
    scale the survivors by 1/(1-p); the identity in evaluation (what ``common.Dropout`` does)."""
    seed = seed_for("inverted_dropout")
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, (200, 50))          # all > 0, so a 0 in the output is a dropped unit
    for p in (0.25, 0.5):
        out = as_array("the output", call(fn, x, p, np.random.default_rng(seed), False))
        compare("the output", x, out, case=f"training=False, p = {p}",
                hint="at evaluation dropout does nothing: return x as it is (the training-time scale already "
                     "kept the expected activation the same).",
                mistakes={"scale by 1/(1-p) at evaluation too": x / (1 - p),
                          "scale by (1-p) at evaluation (that is the old, non-inverted dropout)": x * (1 - p)})
    for p in (0.2, 0.5):
        case = f"training=True, p = {p}"
        out = as_array("the output", call(fn, x, p, np.random.default_rng(seed), True))
        if out.shape != x.shape:
            fail(f"the output ({case}) has shape {out.shape}, expected x's {x.shape}.")
        dropped = out == 0
        frac = dropped.mean()
        if abs(frac - p) > 0.03:
            hint = ("p is the probability of dropping a unit, so about a fraction p of the outputs are 0."
                    if abs(frac - (1 - p)) > 0.03 or p == 0.5 else
                    "you dropped a fraction 1 - p: p is the drop probability, 1 - p the keep probability.")
            fail(f"{case}: {frac:.1%} of the units were dropped, expected about {p:.0%}.", hint)
        kept = ~dropped
        ratio = out[kept] / x[kept]
        if not np.allclose(ratio, 1 / (1 - p), rtol=1e-6):
            i = int(np.flatnonzero(~np.isclose(ratio, 1 / (1 - p), rtol=1e-6))[0])
            idx = tuple(int(a[i]) for a in np.nonzero(kept))
            what = {1.0: " (no scaling at all)", 1 - p: " (multiplied by 1 - p instead of dividing)"}
            note = next((w for r, w in what.items() if np.isclose(ratio[i], r)), "")
            fail(f"{case}: a kept unit at {list(idx)} is {ratio[i]:.4g}·x{note}; kept units must be x/(1-p) "
                 f"= {1 / (1 - p):.4g}·x.",
                 "scale the survivors by 1/(1-p) so the expected activation is the same as at evaluation.")
        again = as_array("the output", call(fn, x, p, np.random.default_rng(seed), True))
        if not np.array_equal(again == 0, dropped):
            fail(f"{case}: two calls with identically seeded rngs dropped different units.",
                 "draw the mask from the rng you are given (rng.random(x.shape)), not np.random: runs must be "
                 "reproducible.")
    out = as_array("the output", call(fn, x, 0.0, np.random.default_rng(seed), True))
    compare("the output", x, out, case="training=True, p = 0", hint="with p = 0 nothing is dropped and the scale is 1.")
    return ("It drops a fraction p, scales survivors by 1/(1-p) and is the identity at evaluation, "
            "as common.Dropout does.")


def _l2_reference(params: dict, lam: float) -> dict:
    """λθ for each weight matrix, 0 for the rest: read off one SGD step with ``weight_decay=lam`` and a
    zero gradient (the library's own rule for which arrays decay)."""
    arrays = {k: v.copy() for k, v in params.items()}
    SGD([(a, np.zeros_like(a)) for a in arrays.values()], lr=1.0, weight_decay=lam).step()
    return {k: params[k] - arrays[k] for k in params}


@checker("l2_penalty", "l2_penalty")
def check_l2_penalty(fn):
    """``l2_penalty(params, lam) -> (penalty, grads)``: ``λ/2·Σ‖W‖²`` over the weight matrices (not the
    biases) and its gradient for every array (0 for biases)."""
    rng = np.random.default_rng(seed_for("l2_penalty"))
    params = {"0.W": rng.standard_normal((4, 3)), "0.b": rng.standard_normal(3),
              "2.W": rng.standard_normal((3, 2)), "2.b": rng.standard_normal(2)}
    lam = 0.01
    matrices = [k for k, v in params.items() if v.ndim >= 2]
    want_grads = _l2_reference(params, lam)
    want = lam / 2 * sum(float(np.sum(params[k] ** 2)) for k in matrices)
    everything = lam / 2 * sum(float(np.sum(v ** 2)) for v in params.values())
    penalty, grads = unpack(call(fn, params, lam), ("penalty", "grads"))
    compare("the penalty", want, np.reshape(as_array("the penalty", penalty), ()) if np.size(penalty) == 1 else penalty,
            case=f"lam = {lam}", hint="λ/2 times the sum of the squares of every weight-matrix entry.",
            mistakes={"leave out the ½ (λ·Σ‖W‖²)": 2 * want,
                      "penalise the biases too (weight decay applies to weight matrices only)": everything,
                      "take ‖W‖ instead of ‖W‖²": lam / 2 * sum(float(np.linalg.norm(params[k])) for k in matrices)})
    if not isinstance(grads, dict):
        fail(f"grads should be a dict with the keys of params, got {type(grads).__name__}.")
    for k in params:
        if k not in grads:
            if k in matrices:
                fail(f"grads has no {k!r}; every weight matrix needs its gradient.")
            continue                                  # a missing bias gradient is 0, which is right
        compare(f"grads[{k!r}]", want_grads[k], grads[k], case=f"lam = {lam}",
                hint="the gradient of λ/2·‖W‖² is λW; a bias is not decayed, so its gradient is 0.",
                mistakes={"leave out the ½ (the gradient of λ/2·‖W‖² is λW, not 2λW)": 2 * want_grads[k],
                          "decay the biases too (only arrays with ndim ≥ 2 decay)": lam * params[k]})
    worst = 0.0
    for k in matrices:
        W = params[k].copy()
        f = lambda: np.array(lam / 2 * np.sum(W ** 2))
        worst = max(worst, against_finite_differences(f"grads[{k!r}]", grads[k], f, W, np.ones(())))
    return "The penalty and its gradients match SGD's weight_decay rule (matrices only) and finite differences."


def _library_early_stopping(losses, patience):
    """(best epoch, epoch training stops after or None), from ``common.training.EarlyStopping``."""
    cb = EarlyStopping(patience=patience, monitor="val_loss", restore_best=False)
    history = History()
    state = TrainingState(model=None, history=history, epochs=len(losses), steps_per_epoch=1, has_validation=True)
    cb.on_train_begin(state)
    for epoch, loss in enumerate(losses):
        state.epoch = epoch
        history.val_loss.append(float(loss))
        cb.on_epoch_end(state)
        if state.stop_requested:
            return history.best_epoch, epoch
    return history.best_epoch, None


def _compare_to_previous(losses, patience):
    best, wait = 0, 0
    for e in range(1, len(losses)):
        if losses[e] < losses[e - 1]:
            best, wait = e, 0
        else:
            wait += 1
            if wait >= patience:
                return best, e
    return best, None


@checker("early_stopping", "early_stopping")
def check_early_stopping(fn):
    """``early_stopping(val_losses, patience) -> (best_epoch, stop_epoch)``: 0-based epochs; stop after
    ``patience`` epochs in a row without a new best; ``stop_epoch`` is None if that never happens."""
    cases = [([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9], 3),
             ([1.0, 0.9, 0.95, 0.85, 0.86, 0.87], 2),
             ([0.5, 0.6, 0.55, 0.58, 0.4, 0.45], 3),
             ([1.0, 0.9, 0.8, 0.7], 2),
             ([0.3, 0.3, 0.3], 1)]
    for losses, patience in cases:
        best, stop = _library_early_stopping(losses, patience)
        got = unpack(call(fn, list(losses), patience), ("best_epoch", "stop_epoch"), may_be_none=("stop_epoch",))
        got_best = None if got[0] is None else int(got[0])
        got_stop = None if got[1] is None else int(got[1])
        case = f"val_losses = {losses}, patience = {patience}"
        if (got_best, got_stop) != (best, stop) and (got_best, got_stop) == _compare_to_previous(losses, patience):
            fail(f"{case}: got best_epoch {got_best}, stop_epoch {got_stop}; expected {best}, {stop}.",
                 "this is what you get if you compare with the previous epoch: compare with the best so far.")
        if got_best != best:
            fail(f"{case}: best_epoch is {got_best}, expected {best}.",
                 "the best epoch is the one with the lowest validation loss so far; a tie is not an improvement.")
        if got_stop != stop:
            if stop is not None and got_stop is not None and abs(got_stop - stop) == 1:
                hint = (f"off by one: stop when {patience} epochs in a row have not improved on the best "
                        f"(the {patience}th such epoch is the last one trained).")
            else:
                hint = "count the epochs since the last new best; stop at the end of the one that makes it `patience`."
            fail(f"{case}: stop_epoch is {got_stop}, expected {stop}.", hint)
    return "It stops exactly where common.training.EarlyStopping does and keeps the same best epoch."
