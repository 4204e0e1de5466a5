"""A straightforward, loop-based training-sample pipeline written from shared/train/README.md steps 1-11.

It exists for two reasons: an independent cross-check of the vectorised package code on random inputs, and the
baseline of the speed comparison (tools/benchmark.py --only pipeline). Per-person / per-joint Python loops,
3-channel warps, float64 mask accumulation, tensor normalisation by arithmetic: the official way.
"""
import random

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from higherhrnet.data.image_io import read_image_rgb, to_input_tensor


def loop_mask(annotations, height, width):
    m = np.zeros((height, width))
    for ann in annotations:
        if ann["iscrowd"]:
            m += mask_utils.decode(mask_utils.frPyObjects(ann["segmentation"], height, width))
        elif ann["num_keypoints"] == 0:
            for rle in mask_utils.frPyObjects(ann["segmentation"], height, width):
                m += mask_utils.decode(rle)
    return m < 0.5


def loop_joints(annotations, num_joints):
    joints = np.zeros((len(annotations), num_joints, 3))
    for i, ann in enumerate(annotations):
        joints[i] = np.array(ann["keypoints"]).reshape([-1, 3])
    return joints


def loop_matrix(center, scale, size, rotation):
    h = 200 * scale
    t = np.zeros((3, 3))
    t[0, 0] = float(size) / h
    t[1, 1] = float(size) / h
    t[0, 2] = size * (-float(center[0]) / h + .5)
    t[1, 2] = size * (-float(center[1]) / h + .5)
    t[2, 2] = 1
    if rotation != 0:
        r = -rotation * np.pi / 180
        rot = np.zeros((3, 3))
        rot[0, :2] = [np.cos(r), -np.sin(r)]
        rot[1, :2] = [np.sin(r), np.cos(r)]
        rot[2, 2] = 1
        shift = np.eye(3)
        shift[0, 2] = shift[1, 2] = -size / 2
        back = np.eye(3)
        back[0, 2] = back[1, 2] = size / 2
        t = np.dot(back, np.dot(rot, np.dot(shift, t)))
    return t


def loop_heatmaps(joints, size, num_joints, sigma=2):
    g_size = 6 * sigma + 3
    x = np.arange(0, g_size, 1, float)
    y = x[:, None]
    c = 3 * sigma + 1
    g = np.exp(- ((x - c) ** 2 + (y - c) ** 2) / (2 * sigma ** 2))
    hms = np.zeros((num_joints, size, size), dtype=np.float32)
    for person in joints:
        for k, point in enumerate(person):
            if point[2] > 0:
                xi, yi = int(point[0]), int(point[1])
                if xi < 0 or yi < 0 or xi >= size or yi >= size:
                    continue
                ul = int(np.round(xi - 3 * sigma - 1)), int(np.round(yi - 3 * sigma - 1))
                br = int(np.round(xi + 3 * sigma + 2)), int(np.round(yi + 3 * sigma + 2))
                c0, d0 = max(0, -ul[0]), min(br[0], size) - ul[0]
                a0, b0 = max(0, -ul[1]), min(br[1], size) - ul[1]
                cc, dd = max(0, ul[0]), min(br[0], size)
                aa, bb = max(0, ul[1]), min(br[1], size)
                hms[k, aa:bb, cc:dd] = np.maximum(hms[k, aa:bb, cc:dd], g[a0:b0, c0:d0])
    return hms


def loop_tag_targets(joints, size, num_joints, max_people=30, tag_per_joint=True):
    nodes = np.zeros((max_people, num_joints, 2))
    for i, person in enumerate(joints):
        slot = 0
        for k, point in enumerate(person):
            xi, yi = int(point[0]), int(point[1])
            if point[2] > 0 and 0 <= xi < size and 0 <= yi < size:
                index = k * size ** 2 + yi * size + xi if tag_per_joint else yi * size + xi
                nodes[i][slot] = (index, 1)
                slot += 1
    return nodes.astype(np.int32)


