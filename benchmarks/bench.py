#!/usr/bin/env python3
"""cxrcaption against ONNX Runtime, OpenVINO and PyTorch on the same weights, timed side by side in one run.

    benchmarks/run.sh [options]              (makes the virtualenv, unsets OPENBLAS_CORETYPE/_L2_SIZE)
    python benchmarks/bench.py [options]     (with a python that has torch, onnxruntime, onnx, openvino,
                                              safetensors, numpy, pillow)

What it does (see benchmarks/README.md):
1. builds libcxrcaption.so in release (`swift build -c release --product cxrcaption`) and the C timing
   program benchmarks/capi_bench.c against it;
2. takes one weights file (--weights), or makes the seed-sized DenseNet-121 model with seeded random
   weights (training/scripts/parity_full.py's recipe, plus a 14-label findings head so the C API can run
   the encoder alone through cxr_findings);
3. exports the same encoder to ONNX through the PyTorch reference (training/cxrcaption_ref);
4. for each thread count, starts one worker process per engine (--anchors: ONNX Runtime FP32 with
   ORT_ENABLE_ALL, ONNX Runtime static INT8 (QDQ, calibrated on the folder's images), OpenVINO with FP32
   forced and at its default precision (it prints which it picked: bfloat16 on CPUs with AVX512_BF16 or AMX),
   PyTorch channels_last; and libcxrcaption through its C API) and times them interleaved, round by round,
   with --gap seconds of idle before each call (0.2 s: long enough that the previous engine's spinning
   threads have gone to sleep): each anchor's encoder, our encoder (cxr_findings: intake + encoder +
   findings head) and our full caption (cxr_generate: intake + encoder + beam-3 decode) of the same image;
   each anchor's output is compared with the FP32 PyTorch reference's (max and relative L2 error);
5. prints medians, ratios to ONNX Runtime's encoder, our decode time (caption - encoder, paired per round),
   model load time, the peak RSS of a C process that loads the model and captions one image, and
   images/s over a folder (one session with 2 threads; two sessions with 1 thread each on one model).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
TRAINING = REPO / "training"
LABELS = [f"finding{i}" for i in range(14)]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ workers

def worker_main(args) -> int:
    """One engine in its own process: answers each "encoder" line on stdin with the ms of one forward."""
    import numpy as np
    x = np.load(args.input)
    if args.worker in ("ort", "ort_int8"):
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(args.onnx, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name

        def run():
            return session.run(None, {name: x})[0]
    elif args.worker in ("ov_f32", "ov_default"):
        import openvino as ov
        core = ov.Core()
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": args.threads, "NUM_STREAMS": 1}
        if args.worker == "ov_f32":
            config["INFERENCE_PRECISION_HINT"] = "f32"
        compiled = core.compile_model(core.read_model(args.onnx), "CPU", config)
        request = compiled.create_infer_request()
        hint = compiled.get_property("INFERENCE_PRECISION_HINT")  # an openvino.Type, e.g. f32 or bf16
        precision = hint.get_type_name() if hasattr(hint, "get_type_name") else str(hint).replace(" ", "")

        def run():
            return request.infer({0: x})[compiled.output(0)]
    elif args.worker == "torch":
        import torch
        torch.set_num_threads(args.threads)
        sys.path.insert(0, str(TRAINING))
        from cxrcaption_ref.export import load_model
        model, _ = load_model(args.weights)
        encoder = model.encoder.eval().to(memory_format=torch.channels_last)
        tensor = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)

        def run():
            with torch.inference_mode():
                return encoder(tensor)
    else:
        raise SystemExit(f"unknown worker {args.worker}")
    output = run()
    if args.output:
        np.save(args.output, np.asarray(output, dtype=np.float32))
    # "ready" and what the engine reports about itself (OpenVINO: the precision it runs at).
    print("ready" + (f" precision {precision}" if args.worker.startswith("ov_") else ""), flush=True)
    for line in sys.stdin:
        if not line.startswith("encoder"):
            break
        start = time.perf_counter()
        run()
        print(f"{(time.perf_counter() - start) * 1e3:.4f}", flush=True)
    return 0


class Worker:
    """A line-protocol child process (a python worker above, or capi_bench serve)."""

    def __init__(self, name: str, command: list[str], env: dict):
        self.name = name
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        env=env)
        line = self.process.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"{name} worker did not start (said {line!r})")
        self.ready = line.split()[1:]
        if line.split()[1:] == ["labels", "0"]:
            log(f"{name}: the model has no findings head, so the C API cannot run the encoder alone "
                "(cxr_findings): encoder and decode rows are NaN")

    def time(self, command: str) -> tuple[float, float]:
        """(wall ms, CPU ms; NaN when the worker reports wall time only)."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline().split()
        if not answer:
            raise RuntimeError(f"{self.name} worker died")
        return float(answer[0]), float(answer[1]) if len(answer) > 1 else float("nan")

    def close(self) -> None:
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait(timeout=60)


