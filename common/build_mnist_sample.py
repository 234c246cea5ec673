"""Build ``common/mnist_sample.npz``, the bundled offline sample, from the full MNIST files.

    python -m common.build_mnist_sample ../shared/datasets/mnist

Takes a stratified 10,000-image training subset and 2,000-image test subset (1,000 and 200 per digit)
with a fixed seed, so rebuilding gives the same file. Stored as uint8 in a compressed ``.npz`` with the
CC BY-SA 3.0 attribution inside.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .mnist import ATTRIBUTION, SAMPLE_PATH, read_mnist_dir, stratified_indices


def build(source_dir, out=SAMPLE_PATH, n_train=10_000, n_test=2_000, seed=0) -> Path:
    full = read_mnist_dir(source_dir, verify=True)
    rng = np.random.default_rng(seed)
    tr = np.sort(stratified_indices(full["train_labels"], n_train, rng))
    te = np.sort(stratified_indices(full["test_labels"], n_test, rng))
    np.savez_compressed(
        out,
        train_images=full["train_images"][tr], train_labels=full["train_labels"][tr],
        test_images=full["test_images"][te], test_labels=full["test_labels"][te],
        train_indices=tr.astype(np.int32), test_indices=te.astype(np.int32),
        attribution=np.array(ATTRIBUTION),
    )
    return Path(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source_dir", help="directory with the four MNIST IDX files")
    parser.add_argument("--out", default=str(SAMPLE_PATH))
    args = parser.parse_args()
    path = build(args.source_dir, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
