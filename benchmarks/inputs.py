"""What the measurements load: the config and its seeded network, the sample images and their annotations.

Every measurement process builds its own network from the same arguments (config file, overrides, optional
weights) with the same seed, so that all processes of a run time the same weights.
"""
import os
from pathlib import Path

import torch

from higherhrnet.config import load_config
from higherhrnet.data.sources import load_coco_api
from higherhrnet.models import build_model, load_model_weights

from .options import REPO

ANNOTATION_FILE = os.path.join("annotations", "person_keypoints_val2017.json")
IMAGE_FOLDER = os.path.join("images", "val2017")


def default_shared_dir():
    """The reference material beside the repository: $HIGHERHRNET_SHARED, else ../shared."""
    return os.environ.get("HIGHERHRNET_SHARED", str(REPO.parent / "shared"))


def default_data_root():
    """The COCO sample beside the repository (<shared>/data/coco_sample)."""
    return str(Path(default_shared_dir()) / "data" / "coco_sample")


def config_overrides(opts, weights):
    """The KEY VALUE overrides of a run: `opts`, and TEST.MODEL_FILE when weights are given."""
    return list(opts) + (["TEST.MODEL_FILE", weights] if weights else [])


def load_network(cfg_file, opts=(), weights=None, seed=0):
    """(cfg, network in eval mode): the network of `cfg_file` + `opts`, randomly initialised with `seed`
    (the same weights in every process) or loaded from `weights`."""
    cfg = load_config(cfg_file, config_overrides(opts, weights))
    torch.manual_seed(seed)
    network = build_model(cfg, is_train=False)
    if weights:
        load_model_weights(network, weights)
    return cfg, network.eval()


def sample_image_paths(data_root, images=None, first_only=False):
    """Image files to time: `images` if given, else every image of the COCO-layout `data_root`."""
    if images:
        return [str(path) for path in images]
    coco = load_coco_api(os.path.join(data_root, ANNOTATION_FILE))
    paths = [os.path.join(data_root, IMAGE_FOLDER, coco.imgs[image_id]["file_name"]) for image_id in coco.imgs]
    return paths[:1] if first_only else paths


def annotated_images(paths, data_root):
    """[(path, COCO annotation dicts or None, image id or None)]: images found by file name in data_root's
    annotation file get their annotations (the ground truth the decoder maps are built from)."""
    annotation_file = os.path.join(data_root, ANNOTATION_FILE)
    coco = load_coco_api(annotation_file) if os.path.isfile(annotation_file) else None
    by_name = {info["file_name"]: image_id for image_id, info in coco.imgs.items()} if coco else {}
    images = []
    for path in paths:
        image_id = by_name.get(os.path.basename(path))
        annotations = coco.loadAnns(coco.getAnnIds(imgIds=image_id)) if image_id is not None else None
        images.append((str(path), annotations, image_id))
    return images
