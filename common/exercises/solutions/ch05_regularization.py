"""Solutions to the exercises of ``05-regularization/regularization.ipynb``."""

import numpy as np


def inverted_dropout(x, p, rng, training):
    """Drop each unit with probability p and scale the rest by 1/(1-p) in training; identity otherwise."""
    if not training or p == 0:
        return x
    keep = rng.random(x.shape) >= p
    return x * keep / (1 - p)


def l2_penalty(params, lam):
    """(λ/2·Σ‖W‖² over the weight matrices, {name: gradient}); biases (1-D arrays) are not decayed."""
    penalty = 0.0
    grads = {}
    for name, a in params.items():
        if a.ndim >= 2:
            penalty += lam / 2 * np.sum(a ** 2)
            grads[name] = lam * a
        else:
            grads[name] = np.zeros_like(a)
    return penalty, grads


def early_stopping(val_losses, patience):
    """(best epoch, the epoch training stops after, or None): stop once ``patience`` epochs in a row
    have not beaten the best validation loss so far."""
    best, best_epoch, wait = np.inf, None, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return best_epoch, epoch
    return best_epoch, None
