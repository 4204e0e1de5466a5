"""The 8 official experiment files: they load, pass check_config, and hold the algorithm.md §1.6 settings."""
import pytest

from higherhrnet.config import load_config

# name -> (dataset family, joints, width, input size, train images per GPU, fp16)
EXPERIMENTS = {
    'coco/higher_hrnet/w32_512_adam_lr1e-3': ('coco', 17, 32, 512, 12, False),
    'coco/higher_hrnet/w32_640_adam_lr1e-3': ('coco', 17, 32, 640, 12, True),
    'coco/higher_hrnet/w48_640_adam_lr1e-3': ('coco', 17, 48, 640, 10, True),
    'crowd_pose/higher_hrnet/w32_512_adam_lr1e-3': ('crowd_pose', 14, 32, 512, 12, False),
    'crowd_pose/higher_hrnet/w32_512_adam_lr1e-3_coco': ('crowd_pose', 14, 32, 512, 12, False),
    'crowd_pose/higher_hrnet/w32_512_adam_lr1e-3_syncbn': ('crowd_pose', 14, 32, 512, 12, False),
    'crowd_pose/higher_hrnet/w32_640_adam_lr1e-3': ('crowd_pose', 14, 32, 640, 12, True),
    'crowd_pose/higher_hrnet/w48_640_adam_lr1e-3': ('crowd_pose', 14, 48, 640, 10, True),
}
BACKBONE_LAYERS = ['conv1', 'bn1', 'conv2', 'bn2', 'layer1', 'transition1', 'stage2', 'transition2', 'stage3',
                   'transition3', 'stage4']


def test_experiment_files_match_the_manifests(repo, shared):
    names = {p.stem.replace('__', '/higher_hrnet/') for p in (shared / 'manifests').glob('*.json')}
    files = {str(p.relative_to(repo / 'experiments'))[:-5] for p in (repo / 'experiments').rglob('*.yaml')}
    official = {name for name in files if name.split('/')[0] in ('coco', 'crowd_pose')}
    assert names == set(EXPERIMENTS) == official


@pytest.mark.parametrize('name', sorted(EXPERIMENTS))
def test_experiment_settings(repo, name):
    family, joints, width, size, images_per_gpu, fp16 = EXPERIMENTS[name]
    path = repo / 'experiments' / f'{name}.yaml'
    assert path.read_text().startswith('# ')  # a comment header
    cfg = load_config(str(path))
    coco = family == 'coco'
    # shared settings (algorithm.md §1.6)
    assert (cfg.AUTO_RESUME, cfg.LOG_DIR, cfg.OUTPUT_DIR, cfg.PRINT_FREQ) == (True, 'log', 'output', 100)
    assert (cfg.DATASET.SIGMA, cfg.DATASET.FLIP, cfg.DATASET.MAX_ROTATION) == (2, 0.5, 30)
    assert (cfg.DATASET.MIN_SCALE, cfg.DATASET.MAX_SCALE, cfg.DATASET.SCALE_TYPE) == (0.75, 1.5, 'short')
    assert (cfg.DATASET.MAX_TRANSLATE, cfg.DATASET.MAX_NUM_PEOPLE) == (40, 30)
    assert cfg.LOSS.NUM_STAGES == 2 and cfg.LOSS.AE_LOSS_TYPE == 'exp'
    assert cfg.LOSS.WITH_AE_LOSS == [True, False] and cfg.LOSS.WITH_HEATMAPS_LOSS == [True, True]
    assert cfg.LOSS.PUSH_LOSS_FACTOR == [0.001, 0.001] and cfg.LOSS.PULL_LOSS_FACTOR == [0.001, 0.001]
    assert (cfg.TRAIN.OPTIMIZER, cfg.TRAIN.LR, cfg.TRAIN.END_EPOCH, cfg.TRAIN.LR_STEP) == ('adam', 0.001, 300, [200, 260])
    assert cfg.TRAIN.WD == 0.0001
    assert (cfg.TEST.FLIP_TEST, cfg.TEST.SCALE_FACTOR, cfg.TEST.DETECTION_THRESHOLD) == (True, [1], 0.1)
    assert (cfg.TEST.WITH_HEATMAPS, cfg.TEST.WITH_AE) == ([True, True], [True, False])
    assert (cfg.TEST.PROJECT2IMAGE, cfg.TEST.NMS_KERNEL, cfg.TEST.NMS_PADDING, cfg.TEST.IMAGES_PER_GPU) == (True, 5, 2, 1)
    assert cfg.MODEL.NAME == 'pose_higher_hrnet' and cfg.MODEL.TAG_PER_JOINT is True
    # per-file settings
    assert cfg.DATASET.DATASET == ('coco_kpt' if coco else 'crowd_pose_kpt')
    assert cfg.DATASET.DATASET_TEST == family
    assert (cfg.DATASET.TRAIN, cfg.DATASET.TEST) == (('train2017', 'val2017') if coco else ('trainval', 'test'))
    assert cfg.DATASET.NUM_JOINTS == joints == cfg.MODEL.NUM_JOINTS
    assert cfg.DATASET.INPUT_SIZE == size and cfg.DATASET.OUTPUT_SIZE == [size // 4, size // 2]
    assert cfg.TRAIN.IMAGES_PER_GPU == images_per_gpu
    assert cfg.FP16.ENABLED is fp16 and cfg.FP16.DYNAMIC_LOSS_SCALE is fp16
    assert cfg.MODEL.SYNC_BN is name.endswith('_syncbn')
    extra = cfg.MODEL.EXTRA
    assert extra.STAGE4.NUM_CHANNELS == [width, 2 * width, 4 * width, 8 * width]
    assert (extra.STAGE2.NUM_MODULES, extra.STAGE3.NUM_MODULES, extra.STAGE4.NUM_MODULES) == (1, 4, 3)
    assert extra.DECONV.NUM_CHANNELS == [width] and extra.DECONV.CAT_OUTPUT == [True]
    if name.endswith('_coco'):
        assert extra.PRETRAINED_LAYERS == BACKBONE_LAYERS
        assert 'pose_coco' in cfg.MODEL.PRETRAINED
    else:
        assert extra.PRETRAINED_LAYERS == ['*']
        assert cfg.MODEL.PRETRAINED.endswith(f'hrnet_w{width}-' + ('36af842e.pth' if width == 32 else '8ef0771d.pth'))
