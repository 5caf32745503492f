"""The examples print what the package computes, and the old module name still works."""
import os
import re
import subprocess
import sys

import numpy as np
import pydicom
import pytest
from PIL import Image

import cxrcaption
import cxrcaption_ctypes
from cxrcaption.dicom import dicom_image

LINE = re.compile(r"^  (\d+)\. (.*)  \(score (-?[0-9.]+)")


def run(examples, script, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, os.path.join(examples, script), *args], capture_output=True, text=True,
                          env=env)


def printed(stdout):
    """{file: [(text, score)]} from an example's output."""
    results, current = {}, None
    for line in stdout.splitlines():
        match = LINE.match(line)
        if match:
            results[current].append((match.group(2), float(match.group(3))))
        elif line.endswith(":") and not line.startswith(" "):
            current = line[:-1]
            results[current] = []
    return results


def test_old_module_name_is_the_package():
    assert cxrcaption_ctypes.Model is cxrcaption.Model and cxrcaption_ctypes.CXRError is cxrcaption.CXRError


def test_caption_example_prints_the_package_results(examples, model_path, fixtures):
    paths = [os.path.join(fixtures, name) for name in ("nih_txv_00000001_000.png", "iu_CXR3_IM-1384-1001.png")]
    out = run(examples, "caption.py", "--model", model_path, "--beam-width", "4", *paths)
    assert out.returncode == 0, out.stderr
    shown = printed(out.stdout)
    with cxrcaption.Model(model_path) as model, model.session() as session:
        for path in paths:
            expected = session.generate(np.asarray(Image.open(path)), beam_width=4)
            assert [text for text, _ in shown[path]] == [r.text for r in expected]
            assert [score for _, score in shown[path]] == [round(r.score, 4) for r in expected]


def test_caption_example_reads_dicom_and_jpeg_paths(examples, model_path, fixtures, dicom_fixtures, tmp_path):
    """caption.py hands the paths to the package: a DICOM file gets its attributes (as dicom_image gives them),
    a JPEG is what Pillow decodes."""
    dicom = os.path.join(dicom_fixtures, "rg1_small.dcm")
    jpeg = tmp_path / "chest.jpg"
    Image.open(os.path.join(fixtures, "nih_txv_00000001_000.png")).save(jpeg, quality=90)
    out = run(examples, "caption.py", "--model", model_path, dicom, str(jpeg))
    assert out.returncode == 0, out.stderr
    shown = printed(out.stdout)
    with cxrcaption.Model(model_path) as model, model.session() as session:
        pixels, image = dicom_image(pydicom.dcmread(dicom))
        assert [t for t, _ in shown[dicom]] == [r.text for r in session.generate(pixels, **image)]
        assert [t for t, _ in shown[str(jpeg)]] == [r.text for r in session.generate(np.asarray(Image.open(jpeg)))]


def test_pydicom_example_prints_the_package_results(examples, model_path, dicom_fixtures):
    names = ["rg1_small.dcm", "rg1_small_signed_rescaled.dcm", "rg1_small_jpeg_baseline.dcm",
             "rg1_thumb_jpeg2000.dcm", "rgb_planar.dcm"]
    paths = [os.path.join(dicom_fixtures, name) for name in names]
    out = run(examples, "pydicom_caption.py", "--model", model_path, "--attributes", *paths)
    assert out.returncode == 0, out.stderr
    assert "MONOCHROME1, rescale 1/0, window 15000/30000" in out.stdout
    assert "signed, MONOCHROME1, rescale 1/16384, window 15000/30000" in out.stdout
    shown = printed(out.stdout)
    with cxrcaption.Model(model_path) as model, model.session() as session:
        for path in paths:
            pixels, image = dicom_image(pydicom.dcmread(path))
            expected = session.generate(pixels, **image)
            assert [text for text, _ in shown[path]] == [r.text for r in expected]
            assert [score for _, score in shown[path]] == [round(r.score, 6) for r in expected]
    assert shown[paths[0]] == shown[paths[1]]  # same modality values, stored unsigned or signed + rescaled


def test_pydicom_example_goes_on_after_a_bad_file(examples, model_path, dicom_fixtures, tmp_path):
    bad = tmp_path / "not-a-dicom.dcm"
    bad.write_bytes(b"hello")
    good = os.path.join(dicom_fixtures, "rg1_small.dcm")
    out = run(examples, "pydicom_caption.py", "--model", model_path, str(bad), good)
    assert out.returncode == 1
    assert "not-a-dicom.dcm" in out.stderr and good + ":" in out.stdout
