"""The PyTorch twin of ``bench_lstm.py``: same model, optimizer, batch, data and float32, CPU. Run by that
script in its own process with ``--vs-torch``; runnable alone too."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _bench  # noqa: E402
from bench_lstm import add_args, show  # noqa: E402


def main() -> None:
    args, clock = _bench.parse(__doc__, add_args, twin=True)

    import numpy as np
    from common.sequence_tasks import VOCAB, subject_task

    torch = _bench.torch_init(args.threads)
    rng = np.random.default_rng(0)
    emb = torch.nn.Embedding(VOCAB.size, 16)
    lstm = torch.nn.LSTM(16, args.hidden, batch_first=True)
    out = torch.nn.Linear(args.hidden, 4)
    params = [*emb.parameters(), *lstm.parameters(), *out.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    data = [tuple(torch.from_numpy(a) for a in subject_task(args.batch, args.T - 2, rng)) for _ in range(args.steps)]

    def step(X, y):
        hs, _ = lstm(emb(X))
        loss = loss_fn(out(hs[:, -1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for X, y in data[:5]:
        step(X, y)
    times = _bench.time_blocks(lambda: [step(X, y) for X, y in data], args.repeats, args.steps, clock)
    show("pytorch (cpu)", times, args, args.json)


if __name__ == "__main__":
    main()
