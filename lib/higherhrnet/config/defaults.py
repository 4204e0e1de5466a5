"""Every configuration key with its default value and a one-line comment (algorithm.md §1.2, 1.3).

The keys and defaults are those of the official HigherHRNet yacs config, so the official experiment YAMLs load
unchanged and command-line overrides parse identically. Keys marked `[added]` do not exist in the official
code; their defaults keep the official behaviour. `MODEL.EXTRA` (the architecture) has an explicit schema
whose defaults are the HRNet-W32 values of `experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml`; it still
accepts unknown sub-keys, as the official `new_allowed` node did, with a logged warning (see `loading.py`).

Note the library defaults are NOT the published test settings (FLIP_TEST, DETECTION_THRESHOLD, NMS kernel,
PROJECT2IMAGE, WITH_HEATMAPS/WITH_AE differ): official numbers come only from the bundled YAMLs.

Use `get_cfg()` for a fresh mutable copy; never modify `_DEFAULTS`.
"""
from yacs.config import CfgNode as CN

_C = CN()

# ----------------------------------------------------------------------------------------------------------
# Run-wide settings
# ----------------------------------------------------------------------------------------------------------
_C.OUTPUT_DIR = ''  # root of the output tree: <OUTPUT_DIR>/<DATASET.DATASET>/<MODEL.NAME>/<cfg name>/
_C.LOG_DIR = ''  # root of the tensorboard tree, laid out like OUTPUT_DIR plus a time stamp
_C.DATA_DIR = ''  # prefix joined to DATASET.ROOT (if ROOT does not exist), MODEL.PRETRAINED and TEST.MODEL_FILE
_C.GPUS = (0,)  # official DataParallel ids / batch multiplier; unused here: devices via DEVICE and torchrun
_C.WORKERS = 4  # DataLoader worker processes per training process
_C.PRINT_FREQ = 20  # training log/debug-image period in iterations; test visualisation period in images
_C.AUTO_RESUME = False  # resume training from <final_output_dir>/checkpoint.pth.tar when it exists
_C.PIN_MEMORY = True  # pin_memory of the training DataLoader
_C.RANK = 0  # official node rank; unused here: torchrun sets RANK in the environment
_C.VERBOSE = True  # official: per-tensor pretrained-loading logs; unused here (kept for YAML compatibility)
_C.DIST_BACKEND = 'nccl'  # unused here: the backend is nccl on CUDA and gloo on CPU
_C.MULTIPROCESSING_DISTRIBUTED = True  # plain `python tools/dist_train.py` spawns one process per visible GPU
_C.DEVICE = ''  # [added] '' = cuda if available else cpu; or 'cpu', 'cuda', 'cuda:1', 'mps'

# ----------------------------------------------------------------------------------------------------------
# Mixed precision (official: pure-fp16 model with fp32 master weights; here mapped onto torch.amp)
# ----------------------------------------------------------------------------------------------------------
_C.FP16 = CN()
_C.FP16.ENABLED = False  # autocast training (fp16 + GradScaler on CUDA, bf16 on CPU); fp16 eval on CUDA
_C.FP16.STATIC_LOSS_SCALE = 1.0  # constant loss scale used when DYNAMIC_LOSS_SCALE is False
_C.FP16.DYNAMIC_LOSS_SCALE = False  # dynamic loss scale: start 2**32, x2 every 1000 clean steps, /2 on overflow

# ----------------------------------------------------------------------------------------------------------
# cuDNN flags (ignored on CPU)
# ----------------------------------------------------------------------------------------------------------
_C.CUDNN = CN()
_C.CUDNN.BENCHMARK = True  # torch.backends.cudnn.benchmark: autotune convolution algorithms
_C.CUDNN.DETERMINISTIC = False  # torch.backends.cudnn.deterministic
_C.CUDNN.ENABLED = True  # torch.backends.cudnn.enabled

# ----------------------------------------------------------------------------------------------------------
# Network
# ----------------------------------------------------------------------------------------------------------
_C.MODEL = CN()
_C.MODEL.NAME = 'pose_multi_resolution_net_v16'  # model name; 'pose_higher_hrnet' is the only one built here
_C.MODEL.INIT_WEIGHTS = True  # when building for training: N(0, 0.001) init, then copy MODEL.PRETRAINED
_C.MODEL.PRETRAINED = ''  # ImageNet backbone (or pose model) file whose PRETRAINED_LAYERS are copied in
_C.MODEL.NUM_JOINTS = 17  # heatmap channels predicted per stage (17 COCO, 14 CrowdPose, +1 with a centre)
_C.MODEL.TAG_PER_JOINT = True  # one tag map per joint; False = a single tag map shared by all joints
_C.MODEL.SYNC_BN = False  # convert BatchNorm to SyncBatchNorm when training distributed

