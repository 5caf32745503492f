"""Paths of the data fixtures (training/tests/fixtures/<format>/, rebuilt by fixtures/make_fixtures.py) and of
the checkout's other test inputs, for the data tests."""
from __future__ import annotations

import os
import shutil

import pytest

from cxrcaption_ref.checkout import checkout, shared_data

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
R2GEN_IU = os.path.join(FIXTURES, "r2gen_iu_xray")
R2GEN_MIMIC = os.path.join(FIXTURES, "r2gen_mimic_cxr")
MIMIC_JPG = os.path.join(FIXTURES, "mimic_cxr_jpg")
CSV = os.path.join(FIXTURES, "csv")
DICOM = os.path.join(FIXTURES, "dicom")
LABELER = os.path.join(FIXTURES, "labeler")


def repository_path(*parts: str) -> str | None:
    """A path in the checkout (None when the package is not installed from one)."""
    root = checkout()
    return None if root is None else os.path.join(str(root), *parts)


def shared(*parts: str) -> str:
    """A path under ../shared/data; skips the test when it is absent."""
    base = shared_data()
    path = os.path.join(str(base), *parts) if base is not None else ""
    if not path or not os.path.exists(path):
        pytest.skip(f"../shared/data/{'/'.join(parts)} is absent (the shared data folder is not next to the "
                    "checkout)")
    return path


def copy_fixture(source: str, destination) -> str:
    """A writable copy of a fixture folder (for the tests that break it)."""
    target = os.path.join(str(destination), os.path.basename(source))
    shutil.copytree(source, target)
    return target
