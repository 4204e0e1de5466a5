"""Training and evaluation stop with one clear line, and never lose a good file, on bad input or divergence.

The unit tests call the guard, the run lock and the checks directly; the slow ones run tools/dist_train.py
on the tiny model (helpers of test_training_runs.py) and check the exit status, the single error line and
the files left in the run folder.
"""
import importlib.util
import json
import logging
import math
import os
import shutil

import pytest
import torch

from higherhrnet.config import ConfigError, load_config
from higherhrnet.data.build import build_test_dataset, build_train_dataset
from higherhrnet.engine import checkpoint as ckpt
from higherhrnet.engine.numerics import NonFiniteTrainingError, TrainingGuard
from higherhrnet.engine.output_dirs import make_folder
from higherhrnet.engine.run_lock import RunLockError, acquire_run_lock, remove_unfinished_writes
from higherhrnet.errors import REPORTED_ERRORS, EmptySplitError, OutputFolderError, one_line
from higherhrnet.models.checkpoint import read_state_dict

from test_training_runs import output_dir, train


def _rows(*losses, first_step=0):
    return [(first_step + i, 1e-3, loss, {"stage0_heatmaps": loss, "stage0_push": 0.1})
            for i, loss in enumerate(losses)]


# ---------------------------------------------------------------------------------------------------------
# the numerical guard

def test_guard_names_epoch_iteration_term_and_lr_of_a_nan_loss(tmp_path):
    guard = TrainingGuard(lr=1e6, loss_scaling="none", output_dir=tmp_path)
    guard.check_losses(_rows(0.5, 0.4, first_step=10), epoch=3, epoch_first_step=10)
    with pytest.raises(NonFiniteTrainingError) as raised:
        guard.check_losses(_rows(0.3, float("nan"), first_step=12), epoch=3, epoch_first_step=10)
    message = str(raised.value)
    assert "\n" not in message and isinstance(raised.value, REPORTED_ERRORS)
    assert "epoch 3, iteration 3 (global step 13)" in message
    assert "stage0_heatmaps nan" in message and "stage0_push" not in message
    assert "TRAIN.LR (now 1e+06)" in message and str(tmp_path) in message
    assert "STATIC_LOSS_SCALE" not in message


def test_guard_allows_skipped_steps_of_the_dynamic_scaler_but_not_a_persistent_overflow():
    guard = TrainingGuard(lr=1e-3, loss_scaling="dynamic", overflow_limit=3)
    guard.check_losses(_rows(float("inf"), float("inf"), 0.5, float("inf"), float("inf")), 0, 0)
    with pytest.raises(NonFiniteTrainingError, match="3 in a row under FP16.DYNAMIC_LOSS_SCALE"):
        guard.check_losses(_rows(float("inf"), first_step=5), 0, 0)
    with pytest.raises(NonFiniteTrainingError, match="FP16.STATIC_LOSS_SCALE"):
        TrainingGuard(lr=1e-3, loss_scaling="static").check_losses(_rows(float("inf")), 0, 0)


def test_guard_refuses_non_finite_weights():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4))
    guard = TrainingGuard(lr=1e-3)
    guard.check_weights(model, epoch=0)
    model[1].running_var[2] = math.inf
    with pytest.raises(NonFiniteTrainingError, match=r"after epoch 5 \(1 tensors, e.g. 1.running_var\), not saved"):
        guard.check_weights(model, epoch=5)


# ---------------------------------------------------------------------------------------------------------
# the run lock

def test_a_second_lock_on_the_folder_is_refused_and_released_on_exit(tmp_path):
    first = acquire_run_lock(tmp_path)
    with pytest.raises(RunLockError) as raised:
        acquire_run_lock(tmp_path)
    assert str(tmp_path) in str(raised.value) and f"pid {os.getpid()}" in str(raised.value)
    first.release()
    acquire_run_lock(tmp_path).release()


