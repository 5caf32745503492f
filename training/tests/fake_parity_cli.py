"""Stands in for `cxrcaption-test-tool parity` (same arguments, same outputs) using the reference model, so
the Python half of training/scripts/parity_full.py can be tested. FAKE_PARITY_NOISE=x adds x to V;
FAKE_PARITY_DROP=1 drops the last beam result.

Run with the Python that has cxrcaption-training installed: `python fake_parity_cli.py parity ...`
(test_parity_script.py wraps it as `sys.executable fake_parity_cli.py` in a small executable).
"""

import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch

from cxrcaption_ref.beam import BeamParameters, model_beam_search
from cxrcaption_ref.export import load_model

torch.set_num_threads(1)
parser = argparse.ArgumentParser()
parser.add_argument("command", choices=["parity"])
for flag in ("--model", "--input", "--tokens", "--features-out", "--logits-out", "--beam-json"):
    parser.add_argument(flag, required=True)
for flag in ("--beam", "--results", "--max-tokens"):
    parser.add_argument(flag, type=int, required=True)
args = parser.parse_args()
model, info = load_model(args.model)
c = info["config"]
x = torch.from_numpy(np.fromfile(args.input, dtype="<f4").reshape(c.in_channels, c.input_size, c.input_size))
tokens = [int(t) for t in args.tokens.split(",")]
with torch.no_grad():
    V = model.encode(x.unsqueeze(0))
    logits, _ = model.teacher_forced(V, torch.tensor([tokens]), info["special"].start)
    results = model_beam_search(model, V, info["special"],
                                BeamParameters(beam=args.beam, results=args.results, max_tokens=args.max_tokens))
noise = float(os.environ.get("FAKE_PARITY_NOISE", "0"))
(V[0].numpy() + np.float32(noise)).astype("<f4").tofile(args.features_out)
logits[0].numpy().astype("<f4").tofile(args.logits_out)
if os.environ.get("FAKE_PARITY_DROP"):
    results = results[:-1]
Path(args.beam_json).write_text(json.dumps([r.to_json() for r in results]))
