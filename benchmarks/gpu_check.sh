#!/usr/bin/env bash
# The GPU check, as one script for a machine with an NVIDIA GPU (run from the repository root):
#
#   1. the whole test suite with CuPy as the backend (`pytest --backend cupy`);
#   2. the peer benchmark on the GPU (CuPy vs torch.func / JAX / the paper's fomoh on CUDA);
#   3. a short `fomoh compare --preset mnist-cnn --backend cupy` run.
#
# Logs go to $OUT (default ./gpu-logs), one file per part, written as the parts run, so a
# run cut short still leaves what it did. Needs CuPy for the card's CUDA major
# (`pip install -e ".[test,cuda12]"` or `.[test,cuda13]`); MNIST in $DATA (default
# ../shared/data/mnist). Every figure the logs hold was measured on the card nvidia-smi names
# at the top of summary.log.
set -uo pipefail
OUT=${OUT:-gpu-logs}
DATA=${DATA:-../shared/data/mnist}
mkdir -p "$OUT"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__)"
} > "$OUT/summary.log" 2>&1

timeout 420 python3 -m pytest -q -x --backend cupy -p no:cacheprovider \
  > "$OUT/tests_cupy.log" 2>&1
echo "tests (--backend cupy): exit $?" >> "$OUT/summary.log"

timeout 300 python3 benchmarks/bench_peers.py --device gpu --rounds 3 --reps 5 \
  --out "$OUT/bench_gpu.md" > "$OUT/bench_gpu.log" 2>&1
echo "benchmark: exit $?" >> "$OUT/summary.log"

timeout 300 python3 -m hyperlab compare --preset mnist-cnn --backend cupy --epochs 1 \
  --seeds 0 --data-dir "$DATA" --out "$OUT/compare-cnn" --overwrite \
  > "$OUT/compare_cnn.log" 2>&1
echo "compare mnist-cnn (1 epoch): exit $?" >> "$OUT/summary.log"
cat "$OUT/summary.log"