def test_unfinished_writes_are_removed_only_through_the_held_lock(tmp_path):
    (tmp_path / ".checkpoint.pth.tar.abc.tmp").write_bytes(b"half")
    (tmp_path / "checkpoint.pth.tar").write_bytes(b"kept")
    lock = acquire_run_lock(tmp_path)
    assert remove_unfinished_writes(lock, logging.getLogger("test")) == [".checkpoint.pth.tar.abc.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock", "checkpoint.pth.tar"]
    lock.release()


# ---------------------------------------------------------------------------------------------------------
# checkpoints: mode, resume with changed settings, unreadable bytes

def test_checkpoint_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        ckpt.atomic_torch_save({"a": torch.zeros(2)}, tmp_path / "c.pth")
        os.umask(0o027)
        ckpt.atomic_torch_save({"a": torch.zeros(2)}, tmp_path / "d.pth")
    finally:
        os.umask(previous)
    assert (tmp_path / "c.pth").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d.pth").stat().st_mode & 0o777 == 0o640


def test_a_changed_lr_on_resume_is_named_with_the_value_used():
    weights = [torch.nn.Parameter(torch.zeros(3))]
    saved = torch.optim.Adam(weights, lr=1e-3)
    torch.optim.lr_scheduler.MultiStepLR(saved, milestones=[2])
    fresh = torch.optim.Adam(weights, lr=5e-3)
    torch.optim.lr_scheduler.MultiStepLR(fresh, milestones=[2])
    lines = ckpt.optimizer_setting_changes(fresh, saved.state_dict())
    assert len(lines) == 1
    assert lines[0].startswith("TRAIN.LR is 0.005 in the config but 0.001 in the checkpoint")
    assert "keeps the checkpoint's value 0.001" in lines[0]
    assert ckpt.optimizer_setting_changes(saved, saved.state_dict()) == []


def test_random_bytes_are_called_corrupt_not_a_legacy_optimiser(tmp_path):
    path = tmp_path / "random.pth"
    path.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(REPORTED_ERRORS) as raised:
        read_state_dict(path)
    message = str(raised.value)
    assert "corrupt, truncated or not written by torch.save" in message
    assert "legacy optimiser" not in message and "\n" not in message


# ---------------------------------------------------------------------------------------------------------
# folders, worker errors, empty splits, joint counts

def test_an_output_folder_under_a_file_names_the_key_and_the_file(tmp_path):
    blocker = tmp_path / "taken"
    blocker.write_text("a file")
    with pytest.raises(OutputFolderError) as raised:
        make_folder(blocker / "run" / "x", "LOG_DIR")
    assert str(raised.value) == f"LOG_DIR: cannot create the folder {blocker / 'run' / 'x'}: {blocker} is a file, not a folder"


def test_one_line_keeps_the_original_message_of_a_dataloader_worker_error():
    from higherhrnet.data.image_io import ImageReadError
    wrapped = ImageReadError("Caught ImageReadError in DataLoader worker process 0.\nOriginal Traceback (most "
                             "recent call last):\n  File \"x.py\", line 1, in f\nhigherhrnet.data.image_io."
                             "ImageReadError: /data/a.jpg: not a readable image (corrupt or unsupported format)\n")
    assert one_line(wrapped) == "/data/a.jpg: not a readable image (corrupt or unsupported format)"
    assert one_line(ValueError("plain")) == "plain"


def _empty_coco_root(root, shared):
    (root / "annotations").mkdir(parents=True)
    source = json.loads((shared / "data" / "coco_sample" / "annotations" / "person_keypoints_val2017.json").read_text())
    source.update(images=[], annotations=[])
    (root / "annotations" / "person_keypoints_val2017.json").write_text(json.dumps(source))
    return root / "annotations" / "person_keypoints_val2017.json"