# ------------------------------------------------------------------------------------------------ setup

def build(args, env) -> tuple[Path, Path]:
    scratch = (REPO / args.scratch_path).resolve()
    if not args.skip_build:
        log(f"building libcxrcaption (release, {scratch}) ...")
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", str(scratch), "--product",
                        "cxrcaption"], cwd=REPO, check=True, env=env)
    lib_dir = scratch / "release"
    return lib_dir, compile_capi_bench(lib_dir, Path(args.work) / "capi_bench")


def compile_capi_bench(lib_dir: Path, binary: Path) -> Path:
    """benchmarks/capi_bench.c linked against the libcxrcaption.so in `lib_dir` (found there at run time)."""
    library = lib_dir / "libcxrcaption.so"
    if not library.exists():
        raise SystemExit(f"no {library} (build it, or drop --skip-build)")
    # A library with a SONAME (libcxrcaption.so.N) is found under that name at run time: link it there, as
    # an install does. (Builds of older commits have none.)
    dynamic = subprocess.run(["readelf", "-d", str(library)], check=True, capture_output=True, text=True).stdout
    for line in dynamic.splitlines():
        if "(SONAME)" in line:
            soname = lib_dir / line.split("[", 1)[1].rstrip("]")
            if not soname.exists():
                soname.symlink_to(library.name)
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-std=c11", str(BENCH / "capi_bench.c"),
                    f"-I{REPO / 'include'}", f"-L{lib_dir}", "-lcxrcaption", "-lpthread",
                    f"-Wl,-rpath,{lib_dir}", "-o", str(binary)], check=True)
    return binary


def make_seed_model(path: Path, images: list[Path], seed: int) -> None:
    """parity_full.py's seed-sized model with seeded random weights, plus a findings head."""
    import torch
    sys.path.insert(0, str(TRAINING / "scripts"))
    sys.path.insert(0, str(TRAINING))
    import parity_full as pf
    from cxrcaption_ref.beam import SpecialTokens
    from cxrcaption_ref.export import export_model
    from cxrcaption_ref.model import CaptionModel, ModelConfig
    from cxrcaption_ref.synthetic import add_length_counter, randomize_weights
    config = ModelConfig()
    vocab = pf.build_vocab(300, REPO.parent / "shared" / "data" / "iu-reports" / "iu_reports_parsed.json")
    special = SpecialTokens.from_vocab(vocab)
    inputs = []
    for image in images[:8]:
        try:
            equalized, _ = pf.read_image(image, config.input_size)
        except Exception:
            continue
        inputs.append(torch.from_numpy(pf.model_input(equalized, config)))
    if not inputs:
        inputs = [torch.randn(config.in_channels, config.input_size, config.input_size) for _ in range(4)]
    torch.manual_seed(seed)
    model = CaptionModel(config, len(vocab), n_labels=len(LABELS))
    with torch.no_grad():
        randomize_weights(model, torch.stack(inputs), seed, output_scale=6.0, attention_scale=4.0,
                          context_scale=1.0, lstm_scale=3.0, token_bias={special.nou: 1.0})
        add_length_counter(model, special.end, weight=8.0, bias=-6.0, rate=0.2)
    model.eval()
    export_model(model, path, vocab, special, " ", labels=LABELS, tokenizer="en",
                 name="benchmark (random weights)", description=f"seed {seed}")


