"""Every measured table and every number stated in 04-optimization/README.md and OPTIMIZERS_DEEP_DIVE.md,
recomputed from the code (or, for the full-MNIST timings, compared with the record the measurement script
wrote), and every ``file.py: name`` reference resolved.

Numbers in prose are parsed from the text (``markdown_tables.prose_numbers``), so changing a digit fails a
test. Tolerances: values computed in float64 must round to what the text says (half a unit of the last
digit shown); accuracies of float32 trainings within 0.1 points (float32 sums differ in the last bits
across BLAS builds and thread counts: 5 of 5,000 training or 10 of 10,000 test images).
"""

import json

import numpy as np
import pytest

from markdown_tables import assert_code_references_resolve, code_references, prose_numbers, resolved_code, table_dicts
from regenerate_doc_tables import table_block

import adam_bias_correction as adam_bc
import ewma
import gradient_noise as noise
import loss_landscapes as land
import optimization
import optimizer_race as racing
from common.chapters import ROOT
from common.optimizers import DEFAULT_LR, Adam

FOLDER = ROOT / "04-optimization"
DEEP = (FOLDER / "OPTIMIZERS_DEEP_DIVE.md").read_text()
README = (FOLDER / "README.md").read_text()
RECORD = optimization.load_record()


def stated(doc: str, template: str) -> list[float]:
    return prose_numbers(doc, template)


def rounds_to(doc_value: float, value: float, decimals: int) -> None:
    """The text shows ``value`` rounded to ``decimals`` (half a unit of slack, plus round-off)."""
    assert abs(doc_value - value) <= 0.5 * 10.0 ** -decimals + 1e-12, (doc_value, value)


def block(text: str, marker: str) -> str:
    start, end = table_block(text, marker)
    return text[start:end].rstrip("\n")


# ------------------------------------------------------------------------------------------- tables

@pytest.mark.parametrize("marker", ["table: worked-steps", "table: landscapes"])
def test_deep_dive_tables_are_their_functions(marker):
    fn = land.DOC_TABLES[("OPTIMIZERS_DEEP_DIVE.md", marker)]
    assert block(DEEP, marker) == fn()


def test_every_measured_table_is_registered():
    registered = {m for (doc, m) in {**land.DOC_TABLES, **racing.DOC_TABLES}}
    for text in (DEEP, README):
        for line in text.splitlines():
            if line.startswith("<!-- table:"):
                assert line[5:-4] in registered, line


@pytest.fixture(scope="module")
def default_race(real_mnist):
    return racing.default_race(real_mnist)


def test_readme_default_race_table_is_a_real_run(default_race):
    doc = table_dicts(README, "default-race")
    assert [r["optimizer"] for r in doc] == list(racing.DEFAULT_RACE["names"])
    for row in doc:
        h = default_race[row["optimizer"]].history
        assert float(row["learning rate"]) == DEFAULT_LR[row["optimizer"]]
        assert float(row["train acc %"]) == pytest.approx(100 * h.train_acc[-1], abs=0.1)
        assert float(row["test acc %"]) == pytest.approx(100 * h.val_acc[-1], abs=0.1)
    # "Momentum at 0.01 has the same long-run step size as SGD at 0.1 (η/(1 − μ) = 0.1) and ends ahead of it"
    (eff,) = stated(README, "(η/(1 − μ) = {}) and ends ahead of it")
    assert DEFAULT_LR["Momentum"] / (1 - 0.9) == pytest.approx(eff) == DEFAULT_LR["SGD"]
    assert default_race["Momentum"].history.val_acc[-1] > default_race["SGD"].history.val_acc[-1]