def test_an_annotation_file_without_images_is_an_error(shared, tmp_path):
    annotation_file = _empty_coco_root(tmp_path / "coco", shared)
    cfg = load_config(str(shared / "tiny" / "tiny_coco.yaml"), ["DATASET.ROOT", str(tmp_path / "coco"),
                                                                "DATASET.TRAIN", "val2017"])
    with pytest.raises(EmptySplitError, match=f"^0 images in {annotation_file} \\(split val2017\\)$"):
        build_test_dataset(cfg)
    with pytest.raises(EmptySplitError, match=f"^0 images with people in {annotation_file} \\(split val2017\\)$"):
        build_train_dataset(cfg)


@pytest.mark.parametrize("opts, message", [
    (["DATASET.NUM_JOINTS", "15"], "MODEL.NUM_JOINTS is 17 but DATASET.NUM_JOINTS is 15"),
    (["MODEL.NUM_JOINTS", "15"], "MODEL.NUM_JOINTS is 15 but DATASET.NUM_JOINTS is 17"),
])
def test_joint_counts_that_disagree_are_a_config_error(shared, opts, message):
    with pytest.raises(ConfigError, match=message):
        load_config(str(shared / "tiny" / "tiny_coco.yaml"),
                    ["DATASET.ROOT", str(shared / "data" / "coco_sample"), *opts])


def _valid_main(repo):
    spec = importlib.util.spec_from_file_location("valid_tool", repo / "tools" / "valid.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.parametrize("case", ["joints", "output_file", "empty"])
def test_valid_py_reports_bad_input_in_one_line(repo, shared, tmp_path, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    root = shared / "data" / "coco_sample"
    opts = []
    if case == "joints":
        opts, expected = ["DATASET.NUM_JOINTS", "15"], "error: invalid config: MODEL.NUM_JOINTS is 17 but DATASET.NUM_JOINTS is 15"
    elif case == "output_file":
        (tmp_path / "out").write_text("a file")
        opts, expected = ["OUTPUT_DIR", "out"], "error: OUTPUT_DIR: cannot create the folder out/"
    else:
        root = tmp_path / "coco"
        expected = f"error: 0 images in {_empty_coco_root(root, shared)} (split val2017)"
    with pytest.raises(SystemExit) as raised:
        _valid_main(repo)(["--cfg", str(shared / "tiny" / "tiny_coco.yaml"), "--no-progress", "DATASET.ROOT",
                           str(root), "TEST.MODEL_FILE", str(shared / "tiny" / "tiny_coco.pth"), *opts])
    assert str(raised.value).startswith(expected) and "\n" not in str(raised.value)


# ---------------------------------------------------------------------------------------------------------
# tools/dist_train.py end to end

def _error_lines(completed):
    return [line for line in completed.stderr.splitlines() if line.startswith("error: ")]


def _all_finite(state_dict):
    return all(torch.isfinite(t).all() for t in state_dict.values() if t.is_floating_point())


NAN_FROM_STEP_2 = """
    import torch
    from higherhrnet.engine import training
    _total, _calls = training.total_loss, [0]
    def poisoned_total_loss(*args):
        loss, components = _total(*args)
        _calls[0] += 1
        if _calls[0] > 2:  # epoch 0 (steps 0 and 1) is clean, epoch 1 diverges at its first iteration
            loss = loss * float("nan")
            components = dict(components, stage0_heatmaps=components["stage0_heatmaps"] * float("nan"))
        return loss, components
    training.total_loss = poisoned_total_loss
"""


@pytest.mark.slow
def test_an_injected_nan_stops_training_and_keeps_the_good_checkpoints(repo, shared, tmp_path):
    completed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "3", "PRINT_FREQ", "100"], prelude=NAN_FROM_STEP_2)
    assert completed.returncode == 1, completed.stderr[-3000:]
    errors = _error_lines(completed)
    assert len(errors) == 1 and "Traceback" not in completed.stderr, completed.stderr[-3000:]
    assert "non-finite loss nan at epoch 1, iteration 0 (global step 2)" in errors[0]
    assert "stage0_heatmaps nan" in errors[0] and "lower TRAIN.LR (now 0.001)" in errors[0]
    out = output_dir(tmp_path)
    checkpoint = torch.load(out / "checkpoint.pth.tar", map_location="cpu", weights_only=True)
    best = torch.load(out / "model_best.pth.tar", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 1 and _all_finite(checkpoint["state_dict"])
    assert best.keys() == checkpoint["state_dict"].keys()
    assert all(torch.equal(best[key], checkpoint["state_dict"][key]) for key in best)  # epoch 0's, untouched
    assert not (out / "final_state.pth").exists() and not list(out.glob(".*.tmp"))


@pytest.mark.slow
def test_a_huge_lr_stops_before_any_checkpoint_is_saved(repo, shared, tmp_path):
    completed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "3", "TRAIN.LR", "1e6"])
    assert completed.returncode == 1, completed.stderr[-3000:]
    errors = _error_lines(completed)
    assert len(errors) == 1 and "TRAIN.LR (now 1e+06)" in errors[0], completed.stderr[-3000:]
    out = output_dir(tmp_path)
    assert not any((out / name).exists() for name in (ckpt.CHECKPOINT_NAME, ckpt.BEST_NAME, ckpt.FINAL_NAME))


