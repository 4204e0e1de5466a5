"""Configuration: every key with its default, YAML/command-line merging, post-processing and checks (algorithm.md §1).

Typical use (what the tools do)::

    cfg = load_config('experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml', ['TEST.FLIP_TEST', 'False'])

or, in the official style, ``cfg = get_cfg(); update_config(cfg, args); check_config(cfg)`` with an argparse
namespace carrying ``.cfg`` and ``.opts``.
"""
from .checks import check_config
from .defaults import ADDED_KEYS, PER_STAGE_LIST_KEYS, get_cfg
from .errors import ConfigError
from .loading import load_config, merge_opts, merge_yaml_file, update_config

__all__ = ['ADDED_KEYS', 'PER_STAGE_LIST_KEYS', 'ConfigError', 'check_config', 'get_cfg', 'load_config',
           'merge_opts', 'merge_yaml_file', 'update_config']
