"""Chapter 05 on real MNIST, and every measured table and number stated in 05-regularization/README.md and
REGULARIZATION_DEEP_DIVE.md, recomputed from the code (or, for the 100-epoch runs, compared with the
record the measurement script wrote, whose first epochs are rerun), and every ``file.py: name`` reference
resolved.

Numbers in prose are parsed from the text (``markdown_tables.prose_numbers``), so changing a digit fails a
test. Tolerances: float64 values must round to what the text says (half a unit of the last digit shown);
trained float32 networks are not bitwise reproducible across BLAS builds and thread counts (summation
order), so their numbers get 0.1 accuracy points (10 of the 10,000 test images), 0.2 gap points, 0.002 of
loss and 0.05 of a weight norm.
"""


import numpy as np
import pytest

from markdown_tables import assert_code_references_resolve, prose_numbers, table_dicts
from regenerate_doc_tables import table_block

import augmentation as aug
import dropout_ensemble as drop
import overfitting as ovf
import weight_penalties as pen
from common import evaluate, softmax_cross_entropy
from common.chapters import ROOT

FOLDER = ROOT / "05-regularization"
DEEP = (FOLDER / "REGULARIZATION_DEEP_DIVE.md").read_text()
README = (FOLDER / "README.md").read_text()
RECORD = ovf.load_blog_scale()
ACC, GAP, LOSS, NORM = 0.1, 0.2, 0.002, 0.05      # the tolerances of trained numbers (see the docstring)


def stated(doc, template):
    return prose_numbers(doc, template)


def rounds_to(doc_value: float, value: float, decimals: int) -> None:
    assert abs(doc_value - value) <= 0.5 * 10.0 ** -decimals + 1e-12, (doc_value, value)


def near(doc_value: float, value: float, tol: float) -> None:
    assert abs(doc_value - value) <= tol, (doc_value, value, tol)


def pct(v):
    return 100 * v


# ------------------------------------------------------------------------------- the comparison's runs

@pytest.fixture(scope="module")
def gap_runs(real_mnist):
    """The seven runs of the deep-dive's table (GAP_TABLE_CONFIGS), shared by the tests below."""
    splits = ovf.gap_table_splits(real_mnist.x_train, real_mnist.y_train, real_mnist.x_test, real_mnist.y_test)
    return splits, [ovf.run_experiment(c, splits) for c in ovf.GAP_TABLE_CONFIGS]


@pytest.mark.slow
def test_small_subset_overfits_and_augmentation_narrows_the_gap(gap_runs):
    _, runs = gap_runs
    base, aug_run = runs[0], runs[4]
    assert base.config.label() == "no regularization" and aug_run.config.label() == "augmentation"
    assert base.final_train_acc == 1.0           # memorised
    assert len(base.test_acc) == 20 and len(base.w1_norm) == 20
    np.testing.assert_allclose(base.gaps()[-1], base.gap)
    assert aug_run.gap < base.gap - 0.05 and aug_run.final_test_acc > base.final_test_acc + 0.02


@pytest.mark.slow
def test_early_stopping_restores_the_best_validation_epoch(gap_runs):
    splits, runs = gap_runs
    run = runs[5]
    assert run.config.early_stopping and run.config.patience == 3
    h = run.history
    best = int(np.argmin(h.val_loss))
    assert run.best_epoch == best and run.epochs_run == best + 4   # stopped 3 epochs after the best
    assert h.stop_reason.startswith("early stopping")
    val_loss, _ = evaluate(run.model, splits.X_val, splits.y_val, softmax_cross_entropy)
    assert val_loss == pytest.approx(h.val_loss[best], rel=1e-6)
    assert run.final_test_acc == pytest.approx(run.test_acc[best], abs=1e-12)


