"""Defaults: the algorithm.md §1.2/1.3 values, one comment per key, independent copies."""
import ast
import re
from pathlib import Path

import pytest
from yacs.config import CfgNode

import higherhrnet.config.defaults as defaults_module
from higherhrnet.config import ADDED_KEYS, get_cfg

# (key, default) pairs taken from the algorithm.md §1.2 table (official library defaults, not YAML values).
OFFICIAL_DEFAULTS = [
    ('OUTPUT_DIR', ''), ('DATA_DIR', ''), ('GPUS', (0,)), ('WORKERS', 4), ('PRINT_FREQ', 20),
    ('AUTO_RESUME', False), ('PIN_MEMORY', True), ('DIST_BACKEND', 'nccl'),
    ('FP16.ENABLED', False), ('FP16.STATIC_LOSS_SCALE', 1.0), ('FP16.DYNAMIC_LOSS_SCALE', False),
    ('CUDNN.BENCHMARK', True), ('MODEL.NAME', 'pose_multi_resolution_net_v16'), ('MODEL.NUM_JOINTS', 17),
    ('MODEL.TAG_PER_JOINT', True), ('MODEL.SYNC_BN', False),
    ('LOSS.NUM_STAGES', 1), ('LOSS.WITH_HEATMAPS_LOSS', (True,)), ('LOSS.HEATMAPS_LOSS_FACTOR', (1.0,)),
    ('LOSS.WITH_AE_LOSS', (True,)), ('LOSS.AE_LOSS_TYPE', 'max'), ('LOSS.PUSH_LOSS_FACTOR', (0.001,)),
    ('DATASET.DATASET', 'coco_kpt'), ('DATASET.DATASET_TEST', 'coco'), ('DATASET.MAX_NUM_PEOPLE', 30),
    ('DATASET.MAX_SCALE', 1.25), ('DATASET.INPUT_SIZE', 512), ('DATASET.OUTPUT_SIZE', [128, 256, 512]),
    ('DATASET.SIGMA', -1), ('DATASET.BASE_SIZE', 256.0), ('DATASET.WITH_CENTER', False),
    ('TRAIN.LR_STEP', [90, 110]), ('TRAIN.LR', 0.001), ('TRAIN.WD', 0.0001), ('TRAIN.END_EPOCH', 140),
    ('TRAIN.IMAGES_PER_GPU', 32), ('TRAIN.GAMMA1', 0.99),
    ('TEST.FLIP_TEST', False), ('TEST.ADJUST', True), ('TEST.SCALE_FACTOR', [1]),
    ('TEST.DETECTION_THRESHOLD', 0.2), ('TEST.TAG_THRESHOLD', 1.0), ('TEST.NMS_KERNEL', 3),
    ('TEST.NMS_PADDING', 1), ('TEST.PROJECT2IMAGE', False), ('TEST.WITH_HEATMAPS', (True,)),
    ('TEST.WITH_AE', (True,)), ('DEBUG.DEBUG', True), ('DEBUG.SAVE_HEATMAPS_GT', True),
    # MODEL.EXTRA schema: the w32 YAML values (algorithm.md §1.3)
    ('MODEL.EXTRA.PRETRAINED_LAYERS', ['*']), ('MODEL.EXTRA.FINAL_CONV_KERNEL', 1),
    ('MODEL.EXTRA.STAGE3.NUM_MODULES', 4), ('MODEL.EXTRA.STAGE4.NUM_CHANNELS', [32, 64, 128, 256]),
    ('MODEL.EXTRA.DECONV.NUM_DECONVS', 1), ('MODEL.EXTRA.DECONV.KERNEL_SIZE', [4]),
    ('MODEL.EXTRA.DECONV.CAT_OUTPUT', [True]), ('MODEL.EXTRA.DECONV.NUM_BASIC_BLOCKS', 4),
]
# Keys added by this project, with defaults that keep the official behaviour.
ADDED_DEFAULTS = [
    ('DEVICE', ''), ('TRAIN.SEED', -1), ('TRAIN.ADAM_USE_WD', False), ('TRAIN.LEGACY_NO_SET_EPOCH', False),
    ('TRAIN.VAL_FREQ', 0),
    ('MODEL.EXTRA.STAGE1.BLOCK', 'BOTTLENECK'), ('MODEL.EXTRA.STAGE1.NUM_BLOCKS', [4]),
    ('MODEL.EXTRA.STAGE1.NUM_CHANNELS', [64]),
    ('TEST.MATCHER', 'munkres'), ('TEST.FAST_DECODER', True), ('TEST.AMP', False), ('TEST.COMPILE', False), ('TEST.BATCH_FLIP', False),
    ('TEST.WORKERS', 0),
    ('TEST.POSE_NMS', False), ('TEST.POSE_NMS_OKS', 0.9), ('TEST.MIN_PERSON_SCORE', 0.0),
    ('DATASET.EXACT_FLIP', False),
    ('DATASET.MAX_UNREADABLE_FRACTION', 0.01),
    ('DATASET.KEYPOINTS.NAMES', []), ('DATASET.KEYPOINTS.FLIP_PAIRS', []), ('DATASET.KEYPOINTS.SKELETON', []),
    ('DATASET.KEYPOINTS.OKS_SIGMAS', []), ('DATASET.KEYPOINTS.JOINT_ORDER', []),
]


