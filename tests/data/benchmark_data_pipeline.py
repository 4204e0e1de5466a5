"""Samples/s of one data worker for the W32-512 geometry: package pipeline vs the straightforward loop one.

    .venv/bin/python tests/data/benchmark_data_pipeline.py [--samples 400] [--root ../shared/data/coco_sample]

Both run single-threaded (one DataLoader worker, WORKERS 0 semantics) on the COCO sample images with the
official W32-512 augmentation (S 512, R 128 / 256, rotation 30, scale 0.75-1.5, translate 40, flip 0.5).
"""
import argparse
import sys
from pathlib import Path

from yacs.config import CfgNode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data_loop_reference import LoopTrainDataset  # noqa: E402
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; the best rate is reported")
    parser.add_argument("--root", default=str(REPO.parent / "shared" / "data" / "coco_sample"))
    args = parser.parse_args()
    fast = build_train_dataset(w32_512_config(args.root))
    loop = LoopTrainDataset(fast, max_rotation=30, min_scale=0.75, max_scale=1.5, max_translate=40, flip_prob=0.5)
    best = {"package": 0.0, "loop": 0.0}
    for _ in range(args.rounds):
        for name, dataset in (("package", fast), ("loop", loop)):
            rate = benchmark_pipeline(dataset, args.samples)["samples_per_second"]
            best[name] = max(best[name], rate)
    print(f"package pipeline: {best['package']:.0f} samples/s per worker")
    print(f"loop pipeline:    {best['loop']:.0f} samples/s per worker")
    print(f"speed-up:         {best['package'] / best['loop']:.2f}x")


if __name__ == "__main__":
    main()