@pytest.mark.slow
def test_l2_shrinks_the_weights_it_is_given(gap_runs):
    _, runs = gap_runs
    base, l2 = runs[0], runs[2]
    assert l2.config.penalty == "l2"
    assert l2.w1_norm[-1] < 0.7 * base.w1_norm[-1]
    assert np.std(l2.first_layer_weights()) < np.std(base.first_layer_weights())


# -------------------------------------------------------------------------------------------- tables

def test_every_measured_table_is_registered():
    registered = {m for (doc, m) in {**ovf.DOC_TABLES, **pen.DOC_TABLES}}
    for text in (DEEP, README):
        for line in text.splitlines():
            if line.startswith("<!-- table:"):
                assert line[5:-4] in registered, line


def test_decay_table_is_its_function():
    start, end = table_block(DEEP, "table: decay")
    assert DEEP[start:end].rstrip("\n") == pen.decay_markdown()


@pytest.mark.slow
def test_comparison_table_is_the_runs(gap_runs):
    _, runs = gap_runs
    doc = table_dicts(DEEP, "gap")
    code = table_dicts("<!-- table: gap -->\n" + ovf.gap_table_markdown(runs), "gap")
    assert len(doc) == len(code) == 7
    for d, c in zip(doc, code):
        assert (d["configuration"], d["epochs run"]) == (c["configuration"], c["epochs run"])
        for col, tol in (("train acc %", ACC), ("test acc %", ACC), ("gap (points)", GAP), ("test loss", LOSS)):
            near(float(d[col]), float(c[col]), tol)


def test_blog_scale_table_is_the_records():
    start, end = table_block(README, "table: blog-scale")
    assert README[start:end].rstrip("\n") == ovf.blog_scale_table(RECORD)


# ------------------------------------------------------------------------------ the comparison's prose