# Architecture (algorithm.md §1.3). Defaults = HRNet-W32 HigherHRNet with one deconv stage. Unknown sub-keys are
# accepted from YAML files with a warning (the official node was new_allowed).
_C.MODEL.EXTRA = CN(new_allowed=True)
_C.MODEL.EXTRA.PRETRAINED_LAYERS = ['*']  # top-level modules copied from MODEL.PRETRAINED; ['*'] = all
_C.MODEL.EXTRA.STEM_INPLANES = 64  # read but unused: the stem and layer1 are fixed at 64 channels
_C.MODEL.EXTRA.FINAL_CONV_KERNEL = 1  # kernel of the prediction convs (padding 1 if 3, else 0)

# [added] layer1 as in the HRNet classification configs; the defaults are the official fixed layer1.
_C.MODEL.EXTRA.STAGE1 = CN(new_allowed=True)
_C.MODEL.EXTRA.STAGE1.BLOCK = 'BOTTLENECK'  # [added] residual block of layer1 ('BOTTLENECK' officially)
_C.MODEL.EXTRA.STAGE1.NUM_BLOCKS = [4]  # [added] blocks in layer1 (4 officially); smaller = cheaper model
_C.MODEL.EXTRA.STAGE1.NUM_CHANNELS = [64]  # [added] layer1 width before expansion (64 officially -> 256)

_C.MODEL.EXTRA.STAGE2 = CN(new_allowed=True)
_C.MODEL.EXTRA.STAGE2.NUM_MODULES = 1  # HighResolutionModules in stage 2
_C.MODEL.EXTRA.STAGE2.NUM_BRANCHES = 2  # parallel resolutions in stage 2 (strides 4, 8)
_C.MODEL.EXTRA.STAGE2.BLOCK = 'BASIC'  # residual block of the branches: 'BASIC' or 'BOTTLENECK'
_C.MODEL.EXTRA.STAGE2.NUM_BLOCKS = [4, 4]  # blocks per branch
_C.MODEL.EXTRA.STAGE2.NUM_CHANNELS = [32, 64]  # width per branch (before block expansion)
_C.MODEL.EXTRA.STAGE2.FUSE_METHOD = 'SUM'  # read but ignored: fusion is always a sum

_C.MODEL.EXTRA.STAGE3 = CN(new_allowed=True)
_C.MODEL.EXTRA.STAGE3.NUM_MODULES = 4  # HighResolutionModules in stage 3
_C.MODEL.EXTRA.STAGE3.NUM_BRANCHES = 3  # parallel resolutions in stage 3 (strides 4, 8, 16)
_C.MODEL.EXTRA.STAGE3.BLOCK = 'BASIC'  # residual block of the branches: 'BASIC' or 'BOTTLENECK'
_C.MODEL.EXTRA.STAGE3.NUM_BLOCKS = [4, 4, 4]  # blocks per branch
_C.MODEL.EXTRA.STAGE3.NUM_CHANNELS = [32, 64, 128]  # width per branch (before block expansion)
_C.MODEL.EXTRA.STAGE3.FUSE_METHOD = 'SUM'  # read but ignored: fusion is always a sum

_C.MODEL.EXTRA.STAGE4 = CN(new_allowed=True)
_C.MODEL.EXTRA.STAGE4.NUM_MODULES = 3  # HighResolutionModules in stage 4 (the last fuses output 0 only)
_C.MODEL.EXTRA.STAGE4.NUM_BRANCHES = 4  # parallel resolutions in stage 4 (strides 4, 8, 16, 32)
_C.MODEL.EXTRA.STAGE4.BLOCK = 'BASIC'  # residual block of the branches: 'BASIC' or 'BOTTLENECK'
_C.MODEL.EXTRA.STAGE4.NUM_BLOCKS = [4, 4, 4, 4]  # blocks per branch
_C.MODEL.EXTRA.STAGE4.NUM_CHANNELS = [32, 64, 128, 256]  # width per branch (before block expansion)
_C.MODEL.EXTRA.STAGE4.FUSE_METHOD = 'SUM'  # read but ignored: fusion is always a sum

