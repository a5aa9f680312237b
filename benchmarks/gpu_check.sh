#!/usr/bin/env bash
# The GPU check, as one script for a machine with an NVIDIA GPU (run from the repository root):
#
#   0. install the checkout without dependencies (the paper presets and `fomoh rosenbrock` are
#      plugins found through the package's entry points; a bare checkout lacks them);
#   1. the whole test suite with CuPy as the backend (`pytest --backend cupy`, 4 workers);
#   2. the Table 2 short protocol (EXPERIMENTS.md section 4): the paper's CNN, 7 rows x 2
#      seeds x 10 epochs, all 14 runs side by side on the GPU (72 s on one H200);
#   3. the peer benchmark on the GPU (CuPy vs torch.func / JAX / the paper's fomoh on CUDA).
#
# Logs go to $OUT (default ./gpu-logs), one file per part, written as the parts run, so a
# run cut short still leaves what it did; the Table 2 folder is packed into table2.tgz
# (histories and results, no checkpoints). Needs CuPy for the card's CUDA major
# (`pip install -e ".[test,cuda12]"` or `.[test,cuda13]`) and MNIST in $DATA (default
# ../shared/data/mnist). Pure-Python test dependencies missing on the machine (pooch,
# nbformat, ...) can be installed from wheels first: WHEELS=folder (pip --no-index --target).
# Every figure the logs hold was measured on the card nvidia-smi names at the top of
# summary.log.
set -uo pipefail
OUT=${OUT:-gpu-logs}
DATA=${DATA:-../shared/data/mnist}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__)"
} > "$OUT/summary.log" 2>&1

if [ -n "${WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/gpu-check-site "$WHEELS"/*.whl \
    >> "$OUT/summary.log" 2>&1 && export PYTHONPATH=/tmp/gpu-check-site
fi
python3 -m pip install -q --no-deps --no-build-isolation --no-index -e . >> "$OUT/install.log" 2>&1
echo "install: exit $?" >> "$OUT/summary.log"

timeout 420 python3 -m pytest -q -n 4 --backend cupy -p no:cacheprovider tests paper_experiments/tests \
  > "$OUT/tests_cupy.log" 2>&1
echo "tests (--backend cupy): exit $? ($(tail -1 "$OUT/tests_cupy.log"))" >> "$OUT/summary.log"

timeout 300 python3 -m hyperlab compare --preset mnist-cnn --data-dir "$DATA" --epochs 10 \
  --seeds 0 1 --optimizers "fgd:lr=0.0001376,batch=2048" "fomoh:lr=0.542,batch=2048" \
  "fomoh-2d:lr=0.3032,batch=2048" "fomoh-3d:lr=0.3032,batch=512" \
  "fomoh-3d:lr=0.3032,batch=2048,label=FoMoH-3D (batch 2048)" \
  "fomoh-bp:lr=0.04688,batch=2048" "sgd:lr=0.03561,batch=2048,label=Backpropagation" \
  --backend cupy --jobs 14 --out /tmp/gpu-check-table2 --overwrite > "$OUT/table2.log" 2>&1
echo "Table 2 short protocol: exit $?" >> "$OUT/summary.log"
tar czf "$OUT/table2.tgz" --exclude checkpoint.npz -C /tmp gpu-check-table2 2>> "$OUT/summary.log"

timeout 300 python3 benchmarks/bench_peers.py --device gpu --rounds 3 --reps 5 \
  --out "$OUT/bench_gpu.md" > "$OUT/bench_gpu.log" 2>&1
echo "benchmark: exit $?" >> "$OUT/summary.log"
cat "$OUT/summary.log"