@pytest.mark.slow
def test_comparison_prose_is_the_runs(gap_runs, real_mnist):
    """Prose that repeats a number of the table must say exactly what the table says (the table itself is
    compared with the runs, to the trained-number tolerances, above); other numbers are compared with the
    runs."""
    _, runs = gap_runs
    base, dropout, l2, wd, aug_run, early, both = runs
    rows = {r["configuration"]: r for r in table_dicts(DEEP, "gap")}

    def T(run, column):
        return float(rows[run.config.label()][column])

    # the deep-dive, section 1
    n_images, = stated(DEEP, "on purpose (`overfitting.py: run_experiment`): {} training")
    assert n_images == ovf.GAP_TABLE_CONFIGS[0].train_size
    hidden, weights, lr, bs, epochs, test_n = stated(
        DEEP, "a 784-{}-10 MLP ({} weights, about two hundred per image), Adam at {}, batch {}, {} epochs, "
              "tested on all {} test images")
    cfg = ovf.GAP_TABLE_CONFIGS[0]
    assert (hidden, lr, bs, epochs) == (cfg.hidden, cfg.lr, cfg.batch_size, cfg.epochs)
    assert weights == base.model.num_params() and test_n == len(real_mnist.x_test)
    train, test, gap = stated(DEEP, "Training accuracy reaches {}% while test accuracy stays at {}%: a gap of {} "
                                    "points")
    assert train == T(base, "train acc %")
    assert test == T(base, "test acc %")
    assert gap == T(base, "gap (points)")
    first, slice_acc = stated(DEEP, "tested on the first {} test images only; that slice is harder: the same "
                                    "network scores {}% there")
    _, on_slice = evaluate(base.model, real_mnist.x_test[:int(first)], real_mnist.y_test[:int(first)],
                           softmax_cross_entropy)
    near(slice_acc, pct(on_slice), ACC)
    assert on_slice < base.final_test_acc
    # the README's summary of the same table
    e, test_n, test, gap = stated(README, "(1,000 training images, {} epochs, all {} test images: the deep-dive's "
                                          "table, recomputed by the tests): without regularization the network "
                                          "reaches 100% training accuracy and {}% test accuracy, a gap of {} "
                                          "points")
    assert e == cfg.epochs and test_n == len(real_mnist.x_test)
    assert test == T(base, "test acc %")
    assert gap == T(base, "gap (points)")
    lo, hi, es, ag, at = stated(README, "leave the gap between {} and {} points; early stopping gives {}; "
                                        "augmentation brings it to {} with test accuracy up to {}%")
    gaps = sorted(T(r, "gap (points)") for r in (dropout, l2, wd))
    assert (lo, hi) == (gaps[0], gaps[-1])
    assert es == T(early, "gap (points)")
    assert ag == T(aug_run, "gap (points)")
    assert at == T(aug_run, "test acc %")
    (slice_again,) = stated(README, "a harder slice:\n{}% for the same network")
    near(slice_again, pct(on_slice), ACC)
    # section 4: the weight norms
    l2n, basen = stated(DEEP, "ends with ‖W₁‖ = {} against {} without a penalty")
    near(l2n, l2.w1_norm[-1], NORM)
    near(basen, base.w1_norm[-1], NORM)
    (wdn,) = stated(DEEP, "ends at {}.")
    near(wdn, wd.w1_norm[-1], NORM)
    # section 5: early stopping
    best, stop, restored_epoch = stated(DEEP, "validation loss was lowest after epoch {}; three epochs\nwithout "
                                              "improvement later it stopped at epoch {} and restored epoch {}.")
    assert best == early.best_epoch + 1 == restored_epoch and stop == early.epochs_run
    restored, full = stated(DEEP, "The test accuracy of the restored\nnetwork is {}%, against {}% for the "
                                  "network trained 20 epochs")
    assert restored == T(early, "test acc %")
    assert full == T(base, "test acc %")
    assert early.final_test_acc <= base.final_test_acc + 0.001          # "no better"
    es_loss, base_loss, es_epochs, all_epochs = stated(DEEP, "a\nlower test loss ({} against {}) for {} epochs of "
                                                             "training instead of {}.")
    assert es_loss == T(early, "test loss")
    assert base_loss == T(base, "test loss")
    assert (es_epochs, all_epochs) == (early.epochs_run, base.epochs_run)
    # section 7
    d_loss, b_loss = stated(DEEP, "(dropout {} vs {}: less\nover-confident)")
    assert d_loss == T(dropout, "test loss")
    assert b_loss == T(base, "test loss")
    lo, hi, against = stated(DEEP, "move the gap by less than half a point ({} to {} against {})")
    assert (lo, hi) == (gaps[0], gaps[-1])
    assert against == T(base, "gap (points)")
    assert max(abs(g - T(base, "gap (points)")) for g in gaps) < 0.5
    ag, at = stated(DEEP, "closes most of it ({} points, test accuracy {}%)")
    assert ag == T(aug_run, "gap (points)")
    assert at == T(aug_run, "test acc %")
    bg, bt = stated(DEEP, "narrow the gap\nfurther ({} points) but test less well than augmentation alone ({}%)")
    assert bg == T(both, "gap (points)")
    assert bt == T(both, "test acc %")
    assert both.gap < aug_run.gap and both.final_test_acc < aug_run.final_test_acc


# ------------------------------------------------------------------------------------ fixed numbers