_C.MODEL.EXTRA.DECONV = CN(new_allowed=True)
_C.MODEL.EXTRA.DECONV.NUM_DECONVS = 1  # transposed-conv x2 upsamplers; must equal LOSS.NUM_STAGES - 1
_C.MODEL.EXTRA.DECONV.NUM_CHANNELS = [32]  # output width of each deconv block
_C.MODEL.EXTRA.DECONV.KERNEL_SIZE = [4]  # kernel of each transposed conv: 4, 3 or 2 (all double the size)
_C.MODEL.EXTRA.DECONV.NUM_BASIC_BLOCKS = 4  # BasicBlocks after each transposed conv
_C.MODEL.EXTRA.DECONV.CAT_OUTPUT = [True]  # concatenate the previous stage's prediction before each deconv

# ----------------------------------------------------------------------------------------------------------
# Losses (one entry per network output stage in every per-stage list)
# ----------------------------------------------------------------------------------------------------------
_C.LOSS = CN()
_C.LOSS.NUM_STAGES = 1  # network outputs that receive losses (2 in the official YAMLs)
_C.LOSS.WITH_HEATMAPS_LOSS = (True,)  # per stage: heatmap MSE loss on/off
_C.LOSS.HEATMAPS_LOSS_FACTOR = (1.0,)  # per stage: heatmap loss weight
_C.LOSS.WITH_AE_LOSS = (True,)  # per stage: associative-embedding loss on/off; also adds tag output channels
_C.LOSS.AE_LOSS_TYPE = 'max'  # push-loss form: 'exp' (official YAMLs) or 'max'
_C.LOSS.PUSH_LOSS_FACTOR = (0.001,)  # per stage: weight of the tag push term
_C.LOSS.PULL_LOSS_FACTOR = (0.001,)  # per stage: weight of the tag pull term

# ----------------------------------------------------------------------------------------------------------
# Dataset, targets and training augmentation
# ----------------------------------------------------------------------------------------------------------
_C.DATASET = CN()
_C.DATASET.ROOT = ''  # dataset root directory (joined to DATA_DIR when it does not exist as given)
_C.DATASET.DATASET = 'coco_kpt'  # training dataset ('coco_kpt' or 'crowd_pose_kpt'); official tables unless DATASET.KEYPOINTS
_C.DATASET.DATASET_TEST = 'coco'  # test dataset ('coco' or 'crowd_pose')
_C.DATASET.NUM_JOINTS = 17  # joints per person in the annotations (+1 when WITH_CENTER)
_C.DATASET.MAX_NUM_PEOPLE = 30  # rows of the joints (tag) target; top-k candidates per joint at test time
_C.DATASET.TRAIN = 'train2017'  # training split name
_C.DATASET.TEST = 'val2017'  # test split name
_C.DATASET.DATA_FORMAT = 'jpg'  # 'jpg' = image files; 'zip' = read '<split>.zip@<file>'
_C.DATASET.MAX_ROTATION = 30  # random rotation range in degrees, uniform in [-MAX, MAX]
_C.DATASET.MIN_SCALE = 0.75  # lower bound of the random scale factor
_C.DATASET.MAX_SCALE = 1.25  # upper bound of the random scale factor (1.5 in the official YAMLs)
_C.DATASET.SCALE_TYPE = 'short'  # crop scale from the 'short' or 'long' image side
_C.DATASET.MAX_TRANSLATE = 40  # random translation bound in pixels per 200-px unit of crop
_C.DATASET.INPUT_SIZE = 512  # square network input side in training; base input size at test time
_C.DATASET.OUTPUT_SIZE = [128, 256, 512]  # target heatmap side per stage (one entry per LOSS stage)
_C.DATASET.FLIP = 0.5  # probability of a horizontal flip in training
_C.DATASET.SIGMA = -1  # Gaussian sigma in heatmap pixels; negative = OUTPUT_SIZE / 64
_C.DATASET.SCALE_AWARE_SIGMA = False  # per-person sigma (broken in the official code)
_C.DATASET.BASE_SIZE = 256.0  # reference person size of the scale-aware sigma
_C.DATASET.BASE_SIGMA = 2.0  # sigma at BASE_SIZE for the scale-aware sigma
_C.DATASET.INT_SIGMA = False  # round the scale-aware sigma to an integer
_C.DATASET.WITH_CENTER = False  # append a person-centre joint (NUM_JOINTS += 1 in update_config)
_C.DATASET.EXACT_FLIP = False  # [added] False = official flip of joints at R-1-x; True = exact mirror R-x
_C.DATASET.MAX_UNREADABLE_FRACTION = 0.01  # [added] training skips unreadable images; stops past this fraction of them
_C.DATASET.KEYPOINTS = CN()  # [added] your own joint layout (docs/keypoint_layouts.md); empty = official tables
_C.DATASET.KEYPOINTS.NAMES = []  # [added] joint names; empty = the annotation file's categories[0].keypoints
_C.DATASET.KEYPOINTS.FLIP_PAIRS = []  # [added] [[left, right], ...] 0-based swapped by flips; [k, k] = no side
_C.DATASET.KEYPOINTS.SKELETON = []  # [added] [[a, b], ...] 0-based limbs for pictures; empty = categories[0].skeleton
_C.DATASET.KEYPOINTS.OKS_SIGMAS = []  # [added] one OKS sigma per joint (evaluation, pose NMS); needed for own layouts
_C.DATASET.KEYPOINTS.JOINT_ORDER = []  # [added] grouping order, a permutation of 0..J-1; empty = official or 0..J-1

