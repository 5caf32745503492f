#!/usr/bin/env bash
# Runs benchmarks/bench.py with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for every engine.
#
#   benchmarks/run.sh [--python PATH] [bench.py options...]
#
# Without --python, a virtualenv is made once at ${CXR_BENCH_VENV:-~/.cache/cxrcaption/bench-venv}
# (outside the repository) with torch, onnxruntime, onnx, openvino, safetensors, numpy and pillow.
# With --python, that interpreter must already have those packages.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python=""
if [[ "${1:-}" == "--python" ]]; then
    python="$2"
    shift 2
fi
if [[ -z "$python" ]]; then
    venv="${CXR_BENCH_VENV:-$HOME/.cache/cxrcaption/bench-venv}"
    if [[ ! -x "$venv/bin/python" ]]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --upgrade pip
        "$venv/bin/pip" install --quiet torch torchvision onnxruntime onnx openvino safetensors numpy pillow
    fi
    python="$venv/bin/python"
fi
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$python" "$here/bench.py" "$@"
