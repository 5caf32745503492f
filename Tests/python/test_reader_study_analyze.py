"""Tests of `cxrcaption-cli reader-study analyze` on synthetic keys and scores with known answers.

The key and score files are written here in the formats `reader-study make` and the scoring page write; the
expected numbers are worked out by hand or by independent plain-Python implementations below (ranks for
Mann-Whitney U, the kappa formula), so a shared mistake would have to be made twice.

Needs: pytest, numpy; the CLI binary (env CXRCAPTION_CLI, else `swift build --show-bin-path`).

    python -m pytest Tests/python/test_reader_study_analyze.py -v
"""
import json
import math
import random
import struct

import numpy as np
import pytest
from cli_support import run_cli

PACKET = "0123456789abcdef"


def write_key(folder, origins):
    cases = [{"case": i + 1, "id": "case-%03d" % (i + 1), "origin": o, "study": "s%d" % i, "entry": "e%d" % i,
              "image": "x%d.png" % i, "text": "T.", "source_text": "t"} for i, o in enumerate(origins)]
    key = {"format": "cxrcaption-reader-study-key/1", "packet": PACKET, "seed": 3, "cases": cases,
           "model": {"file": "m.safetensors", "sha256": "ab" * 32}}
    path = folder / "key.json"
    path.write_text(json.dumps(key))
    return path


def write_scores(folder, reader, scores, packet=PACKET, csv=False):
    """scores: one per case (None = unscored)."""
    if csv:
        lines = ["packet,reader,case,id,score,comment"]
        for i, s in enumerate(scores):
            lines.append('%s,%s,%d,case-%03d,%s,"a ""quoted"", comment"' % (packet, reader, i + 1, i + 1,
                                                                            "" if s is None else s))
        path = folder / ("%s.csv" % reader)
        path.write_text("\r\n".join(lines) + "\r\n")
        return path
    body = {"format": "cxrcaption-reader-study-scores/1", "packet": packet, "reader": reader,
            "scores": [{"case": i + 1, "id": "case-%03d" % (i + 1), "score": s, "comment": ""}
                       for i, s in enumerate(scores)]}
    path = folder / ("%s.json" % reader)
    path.write_text(json.dumps(body))
    return path


def analyze(folder, key, *scores, extra=()):
    out = folder / "analysis"
    done = run_cli("reader-study", "analyze", "--key", key, "--scores", *scores, "--out", out,
                   "--bootstrap", 2000, "--permutations", 2000, *extra)
    assert done.returncode == 0, done.stderr
    return json.loads((out / "analysis.json").read_text()), out, done.stdout


def group(analysis, reader, origin):
    return next(g for g in analysis["groups"] if g["reader"] == reader and g["origin"] == origin)


def comparison(analysis, reader):
    return next(c for c in analysis["comparisons"] if c["reader"] == reader)


def mann_whitney_reference(a, b):
    """U of a by counting pairs, z and two-sided p with tie and continuity corrections (midranks)."""
    u = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    n1, n2 = len(a), len(b)
    n = n1 + n2
    values = sorted(a + b)
    ties = sum(values.count(v) ** 3 - values.count(v) for v in set(values))
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    d = u - n1 * n2 / 2
    z = math.copysign(max(abs(d) - 0.5, 0), d) / math.sqrt(var)
    return u, z, math.erfc(abs(z) / math.sqrt(2))


def kappa_reference(x, y, power):
    o = np.zeros((5, 5))
    for a, b in zip(x, y):
        o[a - 1, b - 1] += 1
    o /= len(x)
    e = np.outer(o.sum(1), o.sum(0))
    w = np.abs(np.subtract.outer(np.arange(5), np.arange(5))) ** power / 4 ** power
    return 1 - (w * o).sum() / (w * e).sum()