# ----------------------------------------------------------------------------------------------------------
# Training schedule and optimiser
# ----------------------------------------------------------------------------------------------------------
_C.TRAIN = CN()
_C.TRAIN.LR_FACTOR = 0.1  # MultiStepLR gamma
_C.TRAIN.LR_STEP = [90, 110]  # MultiStepLR milestones in epochs
_C.TRAIN.LR = 0.001  # base learning rate
_C.TRAIN.OPTIMIZER = 'adam'  # 'adam' or 'sgd'
_C.TRAIN.MOMENTUM = 0.9  # SGD momentum
_C.TRAIN.WD = 0.0001  # weight decay; official: SGD only, Adam runs without it (see ADAM_USE_WD)
_C.TRAIN.NESTEROV = False  # SGD Nesterov momentum
_C.TRAIN.GAMMA1 = 0.99  # unused (kept for YAML compatibility)
_C.TRAIN.GAMMA2 = 0.0  # unused (kept for YAML compatibility)
_C.TRAIN.BEGIN_EPOCH = 0  # first epoch when not resuming
_C.TRAIN.END_EPOCH = 140  # training stops before this epoch
_C.TRAIN.RESUME = False  # unused (AUTO_RESUME is the resume switch)
_C.TRAIN.CHECKPOINT = ''  # unused (AUTO_RESUME reads <final_output_dir>/checkpoint.pth.tar)
_C.TRAIN.IMAGES_PER_GPU = 32  # batch size per training process
_C.TRAIN.SHUFFLE = True  # unused (training always shuffles)
_C.TRAIN.SEED = -1  # [added] <0 = unseeded (official); >=0 seeds torch, numpy, random and loader workers
_C.TRAIN.ADAM_USE_WD = False  # [added] False = official Adam ignores TRAIN.WD; True passes WD to Adam
_C.TRAIN.LEGACY_NO_SET_EPOCH = False  # [added] True = official bug: DistributedSampler.set_epoch never called
_C.TRAIN.VAL_FREQ = 0  # [added] evaluate DATASET.TEST every N epochs (0 = never, official); model_best then by AP

# ----------------------------------------------------------------------------------------------------------
# Testing (valid.py): resize, aggregation, decoding
# ----------------------------------------------------------------------------------------------------------
_C.TEST = CN()
_C.TEST.IMAGES_PER_GPU = 32  # unused: test batches hold one image
_C.TEST.FLIP_TEST = False  # also run the flipped image and average (True in the official YAMLs)
_C.TEST.ADJUST = True  # quarter-pixel shift of each joint toward its larger neighbour
_C.TEST.REFINE = True  # fill missing joints from the heatmaps near the person's mean tag
_C.TEST.SCALE_FACTOR = [1]  # test scales; several scales must include 1 (e.g. [0.5, 1.0, 2.0])
_C.TEST.DETECTION_THRESHOLD = 0.2  # keep joint candidates with value strictly above this (0.1 in the YAMLs)
_C.TEST.TAG_THRESHOLD = 1.0  # a candidate joins a person only if its tag distance is strictly below this
_C.TEST.USE_DETECTION_VAL = True  # matching cost = round(tag distance) * 100 - detection value
_C.TEST.IGNORE_TOO_MUCH = False  # stop adding persons beyond MAX_NUM_PEOPLE (official quirky rule)
_C.TEST.MODEL_FILE = ''  # weights evaluated by valid (joined to DATA_DIR); '' = model_best in the output dir
_C.TEST.IGNORE_CENTER = True  # drop the centre channel at test time (with DATASET.WITH_CENTER)
_C.TEST.NMS_KERNEL = 3  # max-pool NMS kernel (5 in the official YAMLs)
_C.TEST.NMS_PADDING = 1  # max-pool NMS padding (2 in the official YAMLs)
_C.TEST.PROJECT2IMAGE = False  # resize maps to the input (base) size before grouping (True in the YAMLs)
_C.TEST.WITH_HEATMAPS = (True,)  # per stage: use this stage's heatmaps at test time
_C.TEST.WITH_AE = (True,)  # per stage: use this stage's tag maps at test time
_C.TEST.LOG_PROGRESS = False  # unused: valid.py always shows a progress bar (hide it with --no-progress)
_C.TEST.MATCHER = 'munkres'  # [added] 'munkres' = exact official tie-breaking; 'scipy' = faster, not bit-exact
_C.TEST.FAST_DECODER = True  # [added] vectorised decoder with identical outputs; False = reference loops
_C.TEST.AMP = False  # [added] fast inference: BN folded, bfloat16 (CPU) / float16 (CUDA) weights, channels-last
_C.TEST.COMPILE = False  # [added] with TEST.AMP: torch.compile (inductor) the network; logged eager fallback
_C.TEST.BATCH_FLIP = False  # [added] run the flip-test mirror image in the same batch: faster, not bit-exact
_C.TEST.WORKERS = 0  # [added] DataLoader workers that read and resize test images
_C.TEST.POSE_NMS = False  # [added] OKS non-maximum suppression of persons (off = official)
_C.TEST.POSE_NMS_OKS = 0.9  # [added] OKS above which the lower-scoring person is dropped by POSE_NMS
_C.TEST.MIN_PERSON_SCORE = 0.0  # [added] drop persons scoring below this; 0 = keep all (official)