def loop_sample(image, mask, joints, params, input_size, output_sizes, flip_index, sigma=2,
                tag_per_joint=True):
    """(input tensor, heatmaps, masks, tag targets, joints after) for one sample and given params."""
    height, width = image.shape[:2]
    center = np.array((width / 2, height / 2))
    scale = min(height, width) / 200 * params.aug_scale
    center[0] += params.dx
    center[1] += params.dy
    masks, all_joints = [], []
    for size in output_sizes:
        mat = loop_matrix(center, scale, size, params.aug_rot)[:2]
        warped = cv2.warpAffine((mask * 255).astype(np.uint8), mat, (size, size)) / 255
        masks.append((warped > 0.5).astype(np.float32))
        moved = joints.copy()
        flat = moved[:, :, :2].reshape(-1, 2)
        moved[:, :, :2] = np.dot(np.concatenate((flat, flat[:, 0:1] * 0 + 1), axis=1), mat.T).reshape(
            moved.shape[0], moved.shape[1], 2)
        all_joints.append(moved)
    image = cv2.warpAffine(image, loop_matrix(center, scale, input_size, params.aug_rot)[:2],
                           (input_size, input_size))
    if params.flip:
        image = image[:, ::-1] - np.zeros_like(image)
        for s, size in enumerate(output_sizes):
            masks[s] = masks[s][:, ::-1] - np.zeros_like(masks[s])
            all_joints[s] = all_joints[s][:, flip_index]
            all_joints[s][:, :, 0] = size - all_joints[s][:, :, 0] - 1
    num_joints = joints.shape[1]
    heatmaps = [loop_heatmaps(j, size, num_joints, sigma) for j, size in zip(all_joints, output_sizes)]
    tags = [loop_tag_targets(j, size, num_joints, tag_per_joint=tag_per_joint)
            for j, size in zip(all_joints, output_sizes)]
    return to_input_tensor(image), heatmaps, masks, tags, all_joints


class LoopTrainDataset:
    """Loop-based twin of KeypointTrainDataset (COCO family, SCALE_TYPE short), drawing like the official."""

    def __init__(self, fast_dataset, max_rotation, min_scale, max_scale, max_translate, flip_prob):
        self.fast = fast_dataset
        self.ranges = (max_rotation, min_scale, max_scale, max_translate, flip_prob)

    def __len__(self):
        return len(self.fast)

    def __getitem__(self, index):
        from higherhrnet.data.transforms import AugmentationParams
        fast = self.fast
        image_id = fast.ids[index]
        image = read_image_rgb(fast.image_path(index))
        annotations = fast.coco.loadAnns(fast.coco.getAnnIds(imgIds=image_id))
        info = fast.coco.imgs[image_id]
        mask = loop_mask(annotations, info["height"], info["width"])
        persons = [a for a in annotations if a["iscrowd"] == 0 or a["num_keypoints"] > 0]
        joints = loop_joints(persons, fast.num_joints)
        max_rotation, min_scale, max_scale, max_translate, flip_prob = self.ranges
        height, width = image.shape[:2]
        aug_scale = np.random.random() * (max_scale - min_scale) + min_scale
        aug_rot = (np.random.random() * 2 - 1) * max_rotation
        scale = min(height, width) / 200 * aug_scale
        dx = dy = 0
        if max_translate > 0:
            dx = np.random.randint(int(-max_translate * scale), int(max_translate * scale))
            dy = np.random.randint(int(-max_translate * scale), int(max_translate * scale))
        params = AugmentationParams(aug_scale, aug_rot, int(dx), int(dy), random.random() < flip_prob)
        aug = fast.augmentation
        tensor, heatmaps, masks, tags, _ = loop_sample(image, mask, joints, params, aug.input_size,
                                                       aug.output_sizes, aug.flip_index)
        return tensor, heatmaps, masks, tags
