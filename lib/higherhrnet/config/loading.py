"""Merging YAML files and command-line overrides into a config, and the official post-processing
(docs/algorithm.md §1.1, 1.4).

The merge follows yacs' rules exactly (so the official YAMLs and command lines mean the same thing):
string values are literal-evaluated ('(0,)' -> tuple, '[0.5, 1.0]' -> list, 'exp' stays a string); a value
must have the default's type, except that list and tuple convert into each other and None is accepted
anywhere; so an int is rejected for a float key (write 1.0, not 1). It is implemented here rather than by
calling yacs' merge so that every failure is a one-line `ConfigError` naming the file (or 'command line'),
the key and the expected type. Two deliberate extensions:

* per-stage list keys (`defaults.PER_STAGE_LIST_KEYS`) accept a scalar, wrapped into a one-element list
  (the intent of the official update_config, which its yacs type check made unreachable);
* unknown keys under MODEL.EXTRA are accepted from YAML files with a logged warning (the official node was
  `new_allowed`); anywhere else, and on the command line, an unknown key is an error.
"""
import difflib
import logging
import os
from ast import literal_eval
from types import SimpleNamespace

import yaml
from yacs.config import CfgNode

from .checks import check_config
from .defaults import PER_STAGE_LIST_KEYS, get_cfg
from .errors import ConfigError

logger = logging.getLogger(__name__)

COMMAND_LINE = 'command line'
_VALID_TYPES = (tuple, list, str, int, float, bool, type(None))
# Keys rewritten by the post-processing; their pre-processing values are kept to make update_config idempotent.
_ADJUSTED_KEYS = ('DATASET.ROOT', 'MODEL.PRETRAINED', 'TEST.MODEL_FILE', 'DATASET.NUM_JOINTS', 'MODEL.NUM_JOINTS')
_RAW_VALUES_ATTR = '__values_before_postprocessing__'


# ------------------------------------------------------------------------------------------------------------
# Values and types (yacs rules)
# ------------------------------------------------------------------------------------------------------------
def _decode(value):
    """yacs' literal evaluation of string values; anything that is not a Python literal stays a string."""
    if not isinstance(value, str):
        return value
    try:
        return literal_eval(value)
    except Exception:  # ValueError/SyntaxError for plain words; any other failure also means "a string"
        return value


def _type_name(value):
    return 'section' if isinstance(value, CfgNode) else type(value).__name__


def _coerce(value, default, full_key, source):
    """Check `value` against the default's type (yacs rules plus scalar wrapping for per-stage lists)."""
    if isinstance(default, CfgNode):
        example = next(iter(default), 'KEY')
        raise ConfigError(f"{source}: {full_key} is a section; set its sub-keys (e.g. {full_key}.{example}), "
                          f"not a {_type_name(value)} value")
    if isinstance(value, dict):
        raise ConfigError(f"{source}: {full_key} expects {type(default).__name__} (e.g. {default!r}), "
                          "got a mapping of sub-keys")
    if type(value) not in _VALID_TYPES:
        raise ConfigError(f"{source}: {full_key} expects {type(default).__name__} (e.g. {default!r}), "
                          f"got unsupported {type(value).__name__} {value!r}")
    if type(value) is type(default) or value is None or default is None:
        return value
    if isinstance(value, (list, tuple)) and isinstance(default, (list, tuple)):
        return type(default)(value)
    if full_key in PER_STAGE_LIST_KEYS and isinstance(default, (list, tuple)) and not isinstance(value, str):
        return [value]
    hint = '; write 1.0, not 1' if isinstance(default, float) and type(value) is int else ''
    raise ConfigError(f"{source}: {full_key} expects {type(default).__name__} (e.g. {default!r}{hint}), "
                      f"got {type(value).__name__} {value!r}")


def _new_value(raw, full_key, source):
    """Value of a key unknown to the schema (only under MODEL.EXTRA): mappings become sections."""
    value = _decode(raw)
    if isinstance(value, dict):
        node = CfgNode(new_allowed=True)
        for key, sub in value.items():
            node[str(key)] = _new_value(sub, f'{full_key}.{key}', source)
        return node
    if type(value) not in _VALID_TYPES:
        raise ConfigError(f"{source}: {full_key} has unsupported value type {type(value).__name__} ({value!r})")
    return value


def _all_keys(node, prefix=''):
    keys = []
    for key, value in node.items():
        keys.append(prefix + key)
        if isinstance(value, CfgNode):
            keys.extend(_all_keys(value, prefix + key + '.'))
    return keys


def _unknown_key_error(root, full_key, source):
    close = difflib.get_close_matches(full_key, _all_keys(root), n=1, cutoff=0.75)
    hint = f"; did you mean {close[0]}?" if close else ''
    return ConfigError(f"{source}: unknown config key {full_key}{hint}")


# ------------------------------------------------------------------------------------------------------------
# Merging
# ------------------------------------------------------------------------------------------------------------
def _merge_mapping(node, mapping, prefix, source, root, assigned):
    """Merge a plain mapping into `node` (recursively). Adds every assigned full key to `assigned`."""
    for key, raw in mapping.items():
        if not isinstance(key, str):
            raise ConfigError(f"{source}: config keys must be strings, got {key!r} under '{prefix or '<top>'}'")
        full_key = prefix + key
        if key not in node:
            if not node.is_new_allowed():
                raise _unknown_key_error(root, full_key, source)
            logger.warning("%s: unknown key %s accepted (MODEL.EXTRA accepts new keys as in the official code; "
                           "check for a typo)", source, full_key)
            node[key] = _new_value(raw, full_key, source)
            assigned.add(full_key)
            continue
        default = node[key]
        value = _decode(raw)
        if isinstance(default, CfgNode) and isinstance(value, dict):
            _merge_mapping(default, value, full_key + '.', source, root, assigned)
        else:
            node[key] = _coerce(value, default, full_key, source)
            assigned.add(full_key)
    return assigned


