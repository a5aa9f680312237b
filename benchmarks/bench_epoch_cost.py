"""CPU seconds per run-epoch of each row of a ``fomoh compare`` preset (sizing long runs).

Trains every specification of the preset for ``--epochs`` epochs (seed 0, one BLAS thread,
in this process) and reports, per row, the CPU time (``time.process_time``) and wall time of
each epoch, training and end-of-epoch evaluation included, as ``fomoh compare`` runs them.
The first epoch includes nothing but the epoch itself (data are loaded before the clock
starts). The last column extrapolates to the preset's full length for its seeds:
``seconds/epoch × epochs × seeds``.

    python benchmarks/bench_epoch_cost.py --preset mnist-logreg --data-dir ../shared/data/mnist
    python benchmarks/bench_epoch_cost.py --preset mnist-logreg --epochs 3 --json cost.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one BLAS thread, as every run of `fomoh compare`

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hyperlab.parallel import one_blas_thread  # noqa: E402
from hyperlab.plugins import load_plugins  # noqa: E402
from hyperlab.presets import PRESETS  # noqa: E402
from hyperlab.specs import parse_spec  # noqa: E402
from hyperlab.train import RunConfig, prepare_data, train  # noqa: E402

load_plugins()  # the paper's presets (paper_experiments)


def measure(preset_name, data_dir=None, epochs=2, only=None, log=print):
    """Per row: CPU and wall seconds of each of ``epochs`` epochs (seed 0)."""
    preset = PRESETS[preset_name]
    specs = [parse_spec(s) for s in preset.specs]
    if only:
        specs = [s for s in specs if s.label in only]
    base = RunConfig(
        dataset=preset.dataset,
        data_dir=data_dir,
        model=preset.model,
        model_kwargs=dict(preset.model_kwargs),
        epochs=epochs,
        batch_size=preset.batch_size,
        eval_max=preset.eval_max,
        standardize=preset.standardize,
        val_set=preset.val_set,
        init=preset.init,
    ).validate()
    rows = []
    with one_blas_thread():
        data = prepare_data(base)
        for spec in specs:
            if spec.auto_milestone:  # the cut never comes within a few epochs
                config = spec.config(base, 0, milestone=10**6)
            else:
                config = spec.config(base, 0)
            marks = [(time.process_time(), time.perf_counter())]

            def on_epoch(record, marks=marks):  # one (CPU, wall) time stamp per epoch
                marks.append((time.process_time(), time.perf_counter()))

            train(config, None, quiet=True, data=data, on_epoch=on_epoch)
            cpu = [b[0] - a[0] for a, b in zip(marks, marks[1:])]
            wall = [b[1] - a[1] for a, b in zip(marks, marks[1:])]
            row = {
                "label": spec.label,
                "batch_size": config.batch_size,
                "cpu_per_epoch": cpu,
                "wall_per_epoch": wall,
                "cpu_mean": sum(cpu) / len(cpu),
                "full_cpu_hours": sum(cpu) / len(cpu) * preset.epochs * len(preset.seeds) / 3600,
            }
            rows.append(row)
            log(
                f"{spec.label:>20s}  batch {config.batch_size:5d}  CPU s/epoch "
                + " ".join(f"{c:6.2f}" for c in cpu)
                + "  wall s/epoch "
                + " ".join(f"{w:6.2f}" for w in wall)
                + f"  -> {preset.epochs} epochs x {len(preset.seeds)} seeds: "
                f"{row['full_cpu_hours']:.2f} CPU-h"
            )
    total = sum(r["full_cpu_hours"] for r in rows)
    log(
        f"total for the preset ({len(rows)} rows, {preset.epochs} epochs, "
        f"{len(preset.seeds)} seeds): {total:.1f} CPU-hours at one BLAS thread per run"
    )
    return {
        "preset": preset_name,
        "epochs_measured": epochs,
        "machine": platform.platform(),
        "processor": platform.processor(),
        "cpus": os.cpu_count(),
        "rows": rows,
        "total_cpu_hours": total,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default="mnist-logreg")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--only", nargs="+", default=None, help="row labels to measure")
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    report = measure(args.preset, args.data_dir, args.epochs, args.only)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
