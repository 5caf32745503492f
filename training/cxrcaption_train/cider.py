"""CIDEr-D of one candidate against one reference, for training rewards and baselines.

The arithmetic is pycocoevalcap's (n = 1..4, tf-idf vectors with idf = ln(N) - ln(max(1, df)), clipped
numerator, Gaussian length penalty with sigma 6, x10), with the document frequencies taken from a fixed
corpus (the training references for SCST rewards). The reported metrics come from the Swift scorer
(`cxrcaption score` / `eval`), not from this module.
"""
from __future__ import annotations

import collections
import math
import re

_WORDS = re.compile(r"[a-z0-9]+")


def metric_words(text: str) -> list[str]:
    """Lowercased alphanumeric runs: the scoring tokenizer of docs/METRICS.md for English text."""
    return _WORDS.findall((text or "").lower())


class CiderD:
    """CIDEr-D (pycocoevalcap's arithmetic: n = 1..4, sigma 6, clipped tf-idf, x10) of one candidate against
    one reference, with document frequencies from a fixed corpus of references."""

    def __init__(self, corpus: list[list[str]], n: int = 4, sigma: float = 6.0):
        self.n, self.sigma = n, sigma
        self.df = [collections.Counter() for _ in range(n)]
        for words in corpus:
            for k in range(n):
                self.df[k].update(set(self._grams(words, k + 1)))
        self.log_docs = math.log(float(max(1, len(corpus))))

    @staticmethod
    def _grams(words, k):
        return [tuple(words[i:i + k]) for i in range(len(words) - k + 1)]

    def vector(self, words: list[str]):
        out = []
        for k in range(self.n):
            counts = collections.Counter(self._grams(words, k + 1))
            vec = {g: tf * (self.log_docs - math.log(max(1.0, self.df[k][g]))) for g, tf in counts.items()}
            out.append((vec, math.sqrt(sum(v * v for v in vec.values()))))
        # pycocoevalcap's length is the number of bigrams
        return out, max(0, len(words) - 1)

    def score(self, candidate, reference) -> float:
        (cand, lc), (ref, lr) = candidate, reference
        total = 0.0
        for (vc, nc), (vr, nr) in zip(cand, ref):
            if nc == 0 or nr == 0:
                continue
            dot = sum(min(x, vr[g]) * vr[g] for g, x in vc.items() if g in vr)
            total += dot / (nc * nr)
        return total / self.n * math.exp(-((lc - lr) ** 2) / (2 * self.sigma ** 2)) * 10.0