def _get(cfg, key):
    for part in key.split('.'):
        cfg = cfg[part]
    return cfg


def _leaf_keys(node, prefix=''):
    for key, value in node.items():
        if isinstance(value, CfgNode):
            yield from _leaf_keys(value, prefix + key + '.')
        else:
            yield prefix + key


@pytest.mark.parametrize('key,expected', OFFICIAL_DEFAULTS + ADDED_DEFAULTS)
def test_default_value_and_type(key, expected):
    value = _get(get_cfg(), key)
    assert value == expected and type(value) is type(expected)


def test_added_keys_are_listed_and_marked():
    assert sorted(ADDED_KEYS) == sorted(k for k, _ in ADDED_DEFAULTS)
    source = Path(defaults_module.__file__).read_text()
    for key in ADDED_KEYS:
        line = next(l for l in source.splitlines() if l.startswith(f'_C.{key} ='))
        assert '[added]' in line, line


def test_every_key_is_assigned_once_with_a_comment():
    source = Path(defaults_module.__file__).read_text()
    assigned = {}
    for line in source.splitlines():
        match = re.match(r'^_C\.([A-Z0-9_.]+) = (.*)$', line)
        if match and 'CN(' not in match.group(2):
            key = match.group(1)
            assert key not in assigned, f'{key} assigned twice'
            code, _, comment = match.group(2).partition('  # ')
            ast.literal_eval(code.strip())  # the value part is a plain literal
            assert len(comment.strip()) > 10, f'{key} lacks a useful comment'
            assigned[key] = comment
    assert set(_leaf_keys(get_cfg())) == set(assigned)


def test_get_cfg_returns_independent_unfrozen_copies():
    first, second = get_cfg(), get_cfg()
    assert not first.is_frozen()
    first.TRAIN.LR = 0.5
    first.TRAIN.LR_STEP.append(999)
    first.MODEL.EXTRA.STAGE2.NUM_CHANNELS[0] = 7
    assert second.TRAIN.LR == 0.001 and second.TRAIN.LR_STEP == [90, 110]
    assert get_cfg().MODEL.EXTRA.STAGE2.NUM_CHANNELS == [32, 64]


def test_extra_accepts_new_keys_but_other_sections_do_not():
    cfg = get_cfg()
    assert cfg.MODEL.EXTRA.is_new_allowed() and cfg.MODEL.EXTRA.DECONV.is_new_allowed()
    assert not cfg.is_new_allowed() and not cfg.TRAIN.is_new_allowed() and not cfg.MODEL.is_new_allowed()
