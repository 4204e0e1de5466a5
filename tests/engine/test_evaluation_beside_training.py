"""tools/valid.py beside a running training on the same run folder: no lock taken, no training file touched.

The "training" is a folder locked with engine/run_lock.py (as rank 0 of a training holds it) and filled with
the files a training writes; valid.py then evaluates the tiny model in this process.
"""
import logging
import os

import pytest
import torch

from higherhrnet.config import load_config
from higherhrnet.engine.evaluation import evaluate_model, run_validation, training_results_file
from higherhrnet.engine.run_lock import RunLockError, acquire_run_lock
from higherhrnet.models import build_model, load_model_weights

OUT = ("output", "coco_kpt", "pose_higher_hrnet", "tiny_coco")


def _snapshot(folder):
    """{relative path: bytes} of every file under `folder`."""
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _training_files(out, weights):
    """The files a training writes into its run folder (contents are stand-ins)."""
    (out / "results").mkdir(parents=True)
    for name in ("checkpoint.pth.tar", "model_best.pth.tar", "final_state.pth"):
        (out / name).write_bytes(weights)
    (out / ".checkpoint.pth.tar.inflight.tmp").write_bytes(b"being written by the training")
    (out / "train_2026-01-01-00-00_rank0.log").write_text("training log\n")
    (out / "val_history.json").write_text("[]")
    (out / "metrics.csv").write_text("kind,epoch\n")
    (out / "curves.png").write_bytes(b"png")
    (out / "train_0_output_64_hm_gt.jpg").write_bytes(b"jpg")
    training_results_file(out, "val2017").write_text("[]")


def test_valid_py_beside_a_locked_training_folder_writes_only_its_own_files(shared, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path.joinpath(*OUT)
    out.mkdir(parents=True)
    lock = acquire_run_lock(out)  # the running training
    try:
        _training_files(out, (shared / "tiny" / "tiny_coco.pth").read_bytes())
        before = _snapshot(out)
        opts = ["DATASET.ROOT", str(shared / "data" / "coco_sample"), "PRINT_FREQ", "1"]  # a picture per image
        _, ap = run_validation(str(shared / "tiny" / "tiny_coco.yaml"), opts, show_progress=False)  # model_best
        after = _snapshot(out)
        with pytest.raises(RunLockError):  # the training still holds its folder
            acquire_run_lock(out)
    finally:
        lock.release()
    assert ap > 0.1
    assert {name: after[name] for name in before} == before  # every training file, byte for byte
    added = {str(name) for name in set(after) - set(before)}
    official = os.path.join("results", "keypoints_val2017_results.json")
    assert official in added
    assert {name for name in added if name != official and not name.startswith("result_valid_")} == {
        name for name in added if name.startswith("valid_") and name.endswith("_rank0.log")}
    assert len([name for name in added if name.startswith("result_valid_")]) == 4


def test_validation_during_training_never_writes_the_valid_py_results_file(shared, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg_file, opts = str(shared / "tiny" / "tiny_coco.yaml"), ["DATASET.ROOT", str(shared / "data" / "coco_sample")]
    run_validation(cfg_file, [*opts, "TEST.MODEL_FILE", str(shared / "tiny" / "tiny_coco.pth")], show_progress=False)
    out = tmp_path.joinpath(*OUT)
    official = out / "results" / "keypoints_val2017_results.json"
    written_by_valid = official.read_bytes()
    official.write_bytes(b"valid.py's file")  # a marker: the training's validation must not overwrite it

    cfg = load_config(cfg_file, opts)
    model = build_model(cfg, is_train=False)
    load_model_weights(model, str(shared / "tiny" / "tiny_coco.pth"))
    evaluate_model(cfg, model, torch.device("cpu"), out, logging.getLogger("test"), verbose=False,
                   during_training=True)
    assert official.read_bytes() == b"valid.py's file"
    assert training_results_file(out, "val2017").read_bytes() == written_by_valid  # the same content, own name
