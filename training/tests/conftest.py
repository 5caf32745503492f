import pytest
import torch

# Short, reproducible torch runs on a shared CPU.
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """A tiny learnable manifest (helpers.write_tiny_manifest) shared by a test module."""
    from .helpers import write_tiny_manifest
    return write_tiny_manifest(tmp_path_factory.mktemp("data"))
