"""Write the golden fixtures the Swift tests compare against (Tests/CXRKitTests/Fixtures/golden/).

    cxrcaption-golden [--out DIR] [--data DIR]        (or python -m cxrcaption_ref.make_golden)

Deterministic: seeded weights, seeded random inputs, and one real image from ../shared/data/real-cxr.
The defaults are the checkout's Tests/CXRKitTests/Fixtures/golden and ../shared/data beside it (an editable
install, see training/README.md); give both otherwise.
See the README.md it sits beside for the layout of every file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from .beam import BeamParameters, SpecialTokens, detokenize, distinct_complete, model_beam_search
from .checkout import checkout, shared_data
from .export import export_model, load_model
from .model import CaptionModel, ModelConfig
from .synthetic import add_length_counter, crude_input, randomize_weights, round_to_half_and_bfloat

REPO = checkout()
DEFAULT_OUT = None if REPO is None else REPO / "Tests" / "CXRKitTests" / "Fixtures" / "golden"
DEFAULT_DATA = shared_data()
REAL_IMAGE = "real-cxr/nih/txv_00000001_000.png"

SEED = 20261133
CONFIG = ModelConfig(block_config=(2, 2, 2, 2), growth_rate=8, bn_size=2, num_init_features=16,
                     in_channels=1, input_size=64, hidden=32, embed=16, attention_dim=24,
                     bn_eps=1e-5, mean=[0.5], std=[0.25], preprocessing=1)
VOCAB = ["<pad>", "<start>", "<end>", "<nou>",
         "no", "acute", "cardiopulmonary", "abnormality", "the", "heart", "is", "normal", "in", "size",
         "lungs", "are", "clear", "mild", "cardiomegaly", "pleural", "effusion", "left", "right",
         "pneumothorax", "stable", "(", ")", ".", ",", ":"]
LABELS = ["cardiomegaly", "effusion", "pneumothorax"]
JOIN = " "
SPECIAL = SpecialTokens.from_vocab(VOCAB)

# (name, parameters): every case is decoded with each of these.
RUNS = [
    ("default", BeamParameters()),
    ("beam1", BeamParameters(beam=1, results=1)),
    ("beam5_results4", BeamParameters(beam=5, results=4)),
    ("suppress_nou", BeamParameters(suppress_unknown=True)),
    ("length_penalty_0.7", BeamParameters(length_penalty=0.7)),
    ("max_tokens_4", BeamParameters(max_tokens=4)),
    # completed and truncated results ranked together; a length penalty that reorders results
    ("beam5_max_tokens_8", BeamParameters(beam=5, results=5, max_tokens=8)),
    ("beam5_length_penalty_2", BeamParameters(beam=5, results=5, length_penalty=2.0, max_tokens=12)),
    # repetition control (rule 2a): pairs, single tokens, and with a length cut
    ("no_repeat_2", BeamParameters(no_repeat_ngram_size=2)),
    ("no_repeat_3", BeamParameters(no_repeat_ngram_size=3)),
    ("beam5_no_repeat_1_max_tokens_12", BeamParameters(beam=5, results=5, no_repeat_ngram_size=1, max_tokens=12)),
    # distinct results (rule 7): no extra beam (duplicates dropped, fewer results), a widening search,
    # and both options together
    ("distinct_no_extra", BeamParameters(distinct=True, distinct_extra_beam=0)),
    ("distinct_extra_6", BeamParameters(distinct=True, distinct_extra_beam=6)),
    ("beam2_distinct_extra_3", BeamParameters(beam=2, results=2, distinct=True, distinct_extra_beam=3)),
    ("distinct_extra_9_no_repeat_2", BeamParameters(distinct=True, distinct_extra_beam=9, no_repeat_ngram_size=2)),
]
MIN_MARGIN = 1e-3  # every decision (which candidates are kept, result order) is at least this far from a tie


def make_inputs(data: Path, gen: torch.Generator) -> list[tuple[str, torch.Tensor]]:
    size, channels = CONFIG.input_size, CONFIG.in_channels
    real_path = data / REAL_IMAGE
    if not real_path.exists():
        raise SystemExit(f"missing {real_path}: the golden fixtures need ../shared/data")
    cases = [(f"{REAL_IMAGE} (box-resized to {size}x{size}, (x/255 - 0.5)/0.25)", crude_input(real_path, CONFIG))]
    cases.append(("random normal N(0, 1) per pixel", torch.randn(channels, size, size, generator=gen)))
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    blob = 2.0 * torch.exp(-((xx - 0.3) ** 2 + (yy + 0.2) ** 2) / 0.1) - 1.0
    noise = 0.3 * torch.randn(channels, size, size, generator=gen)
    cases.append(("smooth blob (gaussian at x=0.3,y=-0.2) on -1 plus N(0, 0.3^2) noise", blob + noise))
    return [(name, x.float().contiguous()) for name, x in cases]


def margins(trace: list[dict], results) -> float:
    """Smallest gap that a decision depends on: at each step between the m-th and (m+1)-th best
    candidate (which ones are kept), and between consecutive ranked results (their order). The order
    among kept candidates matters only through exact ties, so it is not counted."""
    gaps = [float("inf")]
    for step in trace:
        if "ranked" in step:  # a search's completed hypotheses: their order decides which duplicate is kept
            ranked = step["ranked"]
            gaps += [ranked[j] - ranked[j + 1] for j in range(len(ranked) - 1)]
            continue
        top, m = step["top"], step["m"]
        if len(top) > m:
            gaps.append(top[m - 1] - top[m])
    scores = [r.score for r in results]
    gaps += [scores[j] - scores[j + 1] for j in range(len(scores) - 1)]
    return min(gaps)


def build_model(calibration: torch.Tensor) -> CaptionModel:
    torch.manual_seed(SEED)
    model = CaptionModel(CONFIG, len(VOCAB), len(LABELS))
    randomize_weights(model, calibration, SEED, output_scale=6.0, attention_scale=40.0, context_scale=1.0,
                      lstm_scale=3.0, token_bias={SPECIAL.nou: 1.0})
    # LSTM unit 0 counts steps and raises the <end> logit, so sentences end after a few tokens.
    add_length_counter(model, SPECIAL.end, weight=8.0, bias=-6.0, rate=0.2)
    round_to_half_and_bfloat(model)
    return model.eval()


@torch.no_grad()
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"fixture folder (default {DEFAULT_OUT})")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"the shared data (default {DEFAULT_DATA})")
    args = parser.parse_args(argv)
    if args.out is None or args.data is None:
        parser.error("not installed from a checkout: give --out and --data")
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    inputs = make_inputs(args.data, gen)
    calibration = torch.stack([x for _, x in inputs] + [torch.randn(1, 64, 64, generator=gen) for _ in range(5)])
    model = build_model(calibration)
    args.out.mkdir(parents=True, exist_ok=True)

    files = {"f32": "model.safetensors", "f16": "model-f16.safetensors", "bf16": "model-bf16.safetensors"}
    for dtype, name in files.items():
        export_model(model, args.out / name, VOCAB, SPECIAL, JOIN, LABELS, dtype=dtype, tokenizer="en",
                     name="cxrcaption golden fixture", description=f"seeded random weights (seed {SEED}), {dtype}")
    # The three files must define the same model: weights were rounded to F16/BF16-representable values.
    reference, _ = load_model(args.out / files["f32"])
    for dtype in ("f16", "bf16"):
        other, _ = load_model(args.out / files[dtype])
        for (k, a), (k2, b) in zip(reference.state_dict().items(), other.state_dict().items()):
            assert k == k2 and torch.equal(a, b), f"{dtype} file differs at {k}"

    tensors: dict[str, torch.Tensor] = {}
    cases_json = []
    worst = float("inf")
    saw = {"completed": 0, "truncated": 0, "nou": 0, "distinct_short": 0, "widened": 0}
    for index, (source, x) in enumerate(inputs):
        features = reference.encode(x.unsqueeze(0))
        runs = []
        for run_name, params in RUNS:
            trace: list = []
            results = model_beam_search(reference, features, SPECIAL, params, trace, vocab=VOCAB, join=JOIN)
            worst = min(worst, margins(trace, results))
            for r in results:
                saw["truncated" if r.truncated else "completed"] += 1
                saw["nou"] += SPECIAL.nou in r.tokens
            complete = distinct_complete(results, [detokenize(r.tokens, VOCAB, JOIN) for r in results], JOIN,
                                         params.results)
            saw["distinct_short"] += params.distinct and not complete
            saw["widened"] += params.distinct and sum("ranked" in step for step in trace) > 1
            runs.append({"name": run_name, "params": params.to_dict(), "distinct_complete": complete,
                         "results": [r.to_json(VOCAB, JOIN) for r in results]})
        top = model_beam_search(reference, features, SPECIAL, BeamParameters())[0]
        teacher = top.tokens + ([SPECIAL.end] if not top.truncated else [])
        logits, _ = reference.teacher_forced(features, torch.tensor([teacher]), SPECIAL.start)
        tensors[f"input{index}"] = x
        tensors[f"features{index}"] = features[0].contiguous()
        tensors[f"logits{index}"] = logits[0].contiguous()
        tensors[f"findings{index}"] = reference.findings_probabilities(features)[0].contiguous()
        tensors[f"tokens{index}"] = torch.tensor(teacher, dtype=torch.int32)
        cases_json.append({"index": index, "source": source, "teacher_tokens": teacher,
                           "teacher_text": detokenize(top.tokens, VOCAB, JOIN), "runs": runs})
        print(f"case {index}: |V|max={features.abs().max():.3f} V>0={float((features > 0).float().mean()):.2f} "
              f"|logits|max={logits.abs().max():.2f} top1='{detokenize(top.tokens, VOCAB, JOIN)}' "
              f"truncated={top.truncated}")
    if worst < MIN_MARGIN:
        raise SystemExit(f"a beam decision is within {worst:.2e} of a tie; change SEED")
    if not all(saw.values()):
        raise SystemExit(f"fixtures must show completed, truncated and <nou> results, a distinct search that "
                         f"widened and one that found too few: {saw}")

    save_file(tensors, str(args.out / "cases.safetensors"), metadata={"format": "cxrcaption-golden/1"})
    document = {
        "format": "cxrcaption-golden/1",
        "models": files,
        "seed": SEED,
        "vocab": VOCAB,
        "special_tokens": SPECIAL.to_dict(),
        "labels": LABELS,
        "join": JOIN,
        "grid": CONFIG.grid_size,
        "min_decision_margin": worst,
        "cases": cases_json,
    }
    (args.out / "cases.json").write_text(json.dumps(document, indent=1) + "\n")
    print(f"min decision margin {worst:.3e}; results completed={saw['completed']} "
          f"truncated={saw['truncated']} with <nou>={saw['nou']}; distinct runs widened={saw['widened']} "
          f"short={saw['distinct_short']}")
    total = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    print(f"wrote {args.out} ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
