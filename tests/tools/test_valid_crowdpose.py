"""tools/valid.py on the CrowdPose sample with a 14-joint model.

The 14-joint model is derived from the tiny COCO model: its prediction rows (heatmaps and tags) and the
matching input channels of the deconv are sliced to the CrowdPose joints (COCO shoulders..ankles, then the
nose standing in for head and neck). It is a working detector, so the run really decodes people.
"""
import json
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.parity  # compares against the official fixtures (../shared)

# CrowdPose joint k <- COCO joint COCO_SOURCE[k]
COCO_SOURCE = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 0, 0]
OPTS = ["DATASET.DATASET", "crowd_pose_kpt", "DATASET.DATASET_TEST", "crowd_pose", "DATASET.NUM_JOINTS", "14",
        "MODEL.NUM_JOINTS", "14", "DATASET.TEST", "test"]


def crowdpose_weights_from_tiny_coco(shared, path):
    state = torch.load(shared / "tiny" / "tiny_coco.pth", map_location="cpu", weights_only=True)
    stage0_rows = COCO_SOURCE + [17 + j for j in COCO_SOURCE]  # heatmaps then tags
    for name in ("final_layers.0.weight", "final_layers.0.bias"):
        state[name] = state[name][stage0_rows].clone()
    for name in ("final_layers.1.weight", "final_layers.1.bias"):
        state[name] = state[name][COCO_SOURCE].clone()
    deconv = state["deconv_layers.0.0.0.weight"]  # (in = 8 features + 34 predictions, out, k, k)
    state["deconv_layers.0.0.0.weight"] = deconv[list(range(8)) + [8 + r for r in stage0_rows]].clone()
    torch.save(state, path)


def test_crowdpose_validation_prints_the_nine_column_table(repo, shared, tmp_path):
    weights = tmp_path / "tiny_crowdpose.pth"
    crowdpose_weights_from_tiny_coco(shared, weights)
    command = [sys.executable, str(repo / "tools" / "valid.py"), "--cfg", str(shared / "tiny" / "tiny_coco.yaml"),
               "--no-progress", "TEST.MODEL_FILE", str(weights),
               "DATASET.ROOT", str(shared / "data" / "crowdpose_sample"), *OPTS]
    completed = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = completed.stdout.splitlines()
    header = next(line for line in lines if "| Arch |" in line)
    names = [name.strip() for name in header.split("| Arch |")[1].split("|")[:-1]]
    assert names == ["AP", "Ap .5", "AP .75", "AR", "AR .5", "AR .75", "AP (easy)", "AP (medium)", "AP (hard)"]
    row = next(line for line in lines if "| pose_hig... |" in line)
    values = [float(v) for v in row.split("|")[2:-1]]
    assert len(values) == 9
    assert all(-1.0 <= value <= 1.0 for value in values)
    results = tmp_path / "output" / "crowd_pose_kpt" / "pose_higher_hrnet" / "tiny_coco" / "results"
    records = json.loads((results / "keypoints_test_results.json").read_text())
    assert records and all(len(r["keypoints"]) == 14 * 3 for r in records)  # people were decoded
    assert {r["image_id"] for r in records} <= {103319, 106848}
