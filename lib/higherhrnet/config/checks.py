"""Consistency checks of a merged config (algorithm.md §1.5 plus the checks the official code lacked).

`check_config(cfg)` raises a `ConfigError` with a one-line message at the first problem:

* official: LOSS.NUM_STAGES equals the length of every per-stage list (LOSS.* and TEST.WITH_HEATMAPS/WITH_AE);
* added (algorithm.md §1.5 [M], B25): NUM_STAGES == MODEL.EXTRA.DECONV.NUM_DECONVS + 1 and len(DATASET.OUTPUT_SIZE)
  == NUM_STAGES;
* MODEL.EXTRA structure: per stage, NUM_BLOCKS and NUM_CHANNELS have NUM_BRANCHES entries, a known BLOCK;
  DECONV lists cover NUM_DECONVS, kernels 2/3/4;
* the transition quirk (algorithm.md §2.3, B23): in stages 3 and 4 the official forward feeds any existing branch whose
  width changes with the previous stage's *last* branch; a config that would hit it is rejected;
* the added keys hold valid values; several test scales must include 1 (algorithm.md B13);
* the keypoint layout: MODEL.NUM_JOINTS equals DATASET.NUM_JOINTS, and DATASET.KEYPOINTS with NUM_JOINTS
  describe a usable layout (`keypoints.layout_from_config`: lengths, indices, pairs, sigmas, order).

The checks read only the config (no model import), so they run before anything is built.
"""
import re

from ..keypoints import KeypointLayoutError, layout_from_config
from .errors import ConfigError

BLOCK_EXPANSION = {'BASIC': 1, 'BOTTLENECK': 4}  # channel expansion of the residual blocks (algorithm.md §2.1)
DECONV_KERNELS = (2, 3, 4)  # transposed-conv kernels with a defined padding (algorithm.md §2.6)
MATCHERS = ('munkres', 'scipy')
_DEVICE_PATTERN = re.compile(r'^(|cpu|mps|cuda(:\d+)?)$')
_PER_STAGE_KEYS = (
    ('LOSS', 'WITH_HEATMAPS_LOSS'), ('LOSS', 'HEATMAPS_LOSS_FACTOR'), ('LOSS', 'WITH_AE_LOSS'),
    ('LOSS', 'PUSH_LOSS_FACTOR'), ('LOSS', 'PULL_LOSS_FACTOR'), ('TEST', 'WITH_HEATMAPS'), ('TEST', 'WITH_AE'),
)


def _fail(message):
    raise ConfigError(f"invalid config: {message}")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require_positive_int(value, key):
    if type(value) is not int or value < 1:
        _fail(f"{key} must be a positive int, got {value!r}")


def _require_sequence(value, key):
    if not isinstance(value, (list, tuple)):
        _fail(f"{key} must be a list, got {type(value).__name__} {value!r}")


def _check_stages(cfg):
    num_stages = cfg.LOSS.NUM_STAGES
    _require_positive_int(num_stages, 'LOSS.NUM_STAGES')
    for section, key in _PER_STAGE_KEYS:
        value = cfg[section][key]
        _require_sequence(value, f'{section}.{key}')
        if len(value) != num_stages:
            _fail(f"{section}.{key} has {len(value)} entries {list(value)} but LOSS.NUM_STAGES is {num_stages} "
                  "(one entry per network output stage)")
    output_size = cfg.DATASET.OUTPUT_SIZE
    _require_sequence(output_size, 'DATASET.OUTPUT_SIZE')
    if len(output_size) != num_stages:
        _fail(f"DATASET.OUTPUT_SIZE has {len(output_size)} entries {list(output_size)} but LOSS.NUM_STAGES is "
              f"{num_stages} (one heatmap size per stage)")
    num_deconvs = cfg.MODEL.EXTRA.DECONV.NUM_DECONVS
    if type(num_deconvs) is not int or num_stages != num_deconvs + 1:
        _fail(f"LOSS.NUM_STAGES is {num_stages} but MODEL.EXTRA.DECONV.NUM_DECONVS is {num_deconvs!r}; "
              "the network has NUM_DECONVS + 1 output stages")


def _check_branch_stage(extra, name):
    stage = extra[name]
    prefix = f'MODEL.EXTRA.{name}'
    _require_positive_int(stage.NUM_MODULES, f'{prefix}.NUM_MODULES')
    _require_positive_int(stage.NUM_BRANCHES, f'{prefix}.NUM_BRANCHES')
    if stage.BLOCK not in BLOCK_EXPANSION:
        _fail(f"{prefix}.BLOCK is {stage.BLOCK!r}; expected one of {', '.join(BLOCK_EXPANSION)}")
    for key in ('NUM_BLOCKS', 'NUM_CHANNELS'):
        value = stage[key]
        _require_sequence(value, f'{prefix}.{key}')
        if len(value) != stage.NUM_BRANCHES:
            _fail(f"{prefix}.{key} has {len(value)} entries {list(value)} but {prefix}.NUM_BRANCHES is "
                  f"{stage.NUM_BRANCHES}")
        for entry in value:
            if type(entry) is not int or entry < 1:
                _fail(f"{prefix}.{key} entries must be positive ints, got {list(value)}")
    return [channels * BLOCK_EXPANSION[stage.BLOCK] for channels in stage.NUM_CHANNELS]


def _check_transitions(widths_by_stage):
    """algorithm.md §2.3 / B23: an existing branch (not the last) may not change width between stages 2->3 or 3->4."""
    for (previous_name, previous), (name, current) in zip(widths_by_stage, widths_by_stage[1:]):
        for branch in range(min(len(previous) - 1, len(current))):
            if current[branch] != previous[branch]:
                _fail(f"MODEL.EXTRA.{name} branch {branch} has width {current[branch]} but {previous_name} gives "
                      f"{previous[branch]}: the official transition would feed it the last branch's features "
                      "(algorithm.md §2.3, B23); keep the widths of existing branches except the last")


