"""Fixtures of the cxrcaption package tests. Run them against the installed package:

    CXRCAPTION_LIBRARY=/path/to/libcxrcaption.so python -m pytest python/tests   # or a bundled install

Paths come from the repository (this file's location) unless CXR_TEST_MODEL / CXR_TEST_FIXTURES /
CXR_TEST_DICOM_FIXTURES say otherwise.
"""
import os

import numpy as np
import pytest
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="session")
def model_path():
    return os.environ.get("CXR_TEST_MODEL",
                          os.path.join(ROOT, "Tests", "CXRKitTests", "Fixtures", "golden", "model.safetensors"))


@pytest.fixture(scope="session")
def fixtures():
    return os.environ.get("CXR_TEST_FIXTURES", os.path.join(ROOT, "Tests", "c", "fixtures"))


@pytest.fixture(scope="session")
def dicom_fixtures():
    return os.environ.get("CXR_TEST_DICOM_FIXTURES", os.path.join(ROOT, "Tests", "integrations", "fixtures"))


@pytest.fixture(scope="session")
def real_dicom_dir():
    path = os.path.join(ROOT, "..", "shared", "data", "real-cxr", "dicom")
    if not os.path.isdir(path):
        pytest.skip(f"{path} is absent (the shared data folder is not next to the repository)")
    return path


@pytest.fixture(scope="module")
def model(model_path):
    import cxrcaption
    with cxrcaption.Model(model_path) as m:
        yield m


@pytest.fixture
def session(model):
    with model.session() as s:
        yield s


@pytest.fixture(scope="session")
def gray(fixtures):
    return np.asarray(Image.open(os.path.join(fixtures, "nih_txv_00000001_000.png")))


@pytest.fixture(scope="session")
def rgb(fixtures):
    return np.asarray(Image.open(os.path.join(fixtures, "iu_CXR3_IM-1384-1001.png")))

