"""metrics.csv and curves.png of a training run (engine/metrics_log.py)."""
import csv
import os
import subprocess
import sys

import numpy as np
import pytest

from higherhrnet.engine.metrics_log import CSV_NAME, PNG_NAME, RunMetrics, metric_tag
from higherhrnet.evaluation.metrics import COCO_METRIC_NAMES, CROWDPOSE_METRIC_NAMES


class _RecordingWriter:
    def __init__(self):
        self.scalars = []

    def add_scalar(self, tag, value, step):
        self.scalars.append((tag, value, step))


def _read_csv(path):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def test_metric_tags_are_short_and_distinct():
    tags = [metric_tag(name) for name in COCO_METRIC_NAMES]
    assert tags[:6] == ["val/AP", "val/AP50", "val/AP75", "val/APm", "val/APl", "val/AR"]
    assert len(set(tags)) == len(tags)
    crowd = [metric_tag(name) for name in CROWDPOSE_METRIC_NAMES]
    assert "val/AP_easy" in crowd and len(set(crowd)) == len(crowd)


def _one_epoch(metrics, epoch, first_step, val=None):
    for step in range(first_step, first_step + 3):
        metrics.add_scalar("train/loss", 0.5 / (step + 1), step)
        metrics.add_scalar("train/lr", 1e-3, step)
        metrics.add_scalar("train/stage0/heatmaps_loss", 0.4 / (step + 1), step)
    metrics.end_epoch(epoch + 1, {"stage0_heatmaps": 0.4 / (first_step + 1), "stage0_push": 0.05}, val)


def test_rows_columns_tensorboard_and_files(tmp_path):
    writer = _RecordingWriter()
    metrics = RunMetrics(tmp_path, writer)
    _one_epoch(metrics, 0, 0)
    _one_epoch(metrics, 1, 3, dict(zip(COCO_METRIC_NAMES, np.linspace(0.1, 1.0, 10))))
    columns, rows = _read_csv(tmp_path / CSV_NAME)
    assert columns[:6] == ["kind", "epoch", "step", "train/loss", "train/lr", "train/stage0/heatmaps_loss"]
    assert {"train/epoch/loss", "train/epoch/stage0_heatmaps", "val/AP", "val/AP50", "val/APm",
            "val/AR"} <= set(columns)
    assert [row["kind"] for row in rows] == ["step"] * 3 + ["epoch"] + ["step"] * 3 + ["epoch"]
    assert [row["epoch"] for row in rows] == ["0"] * 3 + ["1"] * 4 + ["2"]
    assert rows[3]["val/AP"] == "" and float(rows[7]["val/AP"]) == pytest.approx(0.1)
    assert float(rows[3]["train/epoch/loss"]) == pytest.approx(0.45)
    # every validation metric went to TensorBoard at the epoch count, next to the forwarded train scalars
    val_points = [(tag, step) for tag, _, step in writer.scalars if tag.startswith("val/")]
    assert len(val_points) == 10 and {step for _, step in val_points} == {2}
    assert ("train/loss", 0.5, 0) in writer.scalars
    png = (tmp_path / PNG_NAME).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_resume_keeps_the_rows_of_finished_epochs_only(tmp_path):
    metrics = RunMetrics(tmp_path)
    _one_epoch(metrics, 0, 0)
    _one_epoch(metrics, 1, 3)
    metrics.add_scalar("train/loss", 0.1, 6)  # epoch 2 interrupted: its steps are not in the file
    # a run killed after epoch 2's rows were written but before its checkpoint resumes at epoch 1
    resumed = RunMetrics(tmp_path, begin_epoch=1)
    _one_epoch(resumed, 1, 3)
    _, rows = _read_csv(tmp_path / CSV_NAME)
    assert [(row["kind"], row["epoch"]) for row in rows] == (
        [("step", "0")] * 3 + [("epoch", "1")] + [("step", "1")] * 3 + [("epoch", "2")])


def test_no_validation_still_draws(tmp_path):
    metrics = RunMetrics(tmp_path)
    metrics.end_epoch(1, {}, None)
    assert (tmp_path / PNG_NAME).stat().st_size > 0
    assert _read_csv(tmp_path / CSV_NAME)[1][0]["kind"] == "epoch"


@pytest.mark.slow
def test_two_epoch_tiny_run_writes_metrics_csv_and_curves_png(repo, shared, tmp_path):
    args = ["--cfg", str(shared / "tiny" / "tiny_coco.yaml"), "--no-progress",
            "DATASET.ROOT", str(shared / "data" / "coco_sample"), "TRAIN.SEED", "0", "WORKERS", "0",
            "PRINT_FREQ", "1", "TRAIN.IMAGES_PER_GPU", "2", "TRAIN.END_EPOCH", "2", "TRAIN.VAL_FREQ", "1",
            "TEST.WORKERS", "0"]
    completed = subprocess.run([sys.executable, str(repo / "tools" / "dist_train.py"), *args], cwd=tmp_path,
                               capture_output=True, text=True, timeout=900, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert completed.returncode == 0, completed.stderr[-3000:]
    out = tmp_path / "output" / "coco_kpt" / "pose_higher_hrnet" / "tiny_coco"
    columns, rows = _read_csv(out / CSV_NAME)
    assert {"train/loss", "train/lr", "train/stage0/heatmaps_loss", "train/stage0/push_loss",
            "train/stage0/pull_loss", "train/stage1/heatmaps_loss", "train/epoch/loss",
            "val/AP", "val/AP50", "val/AP75", "val/APm", "val/APl", "val/AR"} <= set(columns)
    epochs = [row for row in rows if row["kind"] == "epoch"]
    assert [row["epoch"] for row in epochs] == ["1", "2"] and all(row["val/AP"] != "" for row in epochs)
    assert len([row for row in rows if row["kind"] == "step"]) == 4  # 4 images, batch 2, PRINT_FREQ 1
    assert (out / PNG_NAME).read_bytes()[:4] == b"\x89PNG"
    # each validation put prediction pictures of the same 3 test images into TensorBoard, at the epoch count
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    events = EventAccumulator(str(next((tmp_path / "log").rglob("events.out.tfevents.*")).parent),
                              size_guidance={"images": 0})
    events.Reload()
    image_tags = events.Tags()["images"]
    assert len(image_tags) == 3 and all(tag.startswith("val/prediction/") for tag in image_tags), image_tags
    for tag in image_tags:
        pictures = events.Images(tag)
        assert [picture.step for picture in pictures] == [1, 2]
        assert pictures[0].encoded_image_string[:4] == b"\x89PNG" and pictures[0].width > 100
    # valid.py makes no TensorBoard folder of its own
    before = set((tmp_path / "log").rglob("*"))
    valid = subprocess.run([sys.executable, str(repo / "tools" / "valid.py"), "--cfg",
                            str(shared / "tiny" / "tiny_coco.yaml"), "--no-progress", "DATASET.ROOT",
                            str(shared / "data" / "coco_sample"), "TEST.MODEL_FILE", str(out / "final_state.pth")],
                           cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert valid.returncode == 0, valid.stderr[-3000:]
    assert set((tmp_path / "log").rglob("*")) == before
