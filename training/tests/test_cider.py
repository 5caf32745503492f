"""The training-side CIDEr-D equals pycocoevalcap's per image (one reference per image)."""

import pytest

from cxrcaption_train.cider import CiderD, metric_words



def _pairs():
    refs = ["No acute cardiopulmonary abnormality.", "Cardiomegaly with small bilateral pleural effusions.",
            "1. No acute disease. 2. Stable calcified granuloma right upper lobe.", "Negative chest x-XXXX.",
            "Low lung volumes with bibasilar atelectasis.", "No acute cardiopulmonary abnormality."]
    cands = ["no acute cardiopulmonary abnormality", "cardiomegaly", "no acute disease", "",
             "low lung volumes", "no acute cardiopulmonary abnormality no acute"]
    return cands, refs


def test_matches_pycocoevalcap_per_image():
    cider_mod = pytest.importorskip("pycocoevalcap.cider.cider")
    cands, refs = _pairs()
    gts = {i: [" ".join(metric_words(r))] for i, r in enumerate(refs)}
    res = {i: [" ".join(metric_words(c))] for i, c in enumerate(cands)}
    corpus_score, per_image = cider_mod.Cider().compute_score(gts, res)
    scorer = CiderD([metric_words(r) for r in refs])
    ours = [scorer.score(scorer.vector(metric_words(c)), scorer.vector(metric_words(r))) for c, r in zip(cands, refs)]
    assert ours == pytest.approx(list(per_image), rel=1e-9, abs=1e-12)
    assert sum(ours) / len(ours) == pytest.approx(corpus_score, rel=1e-9)
    assert ours[0] > ours[2] > 0 and ours[3] == 0.0
