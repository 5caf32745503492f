import sys
from pathlib import Path

import torch

# Importable without PYTHONPATH too.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
torch.set_num_threads(1)