def test_readme_default_race_settings_are_the_codes():
    n, e = stated(README, "The default run ({} images, {} epochs, three optimizers)")
    assert (n, e) == (racing.DEFAULT_RACE["train_size"], racing.DEFAULT_RACE["epochs"])
    assert len(racing.DEFAULT_RACE["names"]) == 3
    sgd, mom, ada, rms = stated(README, "SGD {}, Momentum and Nesterov {}, Adagrad {}, RMSProp, Adam and\n  AdamW {})")
    assert (sgd, mom, ada, rms) == (DEFAULT_LR["SGD"], DEFAULT_LR["Momentum"], DEFAULT_LR["Adagrad"], DEFAULT_LR["Adam"])
    assert DEFAULT_LR["Nesterov"] == mom and DEFAULT_LR["RMSProp"] == DEFAULT_LR["AdamW"] == rms
    n, b, e, s = stated(README, "`optimizer_race.DEFAULT_RACE`: {} training images, batch {}, {} epochs,\nseed {}")
    assert (n, b, e, s) == tuple(racing.DEFAULT_RACE[k] for k in ("train_size", "batch_size", "epochs", "seed"))


# ------------------------------------------------------------------------------ full-MNIST record

def _range(values, decimals):
    return round(min(values), decimals), round(max(values), decimals)


