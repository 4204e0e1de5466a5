"""check_config: the official length checks plus the added stage, EXTRA, B23 and option checks."""
from types import SimpleNamespace

import pytest

from higherhrnet.config import ConfigError, check_config, get_cfg, update_config

W32 = 'experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml'


def _cfg(repo, opts=()):
    cfg = get_cfg()
    update_config(cfg, SimpleNamespace(cfg=str(repo / W32), opts=list(opts)))
    return cfg


def test_official_yaml_passes(repo):
    assert check_config(_cfg(repo)) is None


def test_library_defaults_alone_are_not_a_consistent_model():
    # Official defaults: one loss stage but three OUTPUT_SIZE entries (and MODEL.NAME names no model).
    with pytest.raises(ConfigError, match='OUTPUT_SIZE'):
        check_config(get_cfg())


# (overrides, words the one-line message must contain)
FAILURES = [
    (['LOSS.WITH_AE_LOSS', '[True]'], ['LOSS.WITH_AE_LOSS', '1 entries', 'NUM_STAGES is 2']),
    (['LOSS.HEATMAPS_LOSS_FACTOR', '[1.0, 1.0, 1.0]'], ['LOSS.HEATMAPS_LOSS_FACTOR', '3 entries']),
    (['TEST.WITH_HEATMAPS', '(True,)'], ['TEST.WITH_HEATMAPS']),
    (['DATASET.OUTPUT_SIZE', '[128, 256, 512]'], ['DATASET.OUTPUT_SIZE', '3 entries']),
    (['MODEL.EXTRA.DECONV.NUM_DECONVS', '2'], ['NUM_DECONVS is 2', 'NUM_DECONVS + 1']),
    (['MODEL.EXTRA.STAGE3.NUM_CHANNELS', '[32, 64]'], ['MODEL.EXTRA.STAGE3.NUM_CHANNELS', 'NUM_BRANCHES is 3']),
    (['MODEL.EXTRA.STAGE2.BLOCK', 'FANCY'], ['MODEL.EXTRA.STAGE2.BLOCK', 'BASIC', 'BOTTLENECK']),
    (['MODEL.EXTRA.DECONV.KERNEL_SIZE', '[5]'], ['KERNEL_SIZE', '5']),
    # B23: branch 0 of stage 3 changes width -> the official transition would read the wrong branch
    (['MODEL.EXTRA.STAGE3.NUM_CHANNELS', '[48, 64, 128]'], ['STAGE3 branch 0', 'B23']),
    (['MODEL.EXTRA.STAGE4.NUM_CHANNELS', '[32, 96, 128, 256]'], ['STAGE4 branch 1', 'B23']),
    (['TEST.MATCHER', 'hungarian'], ['TEST.MATCHER', 'munkres', 'scipy']),
    (['DEVICE', 'gpu0'], ['DEVICE', "'gpu0'"]),
    (['TEST.POSE_NMS_OKS', '1.5'], ['TEST.POSE_NMS_OKS']),
    (['TEST.MIN_PERSON_SCORE', '-0.1'], ['TEST.MIN_PERSON_SCORE']),
    (['TEST.SCALE_FACTOR', '[0.5, 2.0]'], ['TEST.SCALE_FACTOR', '1.0']),
]


@pytest.mark.parametrize('opts,words', FAILURES, ids=[o[0] for o, _ in FAILURES])
def test_check_config_failures(repo, opts, words):
    cfg = _cfg(repo, opts)
    with pytest.raises(ConfigError) as info:
        check_config(cfg)
    message = str(info.value)
    assert '\n' not in message
    for word in words:
        assert word in message, (word, message)


def test_changing_only_the_last_branch_width_is_allowed(repo):
    # The last existing branch is the one the official transition reads, so this config is built correctly.
    cfg = _cfg(repo, ['MODEL.EXTRA.STAGE3.NUM_CHANNELS', '[32, 96, 128]',
                      'MODEL.EXTRA.STAGE4.NUM_CHANNELS', '[32, 96, 128, 256]'])
    assert check_config(cfg) is None
    # ... but stage 4 must then keep 96 on branch 1 (not the last existing branch of stage 3)
    with pytest.raises(ConfigError, match='STAGE4 branch 1'):
        check_config(_cfg(repo, ['MODEL.EXTRA.STAGE3.NUM_CHANNELS', '[32, 96, 128]']))


def test_consistent_three_stage_config_passes(repo, three_stage_opts):
    opts = three_stage_opts([128, 256, 512], [32, 32], [4, 4], [True, False, False])
    assert check_config(_cfg(repo, opts)) is None
