"""Finding mentions (with negation), micro precision/recall, attention pointing."""
import json

import numpy as np

from cxrcaption_train import finding_metrics as FM
from cxrcaption_train.dataset import shift_image


def test_mentions_and_negation():
    assert FM.reported_findings("No acute cardiopulmonary abnormality.") == set()
    assert FM.reported_findings("No pleural effusion or pneumothorax.") == set()
    assert FM.reported_findings("Cardiomegaly. No pleural effusion.") == {"cardiomegaly"}
    assert FM.reported_findings("Small right pleural effusion; no pneumothorax.") == {"pleural_effusion"}
    assert FM.reported_findings("Heart size is mildly enlarged. Calcified granuloma left upper lobe.") == {
        "cardiomegaly", "calcified_granuloma"}
    assert FM.reported_findings("Hyperexpanded lungs consistent with COPD, without focal consolidation.") == {
        "hyperinflation"}
    assert FM.reported_findings("Degenerative changes of the thoracic spine.") == {"degenerative_spine"}


def test_precision_recall_counts():
    labels = {"a": ["cardiomegaly", "pleural_effusion"], "b": ["nodule"], "c": []}
    texts = {"a": "Cardiomegaly.", "b": "Right lower lobe opacity, no nodule.", "c": "Cardiomegaly."}
    r = FM.precision_recall(texts, labels)
    # study c has no rendered finding: not counted
    assert r["studies"] == 2
    assert (r["tp"], r["fp"], r["fn"]) == (1, 1, 2)
    assert r["precision"] == 0.5 and abs(r["recall"] - 1 / 3) < 1e-12


def test_pointing_uses_peak_cell(tmp_path):
    mask = np.zeros((512, 512), dtype=bool)
    mask[300:400, 40:120] = True  # lower left of the image: cell (2, 0) of a 4x4 grid
    path = tmp_path / "m.npz"
    np.savez_compressed(path, **{"0:pleural_effusion:right:small": mask})
    grid = 4
    hit = np.zeros(grid * grid)
    hit[2 * grid + 0] = 1.0
    miss = np.zeros(grid * grid)
    miss[0 * grid + 3] = 1.0
    rec = {"id": "x", "attention": {"grid": grid, "words": ["small", "effusion", "effusion", "."],
                                    "maps": [miss.tolist(), hit.tolist(), miss.tolist(), hit.tolist()]}}
    r = FM.pointing([rec], {"x": str(path)})
    assert r["words"] == 2
    assert r["pointing_overlap"] == 0.5
    assert r["per_label"] == {"pleural_effusion": {"hits": 1, "words": 2}}
    json.dumps(r)


def test_shift_augment_moves_content_and_keeps_shape():
    img = np.zeros((32, 32), dtype=np.uint8)
    img[10:20, 10:20] = 255
    outs = [shift_image(img, 3, np.random.default_rng([0, 0, i])) for i in range(20)]
    assert all(o.shape == img.shape and o.dtype == img.dtype for o in outs)
    assert all(int(o.sum()) == int(img.sum()) for o in outs)  # the square stays inside: only moved
    assert any(not np.array_equal(o, img) for o in outs)
    # the shift is a function of (seed, epoch, index): the same generator seed gives the same image
    assert np.array_equal(shift_image(img, 3, np.random.default_rng([0, 0, 5])), outs[5])