def test_readme_timings_are_the_records():
    t = RECORD["timings"]
    assert RECORD["train_images"] == 60000 and RECORD["clock"].startswith("time.process_time")
    reps = stated(README, "the best of {} full-batch or {} batch-64 updates, in each\nof {} rounds")
    assert reps == [RECORD["repeats"]["update_full"], RECORD["repeats"]["update_64"], len(t)]
    assert RECORD["repeats"] == optimization.TIMING_REPEATS
    full = [r["update_full_s"] for r in t]
    b64 = [1000 * r["update_64_s"] for r in t]
    ratio = [r["update_full_s"] / r["update_64_s"] for r in t]
    lo, hi, blo, bhi, rlo, rhi = stated(README, "a full-batch update of the 784-128-10 MLP took {}–{} s and a "
                                                "batch-64 update\n  {}–{} ms, a ratio of {}–{} in the three rounds")
    assert (lo, hi) == _range(full, 2) and (blo, bhi) == _range(b64, 2) and (rlo, rhi) == _range(ratio, 0)
    (more,) = stated(README, "below the {} times more images per update")
    assert more == -(-60000 // 64)
    e64 = [r["epoch_64_s"] for r in t]
    efull = [r["epoch_full_s"] for r in t]
    per_epoch = [a / b for a, b in zip(e64, efull)]
    n, lo, hi, plo, phi, flo, fhi = stated(README, "an epoch of {} batch-64 updates took {}–{} s, {} to {} times a "
                                                   "full-batch\n  epoch ({}–{} s, shuffle included)")
    assert n == 938 and (lo, hi) == _range(e64, 2) and (plo, phi) == _range(per_epoch, 1)
    assert (flo, fhi) == _range(efull, 2)
    # the post's own arithmetic: 937 updates of 0.03 s against one of 30 s
    k, dt, total, full_post = stated(README, "numbers, {} × {} s = {} s against {} s)")
    assert round(k * dt) == total and full_post == 30


def test_readme_updates_per_epoch():
    n, k, last = stated(README, "makes {}: {} full batches and a last one of {} images")
    assert n == -(-60000 // 64) and k == 60000 // 64 and last == 60000 - k * 64


def test_readme_full_mnist_race_is_the_records():
    race = RECORD["race"]
    epochs, images, lo, hi, adam, sgd, mom = stated(
        README, "after {} epochs on all {} images ({}–{} s of\n  training and evaluation per optimizer here, by the "
                "wall clock) Adam reached {}% test accuracy (SGD\n  {}%, Momentum {}%)")
    assert epochs == len(race["Adam"]["test_acc"]) and images == RECORD["train_images"]
    seconds = [sum(r["epoch_time_s"]) for r in race.values()]
    assert (lo, hi) == _range(seconds, 0)
    for name, value in (("Adam", adam), ("SGD", sgd), ("Momentum", mom)):
        rounds_to(value, 100 * race[name]["test_acc"][-1], 2)
    assert all(r["lr"] == DEFAULT_LR[n] and r["batch_size"] == 64 for n, r in race.items())


def test_readme_cites_chapter_05s_long_run():
    from common.chapters import ROOT as root
    record = json.loads((root / "05-regularization" / "blog_scale_record.json").read_text())
    runs = {r["dropout"]: r for r in record["runs"]}
    (best,) = stated(README, "chapter\n  05 runs it for 100 epochs: best {}%")
    rounds_to(best, 100 * max(runs[0.0]["test_acc"]), 2)


def test_full_mnist_record_reproduces_its_first_epoch(real_mnist):
    """The record was written by this code: one epoch of the same race gives its first epoch (the timings,
    load-dependent by nature, are only compared with the README above)."""
    results = racing.race(list(RECORD["race"]), real_mnist.x_train, real_mnist.y_train, real_mnist.x_test,
                          real_mnist.y_test, epochs=1, batch_size=64, seed=RECORD["seed"])
    for name, r in RECORD["race"].items():
        h = results[name].history
        assert 100 * h.train_acc[0] == pytest.approx(100 * r["train_acc"][0], abs=0.1)
        assert 100 * h.val_acc[0] == pytest.approx(100 * r["test_acc"][0], abs=0.1)


# ----------------------------------------------------------------------------------- deep-dive prose

def test_gradient_noise_numbers_are_the_codes(real_mnist):
    n, seed = stated(DEEP, "playground's default ({} MNIST images, the 784-128-10 MLP at its seed-{} initial")
    sub = np.random.default_rng(0).permutation(len(real_mnist.x_train))[:int(n)]
    model = racing.build_mlp(np.random.default_rng(int(seed)), 128, dtype=np.float64)
    g, sigma2 = noise.per_sample_gradient_stats(model, real_mnist.x_train[sub].astype(np.float64),
                                                real_mnist.y_train[sub])
    s2, g2, ratio, b16, v16, b64, v64 = stated(
        DEEP, "σ² = {} and ‖ḡ‖² = {}. So one example's gradient carries about {} times more noise\nthan signal; "
              "at B = {} the expected noise is {}, and at B = {} it is {}, about the size of the")
    rounds_to(s2, sigma2, 2)
    rounds_to(g2, g @ g, 3)
    rounds_to(ratio, sigma2 / (g @ g), 0)
    rounds_to(v16, noise.expected_batch_variance(sigma2, int(n), int(b16)), 3)
    rounds_to(v64, noise.expected_batch_variance(sigma2, int(n), int(b64)), 3)


def test_update_rule_constants_are_the_libraries():
    (ten,) = stated(DEEP, "an effective learning\nrate η/(1 − μ) ({}η for μ = 0.9)")
    assert ten == pytest.approx(1 / (1 - 0.9))
    rho_factor, rho = stated(DEEP, "= η/√(1 − ρ) per coordinate, {}η for ρ = {}.")
    assert rho_factor == pytest.approx(1 / np.sqrt(1 - rho))
    b1, b2, eps = stated(DEEP, "Defaults\nβ₁ = {}, β₂ = {}, ε = {}.")
    opt = Adam([(np.zeros(1), np.zeros(1))])
    assert (opt.beta1, opt.beta2, opt.eps) == (b1, b2, eps)


def test_ewma_numbers_are_the_codes():
    w1, b1, w2, b2 = stated(DEEP, "recent values (`ewma.py: effective_window`): {} for β = {}, {} for β = {}.")
    assert ewma.effective_window(b1) == pytest.approx(w1) and ewma.effective_window(b2) == pytest.approx(w2)
    beta, v1 = stated(DEEP, "with β = {}, v₁ = {}c")
    assert ewma.ewma(np.full(3, 1.0), beta)[0] == pytest.approx(v1)
    beta, pct, t, pct95 = stated(DEEP, "with β = {} the average is\n  still at {}% of c after 100 steps and needs {} "
                                       "to reach {}%")
    rounds_to(pct, 100 * ewma.ewma(np.ones(100), beta)[-1], 0)
    assert t == ewma.steps_to_reach(pct95 / 100, beta)


def test_adam_bias_numbers_are_the_codes():
    t = np.arange(1, 3001)
    f = adam_bc.uncorrected_step_factor(t)
    peak = int(np.argmax(f))
    f1, fpeak, tpeak, f100, f1000 = stated(DEEP, "this factor is {} at t = 1, rises to {} at t = {}, is still {} "
                                                 "at\nt = 100 and {} at t = 1,000")
    rounds_to(f1, f[0], 3)
    rounds_to(fpeak, f[peak], 3)
    assert tpeak == peak + 1
    rounds_to(f100, f[99], 3)
    rounds_to(f1000, f[999], 3)
    (measured,) = stated(DEEP, "the largest uncorrected step is\n{}η")
    raw = adam_bc.adam_step_sizes(np.full(50, 0.5), lr=1e-3, bias_correction=False)
    rounds_to(measured, raw.max() / 1e-3, 2)
    corrected = adam_bc.adam_step_sizes(np.full(50, 0.5), lr=1e-3)
    np.testing.assert_allclose(corrected / 1e-3, 1.0, atol=5e-5)       # "η to four digits"
    assert "the corrected one η to four digits" in DEEP


def test_hand_worked_entries_match_the_code():
    sgd = land.worked_first_steps("SGD")
    a, b = stated(DEEP, "**SGD**: θ₁ = (1 − 0.1·1, 1 − 0.1·5) = ({}, {})")
    np.testing.assert_allclose(sgd[1], (a, b), atol=1e-12)
    mom = land.worked_first_steps("Momentum")
    g1x, g1y, vx, vy, px, py = stated(DEEP, "g₁ = ({}, {}), v = 0.9·(1, 5) + (0.9, 2.5) = ({}, {}), θ₂ = (0.9, 0.5) "
                                            "−\n  0.1·(1.8, 7.0) = ({}, {})")
    np.testing.assert_allclose(mom[1] * (1, 5), (g1x, g1y), atol=1e-12)
    np.testing.assert_allclose(0.9 * np.array([1, 5]) + mom[1] * (1, 5), (vx, vy), atol=1e-12)
    np.testing.assert_allclose(mom[2], (px, py), atol=1e-12)
    nes = land.worked_first_steps("Nesterov")
    np.testing.assert_allclose(nes[1], stated(DEEP, "θ₁ = (1, 1) − 0.1·((1, 5) + 0.9·(1, 5)) = ({}, {})"), atol=1e-12)
    ada = land.worked_first_steps("Adagrad")
    gx, gy, sx, sy, px, py = stated(DEEP, "G = g₀² + g₁² = ({}, {}), and the step is 0.1·(0.9/√1.81, 4.5/√45.25) "
                                          "=\n  ({}, {}): θ₂ = ({}, {})")
    np.testing.assert_allclose((gx, gy), np.array([1, 25]) + (ada[1] * (1, 5)) ** 2, atol=1e-12)
    rounds_to(sx, ada[1][0] - ada[2][0], 4)
    rounds_to(sy, ada[1][1] - ada[2][1], 4)
    rounds_to(px, ada[2][0], 4)
    rounds_to(py, ada[2][1], 4)
    rms = land.worked_first_steps("RMSProp")
    np.testing.assert_allclose(rms[1], stated(DEEP, "0.01·g₀/(0.1|g₀|) = 0.1: θ₁ = ({}, {})"), atol=1e-9)
    adam = land.worked_first_steps("Adam")
    (step,) = stated(DEEP, "so the step is η·sign(g₀) = {} in both coordinates")
    np.testing.assert_allclose(1 - adam[1], step, rtol=1e-7)


def test_landscape_commentary_is_the_codes():
    bowl = land.FUNCTIONS["bowl"]
    sgd = land.trajectory(bowl, "SGD")
    lr, lr2, factor, flips, steps, shrink = stated(
        DEEP, "SGD's η = {} gives the factor 1 − {}·20 = {} along y, so y\n  changes sign on every step ({} "
              "reversals in {} steps: the zig-zag), while x shrinks by only {} per")
    assert lr == lr2 == bowl.lrs["SGD"] and factor == pytest.approx(1 - lr * 20)
    assert sgd.direction_flips() == (0, flips) and len(sgd.points) - 1 == steps
    assert shrink == pytest.approx(1 - lr)
    (edge,) = stated(DEEP, "At η = 2/20 = {} the factor is exactly −1: y flips between +1 and −1 forever")
    assert edge == 2 / 20
    edge_run = land.trajectory(bowl, "SGD", lr=edge, steps=300)
    assert not edge_run.diverged and np.all(np.abs(edge_run.points[:, 1]) == 1.0)
    lr_a, step_a, lr_b, step_b = stated(DEEP, "at η = {} the point leaves |p| < 10⁶ at step {};\n  the "
                                              "playground's ×2 scale, η = {}, at step {})")
    for lr_, at in ((lr_a, step_a), (lr_b, step_b)):
        tr = land.trajectory(bowl, "SGD", lr=lr_, steps=3000)
        assert tr.diverged and len(tr.points) == at
    assert lr_b == pytest.approx(2 * bowl.lrs["SGD"])
    (crosses,) = stated(DEEP, "Momentum and Nesterov cross x = 0 {} times")
    for name in ("Momentum", "Nesterov"):
        assert land.trajectory(bowl, name).crossings((0, 0))[0] == crosses

    ros = land.FUNCTIONS["rosenbrock"]
    ada = land.trajectory(ros, "Adagrad")
    dist, mant = stated(DEEP, "Adagrad ends about {} from (1, 1) while moving ~{}·10⁻⁴ per step")
    rounds_to(dist, float(np.linalg.norm(ada.points[-1] - 1)), 1)
    assert f"{ada.last_step():.0e}" == f"{mant:.0f}e-04"
    rms = land.trajectory(ros, "RMSProp")
    lo, hi, root2, flips, steps, end = stated(
        DEEP, "its last 500 steps are between {} and {} long (η√2 = {} is a step of η per coordinate),\n  it "
              "reverses direction {} times along x in {} steps, and it ends {} from (1, 1)")
    lengths = np.linalg.norm(rms.steps[-500:], axis=1)
    rounds_to(lo, lengths.min(), 4)
    rounds_to(hi, lengths.max(), 4)
    rounds_to(root2, ros.lrs["RMSProp"] * np.sqrt(2), 4)
    assert rms.direction_flips()[0] == flips and len(rms.points) - 1 == steps
    rounds_to(end, float(np.linalg.norm(rms.points[-1] - 1)), 2)

    (growth,) = stated(DEEP, "SGD multiplies y by only about 1 + η = {} per step")
    assert growth == 1 + land.FUNCTIONS["saddle"].lrs["SGD"]
    s_sgd, s_ada, s_rms = stated(DEEP, "reaching a minimum\n  after {} steps; Adagrad and RMSProp divide the "
                                       "gradient by its own small size and arrive after {} and {}")
    got = {n: land.trajectory("saddle", n).steps_to_min for n in ("SGD", "Adagrad", "RMSProp")}
    assert (s_sgd, s_ada, s_rms) == (got["SGD"], got["Adagrad"], got["RMSProp"])
    x, y = stated(DEEP, "the deepest is near\n  ({}, {})")
    np.testing.assert_allclose(land.FUNCTIONS["wells"].minima[0], (x, y), atol=5e-4)
    (k,) = stated(DEEP, "roll into the nearest, shallowest well (local min {})")
    assert k == len(land.FUNCTIONS["wells"].minima) - 1        # the minima are sorted deepest first


# ------------------------------------------------------------------------------ one hop to the code

def test_every_code_reference_resolves():
    assert_code_references_resolve(DEEP, at_least=20, kinds=(dict,))
    for path, name in code_references(README):
        obj = resolved_code(path, name)
        assert callable(obj) or isinstance(obj, dict), (path, name)
