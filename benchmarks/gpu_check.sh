#!/usr/bin/env bash
# The CUDA path, measured in one short script (under 8 minutes) on a machine with a CUDA GPU and a
# CUDA build of torch installed beside this package (pip install -e ".[test]" without the CPU pin):
#   1. scratch-rnn gradcheck on CUDA in float64: every hand-written gradient against autograd on the GPU;
#   2. the torch engine's trajectory on CUDA against the CPU's (the gpu-marked test);
#   3. the benchmark rows on CUDA (torch-cuda) beside Numba on the CPU, at the study's sizes.
# Writes everything under OUT (default results/gpu) and prints the GPU model first.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results/gpu}"
mkdir -p "$out"
python3 - <<'PY' | tee "$out/gpu.txt"
import torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("GPU:", torch.cuda.get_device_name(), "| torch", torch.__version__, "| CUDA", torch.version.cuda)
PY
echo "== 1. gradients against autograd on CUDA (float64)"
python3 - <<'PY' | tee -a "$out/gpu.txt"
from scratch_rnn.gradcheck import check_rows, format_rows, rows_pass
from scratch_rnn.gradcheck.stacks import check_stack_rows
rows = check_rows(backends=("numpy", "numba"), with_torch=True, device="cuda")
stack = check_stack_rows(("numpy",), with_torch=True, device="cuda")
print(format_rows(rows))
worst = max(r["torch_error"] for r in rows + stack)
print(f"worst error against autograd on CUDA: {worst:.1e}; all within tolerance: {rows_pass(rows) and rows_pass(stack)}")
PY
echo "== 2. the torch engine's trajectory, CUDA against CPU"
timeout 300 python3 -m pytest -q -m gpu tests/ 2>&1 | tail -3 | tee -a "$out/gpu.txt"
echo "== 3. speed: torch on CUDA beside Numba on the CPU"
timeout 300 python3 -m scratch_rnn.cli bench --ops fwd_bwd --variants numba torch torch-cuda \
    --shapes 100,32,1,64 100,1,1,64 1000,32,1,64 100,32,1,1024 --budget 0.3 --out "$out/bench" | tail -30 | tee -a "$out/gpu.txt"
echo "wrote $out/gpu.txt and $out/bench/"
