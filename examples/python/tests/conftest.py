"""Tests of the Python examples (caption.py, pydicom_caption.py, the cxrcaption_ctypes alias). They use the
installed cxrcaption package if there is one, else python/src of this checkout; the library comes from
CXRCAPTION_LIBRARY (or the package's bundled copy). The package's own tests are python/tests."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.dirname(HERE)
ROOT = os.path.abspath(os.path.join(EXAMPLES, "..", ".."))
sys.path.insert(0, EXAMPLES)  # cxrcaption_ctypes
try:
    import cxrcaption  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(ROOT, "python", "src"))


@pytest.fixture(scope="session")
def model_path():
    return os.environ.get("CXR_TEST_MODEL",
                          os.path.join(ROOT, "Tests", "CXRKitTests", "Fixtures", "golden", "model.safetensors"))


@pytest.fixture(scope="session")
def fixtures():
    return os.environ.get("CXR_TEST_FIXTURES", os.path.join(ROOT, "Tests", "c", "fixtures"))


@pytest.fixture(scope="session")
def dicom_fixtures():
    return os.path.join(ROOT, "Tests", "integrations", "fixtures")


@pytest.fixture(scope="session")
def examples():
    return EXAMPLES
