"""update_config: merge order, post-processing (algorithm.md §1.4), idempotence, list coercion, one-line errors."""
import logging
import os
from types import SimpleNamespace

import pytest
from yacs.config import CfgNode

from higherhrnet.config import ConfigError, get_cfg, load_config, merge_opts, merge_yaml_file, update_config

W32 = 'experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml'


@pytest.fixture
def w32_yaml(repo):
    return str(repo / W32)


def _update(cfg_file, opts=()):
    cfg = get_cfg()
    update_config(cfg, SimpleNamespace(cfg=cfg_file, opts=list(opts)))
    return cfg


def _write(tmp_path, text, name='cfg.yaml'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# ------------------------------------------------------------------------------------------------------------
# Semantics
# ------------------------------------------------------------------------------------------------------------
def test_yaml_then_opts_override_and_freeze(w32_yaml):
    cfg = _update(w32_yaml, ['TEST.FLIP_TEST', 'False', 'TEST.SCALE_FACTOR', '[0.5, 1.0, 2.0]'])
    assert cfg.is_frozen()
    assert cfg.TEST.FLIP_TEST is False  # YAML says True, the command line wins
    assert cfg.TEST.SCALE_FACTOR == [0.5, 1.0, 2.0]
    assert cfg.TEST.NMS_KERNEL == 5 and cfg.DATASET.MAX_SCALE == 1.5  # YAML values over the defaults
    assert cfg.GPUS == (0,) and cfg.TEST.WITH_AE == [True, False]


def test_data_dir_joins(tmp_path, w32_yaml):
    data_dir = str(tmp_path / 'data_root')
    cfg = _update(w32_yaml, ['DATA_DIR', data_dir, 'TEST.MODEL_FILE', 'weights/x.pth'])
    assert cfg.DATASET.ROOT == os.path.join(data_dir, 'data/coco')  # does not exist -> joined
    assert cfg.MODEL.PRETRAINED == os.path.join(data_dir, 'models/pytorch/imagenet/hrnet_w32-36af842e.pth')
    assert cfg.TEST.MODEL_FILE == os.path.join(data_dir, 'weights/x.pth')

    existing = tmp_path / 'existing_root'
    existing.mkdir()
    cfg = _update(w32_yaml, ['DATA_DIR', data_dir, 'DATASET.ROOT', str(existing)])
    assert cfg.DATASET.ROOT == str(existing)  # exists as given -> kept
    assert cfg.TEST.MODEL_FILE == ''  # empty stays empty


def test_empty_data_dir_keeps_paths(w32_yaml):
    cfg = _update(w32_yaml)
    assert cfg.DATASET.ROOT == 'data/coco'
    assert cfg.MODEL.PRETRAINED == 'models/pytorch/imagenet/hrnet_w32-36af842e.pth'
    assert _update(w32_yaml, ['MODEL.PRETRAINED', '']).MODEL.PRETRAINED == ''


def test_with_center_adds_a_joint(w32_yaml):
    cfg = _update(w32_yaml, ['DATASET.WITH_CENTER', 'True'])
    assert cfg.DATASET.NUM_JOINTS == 18 and cfg.MODEL.NUM_JOINTS == 18


def test_update_config_is_idempotent(tmp_path, w32_yaml):
    args = SimpleNamespace(cfg=w32_yaml, opts=['DATA_DIR', 'relative_dir', 'DATASET.WITH_CENTER', 'True',
                                              'TEST.MODEL_FILE', 'w.pth'])
    cfg = get_cfg()
    update_config(cfg, args)
    once = cfg.dump()
    update_config(cfg, args)
    assert cfg.dump() == once
    assert cfg.DATASET.NUM_JOINTS == 18 and cfg.MODEL.NUM_JOINTS == 18
    assert cfg.MODEL.PRETRAINED == os.path.join('relative_dir', 'models/pytorch/imagenet/hrnet_w32-36af842e.pth')
    assert cfg.TEST.MODEL_FILE == os.path.join('relative_dir', 'w.pth')


def test_idempotent_for_keys_not_in_the_yaml(tmp_path):
    # NUM_JOINTS and PRETRAINED come from the defaults only: the official update_config would add 1 / join twice.
    path = _write(tmp_path, 'DATA_DIR: base\nDATASET:\n  WITH_CENTER: True\n')
    cfg = get_cfg()
    for _ in range(3):
        update_config(cfg, SimpleNamespace(cfg=path, opts=[]))
    assert cfg.DATASET.NUM_JOINTS == 18 and cfg.MODEL.NUM_JOINTS == 18
    assert cfg.MODEL.PRETRAINED == os.path.join('base', '')


def test_second_call_with_other_options_starts_from_raw_values(w32_yaml):
    cfg = get_cfg()
    update_config(cfg, SimpleNamespace(cfg=w32_yaml, opts=['DATASET.WITH_CENTER', 'True', 'DATA_DIR', 'a']))
    update_config(cfg, SimpleNamespace(cfg='', opts=['DATASET.WITH_CENTER', 'False', 'DATA_DIR', 'b']))
    assert cfg.DATASET.NUM_JOINTS == 17 and cfg.MODEL.NUM_JOINTS == 17
    assert cfg.MODEL.PRETRAINED == os.path.join('b', 'models/pytorch/imagenet/hrnet_w32-36af842e.pth')


def test_per_stage_keys_become_lists_and_scalars_are_wrapped(w32_yaml):
    cfg = _update(w32_yaml)
    for key in ('WITH_HEATMAPS_LOSS', 'HEATMAPS_LOSS_FACTOR', 'WITH_AE_LOSS', 'PUSH_LOSS_FACTOR', 'PULL_LOSS_FACTOR'):
        assert isinstance(cfg.LOSS[key], list) and len(cfg.LOSS[key]) == 2
    cfg = _update('', ['DATASET.OUTPUT_SIZE', '256', 'LOSS.WITH_AE_LOSS', 'False', 'TEST.WITH_AE', '(False,)'])
    assert cfg.DATASET.OUTPUT_SIZE == [256]
    assert cfg.LOSS.WITH_AE_LOSS == [False]
    assert cfg.TEST.WITH_AE == [False]


def test_extra_unknown_yaml_key_is_accepted_with_a_warning(tmp_path, caplog):
    path = _write(tmp_path, 'MODEL:\n  EXTRA:\n    MY_OPTION: 3\n    STAGE2:\n      NEW_SUB: [1, 2]\n')
    with caplog.at_level(logging.WARNING):
        cfg = _update(path)
    assert cfg.MODEL.EXTRA.MY_OPTION == 3 and cfg.MODEL.EXTRA.STAGE2.NEW_SUB == [1, 2]
    assert 'MODEL.EXTRA.MY_OPTION' in caplog.text and 'MODEL.EXTRA.STAGE2.NEW_SUB' in caplog.text


@pytest.mark.parametrize('name', ['tiny', 'coco/higher_hrnet/w32_512_adam_lr1e-3',
                                  'coco/higher_hrnet/w48_640_adam_lr1e-3',
                                  'crowd_pose/higher_hrnet/w32_512_adam_lr1e-3_coco'])
def test_merge_equals_yacs_merge(repo, shared, name):
    path = str(shared / 'tiny/tiny_coco.yaml') if name == 'tiny' else str(repo / 'experiments' / f'{name}.yaml')
    opts = ['TRAIN.LR', '0.01', 'GPUS', '(0, 1)', 'TEST.SCALE_FACTOR', '[0.5, 1.0]', 'DATASET.SCALE_TYPE', 'long',
            'MODEL.EXTRA.DECONV.CAT_OUTPUT', '[False]', 'LOSS.WITH_AE_LOSS', '[True, True]']
    ours, theirs = get_cfg(), get_cfg()
    merge_yaml_file(ours, path)
    merge_opts(ours, opts)
    theirs.merge_from_file(path)
    theirs.merge_from_list(opts)
    assert ours == theirs
    assert ours.dump() == theirs.dump()


# ------------------------------------------------------------------------------------------------------------
# Errors: one line, naming the source, the key and (for values) the expected type
# ------------------------------------------------------------------------------------------------------------
def _error(cfg_file, opts=()):
    with pytest.raises(ConfigError) as info:
        _update(cfg_file, opts)
    message = str(info.value)
    assert '\n' not in message and len(message) < 300
    return message


def test_unknown_key_on_the_command_line():
    message = _error('', ['TRAIN.LRR', '0.1'])
    assert message.startswith('command line:') and 'TRAIN.LRR' in message and 'did you mean TRAIN.LR?' in message
    assert 'MODEL.EXTRA.NEW_KEY' in _error('', ['MODEL.EXTRA.NEW_KEY', '1'])  # no new keys from the command line
    assert 'NOSECTION.X' in _error('', ['NOSECTION.X', '1'])


def test_unknown_key_in_yaml(tmp_path):
    path = _write(tmp_path, 'TRAIN:\n  LR: 0.01\n  END_EPOC: 10\n')
    message = _error(path)
    assert message.startswith(path) and 'unknown config key TRAIN.END_EPOC;' in message
    assert 'did you mean TRAIN.END_EPOCH?' in message


def test_int_for_a_float_key_is_rejected():
    message = _error('', ['TRAIN.LR', '1'])
    assert message.startswith('command line:') and 'TRAIN.LR' in message
    assert 'expects float' in message and 'got int 1' in message and 'write 1.0' in message


def test_wrong_type_in_yaml(tmp_path):
    path = _write(tmp_path, 'TEST:\n  FLIP_TEST: sometimes\n')
    message = _error(path)
    assert message.startswith(path) and 'TEST.FLIP_TEST expects bool' in message and "'sometimes'" in message
    path = _write(tmp_path, 'DATASET:\n  OUTPUT_SIZE: {A: 1}\n', 'mapping.yaml')
    assert 'DATASET.OUTPUT_SIZE expects list' in _error(path)


def test_scalar_for_a_section_is_rejected(tmp_path):
    message = _error('', ['MODEL.EXTRA', '3'])
    assert 'MODEL.EXTRA is a section' in message and 'command line' in message
    path = _write(tmp_path, 'MODEL: pose_higher_hrnet\n')
    assert 'MODEL is a section' in _error(path)


def test_missing_yaml(tmp_path):
    path = str(tmp_path / 'nope.yaml')
    assert _error(path) == f'{path}: config file not found'


def test_malformed_yaml(tmp_path):
    path = _write(tmp_path, 'TRAIN:\n  LR: [0.1\n  WD: 0\n')
    message = _error(path)
    assert message.startswith(path) and 'malformed YAML' in message and 'line' in message


def test_yaml_top_level_must_be_a_mapping(tmp_path):
    path = _write(tmp_path, '- TRAIN.LR\n- 0.1\n')
    assert 'must be a mapping' in _error(path)


def test_odd_number_of_opts():
    message = _error('', ['TEST.FLIP_TEST', 'False', 'TEST.ADJUST'])
    assert message.startswith('command line:') and 'KEY VALUE pairs' in message and "'TEST.ADJUST'" in message


def test_load_config_checks(w32_yaml):
    cfg = load_config(w32_yaml, ['TEST.FLIP_TEST', 'False'])
    assert cfg.is_frozen() and cfg.TEST.FLIP_TEST is False
    with pytest.raises(ConfigError, match='LOSS.NUM_STAGES'):
        load_config(w32_yaml, ['LOSS.NUM_STAGES', '3'])


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)
    assert isinstance(get_cfg(), CfgNode)