def test_extremes_give_exact_answers(tmp_path):
    key = write_key(tmp_path, ["model"] * 20 + ["human"] * 20)
    r1 = write_scores(tmp_path, "r1", [5] * 20 + [1] * 20)
    r2 = write_scores(tmp_path, "r2", [5] * 20 + [1] * 20)
    analysis, out, stdout = analyze(tmp_path, key, r1, r2)
    for reader in ("r1", "r2", "all readers"):
        m, h = group(analysis, reader, "model"), group(analysis, reader, "human")
        assert m["share_of_5"] == {"value": 1.0, "low": 1.0, "high": 1.0}
        assert h["share_of_5"] == {"value": 0.0, "low": 0.0, "high": 0.0}
        assert m["share_at_least_4"]["value"] == 1.0 and h["share_at_least_4"]["value"] == 0.0
        c = comparison(analysis, reader)
        assert c["mann_whitney_u"] == 400 and c["superiority"] == 1.0 and c["p"] < 1e-6
        assert c["share_of_5_difference"] == 1.0 and c["share_of_5_permutation_p"] == pytest.approx(1 / 2001)
    assert group(analysis, "r1", "model")["distribution"] == [0, 0, 0, 0, 20]
    assert group(analysis, "all readers", "human")["distribution"] == [40, 0, 0, 0, 0]
    # Identical readers agree perfectly.
    [agreement] = analysis["agreements"]
    assert agreement["kappa_quadratic"] == 1.0 and agreement["kappa_linear"] == 1.0 and agreement["exact"] == 1.0
    assert (out / "summary.md").read_text() in stdout
    png = (out / "figure.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width > 3 * 400 and height > 300, "three panels: r1, r2, all readers"


def test_random_scores_match_the_reference_implementations(tmp_path):
    rng = random.Random(5)
    origins = ["model"] * 60 + ["human"] * 50
    rng.shuffle(origins)
    r1 = [rng.choice([1, 2, 3, 4, 4, 5, 5, 5]) if o == "model" else rng.choice([3, 4, 5, 5, 5, 5]) for o in origins]
    r2 = [min(5, max(1, s + rng.choice([-1, 0, 0, 0, 1]))) for s in r1]
    key = write_key(tmp_path, origins)
    analysis, out, _ = analyze(tmp_path, key, write_scores(tmp_path, "r1", r1), write_scores(tmp_path, "r2", r2))
    for reader, scores in (("r1", r1), ("r2", r2)):
        model = [s for s, o in zip(scores, origins) if o == "model"]
        human = [s for s, o in zip(scores, origins) if o == "human"]
        m = group(analysis, reader, "model")
        assert m["distribution"] == [model.count(k) for k in range(1, 6)]
        assert m["share_of_5"]["value"] == pytest.approx(model.count(5) / len(model))
        assert m["share_at_least_4"]["value"] == pytest.approx(sum(s >= 4 for s in model) / len(model))
        assert m["mean"] == pytest.approx(sum(model) / len(model))
        # The bootstrap interval is about the binomial one: p +- 1.96 sqrt(p(1-p)/n).
        p = m["share_of_5"]["value"]
        half = 1.96 * math.sqrt(p * (1 - p) / len(model))
        assert m["share_of_5"]["low"] == pytest.approx(p - half, abs=0.035)
        assert m["share_of_5"]["high"] == pytest.approx(p + half, abs=0.035)
        u, z, pv = mann_whitney_reference(model, human)
        c = comparison(analysis, reader)
        assert c["mann_whitney_u"] == pytest.approx(u) and c["z"] == pytest.approx(z) and c["p"] == pytest.approx(pv)
        assert c["superiority"] == pytest.approx(u / (len(model) * len(human)))
    # All readers: each case once, as its readers' mean score.
    means = [(a + b) / 2 for a, b in zip(r1, r2)]
    u, z, pv = mann_whitney_reference([m for m, o in zip(means, origins) if o == "model"],
                                      [m for m, o in zip(means, origins) if o == "human"])
    assert comparison(analysis, "all readers")["p"] == pytest.approx(pv)
    [agreement] = analysis["agreements"]
    assert agreement["cases"] == 110
    assert agreement["kappa_quadratic"] == pytest.approx(kappa_reference(r1, r2, 2))
    assert agreement["kappa_linear"] == pytest.approx(kappa_reference(r1, r2, 1))


def test_kappa_of_a_worked_example(tmp_path):
    # Readers disagree by one point on half the cases in a balanced 2x2 of scores 4 and 5: observed
    # disagreement weight 0.5 x (1/4)^2, expected 0.5 x (1/4)^2 too -> quadratic kappa 0 (chance).
    key = write_key(tmp_path, ["model", "human"] * 4)
    a = [4, 4, 5, 5, 4, 4, 5, 5]
    b = [4, 5, 4, 5, 4, 5, 4, 5]
    analysis, _, _ = analyze(tmp_path, key, write_scores(tmp_path, "a", a), write_scores(tmp_path, "b", b))
    assert analysis["agreements"][0]["kappa_quadratic"] == pytest.approx(0.0, abs=1e-12)
    assert analysis["agreements"][0]["exact"] == 0.5


def test_no_difference_gives_large_p(tmp_path):
    scores = [1, 2, 3, 4, 5] * 8
    key = write_key(tmp_path, ["model"] * 40 + ["human"] * 40)
    analysis, _, _ = analyze(tmp_path, key, write_scores(tmp_path, "r1", scores + scores))
    c = comparison(analysis, "r1")
    assert c["superiority"] == 0.5 and c["p"] == 1.0 and c["share_of_5_difference"] == 0.0
    assert c["share_of_5_permutation_p"] == 1.0
    assert analysis["agreements"] == []


def test_csv_equals_json_and_unscored_cases_are_left_out(tmp_path):
    key = write_key(tmp_path, ["model", "human"] * 10)
    scores = [5, 4, 3, None, 5, 5, 2, 4, 1, 5] * 2
    from_json, _, _ = analyze(tmp_path, key, write_scores(tmp_path, "r1", scores))
    from_csv, _, _ = analyze(tmp_path, key, write_scores(tmp_path, "r1", scores, csv=True))
    assert from_json == from_csv
    assert from_json["readers"] == [{"reader": "r1", "scored": 18, "unscored": 2}]
    assert group(from_json, "r1", "human")["cases"] == 8


@pytest.mark.parametrize("change, message", [
    (lambda body: body.update(packet="ffffffffffffffff"), 'is for packet "ffffffffffffffff"'),
    (lambda body: body["scores"][0].update(score=6), "score 6, outside 1...5"),
    (lambda body: body["scores"][0].update(score=2.5), "not an integer 1...5"),
    (lambda body: body["scores"][0].update(id="case-999"), '"case-999" is not in the key'),
    (lambda body: body["scores"][1].update(id="case-001"), "scored twice"),
    (lambda body: body.update(reader=""), "has no reader id"),
    (lambda body: body.update(format="something"), "not a score file"),
])
def test_bad_scores_are_refused_naming_the_problem(tmp_path, change, message):
    key = write_key(tmp_path, ["model", "human"] * 3)
    path = write_scores(tmp_path, "r1", [5, 4, 3, 2, 1, 5])
    body = json.loads(path.read_text())
    change(body)
    path.write_text(json.dumps(body))
    done = run_cli("reader-study", "analyze", "--key", key, "--scores", path, "--out", tmp_path / "a")
    assert done.returncode != 0 and message in done.stderr and str(path) in done.stderr, done.stderr


def test_two_files_of_one_reader_and_a_wrong_key_are_refused(tmp_path):
    key = write_key(tmp_path, ["model", "human"] * 3)
    a = write_scores(tmp_path, "r1", [5, 4, 3, 2, 1, 5])
    b = write_scores(tmp_path, "r1", [5, 4, 3, 2, 1, 5], csv=True)
    done = run_cli("reader-study", "analyze", "--key", key, "--scores", a, b, "--out", tmp_path / "a")
    assert done.returncode != 0 and 'both from reader "r1"' in done.stderr
    done = run_cli("reader-study", "analyze", "--key", a, "--scores", a, "--out", tmp_path / "a")
    assert done.returncode != 0 and "is not a reader-study key" in done.stderr