def _check_deconv(extra):
    deconv = extra.DECONV
    num_deconvs = deconv.NUM_DECONVS
    if type(num_deconvs) is not int or num_deconvs < 0:
        _fail(f"MODEL.EXTRA.DECONV.NUM_DECONVS must be an int >= 0, got {num_deconvs!r}")
    for key in ('NUM_CHANNELS', 'KERNEL_SIZE', 'CAT_OUTPUT'):
        value = deconv[key]
        _require_sequence(value, f'MODEL.EXTRA.DECONV.{key}')
        if len(value) < num_deconvs:
            _fail(f"MODEL.EXTRA.DECONV.{key} has {len(value)} entries {list(value)} but NUM_DECONVS is {num_deconvs}")
    for kernel in deconv.KERNEL_SIZE[:num_deconvs]:
        if kernel not in DECONV_KERNELS:
            _fail(f"MODEL.EXTRA.DECONV.KERNEL_SIZE entry {kernel!r} is not supported; "
                  f"expected one of {DECONV_KERNELS} (each doubles the resolution)")
    if type(deconv.NUM_BASIC_BLOCKS) is not int or deconv.NUM_BASIC_BLOCKS < 0:
        _fail(f"MODEL.EXTRA.DECONV.NUM_BASIC_BLOCKS must be an int >= 0, got {deconv.NUM_BASIC_BLOCKS!r}")


def _check_model(cfg):
    extra = cfg.MODEL.EXTRA
    stage1 = extra.get('STAGE1')
    layer1_width = 256
    if stage1 is not None:
        if stage1.BLOCK not in BLOCK_EXPANSION:
            _fail(f"MODEL.EXTRA.STAGE1.BLOCK is {stage1.BLOCK!r}; expected one of {', '.join(BLOCK_EXPANSION)}")
        layer1_width = list(stage1.NUM_CHANNELS)[0] * BLOCK_EXPANSION[stage1.BLOCK]
    widths = [('layer1', [layer1_width])]
    for name in ('STAGE2', 'STAGE3', 'STAGE4'):
        widths.append((name, _check_branch_stage(extra, name)))
    _check_transitions(widths[1:])
    _check_deconv(extra)
    _require_positive_int(cfg.MODEL.NUM_JOINTS, 'MODEL.NUM_JOINTS')


def _check_added_keys(cfg):
    if not isinstance(cfg.DEVICE, str) or not _DEVICE_PATTERN.match(cfg.DEVICE):
        _fail(f"DEVICE is {cfg.DEVICE!r}; expected '' (auto), 'cpu', 'cuda', 'cuda:<index>' or 'mps'")
    if cfg.TEST.MATCHER not in MATCHERS:
        _fail(f"TEST.MATCHER is {cfg.TEST.MATCHER!r}; expected one of {', '.join(MATCHERS)}")
    if not _is_number(cfg.TEST.POSE_NMS_OKS) or not 0.0 < cfg.TEST.POSE_NMS_OKS <= 1.0:
        _fail(f"TEST.POSE_NMS_OKS must lie in (0, 1], got {cfg.TEST.POSE_NMS_OKS!r}")
    if not _is_number(cfg.TEST.MIN_PERSON_SCORE) or cfg.TEST.MIN_PERSON_SCORE < 0.0:
        _fail(f"TEST.MIN_PERSON_SCORE must be >= 0, got {cfg.TEST.MIN_PERSON_SCORE!r}")
    if type(cfg.TEST.WORKERS) is not int or cfg.TEST.WORKERS < 0:
        _fail(f"TEST.WORKERS must be an int >= 0, got {cfg.TEST.WORKERS!r}")
    fraction = cfg.DATASET.MAX_UNREADABLE_FRACTION
    if not _is_number(fraction) or not 0.0 <= fraction < 1.0:
        _fail(f"DATASET.MAX_UNREADABLE_FRACTION must lie in [0, 1), got {fraction!r}")


def _check_test_scales(cfg):
    scales = cfg.TEST.SCALE_FACTOR
    _require_sequence(scales, 'TEST.SCALE_FACTOR')
    if not scales or any(not _is_number(s) or s <= 0 for s in scales):
        _fail(f"TEST.SCALE_FACTOR must be a non-empty list of positive numbers, got {list(scales)}")
    if len(scales) > 1 and 1 not in scales:
        _fail(f"TEST.SCALE_FACTOR {list(scales)} has several scales but not 1.0; tag maps are taken at scale 1 "
              "(algorithm.md §6.4, B13)")


def _check_keypoints(cfg):
    if cfg.MODEL.NUM_JOINTS != cfg.DATASET.NUM_JOINTS:
        _fail(f"MODEL.NUM_JOINTS is {cfg.MODEL.NUM_JOINTS} but DATASET.NUM_JOINTS is {cfg.DATASET.NUM_JOINTS}; "
              "the network needs one heatmap per dataset joint (set both)")
    for name, value in cfg.DATASET.KEYPOINTS.items():
        _require_sequence(value, f'DATASET.KEYPOINTS.{name}')
    try:
        layout_from_config(cfg)
    except KeypointLayoutError as error:
        _fail(str(error))


def check_config(cfg):
    """Raise ConfigError (one line) if `cfg` is inconsistent; return None otherwise. See the module docstring."""
    _check_stages(cfg)
    _check_model(cfg)
    _check_added_keys(cfg)
    _check_test_scales(cfg)
    _check_keypoints(cfg)
