"""Data: datasets in the official COCO / CrowdPose layouts, training augmentation, loaders.

Flow: sources (files) -> annotations (joints, ignore mask) -> transforms (affine, flip, input tensor)
-> targets (heatmaps, tag indices: the codec's encode half,
higherhrnet.codec.targets) -> datasets -> build (config -> datasets, loader).
"""
from .annotations import ignore_mask, joints_array, training_persons
from .build import build_test_dataset, build_train_dataset, build_train_loader, seed_worker
from .datasets import KeypointTestDataset, KeypointTrainDataset
from .image_io import ImageReadError, read_image_rgb, to_input_tensor, to_input_tensor_fast
from .sources import AnnotationFileError, annotation_path, image_path, load_coco_api, read_image
from .transforms import (AugmentationParams, AugmentedSample, TrainAugmentation, affine_matrix,
                         apply_augmentation, crop_center_scale)