@pytest.mark.slow
def test_a_second_run_on_a_locked_folder_stops_and_leaves_the_in_flight_write(repo, shared, tmp_path):
    out = output_dir(tmp_path)
    out.mkdir(parents=True)
    in_flight = out / ".checkpoint.pth.tar.running.tmp"
    in_flight.write_bytes(b"being written by the first run")
    lock = acquire_run_lock(out)  # the first run, holding its folder
    try:
        completed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "1"])
    finally:
        lock.release()
    assert completed.returncode == 1
    assert _error_lines(completed) == [
        f"error: {out.relative_to(tmp_path)}: another training run (pid {os.getpid()} on {os.uname().nodename}) is "
        "using this output folder; wait for it to finish or give this run another OUTPUT_DIR"], completed.stderr
    assert in_flight.read_bytes() == b"being written by the first run"
    assert not (out / ckpt.CHECKPOINT_NAME).exists()


@pytest.mark.slow
def test_a_corrupt_checkpoint_on_resume_is_one_line(repo, shared, tmp_path):
    out = output_dir(tmp_path)
    out.mkdir(parents=True)
    (out / ckpt.CHECKPOINT_NAME).write_bytes(b"not a checkpoint")
    completed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "1"])
    assert completed.returncode == 1 and "Traceback" not in completed.stderr, completed.stderr[-3000:]
    [error] = _error_lines(completed)
    assert error.startswith(f"error: {out.relative_to(tmp_path) / ckpt.CHECKPOINT_NAME}: cannot read the training")
    assert (out / ckpt.CHECKPOINT_NAME).read_bytes() == b"not a checkpoint"


@pytest.mark.slow
def test_an_unreadable_training_image_in_a_worker_is_named_in_one_line(repo, shared, tmp_path):
    root = tmp_path / "coco"
    shutil.copytree(shared / "data" / "coco_sample", root)
    images = sorted((root / "images" / "val2017").glob("*.jpg"))
    images[0].write_bytes(b"not a jpeg")
    completed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "1", "DATASET.ROOT", str(root), "WORKERS", "1"])
    assert completed.returncode == 1 and "Traceback" not in completed.stderr, completed.stderr[-3000:]
    assert _error_lines(completed) == [  # 1 of 4 is more than the default 1 %
        "error: DATASET.MAX_UNREADABLE_FRACTION 0.01: 1 of the 4 training images of this process could not be "
        f"read (more than 0.04); the last: {images[0]}: not a readable image (corrupt or unsupported format)"]