def test_dropout_numbers_are_the_codes(real_mnist):
    hidden, seed, n_images, nonzero = stated(DEEP, "(the ReLU outputs of an untrained 784-{} layer, at its "
                                                   "seed-{} initial weights, on {} test images, {} of them non-zero)")
    draws, p = stated(DEEP, "averaging {} training passes at p = {}:")
    model = ovf.build_model(np.random.default_rng(int(seed)), hidden=int(hidden))
    acts = model.layers[1].forward(model.layers[0].forward(real_mnist.x_test[:int(n_images)]))
    res = drop.dropout_expectation(acts, p, int(draws), np.random.default_rng(1))
    assert nonzero == res["nonzero"]
    rel, noise, unscaled, kept = stated(DEEP, "‖mean − eval‖/‖eval‖ = {}, against the\nsampling noise "
                                              "√(p/(1 − p)/1000) = {} expected from 1,000 draws; without the scaling "
                                              "the same\naverage is off by {}, i.e. by the factor 1 − p; and {} of "
                                              "the active units were kept")
    # float32 activations, float64 averaging: the same on every machine to the digits shown
    rounds_to(rel, res["rel_diff"], 4)
    rounds_to(noise, res["expected_rel_noise"], 4)
    rounds_to(unscaled, res["rel_diff_unscaled"], 4)
    rounds_to(kept, res["kept_fraction"], 4)
    n, mant = stated(DEEP, "for n = {} that is\n2²⁵⁶ ≈ {} × 10⁷⁷")
    assert drop.subnetworks(int(n)) == 2 ** 256
    rounds_to(mant, 2.0 ** 256 / 1e77, 2)


def test_decay_prose_is_the_codes():
    rows = pen.decay_comparison()
    free = rows[0]["without decay"]
    f, product, measured = stated(DEEP, "both: {} · (1 − 0.001)²⁰⁰ = {}, within 10⁻⁴ of the measured {}")
    rounds_to(f, free, 4)
    rounds_to(product, free * (1 - 0.01 * 0.1) ** 200, 4)
    decoupled = [r["final w"] for r in rows if r["method"] == "decoupled"]
    rounds_to(measured, decoupled[0], 4)
    assert abs(decoupled[0] - free * 0.999 ** 200) < 1e-4
    (off,) = stated(DEEP, "Coupled L2 took {} off the large-gradient weight")
    rounds_to(off, free - rows[0]["final w"], 2)
    s1, s2, lr, lam, steps = stated(DEEP, "with s = {} and s = {}; Adam, η = {}, λ = {}, {}\nsteps of `fit`")
    assert (s1, s2) == (rows[0]["gradient scale"], rows[1]["gradient scale"]) and steps == 200
    assert (lr, lam) == (0.01, 0.1)        # decay_comparison's defaults, which the table uses


def test_fixed_numbers_are_the_codes():
    assert ovf.build_model(np.random.default_rng(0), hidden=128).num_params() == 101_770
    (params,) = stated(README, "(784-128-10 MLP, {} parameters")
    assert params == ovf.build_model(np.random.default_rng(0), hidden=ovf.BLOG_SCALE.hidden).num_params()
    layer = aug.RandomShiftRotate(np.random.default_rng(0))
    rot, shift = stated(DEEP, "a rotation by an angle a in\n±{}° about the image centre, then a shift by up to ±{} "
                              "pixels each way")
    assert (rot, shift) == (layer.max_rotation, layer.max_shift)
    cx, cy = stated(DEEP, "the centre is c = ({}, {})")
    assert cx == cy == (aug.SIDE - 1) / 2
    bands = [ovf.tuning_advice(g)[0] for g in (0.005, 0.02, 0.05)]
    assert bands == ["< 1%", "1–3%", "> 3%"] and "(gap < 1%, 1–3%, > 3%)" in README


# ---------------------------------------------------------------------------- the post's long run

def _run(dropout):
    return next(r for r in RECORD["runs"] if r["dropout"] == dropout)


def test_blog_scale_record_is_the_configuration():
    plain = _run(0.0)
    assert plain["config"]["train_size"] == 58000 and plain["val_size"] == 2000 and plain["params"] == 101_770
    assert len(plain["test_acc"]) == ovf.BLOG_SCALE.epochs == 100
    assert {r["dropout"] for r in RECORD["runs"]} == {0.0, 0.2}