def export_onnx(weights: Path, path: Path) -> None:
    import torch
    sys.path.insert(0, str(TRAINING))
    from cxrcaption_ref.export import load_model
    model, info = load_model(weights)
    config = info["config"]
    x = torch.zeros(1, config.in_channels, config.input_size, config.input_size)
    torch.onnx.export(model.encoder.eval(), (x,), str(path), input_names=["x"], output_names=["V"],
                      opset_version=17, dynamo=False)


def read_gray8(path: Path):
    """8-bit grayscale pixels of an image file (Pillow), as the C API's CXR_PIXEL_GRAY8 input."""
    import numpy as np
    from PIL import Image
    with Image.open(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            array = np.asarray(image).astype(np.float64)
            low, high = array.min(), array.max()
            array = ((array - low) / max(high - low, 1) * 255).round().astype(np.uint8)
        else:
            array = np.asarray(image.convert("L"))
    return np.ascontiguousarray(array)


def write_gray8(array, directory: Path, stem: str) -> Path:
    height, width = array.shape
    path = directory / f"{stem}.{width}x{height}.gray8"
    array.tofile(path)
    return path


def model_input(gray, weights: Path):
    """The model input the reference intake makes from 8-bit gray pixels: [1, C, S, S] float32."""
    import numpy as np
    sys.path.insert(0, str(TRAINING))
    from cxrcaption_ref import preprocess
    from cxrcaption_ref.export import load_model
    _, info = load_model(weights)
    config = info["config"]
    equalized = preprocess.equalized_image(gray, size=config.input_size)
    x = preprocess.model_input(equalized, mean=config.mean, std=config.std, in_channels=config.in_channels)
    return np.ascontiguousarray(x[None].astype(np.float32))


def quantize_int8(onnx: Path, path: Path, inputs: list) -> None:
    """ONNX Runtime static INT8 in QDQ form (per-channel int8 weights, uint8 activations), calibrated (MinMax)
    on `inputs`, the model inputs of the folder's images: what a user of ORT's quantization tool would run."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"x": x} for x in inputs])

        def get_next(self):
            return next(self.items, None)

    quantize_static(str(onnx), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def output_error(got, want) -> str:
    """Max error relative to the reference's largest magnitude, and relative L2 error."""
    import numpy as np
    got, want = np.asarray(got, np.float64).reshape(want.shape), np.asarray(want, np.float64)
    peak = float(np.abs(want).max()) or 1.0
    return (f"max {float(np.abs(got - want).max()) / peak:.1e}, "
            f"rel L2 {float(np.linalg.norm(got - want) / (np.linalg.norm(want) or 1.0)):.1e}")


def find_images(root: Path) -> list[Path]:
    suffixes = {".png", ".jpg", ".jpeg"}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


# ------------------------------------------------------------------------------------------------ timing

def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


#: The engines timed beside ours (--anchors): label, and the worker that runs them.
ANCHORS = {
    "ort": "ONNX Runtime encoder FP32 (ORT_ENABLE_ALL)",
    "ort_int8": "ONNX Runtime encoder static INT8 (QDQ)",
    "ov_f32": "OpenVINO encoder FP32",
    "ov_default": "OpenVINO encoder, default precision",
    "torch": "PyTorch encoder FP32 (channels_last)",
}


def interleaved(threads: int, args, env, binary: Path, weights: Path, models: dict[str, Path], x_path: Path,
                gray_path: Path, baseline: Path | None, outputs: Path) -> tuple[dict[str, list[float]], dict]:
    """Times every engine round by round; returns the times and what each anchor's worker reported."""
    me = [sys.executable, str(Path(__file__).resolve())]
    workers = {}
    for anchor, model in models.items():
        command = me + ["--worker", anchor, "--threads", str(threads), "--input", str(x_path), "--onnx", str(model),
                        "--weights", str(weights), "--output", str(outputs / f"{anchor}.{threads}.npy")]
        workers[anchor] = Worker(anchor, command, env)
    workers["ours"] = Worker("ours", [str(binary), "serve", str(weights), str(gray_path), str(threads)], env)
    steps = [(anchor, anchor, "encoder") for anchor in models]
    steps += [("ours_encoder", "ours", "encoder"), ("ours_caption", "ours", "caption")]
    if baseline is not None:
        workers["base"] = Worker("base", [str(baseline), "serve", str(weights), str(gray_path), str(threads)], env)
        steps += [("base_encoder", "base", "encoder"), ("base_caption", "base", "caption")]
    reported = {anchor: workers[anchor].ready for anchor in models}
    times: dict[str, list[float]] = {name: [] for name, _, _ in steps}
    cpu: dict[str, list[float]] = {name: [] for name, _, _ in steps}
    decode: list[float] = []
    base_decode: list[float] = []
    try:
        for _ in range(args.warmup):
            for _, worker, command in steps:
                workers[worker].time(command)
        for round_index in range(args.rounds):
            # Rotate the order each round so that no engine always follows the same one.
            shift = round_index % len(steps)
            this_round = {}
            for name, worker, command in steps[shift:] + steps[:shift]:
                time.sleep(args.gap)
                this_round[name], used = workers[worker].time(command)
                times[name].append(this_round[name])
                cpu[name].append(used)
            decode.append(this_round["ours_caption"] - this_round["ours_encoder"])
            if baseline is not None:
                base_decode.append(this_round["base_caption"] - this_round["base_encoder"])
    finally:
        for worker in workers.values():
            worker.close()
    times["ours_decode"] = decode
    if baseline is not None:
        times["base_decode"] = base_decode
    for name in list(cpu):
        times[name + "_cpu"] = cpu[name]
    return times, reported


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, help="a cxrcaption/1 model (default: the seed-sized model with "
                        "seeded random weights and a findings head, made once and cached in --work)")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--image", type=Path, help="the image timed (default: the first of --folder)")
    parser.add_argument("--folder", type=Path, default=REPO.parent / "shared" / "data" / "real-cxr",
                        help="images for images/s (PNG/JPEG; Pillow decodes them to 8-bit gray first; default: "
                        "../shared/data/real-cxr, relative to the repository root)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds of idle before each timed call (long "
                        "enough that another engine's spinning threads do not take a core)")
    parser.add_argument("--anchors", default=",".join(ANCHORS), help="comma-separated engines timed beside ours "
                        f"({', '.join(ANCHORS)}; ort is the ratio's base and always runs)")
    parser.add_argument("--folder-repeat", type=int, default=2, help="times each folder image is captioned")
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "cxrcaption" / "bench"))
    parser.add_argument("--scratch-path", default=".build-bench", help="swift build scratch path (repo-relative)")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the raw times here")
    parser.add_argument("--baseline-lib", type=Path, help="a directory holding another libcxrcaption.so (e.g. a "
                        "build of an older commit) to time in the same rounds, labelled 'baseline'")
    # Worker mode (internal).
    parser.add_argument("--worker", choices=list(ANCHORS), help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--onnx", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.threads = int(args.threads)
        return worker_main(args)

    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    os.environ.pop("OPENBLAS_CORETYPE", None)
    os.environ.pop("OPENBLAS_L2_SIZE", None)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    lib_dir, binary = build(args, env)
    baseline = None
    if args.baseline_lib is not None:
        baseline = compile_capi_bench(args.baseline_lib.resolve(), work / "capi_bench_baseline")

    images = find_images(args.folder) if args.folder.is_dir() else []
    weights = args.weights
    if weights is None:
        weights = work / f"bench-seed{args.seed}.safetensors"
        if not weights.exists():
            log(f"making the seed-sized model {weights} ...")
            make_seed_model(weights, images, args.seed)
    onnx = work / f"{weights.stem}.encoder.onnx"
    if not onnx.exists() or onnx.stat().st_mtime < weights.stat().st_mtime:
        log(f"exporting the encoder to {onnx} ...")
        export_onnx(weights, onnx)

    image = args.image or (images[0] if images else None)
    if image is None:
        raise SystemExit(f"no image: pass --image or a --folder with PNG/JPEG files ({args.folder} has none)")
    scratch = Path(tempfile.mkdtemp(prefix="cxr-bench-", dir=work))
    gray = read_gray8(image)
    gray_path = write_gray8(gray, scratch, "timed")
    x = model_input(gray, weights)
    x_path = scratch / "input.npy"
    import numpy as np
    np.save(x_path, x)

    # The anchors: which of them this Python can run, and the INT8 model ORT's tool makes.
    anchors = [a.strip() for a in args.anchors.split(",") if a.strip()]
    unknown = [a for a in anchors if a not in ANCHORS]
    if unknown:
        raise SystemExit(f"unknown --anchors {unknown} (known: {', '.join(ANCHORS)})")
    if "ort" not in anchors:
        anchors.insert(0, "ort")
    left_out = []
    try:
        import openvino
        openvino_version = openvino.__version__
    except ImportError:
        openvino_version = None
        left_out += [a for a in anchors if a.startswith("ov_")]
        anchors = [a for a in anchors if not a.startswith("ov_")]
    models = {anchor: onnx for anchor in anchors}
    if "ort_int8" in anchors:
        int8 = work / f"{weights.stem}.encoder.int8.onnx"
        if not int8.exists() or int8.stat().st_mtime < onnx.stat().st_mtime:
            log(f"quantizing the encoder to static INT8 (QDQ) in {int8} ...")
            calibration = [model_input(read_gray8(p), weights) for p in (images or [image])[:8]]
            quantize_int8(onnx, int8, calibration)
        models["ort_int8"] = int8

    import onnxruntime as ort
    import torch
    sys.path.insert(0, str(TRAINING))
    from cxrcaption_ref.export import load_model
    torch.set_num_threads(1)
    reference, _ = load_model(weights)
    with torch.no_grad():
        want = reference.encode(torch.from_numpy(x)).numpy()
    del reference

    # The image relative to the repository root, so that a pasted table names no machine's folders.
    print(f"image {os.path.relpath(Path(image).resolve(), REPO)} ({gray.shape[1]}x{gray.shape[0]}), "
          f"weights {weights.name}; onnxruntime {ort.__version__}, openvino {openvino_version or 'not installed'}, "
          f"torch {torch.__version__}")
    if left_out:
        print(f"left out (pip install openvino to time them): {', '.join(ANCHORS[a] for a in left_out)}")
    print(f"{args.rounds} interleaved rounds per thread count, {args.gap} s idle before each call. ratio = median / "
          f"ONNX Runtime FP32 encoder median; paired = median over rounds of (this / ONNX Runtime in the same "
          f"round); min = fastest round.")
    results = {}
    header = f"{'threads':>7} {'engine':<42} {'median ms':>10} {'ratio':>7} {'paired':>7} {'min ms':>8}"
    print(header)
    print("-" * len(header))
    labels = {anchor: ANCHORS[anchor] for anchor in anchors}
    labels["ours_encoder"] = "cxrcaption encoder (cxr_findings)"
    labels["ours_caption"] = "cxrcaption caption (intake+enc+beam 3)"
    if baseline is not None:
        labels["base_encoder"] = "baseline encoder (cxr_findings)"
        labels["base_caption"] = "baseline caption (intake+enc+beam 3)"
    errors, precisions = {}, {}
    for threads in [int(t) for t in args.threads.split(",")]:
        times, reported = interleaved(threads, args, env, binary, weights, models, x_path, gray_path, baseline,
                                      scratch)
        results[threads] = times
        for anchor in anchors:
            errors.setdefault(anchor, output_error(np.load(scratch / f"{anchor}.{threads}.npy"), want))
            if reported[anchor][:1] == ["precision"]:
                precisions[anchor] = reported[anchor][1]
        ort_ms = median(times["ort"])
        for key, label in labels.items():
            value = median(times[key])
            paired = median([t / o for t, o in zip(times[key], times["ort"])])
            print(f"{threads:>7} {label:<42} {value:>10.2f} {value / ort_ms:>7.2f} {paired:>7.2f} "
                  f"{min(times[key]):>8.2f}", flush=True)
        for prefix, name in [("ours", "cxrcaption")] + ([("base", "baseline")] if baseline is not None else []):
            decode = median(times[f"{prefix}_decode"])
            decode_cpu = median(times[f"{prefix}_caption_cpu"]) - median(times[f"{prefix}_encoder_cpu"])
            print(f"{threads:>7} {name + ' beam-3 decode (caption - encoder)':<42} {decode:>10.2f} "
                  f"{decode / ort_ms:>7.2f} {'':>7} "
                  f"{min(times[f'{prefix}_caption']) - min(times[f'{prefix}_encoder']):>8.2f}"
                  f"  CPU time: {decode_cpu:.2f} ms", flush=True)
        # Issue 18's yardstick: our encoder against the faster of the FP32 peers, in this run.
        peers = {a: median(times[a]) for a in ("ort", "ov_f32") if a in times}
        fastest = min(peers, key=peers.get)
        print(f"{threads:>7} cxrcaption encoder / faster FP32 peer ({ANCHORS[fastest]}): "
              f"{median(times['ours_encoder']) / peers[fastest]:.2f}", flush=True)
    for anchor in anchors:
        note = f" (runs at {precisions[anchor]})" if anchor in precisions else ""
        print(f"output error of {ANCHORS[anchor]}{note} against the FP32 PyTorch reference: {errors[anchor]}")
    print("decode = median of per-round (caption - encoder) wall times; its min column = fastest caption - "
          "fastest encoder; CPU time = median caption CPU - median encoder CPU (process CPU time, which "
          "waiting for a busy CPU does not inflate)")

    programs = [("cxrcaption", binary)] + ([("baseline", baseline)] if baseline is not None else [])
    loads, rss_mib = {}, {}
    for _ in range(7):  # interleaved: one load of each library per round
        for name, program in programs:
            loads.setdefault(name, []).extend(
                float(v) for v in subprocess.run([str(program), "load", str(weights), "1"], check=True, env=env,
                                                 capture_output=True, text=True).stdout.split())
    for name, program in programs:
        probe = subprocess.run([str(program), "probe", str(weights), str(gray_path)], check=True, env=env,
                               capture_output=True, text=True).stdout.split()
        rss_mib[name] = int(probe[probe.index("rss_kib") + 1]) / 1024
        print(f"{name}: model load (cxr_model_load in a fresh process, median of 7): {median(loads[name]):.1f} ms "
              f"(min {min(loads[name]):.1f}); model file {weights.stat().st_size / 2**20:.1f} MiB")
        print(f"{name}: peak RSS (VmHWM) of a C process that loads the model and captions one image: "
              f"{rss_mib[name]:.1f} MiB")

    folder_paths = []
    for index, path in enumerate(images):
        try:
            folder_paths.append(str(write_gray8(read_gray8(path), scratch, f"f{index}")))
        except Exception as error:
            log(f"skip {path}: {error}")
    folder_paths *= max(args.folder_repeat, 1)
    if folder_paths:
        for sessions, threads in ((1, 2), (2, 1)):
            for name, program in programs:
                out = subprocess.run([str(program), "folder", str(weights), str(sessions), str(threads)]
                                     + folder_paths, check=True, env=env, capture_output=True, text=True).stdout.split()
                print(f"{name}: folder ({out[1]} captions of {len(images)} images): {sessions} session(s) x "
                      f"{threads} thread(s): {float(out[5]):.2f} images/s")
    shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({"threads": results, "load_ms": loads, "rss_mib": rss_mib}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
