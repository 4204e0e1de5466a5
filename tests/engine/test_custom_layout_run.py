"""A 10-joint layout from the YAML alone: tools/dist_train.py (flip augmentation) then tools/valid.py (flip test).

The dataset is the synthetic generator's output with 7 of the 17 joints dropped (`synthetic.TEN_JOINTS`, the
layout of experiments/synthetic/higher_hrnet/w16_192_ten_joints.yaml: shoulders, elbows, wrists, hips, ankles).
"""
import contextlib
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from higherhrnet.config import load_config
from higherhrnet.synthetic import TEN_JOINTS, generate_dataset, write_keypoint_subset

EXPERIMENT = "experiments/synthetic/higher_hrnet/w16_192_ten_joints.yaml"
SMALL = ["DATASET.INPUT_SIZE", "128", "DATASET.OUTPUT_SIZE", "[32, 64]", "TRAIN.IMAGES_PER_GPU", "4",
         "WORKERS", "0", "DEBUG.DEBUG", "False", "PRINT_FREQ", "1", "TRAIN.LR", "0.005", "TEST.WORKERS", "0"]


def write_ten_joint_dataset(root):
    """Synthetic COCO-format folder cut down to the 10-joint layout (as `make_synthetic.py --layout ten_joints`)."""
    generate_dataset(root, seed=3, num_train=8, num_val=4, image_size=(112, 144), max_people=2,
                     side_colours=False)
    write_keypoint_subset(root, TEN_JOINTS)


def run_tool(repo, workdir, tool, opts):
    return subprocess.run([sys.executable, str(repo / "tools" / tool), "--cfg", str(repo / EXPERIMENT),
                           "--no-progress", *opts], cwd=workdir, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))


@pytest.mark.slow
def test_ten_joint_layout_trains_and_validates_with_flips(repo, tmp_path):
    keypoints = load_config(str(repo / EXPERIMENT)).DATASET.KEYPOINTS
    root = tmp_path / "ten_joints"
    assert tuple(keypoints.NAMES) == TEN_JOINTS.names  # the file's names must agree with the YAML's
    write_ten_joint_dataset(root)
    annotations = json.loads((root / "annotations" / "person_keypoints_train2017.json").read_text())
    assert len(annotations["annotations"][0]["keypoints"]) == 30
    assert annotations["categories"][0]["skeleton"][0] == [1, 2]
    opts = ["DATASET.ROOT", str(root), *SMALL]

    trained = run_tool(repo, tmp_path, "dist_train.py", [*opts, "TRAIN.END_EPOCH", "2"])
    assert trained.returncode == 0, trained.stderr[-3000:]
    out = tmp_path / "output" / "coco_kpt" / "pose_higher_hrnet" / "w16_192_ten_joints"
    assert (out / "model_best.pth.tar").is_file()

    valid = run_tool(repo, tmp_path, "valid.py", [*opts, "TEST.DETECTION_THRESHOLD", "-1.0"])
    assert valid.returncode == 0, valid.stderr[-3000:]
    results_file = out / "results" / "keypoints_val2017_results.json"
    records = json.loads(results_file.read_text())
    assert records and all(len(record["keypoints"]) == 30 for record in records)

    # The AP valid.py prints is pycocotools' AP with the layout's sigmas on the same results file.
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        ground_truth = COCO(str(root / "annotations" / "person_keypoints_val2017.json"))
        evaluation = COCOeval(ground_truth, ground_truth.loadRes(str(results_file)), "keypoints")
        evaluation.params.kpt_oks_sigmas = np.asarray(keypoints.OKS_SIGMAS)
        evaluation.evaluate(), evaluation.accumulate(), evaluation.summarize()
    row = next(line for line in valid.stdout.splitlines() if "| pose_hig" in line)
    printed_ap = float(re.findall(r"\| (-?\d+\.\d+)", row)[0])
    assert "FLIP_TEST" not in " ".join(opts)  # flip test stays on, as the YAML sets it
    assert printed_ap == pytest.approx(round(evaluation.stats[0], 3), abs=5e-4)