def test_blog_scale_record_reproduces_its_first_epochs(real_mnist):
    """The record was written by this code: two epochs of the same run give its first two epochs."""
    for dropout in (0.0,):
        rec = ovf.measure_blog_scale(real_mnist, dropout=dropout, epochs=2)
        run = _run(dropout)
        for key, tol in (("train_acc", ACC / 100), ("test_acc", ACC / 100), ("val_loss", LOSS)):
            np.testing.assert_allclose(rec[key], run[key][:2], atol=tol)


def test_blog_scale_prose_is_the_records():
    plain, drop02 = _run(0.0), _run(0.2)
    tr, te, vl = (np.array(plain[k]) for k in ("train_acc", "test_acc", "val_loss"))
    bs, n, val, test_n, epochs, p = stated(
        README, "Adam 10⁻³, batch {}; {} training images, {} other training images for validation, all {} test "
                "images; {} epochs, once without dropout and once with dropout {})")
    cfg = plain["config"]
    assert (bs, n, val, epochs) == (cfg["batch_size"], cfg["train_size"], plain["val_size"], len(te))
    assert test_n == 10000 and p == drop02["dropout"] and cfg["lr"] == 1e-3
    (full_from,) = stated(README, "training accuracy is 100% from epoch {},")
    assert full_from == int(np.argmax(tr >= 1.0)) + 1
    best = int(np.argmax(te))
    peak, at, after, below2, below4, worst, worst_at, next_low, next_at, last = stated(
        README, "test accuracy peaked at {}% at epoch {} but did not settle there: of the {} epochs after the "
                "peak, {} were more than 0.2 points below it and {} more than 0.4 below, the worst {}% at epoch {} "
                "(one bad epoch; the next lowest is {}% at epoch {}), and epoch 100 scored {}%")
    rounds_to(peak, 100 * te[best], 2)
    assert at == best + 1 and after == len(te) - best - 1
    rest = te[best + 1:]
    assert below2 == int((rest < te[best] - 0.002).sum()) and below4 == int((rest < te[best] - 0.004).sum())
    order = np.argsort(rest)
    rounds_to(worst, 100 * rest[order[0]], 2)
    assert worst_at == best + 2 + order[0]
    rounds_to(next_low, 100 * rest[order[1]], 2)
    assert next_at == best + 2 + order[1]
    rounds_to(last, 100 * te[-1], 2)
    low_at, low, ratio, end = stated(README, "validation loss was lowest\nat epoch {} ({}) and {} times that at "
                                             "epoch 100 ({})")
    assert low_at == int(np.argmin(vl)) + 1
    rounds_to(low, vl.min(), 4)
    rounds_to(ratio, vl[-1] / vl.min(), 1)
    rounds_to(end, vl[-1], 4)
    (gap,) = stated(README, "The gap at epoch 100 is {} points")
    rounds_to(gap, 100 * (tr[-1] - te[-1]), 2)
    assert ovf.tuning_advice(tr[-1] - te[-1])[0] == "1–3%"
    d = {k: np.array(drop02[k]) for k in ("train_acc", "test_acc", "val_loss")}
    g, acc, dbest, dbest_at, dlow, dlow_at = stated(
        README, "Following it: gap {} points at epoch 100, test accuracy {}% (best {}% at epoch {}), and the "
                "lowest validation loss improved to {} (epoch {})")
    rounds_to(g, 100 * (d["train_acc"][-1] - d["test_acc"][-1]), 2)
    rounds_to(acc, 100 * d["test_acc"][-1], 2)
    rounds_to(dbest, 100 * d["test_acc"].max(), 2)
    assert dbest_at == int(np.argmax(d["test_acc"])) + 1
    rounds_to(dlow, d["val_loss"].min(), 4)
    assert dlow_at == int(np.argmin(d["val_loss"])) + 1 and d["val_loss"].min() < vl.min()


# ------------------------------------------------------------------------------ one hop to the code

def test_every_code_reference_resolves():
    assert_code_references_resolve(DEEP, at_least=15, kinds=(dict, tuple, property))