# ----------------------------------------------------------------------------------------------------------
# Training debug images
# ----------------------------------------------------------------------------------------------------------
_C.DEBUG = CN()
_C.DEBUG.DEBUG = True  # master switch for the training debug images
_C.DEBUG.SAVE_BATCH_IMAGES_GT = False  # unused (kept for YAML compatibility)
_C.DEBUG.SAVE_BATCH_IMAGES_PRED = False  # unused (kept for YAML compatibility)
_C.DEBUG.SAVE_HEATMAPS_GT = True  # write target heatmaps over the input images
_C.DEBUG.SAVE_HEATMAPS_PRED = True  # write predicted heatmaps over the input images
_C.DEBUG.SAVE_TAGMAPS_PRED = True  # write predicted tag maps over the input images

_DEFAULTS = _C
_DEFAULTS.freeze()

# Keys that do not exist in the official code (documentation and the config reference use this list).
ADDED_KEYS = (
    'DEVICE', 'DATASET.EXACT_FLIP', 'TRAIN.SEED', 'TRAIN.ADAM_USE_WD', 'TRAIN.LEGACY_NO_SET_EPOCH', 'TRAIN.VAL_FREQ',
    'DATASET.MAX_UNREADABLE_FRACTION',
    'MODEL.EXTRA.STAGE1.BLOCK', 'MODEL.EXTRA.STAGE1.NUM_BLOCKS', 'MODEL.EXTRA.STAGE1.NUM_CHANNELS',
    'TEST.MATCHER', 'TEST.FAST_DECODER', 'TEST.AMP', 'TEST.COMPILE', 'TEST.BATCH_FLIP', 'TEST.WORKERS', 'TEST.POSE_NMS',
    'TEST.POSE_NMS_OKS', 'TEST.MIN_PERSON_SCORE', 'DATASET.KEYPOINTS.NAMES', 'DATASET.KEYPOINTS.FLIP_PAIRS',
    'DATASET.KEYPOINTS.SKELETON', 'DATASET.KEYPOINTS.OKS_SIGMAS', 'DATASET.KEYPOINTS.JOINT_ORDER',
)

# Per-stage keys that must hold one entry per network output; a scalar is wrapped into a one-element list
# (the official update_config intended this for OUTPUT_SIZE and the LOSS keys; algorithm.md §1.4 step 6).
PER_STAGE_LIST_KEYS = (
    'DATASET.OUTPUT_SIZE', 'LOSS.WITH_HEATMAPS_LOSS', 'LOSS.HEATMAPS_LOSS_FACTOR', 'LOSS.WITH_AE_LOSS',
    'LOSS.PUSH_LOSS_FACTOR', 'LOSS.PULL_LOSS_FACTOR', 'TEST.WITH_HEATMAPS', 'TEST.WITH_AE',
)


def get_cfg():
    """A fresh, unfrozen, independent copy of the default configuration."""
    cfg = _DEFAULTS.clone()
    cfg.defrost()
    return cfg
