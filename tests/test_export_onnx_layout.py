"""ONNX export of a model with its own keypoint layout (the 10-joint example): both graphs run in onnxruntime
with 10 joint channels, the layout travels in the model's metadata, and the onnx Predictor uses and checks it."""
import json

import numpy as np
import onnx
import pytest
import torch

from higherhrnet.config import load_config
from higherhrnet.engine.inference import InferenceSettings
from higherhrnet.export import LAYOUT_KEY, NetworkWithPostprocess, OnnxNetwork, export_onnx
from higherhrnet.export.layout_metadata import (OnnxLayoutMismatch, combine_layouts, layout_from_json,
                                                layout_to_json)
from higherhrnet.keypoints import KEYPOINTS_KEYS, layout_from_config, official_layout
from higherhrnet.models import build_model
from higherhrnet.predictor import Predictor

pytestmark = pytest.mark.slow  # each export takes seconds

CONFIG = "experiments/synthetic/higher_hrnet/w16_192_ten_joints.yaml"


@pytest.fixture(scope="module")
def ten_joints(repo, tmp_path_factory):
    cfg = load_config(str(repo / CONFIG))
    torch.manual_seed(0)
    network = build_model(cfg, is_train=False).eval()  # randomly initialised: only shapes and layout matter
    layout = layout_from_config(cfg)
    folder = tmp_path_factory.mktemp("onnx_ten")
    raw = export_onnx(network, folder / "ten.onnx", example_size_hw=(192, 192), layout=layout)
    settings = InferenceSettings.from_config(cfg, torch.device("cpu"), layout=layout)
    post = export_onnx(NetworkWithPostprocess.from_settings(network, settings), folder / "ten_post.onnx",
                       example_size_hw=(192, 192), layout=layout)
    return {"cfg_file": repo / CONFIG, "cfg": cfg, "layout": layout, "raw": raw, "post": post, "network": network}


def test_both_exports_run_in_onnxruntime_with_ten_joint_channels(ten_joints):
    images = torch.randn(2, 3, 192, 256, generator=torch.Generator().manual_seed(0))
    stage0, stage1 = OnnxNetwork(ten_joints["raw"])(images)
    assert tuple(stage0.shape) == (2, 20, 48, 64) and tuple(stage1.shape) == (2, 10, 96, 128)  # 10 maps + 10 tags
    with torch.no_grad():
        expected = ten_joints["network"](images)
    assert float((stage1 - expected[1]).abs().max()) < 1e-4
    heatmaps, tags, heatmaps_nms = OnnxNetwork(ten_joints["post"], raw_network_only=False)(images)
    assert tuple(heatmaps.shape) == (2, 10, 96, 128) and tuple(heatmaps_nms.shape) == (2, 10, 96, 128)
    assert tuple(tags.shape) == (2, 10, 96, 128, 1)


@pytest.mark.parametrize("kind", ["raw", "post"])
def test_the_layout_round_trips_through_the_model_metadata(ten_joints, kind):
    layout = ten_joints["layout"]
    props = {entry.key: entry.value for entry in onnx.load(ten_joints[kind]).metadata_props}
    stored = json.loads(props[LAYOUT_KEY])
    assert stored["names"] == ["l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_hip",
                               "r_hip", "l_ankle", "r_ankle"]
    assert stored["flip_pairs"] == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert stored["flip_index"] == [1, 0, 3, 2, 5, 4, 7, 6, 9, 8]
    assert stored["skeleton"][:2] == [[0, 1], [0, 2]] and stored["oks_sigmas"][0] == 0.079
    assert stored["with_center"] is False and stored["num_joints"] == 10 and stored["official"] is None
    assert OnnxNetwork(ten_joints[kind], raw_network_only=False).layout == layout


def test_official_layouts_round_trip_through_json():
    for layout in (official_layout("coco"), official_layout("crowd_pose", with_center=True)):
        assert layout_from_json(layout_to_json(layout)) == layout


def test_a_model_without_metadata_has_no_layout(ten_joints, tmp_path):
    bare = export_onnx(ten_joints["network"], tmp_path / "bare.onnx", example_size_hw=(192, 192))
    assert LAYOUT_KEY not in {entry.key for entry in onnx.load(bare).metadata_props}
    assert OnnxNetwork(bare).layout is None


def test_predictor_takes_the_models_tables_where_the_config_has_none(ten_joints):
    layout = ten_joints["layout"]
    # the names are left out of the config: the model's metadata gives them
    predictor = Predictor(ten_joints["cfg_file"], ten_joints["raw"], backend="onnx", device="cpu",
                          opts=["DATASET.KEYPOINTS.NAMES", "[]"])
    assert predictor.joint_names == layout.names and predictor.layout == layout
    image = np.random.default_rng(0).integers(0, 256, (192, 160, 3), dtype=np.uint8)
    prediction = predictor.predict(image)
    assert prediction.joint_names == layout.names and prediction.num_joints == 10
    assert all(person.keypoints.shape == (10, 3) for person in prediction)


def test_predictor_refuses_a_config_that_disagrees_with_the_model(ten_joints):
    with pytest.raises(OnnxLayoutMismatch) as raised:
        Predictor(ten_joints["cfg_file"], ten_joints["raw"], backend="onnx", device="cpu",
                  opts=["DATASET.KEYPOINTS.FLIP_PAIRS", "[[0, 1], [2, 3], [4, 5], [6, 7], [8, 8], [9, 9]]"])
    message = str(raised.value)
    assert "\n" not in message and "DATASET.KEYPOINTS.FLIP_PAIRS" in message and "ten.onnx" in message
    assert "[1, 0, 3, 2, 5, 4, 7, 6, 8, 9]" in message and "[1, 0, 3, 2, 5, 4, 7, 6, 9, 8]" in message


def test_combine_layouts_checks_the_joint_count():
    coco, crowd = official_layout("coco"), official_layout("crowd_pose")
    with pytest.raises(OnnxLayoutMismatch, match="has 14 joints .* the config 17"):
        combine_layouts(coco, [], crowd, "model.onnx")
    assert combine_layouts(coco, list(KEYPOINTS_KEYS), coco, "model.onnx") is coco