@pytest.mark.slow
def test_an_unreadable_training_image_within_the_allowed_fraction_is_skipped_with_one_warning(repo, shared,
                                                                                            tmp_path):
    root = tmp_path / "coco"
    shutil.copytree(shared / "data" / "coco_sample", root)
    images = sorted((root / "images" / "val2017").glob("*.jpg"))
    images[0].write_bytes(b"not a jpeg")
    completed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "2", "DATASET.ROOT", str(root), "WORKERS", "1",
                                               "DATASET.MAX_UNREADABLE_FRACTION", "0.3"])
    assert completed.returncode == 0, completed.stderr[-3000:]
    warnings = [line for line in completed.stdout.splitlines() if "skipping an unreadable training image" in line]
    assert len(warnings) == 1 and str(images[0]) in warnings[0], completed.stdout[-3000:]  # once in two epochs
    assert "epoch 1 done" in completed.stdout
    checkpoint = torch.load(output_dir(tmp_path) / ckpt.CHECKPOINT_NAME, map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 2 and _all_finite(checkpoint["state_dict"])


@pytest.mark.slow
@pytest.mark.parametrize("case", ["missing_root", "empty_split", "log_dir_file"])
def test_dist_train_reports_bad_input_in_one_line(repo, shared, tmp_path, case):
    if case == "missing_root":
        opts, expected = ["DATASET.ROOT", str(tmp_path / "nowhere")], f"error: {tmp_path / 'nowhere'}/annotations/"
    elif case == "empty_split":
        annotation_file = _empty_coco_root(tmp_path / "coco", shared)
        opts = ["DATASET.ROOT", str(tmp_path / "coco")]
        expected = f"error: 0 images with people in {annotation_file} (split val2017)"
    else:
        (tmp_path / "logs").write_text("a file")
        opts, expected = ["LOG_DIR", "logs"], "error: LOG_DIR: cannot create the folder logs/"
    completed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "1", *opts])
    assert completed.returncode == 1 and "Traceback" not in completed.stderr, completed.stderr[-3000:]
    [error] = _error_lines(completed)
    assert error.startswith(expected), error


NAN_ON_RANK_1_FROM_EPOCH_1 = """
    import os
    from higherhrnet.engine import training
    _total, _calls = training.total_loss, [0]
    def poisoned_total_loss(*args):
        loss, components = _total(*args)
        _calls[0] += 1
        if os.environ["RANK"] == "1" and _calls[0] > 1:  # one step per epoch and rank: epoch 1 on rank 1
            loss = loss * float("nan")
        return loss, components
    training.total_loss = poisoned_total_loss
"""


@pytest.mark.slow
def test_under_torchrun_every_rank_stops_on_one_ranks_nan(repo, shared, tmp_path):
    launcher = ["-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=0", "--rdzv-backend=c10d",
                "--rdzv-endpoint=localhost:0"]
    completed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "3"], prelude=NAN_ON_RANK_1_FROM_EPOCH_1,
                      launcher=launcher, timeout=300)
    assert completed.returncode != 0
    errors = [line for line in completed.stderr.splitlines() if "error: " in line]
    assert any("non-finite loss nan at epoch 1, iteration 0 (global step 1)" in line for line in errors), errors
    assert any("another rank stopped on a non-finite loss" in line for line in errors), errors
    checkpoint = torch.load(output_dir(tmp_path) / "checkpoint.pth.tar", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 1 and _all_finite(checkpoint["state_dict"])


@pytest.mark.slow
def test_resuming_with_another_lr_warns_which_value_is_used(repo, shared, tmp_path):
    assert train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "1"]).returncode == 0
    resumed = train(repo, shared, tmp_path, ["TRAIN.END_EPOCH", "2", "TRAIN.LR", "0.005"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert ("TRAIN.LR is 0.005 in the config but 0.001 in the checkpoint: the resumed run keeps the checkpoint's "
            "value 0.001") in resumed.stdout
    checkpoint = torch.load(output_dir(tmp_path) / "checkpoint.pth.tar", map_location="cpu", weights_only=True)
    assert checkpoint["optimizer"]["param_groups"][0]["lr"] == 0.001
    assert (output_dir(tmp_path) / "checkpoint.pth.tar").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
