"""Samples/s of one data worker for the W32-512 geometry: package pipeline vs the straightforward loop one.

    .venv/bin/python tests/data/benchmark_data_pipeline.py [--samples 400] [--root ../shared/data/coco_sample]

Both run single-threaded (one DataLoader worker, WORKERS 0 semantics) on the COCO sample images with the
official W32-512 augmentation (S 512, R 128 / 256, rotation 30, scale 0.75-1.5, translate 40, flip 0.5),
with glibc's default allocator settings and with freed memory kept for reuse as the package's DataLoader
workers do (data/worker_memory.py); every measurement runs in a fresh process.

Then both through a DataLoader with one worker process, batches made ready in the main process as the
training loop does: the package's compact batches (data/compact_batch.py, as in training) against the
loop pipeline's dense batches with the default collate (the official transfer). Both workers keep freed
memory (seed_worker), which only helps the loop pipeline.
"""
import argparse
import subprocess
import sys
from pathlib import Path

from yacs.config import CfgNode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_loop_reference import LoopTrainDataset  # noqa: E402
from higherhrnet.bench.training import data_loader_rate  # noqa: E402
from higherhrnet.data import benchmark_pipeline, build_train_dataset  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def w32_512_config(root):
    cfg = CfgNode()
    cfg.MODEL = CfgNode({"TAG_PER_JOINT": True})
    cfg.DATASET = CfgNode({
        "ROOT": str(root), "DATASET": "coco_kpt", "NUM_JOINTS": 17, "MAX_NUM_PEOPLE": 30, "TRAIN": "val2017",
        "DATA_FORMAT": "jpg", "MAX_ROTATION": 30, "MIN_SCALE": 0.75, "MAX_SCALE": 1.5, "SCALE_TYPE": "short",
        "MAX_TRANSLATE": 40, "INPUT_SIZE": 512, "OUTPUT_SIZE": [128, 256], "FLIP": 0.5, "SIGMA": 2.0,
        "SCALE_AWARE_SIGMA": False, "WITH_CENTER": False})
    return cfg


def child_rate(args, pipeline, worker_memory):
    """samples/s of one pipeline measured in a fresh process (glibc's allocator state depends on history)."""
    command = [sys.executable, __file__, "--samples", str(args.samples), "--root", args.root,
               "--child", pipeline, "--worker-memory", "on" if worker_memory else "off"]
    return float(subprocess.run(command, check=True, capture_output=True, text=True).stdout.split()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best rate is reported")
    parser.add_argument("--root", default=str(REPO.parent / "shared" / "data" / "coco_sample"))
    parser.add_argument("--child", choices=("package", "loop", "package-loader", "loop-loader"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--worker-memory", choices=("on", "off"), default="on", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        fast = build_train_dataset(w32_512_config(args.root))
        dataset = fast if args.child.startswith("package") else LoopTrainDataset(
            fast, max_rotation=30, min_scale=0.75, max_scale=1.5, max_translate=40, flip_prob=0.5)
        if args.child.endswith("loader"):
            print(data_loader_rate(dataset, args.samples, workers=1, compact=args.child == "package-loader")[0])
        else:
            print(benchmark_pipeline(dataset, args.samples, worker_memory=args.worker_memory == "on")
                  ["samples_per_second"])
        return
    settings = [(pipeline, memory) for memory in (False, True) for pipeline in ("package", "loop")]
    best = dict.fromkeys(settings, 0.0)
    for _ in range(args.rounds):
        for pipeline, memory in settings:
            best[pipeline, memory] = max(best[pipeline, memory], child_rate(args, pipeline, memory))
    print("samples/s per worker   default allocator   freed memory kept (as in seed_worker)")
    for pipeline in ("package", "loop"):
        print(f"{pipeline + ' pipeline':<22} {best[pipeline, False]:>17.0f}   {best[pipeline, True]:>17.0f}")
    print(f"speed-up as shipped (package, kept / loop, default): {best['package', True] / best['loop', False]:.2f}x")
    print(f"speed-up, same allocator: {best['package', False] / best['loop', False]:.2f}x default, "
          f"{best['package', True] / best['loop', True]:.2f}x kept")
    loaders = dict.fromkeys(("package-loader", "loop-loader"), 0.0)
    for _ in range(args.rounds):
        for pipeline in loaders:
            loaders[pipeline] = max(loaders[pipeline], child_rate(args, pipeline, True))
    print(f"through a DataLoader, 1 worker: package (compact batches) {loaders['package-loader']:.0f} samples/s, "
          f"loop (dense batches) {loaders['loop-loader']:.0f} samples/s, "
          f"speed-up {loaders['package-loader'] / loaders['loop-loader']:.2f}x")


if __name__ == "__main__":
    main()
