"""Only UserErrors are reported as one line; a plain ValueError (a bug) keeps its traceback.

The input checks that used to raise plain ValueError raise UserError subclasses that are still ValueErrors,
so `except ValueError` callers keep working.
"""
import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

from higherhrnet.config import ConfigError as ConfigErrorOfTheConfigPackage
from higherhrnet.errors import REPORTED_ERRORS, ConfigError, UsageError, UserError


def _tool(repo, name):
    spec = importlib.util.spec_from_file_location(f"{name}_tool", repo / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reported_errors_are_the_user_errors_only():
    assert REPORTED_ERRORS == (UserError,)
    assert ConfigErrorOfTheConfigPackage is ConfigError
    assert issubclass(ConfigError, ValueError) and issubclass(UsageError, ValueError)
    assert not isinstance(ValueError("a bug"), REPORTED_ERRORS)
    assert not isinstance(FileNotFoundError("a bug"), REPORTED_ERRORS)


def _optimizer(value):
    import torch

    from higherhrnet.engine.training import build_optimizer
    return build_optimizer(SimpleNamespace(TRAIN=SimpleNamespace(OPTIMIZER=value)), torch.nn.Linear(1, 1))


def _scale_type(value):
    from higherhrnet.data.transforms import base_scale
    return base_scale(10, 20, value)


def _data_format(value):
    from higherhrnet.data.sources import image_path
    return image_path("coco", "root", "val2017", "a.jpg", value)


def _ae_loss(value):
    from higherhrnet.losses import AELoss
    return AELoss(value)


def _matcher(value):
    from higherhrnet.codec.matching import assign
    return assign(np.zeros((2, 2)), value)


@pytest.mark.parametrize("make, value, key", [
    (_optimizer, "rmsprop", "TRAIN.OPTIMIZER"),
    (_scale_type, "odd", "DATASET.SCALE_TYPE"),
    (_data_format, "png", "DATASET.DATA_FORMAT"),
    (_ae_loss, "sum", "LOSS.AE_LOSS_TYPE"),
    (_matcher, "greedy", "TEST.MATCHER"),
])
def test_bad_config_values_are_config_errors_naming_the_key(make, value, key):
    with pytest.raises(ConfigError) as raised:
        make(value)
    assert isinstance(raised.value, ValueError) and key in str(raised.value) and repr(value) in str(raised.value)


def test_a_bug_like_value_error_inside_run_training_keeps_its_traceback(repo, shared, tmp_path, monkeypatch):
    from higherhrnet.engine import training

    def buggy_optimizer(cfg, model):
        raise ValueError("a bug, not bad input")

    monkeypatch.setattr(training, "build_optimizer", buggy_optimizer)
    monkeypatch.chdir(tmp_path)
    argv = ["--cfg", str(shared / "tiny" / "tiny_coco.yaml"), "--no-progress", "DATASET.ROOT",
            str(shared / "data" / "coco_sample"), "WORKERS", "0", "TRAIN.END_EPOCH", "1"]
    with pytest.raises(ValueError, match="^a bug, not bad input$"):  # not SystemExit('error: ...')
        _tool(repo, "dist_train").main(argv)


def test_a_config_error_met_inside_run_training_is_one_line(repo, shared, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["--cfg", str(shared / "tiny" / "tiny_coco.yaml"), "--no-progress", "DATASET.ROOT",
            str(shared / "data" / "coco_sample"), "WORKERS", "0", "TRAIN.END_EPOCH", "1", "TRAIN.OPTIMIZER", "rmsprop"]
    with pytest.raises(SystemExit) as raised:
        _tool(repo, "dist_train").main(argv)
    assert str(raised.value) == "error: TRAIN.OPTIMIZER 'rmsprop' is not supported; expected 'adam' or 'sgd'"


def test_valid_py_reports_a_bad_data_format_in_one_line(repo, shared, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["--cfg", str(shared / "tiny" / "tiny_coco.yaml"), "--no-progress", "DATASET.ROOT",
            str(shared / "data" / "coco_sample"), "TEST.MODEL_FILE", str(shared / "tiny" / "tiny_coco.pth"),
            "DATASET.DATA_FORMAT", "png"]
    with pytest.raises(SystemExit) as raised:
        _tool(repo, "valid").main(argv)
    assert str(raised.value) == "error: DATASET.DATA_FORMAT 'png' is not supported; expected one of ('jpg', 'zip')"
