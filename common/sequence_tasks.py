"""Synthetic sequence tasks for chapters 08–09, each with an explicit ``numpy.random.Generator``.

- ``subject_task``: "who was the subject?" — a subject word, a run of filler words, a question mark; the
  answer is the subject. Nothing but memory solves it: the fillers carry no information, so accuracy at
  a given number of fillers measures how long a model keeps the first word.
- ``seq2seq_task``: source → target pairs that need reordering: ``"reverse"`` (the target is the source
  backwards) or ``"sov"`` (clauses in subject–object–verb order become subject–verb–object, in the spirit
  of the Tamil → English example of the attention post).

Every batch has one length (bucketing), so nothing needs padding.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import check_choice, check_generator, check_positive_int

SUBJECTS = ("teacher", "doctor", "farmer", "pilot")
FILLERS = ("said", "that", "the", "day", "was", "long", "and", "very", "slow", "but", "then", "it", "rained",
           "again", "today")
QUESTION = "who?"


@dataclass(frozen=True)
class SubjectVocab:
    """Token ids: subjects 0…S-1, fillers S…S+F-1, the question mark last."""

    subjects: tuple[str, ...] = SUBJECTS
    fillers: tuple[str, ...] = FILLERS

    @property
    def words(self) -> tuple[str, ...]:
        return self.subjects + self.fillers + (QUESTION,)

    @property
    def size(self) -> int:
        return len(self.words)

    @property
    def question_id(self) -> int:
        return self.size - 1

    def decode(self, ids) -> list[str]:
        return [self.words[int(i)] for i in ids]


VOCAB = SubjectVocab()


def subject_task(n: int, n_fillers: int, rng: np.random.Generator, vocab: SubjectVocab = VOCAB):
    """``n`` sentences "subject filler×n_fillers who?" and their subjects.

    Returns X: (n, n_fillers + 2) int64 token ids and y: (n,) int64 subject index in [0, S).
    """
    check_positive_int("n", n)
    check_positive_int("n_fillers", n_fillers, allow_zero=True)
    check_generator("rng", rng)
    S, F = len(vocab.subjects), len(vocab.fillers)
    y = rng.integers(0, S, size=n)
    X = np.empty((n, n_fillers + 2), dtype=np.int64)
    X[:, 0] = y
    X[:, 1:-1] = S + rng.integers(0, F, size=(n, n_fillers))
    X[:, -1] = vocab.question_id
    return X, y.astype(np.int64)


# --------------------------------------------------------------------------------------------------------
# Sequence-to-sequence tasks
# --------------------------------------------------------------------------------------------------------

SEQ2SEQ_KINDS = ("reverse", "sov")


@dataclass(frozen=True)
class Seq2SeqVocab:
    """``n_symbols`` content tokens 0…n_symbols-1 and BOS = n_symbols (the decoder's first input).
    For "sov" the symbols are split in thirds: subjects, objects, verbs."""

    n_symbols: int = 12

    @property
    def bos(self) -> int:
        return self.n_symbols

    @property
    def size(self) -> int:
        return self.n_symbols + 1

    def word(self, i: int, kind: str = "reverse") -> str:
        i = int(i)
        if i == self.bos:
            return "<s>"
        if kind == "sov":
            third = self.n_symbols // 3
            role, k = divmod(i, third)
            return ("S", "O", "V")[min(role, 2)] + str(k + 1)
        return str(i)


def seq2seq_task(kind: str, n: int, length: int, rng: np.random.Generator, vocab: Seq2SeqVocab = Seq2SeqVocab()):
    """``n`` pairs of source length ``length``. Returns (src, tgt_in, tgt_out), each (n, length) int64.

    ``tgt_in`` is BOS followed by ``tgt_out`` without its last token: with teacher forcing the decoder
    reads the true previous word and predicts the next. For "sov", ``length`` must be a multiple of 3.
    """
    check_choice("kind", kind, SEQ2SEQ_KINDS)
    check_positive_int("n", n)
    check_positive_int("length", length)
    check_generator("rng", rng)
    V = vocab.n_symbols
    if kind == "reverse":
        src = rng.integers(0, V, size=(n, length))
        tgt = src[:, ::-1].copy()
    else:
        if length % 3:
            raise ValueError(f"length must be a multiple of 3 for kind='sov', got {length}")
        third = V // 3
        if third < 1:
            raise ValueError(f"vocab.n_symbols must be >= 3 for kind='sov', got {V}")
        k = length // 3
        s = rng.integers(0, third, size=(n, k))
        o = third + rng.integers(0, third, size=(n, k))
        v = 2 * third + rng.integers(0, third, size=(n, k))
        src = np.stack([s, o, v], axis=2).reshape(n, length)
        tgt = np.stack([s, v, o], axis=2).reshape(n, length)
    tgt_in = np.concatenate([np.full((n, 1), vocab.bos), tgt[:, :-1]], axis=1)
    return src.astype(np.int64), tgt_in.astype(np.int64), tgt.astype(np.int64)


def source_positions(kind: str, length: int) -> np.ndarray:
    """For each target position, the source position holding the word it copies: the alignment a
    perfect model would learn (the anti-diagonal for "reverse", local swaps for "sov")."""
    check_choice("kind", kind, SEQ2SEQ_KINDS)
    check_positive_int("length", length)
    if kind == "reverse":
        return np.arange(length)[::-1].copy()
    if length % 3:
        raise ValueError(f"length must be a multiple of 3 for kind='sov', got {length}")
    return (np.arange(length // 3)[:, None] * 3 + np.array([0, 2, 1])).ravel()
