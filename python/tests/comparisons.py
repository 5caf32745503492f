"""Helpers shared by the tests."""
import numpy as np


def same(a, b):
    """Two result lists are identical (text, numbers, tokens, attention)."""
    def key(r):
        return (r.text, r.score, r.log_prob, r.truncated, r.tokens)
    return [key(r) for r in a] == [key(r) for r in b] and all(
        (x.attention is None and y.attention is None) or np.array_equal(x.attention, y.attention)
        for x, y in zip(a, b))
