"""DecoderParams: the config keys land in the decoder's fields, and the defaults are the official values."""
import dataclasses

import pytest

from higherhrnet.codec import DecoderParams, grouping_joint_order
from higherhrnet.config import load_config
from higherhrnet.keypoints import layout_from_config

COCO = "experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml"


def test_the_official_experiment_gives_the_default_params_with_the_official_joint_order():
    cfg = load_config(COCO)
    params = DecoderParams.from_config(cfg, layout_from_config(cfg))
    assert params == dataclasses.replace(DecoderParams(), joint_order=tuple(grouping_joint_order(17)))


def test_every_decoder_key_of_the_config_reaches_its_field():
    cfg = load_config(COCO, ["DATASET.MAX_NUM_PEOPLE", "7", "TEST.DETECTION_THRESHOLD", "0.2",
                             "TEST.TAG_THRESHOLD", "0.5", "TEST.USE_DETECTION_VAL", "False",
                             "TEST.IGNORE_TOO_MUCH", "True", "TEST.NMS_KERNEL", "3", "TEST.NMS_PADDING", "1",
                             "TEST.ADJUST", "False", "TEST.REFINE", "False", "TEST.MATCHER", "scipy",
                             "TEST.FAST_DECODER", "False"])
    params = DecoderParams.from_config(cfg, layout_from_config(cfg))
    assert params == DecoderParams(max_people=7, detection_threshold=0.2, tag_threshold=0.5, use_detection_val=False,
                                   ignore_too_much=True, nms_kernel=3, nms_padding=1, tag_per_joint=True,
                                   joint_order=tuple(grouping_joint_order(17)), adjust=False, refine=False, matcher="scipy",
                                   fast=False)


def test_params_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DecoderParams().refine = False
