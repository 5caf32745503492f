"""Helpers shared by the tests."""
import os
import subprocess
import sys

import numpy as np

import cxrcaption


def same(a, b):
    """Two result lists are identical (text, numbers, tokens and their words, attention)."""
    def key(r):
        return (r.text, r.score, r.log_prob, r.truncated, r.tokens, r.words)
    return [key(r) for r in a] == [key(r) for r in b] and all(
        (x.attention is None and y.attention is None) or np.array_equal(x.attention, y.attention)
        for x, y in zip(a, b))


def run_python(code, *args):
    """Runs `code` in a new Python that imports the cxrcaption package this process imported (installed, or a
    checkout's python/src through PYTHONPATH) and the same library (CXRCAPTION_LIBRARY is inherited)."""
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(cxrcaption.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [package_parent, os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True)