def _read_yaml(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ConfigError(f"{path}: config file not found")
    try:
        with open(path, encoding='utf-8') as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as err:
        mark = getattr(err, 'problem_mark', None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ''
        problem = getattr(err, 'problem', None) or str(err).splitlines()[0]
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read config file ({type(err).__name__}: {err})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must be a mapping of KEY: value, got a {type(data).__name__}")
    return data


def merge_yaml_file(cfg, path):
    """Merge the YAML file `path` into `cfg` (unfrozen). Returns the set of full keys it assigned."""
    data = _read_yaml(path)
    return _merge_mapping(cfg, data, '', os.fspath(path), cfg, set())


def merge_opts(cfg, opts):
    """Merge a flat command-line list [KEY, VALUE, KEY, VALUE, ...] into `cfg` (unfrozen).

    Keys must already exist (also under MODEL.EXTRA, as with yacs). Returns the set of assigned full keys.
    """
    opts = list(opts or [])
    if len(opts) % 2:
        raise ConfigError(f"{COMMAND_LINE}: overrides must be KEY VALUE pairs, got {len(opts)} item(s) "
                          f"(no value for {opts[-1]!r})")
    assigned = set()
    for full_key, raw in zip(opts[0::2], opts[1::2]):
        if not isinstance(full_key, str):
            raise ConfigError(f"{COMMAND_LINE}: override keys must be strings like TEST.FLIP_TEST, got {full_key!r}")
        node = cfg
        parts = full_key.split('.')
        for part in parts[:-1]:
            if part not in node or not isinstance(node[part], CfgNode):
                raise _unknown_key_error(cfg, full_key, COMMAND_LINE)
            node = node[part]
        if parts[-1] not in node:
            raise _unknown_key_error(cfg, full_key, COMMAND_LINE)
        node[parts[-1]] = _coerce(_decode(raw), node[parts[-1]], full_key, COMMAND_LINE)
        assigned.add(full_key)
    return assigned


# ------------------------------------------------------------------------------------------------------------
# Post-processing (algorithm.md §1.4) and the public entry points
# ------------------------------------------------------------------------------------------------------------
def _get(cfg, full_key):
    node = cfg
    for part in full_key.split('.'):
        node = node[part]
    return node


def _set(cfg, full_key, value):
    *parents, leaf = full_key.split('.')
    node = cfg
    for part in parents:
        node = node[part]
    node[leaf] = value


def _postprocess(cfg):
    """Steps 2-6 of the official update_config, in the official order, on the freshly merged values."""
    cfg.__dict__[_RAW_VALUES_ATTR] = {key: _get(cfg, key) for key in _ADJUSTED_KEYS}
    # 2. a dataset root that does not exist as given is taken relative to DATA_DIR
    if not os.path.exists(cfg.DATASET.ROOT):
        cfg.DATASET.ROOT = os.path.join(cfg.DATA_DIR, cfg.DATASET.ROOT)
    # 3. always joined (os.path.join keeps absolute paths, and '' stays '' when DATA_DIR is '')
    cfg.MODEL.PRETRAINED = os.path.join(cfg.DATA_DIR, cfg.MODEL.PRETRAINED)
    # 4. joined only when given
    if cfg.TEST.MODEL_FILE:
        cfg.TEST.MODEL_FILE = os.path.join(cfg.DATA_DIR, cfg.TEST.MODEL_FILE)
    # 5. a person-centre joint adds one channel
    if cfg.DATASET.WITH_CENTER:
        cfg.DATASET.NUM_JOINTS += 1
        cfg.MODEL.NUM_JOINTS = cfg.DATASET.NUM_JOINTS
    # 6. per-stage keys become lists (the official code meant this but its LOSS branch was a no-op, [Q])
    for key in PER_STAGE_LIST_KEYS:
        value = _get(cfg, key)
        _set(cfg, key, list(value) if isinstance(value, (list, tuple)) else [value])


def _restore_unassigned_raw_values(cfg, assigned):
    """Undo a previous post-processing for keys this call did not set again (makes update_config idempotent)."""
    for key, raw_value in cfg.__dict__.get(_RAW_VALUES_ATTR, {}).items():
        if key not in assigned:
            _set(cfg, key, raw_value)


def update_config(cfg, args):
    """Merge `args.cfg` (YAML path) then `args.opts` (KEY VALUE list) into `cfg`, post-process, freeze.

    Official semantics and order (algorithm.md §1.4). Idempotent: the post-processing always starts from the values
    given by the defaults, the YAML and the overrides, so calling it twice (as the official training does,
    once per process) gives the same config. `args.cfg` may be empty (no YAML) and `args.opts` None.
    Raises ConfigError with a one-line message on any invalid file, key or value.
    """
    cfg.defrost()
    assigned = set()
    cfg_file = getattr(args, 'cfg', None)
    if cfg_file:
        assigned |= merge_yaml_file(cfg, cfg_file)
    assigned |= merge_opts(cfg, getattr(args, 'opts', None))
    _restore_unassigned_raw_values(cfg, assigned)
    _postprocess(cfg)
    cfg.freeze()
    return cfg


def load_config(cfg_file, opts=()):
    """Defaults + YAML `cfg_file` + overrides `opts`, post-processed, checked and frozen."""
    cfg = get_cfg()
    update_config(cfg, SimpleNamespace(cfg=cfg_file, opts=list(opts or ())))
    check_config(cfg)
    return cfg
