"""Predictor with a custom keypoint layout: joint names, joint count and skeleton come from DATASET.KEYPOINTS."""
import numpy as np
import pytest

from higherhrnet import Predictor
from higherhrnet.config import load_config
from higherhrnet.models import build_model

EXPERIMENT = "experiments/synthetic/higher_hrnet/w16_192_ten_joints.yaml"


@pytest.mark.slow  # the whole pipeline on a picture (end to end)
def test_predictor_reports_the_layout_names_and_draws_its_skeleton():
    cfg = load_config(EXPERIMENT, ["DATASET.INPUT_SIZE", "128", "DATASET.OUTPUT_SIZE", "[32, 64]",
                                   "TEST.DETECTION_THRESHOLD", "-1.0"])
    predictor = Predictor(cfg, model=build_model(cfg, is_train=False), device="cpu")
    assert predictor.settings.flip_index == (1, 0, 3, 2, 5, 4, 7, 6, 9, 8)
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    prediction = predictor.predict(image)
    assert prediction.joint_names == tuple(cfg.DATASET.KEYPOINTS.NAMES)
    assert len(prediction) > 0 and prediction.keypoints.shape[1:] == (10, 3)
    assert all(len(record["keypoints"]) == 30 for record in prediction.records())
    assert predictor.layout.skeleton[0] == (0, 1)
    drawn = predictor.draw(image, prediction)
    assert drawn.shape == image.shape and not np.array_equal(drawn, image[:, :, ::-1])
