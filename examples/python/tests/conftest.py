import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.dirname(HERE))  # examples/python: the binding module


@pytest.fixture(scope="session")
def model_path():
    return os.environ.get("CXR_TEST_MODEL",
                          os.path.join(ROOT, "Tests", "CXRKitTests", "Fixtures", "golden", "model.safetensors"))


@pytest.fixture(scope="session")
def fixtures():
    return os.environ.get("CXR_TEST_FIXTURES", os.path.join(ROOT, "Tests", "c", "fixtures"))
