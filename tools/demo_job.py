"""`make demo`: the whole system on the generated dataset, with no GPU and no download.

    python tools/demo_job.py [--skip-training] [--train-images N]

Steps (each prints what it does and where the results are):
  1. generate data/synthetic (tools/make_synthetic.py) unless it is there already;
  2. evaluate the shipped checkpoint models/demo/w16_192_demo.pth with the real tools/valid.py;
  3. pictures: predictions beside the ground truth, and heatmap / tag maps of one image;
  4. train live for two minutes (tools/dist_train.py --time-budget 120: progress bar, TensorBoard,
     checkpoint, the loss falling), then evaluate that checkpoint with tools/valid.py too;
  5. print where everything is.
`--skip-training` stops after step 3. It needs the repository checkout: the experiment YAML, the shipped
checkpoint and the other tools are found relative to the repository root (this file's parent folder), and
data/ and output/ are written there, whatever the current directory.
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]          # tools/ is at the repository root
CONFIG = REPO / "experiments" / "synthetic" / "higher_hrnet" / "w16_192_demo.yaml"
CHECKPOINT = REPO / "models" / "demo" / "w16_192_demo.pth"
DATA = REPO / "data" / "synthetic"
OUTPUT = REPO / "output" / "demo"
NUM_PICTURES = 6
LIVE_SECONDS = 120  # the live training's time budget (tools/dist_train.py --time-budget)


def _banner(text):
    print(f"\n=== {text} ===", flush=True)


def _run(command, **kwargs):
    print("$ " + " ".join(str(part) for part in command), flush=True)
    completed = subprocess.run([str(part) for part in command], cwd=REPO, **kwargs)
    if completed.returncode != 0:
        sys.exit(f"demo: step failed (exit code {completed.returncode}): {' '.join(map(str, command[:3]))} ...")
    return completed


def _ap_row(output_dir):
    """The AP table valid.py logged last in output_dir (header and values), as two lines."""
    logs = sorted(output_dir.glob("valid_*_rank0.log"))
    lines = logs[-1].read_text().splitlines() if logs else []
    table = [line.split(" ", 2)[-1] for line in lines if line.split(" ", 2)[-1].startswith("| ")]
    return table[-3:] if len(table) >= 3 else table


def generate_data(num_train):
    """Run tools/make_synthetic.py into DATA with `num_train` training images, unless both splits exist."""
    annotation = DATA / "annotations" / "person_keypoints_val2017.json"
    train_annotation = DATA / "annotations" / "person_keypoints_train2017.json"
    if annotation.exists() and train_annotation.exists():
        print(f"data: {DATA} exists, kept as it is")
        return
    _run([sys.executable, "tools/make_synthetic.py", "--out", DATA, "--train", num_train])


def evaluate(weights, output_root, label):
    """Run tools/valid.py on the demo experiment with `weights`; print and return (output dir, AP table)."""
    _run([sys.executable, "tools/valid.py", "--cfg", CONFIG, "TEST.MODEL_FILE", weights,  # with its progress bar
          "OUTPUT_DIR", output_root, "LOG_DIR", output_root / "log", "PRINT_FREQ", 50])
    output_dir = output_root / "coco_kpt" / "pose_higher_hrnet" / CONFIG.stem
    table = _ap_row(output_dir)
    print(f"{label}:\n  " + "\n  ".join(table))
    return output_dir, table


def draw_pictures(config, data_root, weights, picture_dir):
    """Predictions beside ground truth for a few validation images, and one heatmap / tag picture.

    config: the experiment YAML; data_root: its DATASET.ROOT; weights: checkpoint file; pictures are JPEGs
    written into picture_dir (skeletons drawn in image pixels on the BGR image).
    """
    import torch
    from higherhrnet.config import load_config
    from higherhrnet.data.build import build_test_dataset
    from higherhrnet.engine.inference import InferenceSettings, PosePipeline, prepare
    from higherhrnet.keypoints import layout_from_config
    from higherhrnet.models import build_model, load_model_weights
    from higherhrnet.visualize import DRAW_MIN_SCORE, draw_skeletons, heatmap_row, label_columns, tagmap_row, write_picture

    cfg = load_config(config, ["DATASET.ROOT", str(data_root)])
    layout = layout_from_config(cfg)
    model = load_model_weights(build_model(cfg), weights)
    pipeline = PosePipeline(model, InferenceSettings.from_config(cfg), torch.device("cpu"))
    dataset = build_test_dataset(cfg)
    picture_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(min(NUM_PICTURES, len(dataset))):
        image, image_id, _ = dataset[index]
        persons, scores = pipeline(image)
        annotations = dataset.coco.loadAnns(dataset.coco.getAnnIds(imgIds=image_id, iscrowd=False))
        truth = [np.array(a["keypoints"], np.float32).reshape(-1, 3) for a in annotations if a["num_keypoints"]]
        shown = [p for p, s in zip(persons, scores) if s > DRAW_MIN_SCORE]
        colors = [tuple(int(c) for c in rng.integers(40, 255, 3)) for _ in range(max(len(shown), len(truth)))]
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        left = draw_skeletons(bgr.copy(), truth, layout.skeleton, colors[:len(truth)], demo_style=True)
        right = draw_skeletons(bgr.copy(), shown, layout.skeleton, colors[:len(shown)], demo_style=True)
        for picture, text in ((left, "ground truth"), (right, f"prediction ({len(shown)} people)")):
            cv2.putText(picture, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        write_picture(picture_dir / f"val_{image_id}_truth_vs_prediction.jpg", np.hstack([left, right]))

    image, image_id, _ = dataset[0]
    prepared = prepare(image, pipeline.settings)
    per_scale = [(scale, *pipeline.forward(network_input)) for scale, network_input in prepared.inputs]
    det, tags = pipeline.aggregate(per_scale, prepared.base_size)
    resized = cv2.resize(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), prepared.base_size)
    labels = ("image",) + layout.channel_names()
    write_picture(picture_dir / f"val_{image_id}_heatmaps.jpg",
                  label_columns(heatmap_row(resized, det[0].numpy()), labels))
    write_picture(picture_dir / f"val_{image_id}_tags.jpg",
                  label_columns(tagmap_row(resized, tags[0, ..., 0].numpy()), labels))
    print(f"pictures: {picture_dir}")


def train_live(seconds_budget, output_root):
    """Real training from scratch on the generated data, stopped by dist_train's --time-budget.

    Returns (run folder, iterations trained or None when the log does not say).
    """
    start = time.time()
    completed = _run([sys.executable, "tools/dist_train.py", "--cfg", CONFIG, "--time-budget", seconds_budget,
                      "OUTPUT_DIR", output_root, "LOG_DIR", output_root / "log", "AUTO_RESUME", "False",
                      "PRINT_FREQ", 20, "WORKERS", 1],
                     stdout=subprocess.PIPE, text=True)
    lines = completed.stdout.splitlines()
    losses = [line.split("done: ")[1] for line in lines if " done: " in line]
    # the log lines start with a time stamp: keep from "Epoch: [e][i/n]" on
    iteration_lines = [line[line.index("Epoch: ["):].split("\t") for line in lines if "Epoch: [" in line]
    stop = next((line[line.index("stopped at"):] for line in lines if "stopped at the time budget" in line), None)
    iterations = int(stop.split(" after ")[1].split()[0]) if stop else None
    print(f"live training: {time.time() - start:.0f} s in all, process start and saving included "
          f"(time budget {seconds_budget} s from the start of training)")
    for parts in iteration_lines:
        print("  " + "  ".join(part for part in parts if part.startswith(("Epoch", "Speed", "Stage"))))
    for epoch, line in enumerate(losses):
        print(f"  epoch {epoch} average: {line}")
    if stop:
        print(f"  {stop}")
    return output_root / "coco_kpt" / "pose_higher_hrnet" / CONFIG.stem, iterations


def main(argv=None):
    parser = argparse.ArgumentParser(description="The HigherHRNet demo on a generated dataset (what `make demo` runs).")
    parser.add_argument("--skip-training", action="store_true", help="stop after the evaluation and pictures")
    parser.add_argument("--train-images", type=int, default=1000,
                        help="training images to generate when data/synthetic is absent (default 1000)")
    args = parser.parse_args(argv)
    start = time.time()
    if not CHECKPOINT.is_file():
        sys.exit(f"demo: {CHECKPOINT} is missing (it is committed with the repository; `make demo-train` remakes it)")

    _banner("1/4 data: the generated multi-person dataset (COCO layout)")
    generate_data(args.train_images)
    annotation = json.loads((DATA / "annotations" / "person_keypoints_val2017.json").read_text())
    print(f"validation split: {len(annotation['images'])} images, "
          f"{sum(a['num_keypoints'] > 0 for a in annotation['annotations'])} labelled people")

    _banner("2/4 evaluate the shipped checkpoint with tools/valid.py")
    shipped_dir, _ = evaluate(CHECKPOINT, OUTPUT / "shipped", "shipped checkpoint, COCO keypoint AP")

    _banner("3/4 pictures")
    draw_pictures(CONFIG, DATA, CHECKPOINT, OUTPUT / "pictures")

    live_dir = None
    if not args.skip_training:
        _banner("4/4 train live for about two minutes with tools/dist_train.py, then evaluate")
        live_root = OUTPUT / "live"
        live_dir, iterations = train_live(LIVE_SECONDS, live_root)
        evaluate(live_dir / "final_state.pth", live_root, "live-trained checkpoint (2 minutes), COCO keypoint AP")
        done = f"{iterations} iterations of 8 images" if iterations is not None else "two minutes of training"
        print(f"  why so low: {done} from random weights "
              "teach the network roughly where people are, not yet how to place each joint or tell persons apart "
              "(the tags); `make demo-train` (18 epochs of 4000 images, about an hour) reaches the shipped "
              "model's AP 0.625")
        print(f"  curves: {live_dir / 'curves.png'}, {live_dir / 'metrics.csv'}")

    _banner(f"done in {time.time() - start:.0f} s; where everything is")
    print(f"  data:                  {DATA}")
    print(f"  shipped-model results: {shipped_dir} (results/, result_valid_*.jpg, valid_*.log)")
    print(f"  pictures:              {OUTPUT / 'pictures'}")
    if live_dir is not None:
        print(f"  live training:         {live_dir} (checkpoint.pth.tar, final_state.pth, train_*.log)")
        print(f"  TensorBoard:           tensorboard --logdir {OUTPUT / 'live' / 'log'}")
    print("  the same on COCO:      see README.md, 'Evaluate model-zoo weights' and 'Train'")


if __name__ == "__main__":
    main()
