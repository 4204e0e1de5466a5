"""COCO and CrowdPose datasets in the official layouts: test images, and training samples with targets.

`KeypointTestDataset` yields (image uint8 RGB (H, W, 3), image_id, file_name) for every image of the
annotation file, in file order (algorithm.md §6.1, M16). `KeypointTrainDataset` yields one training sample:
(input float32 tensor (3, S, S), [heatmaps_s float32 (J, R_s, R_s)], [mask_s float32 (R_s, R_s)],
[tag_targets_s int32 (max_num_people, J, 2)]) for the output resolutions R_s (algorithm.md §3.7); `compact_item`
gives the same sample in the compact form the training DataLoader transfers (compact_batch.py).

A training image that cannot be read is skipped (see `KeypointTrainDataset`); a test image that cannot be
read stops the evaluation (ImageReadError), as every image counts in the AP.
"""
import logging

import numpy as np
import torch.utils.data

from ..errors import UserError
from .annotations import ignore_mask, joints_array, training_persons
from .compact_batch import CompactSample
from .image_io import ImageReadError, image_planes, to_input_tensor_fast
from .sources import ZipArchives, annotation_path, image_path, load_coco_api, read_image


class KeypointTestDataset(torch.utils.data.Dataset):
    """All images of a split, in annotation-file order. family: 'coco' or 'crowd_pose'."""

    def __init__(self, family, root, split, data_format="jpg"):
        self.family = family
        self.root = root
        self.split = split
        self.data_format = data_format
        self.annotation_file = annotation_path(family, root, split)
        self.coco = load_coco_api(self.annotation_file)
        self.ids = list(self.coco.imgs.keys())
        self._archives = ZipArchives()

    def __len__(self):
        return len(self.ids)

    def image_path(self, index):
        file_name = self.coco.imgs[self.ids[index]]["file_name"]
        return image_path(self.family, self.root, self.split, file_name, self.data_format)

    def __getitem__(self, index):
        image_id = self.ids[index]
        file_name = self.coco.imgs[image_id]["file_name"]
        return read_image(self.image_path(index), self._archives), image_id, file_name


class UnreadableImagesError(UserError, OSError):
    """More training images could not be read than DATASET.MAX_UNREADABLE_FRACTION allows."""


class KeypointTrainDataset(KeypointTestDataset):
    """Training samples of a split (algorithm.md §3.1-3.7).

    Images without any annotation are dropped. Per image: RGB image, ignore mask (COCO only; CrowdPose is
    all True), joints (N, J, 3) of the kept persons, then `augmentation` (a TrainAugmentation), then one
    HeatmapGenerator and one JointsGenerator per output resolution (lists in OUTPUT_SIZE order).

    Unreadable images: `__getitem__` / `compact_item` of an image that cannot be read (ImageReadError) log
    one warning naming the file, mark it in `unreadable` and return the sample of the next readable image
    (index + 1, + 2, ... wrapping around); a marked image is not tried again, so the warning comes once per
    file. `unreadable` (uint8 (N,), 1 = unreadable) lives in shared memory: DataLoader workers (forked or
    spawned) mark the same tensor, so every worker and the main process see one count. When the count
    exceeds `max_unreadable_fraction` x `images_per_process` (`limit_unreadable`; by default any unreadable
    image) the item raises UnreadableImagesError, which the DataLoader re-raises in the training process.
    Nothing changes while every image reads: no extra draw from the RNG, the same samples.
    """

    def __init__(self, family, root, split, num_joints, augmentation, heatmap_generators, joints_generators,
                 with_center=False, data_format="jpg"):
        super().__init__(family, root, split, data_format)
        self.num_joints = num_joints
        self.with_center = with_center
        self.augmentation = augmentation
        self.heatmap_generators = list(heatmap_generators)
        self.joints_generators = list(joints_generators)
        self.use_ignore_mask = family == "coco"
        self.ids = [image_id for image_id in self.ids if len(self.coco.getAnnIds(imgIds=image_id)) > 0]
        self.unreadable = torch.zeros(len(self.ids), dtype=torch.uint8).share_memory_()
        self.max_unreadable_fraction, self.images_per_process = 0.0, len(self.ids)

    def limit_unreadable(self, max_fraction, images_per_process=None):
        """Stop once more than `max_fraction` of the images this process reads (its sampler's share,
        default all of them) were unreadable (DATASET.MAX_UNREADABLE_FRACTION)."""
        self.max_unreadable_fraction = float(max_fraction)
        self.images_per_process = len(self.ids) if images_per_process is None else int(images_per_process)

    def unreadable_files(self):
        """Paths of the images found unreadable so far (by this process and its workers)."""
        return [self.image_path(index) for index in torch.nonzero(self.unreadable).flatten().tolist()]

    def _load_readable(self, index):
        """`load` of `index`, or of the next readable image when it cannot be read (see the class doc)."""
        for offset in range(len(self.ids)):
            candidate = (index + offset) % len(self.ids)
            if self.unreadable[candidate]:
                continue
            try:
                return self.load(candidate)
            except ImageReadError as error:
                self._skip_unreadable(candidate, error)
        raise UnreadableImagesError(f"{self.annotation_file}: none of the {len(self.ids)} training images "
                                    "can be read")

    def _skip_unreadable(self, index, error):
        self.unreadable[index] = 1
        count = int(self.unreadable.sum())
        allowed = self.max_unreadable_fraction * self.images_per_process
        if count > allowed:
            raise UnreadableImagesError(
                f"DATASET.MAX_UNREADABLE_FRACTION {self.max_unreadable_fraction:g}: {count} of the "
                f"{self.images_per_process} training images of this process could not be read (more than "
                f"{allowed:g}); the last: {error}")
        logging.getLogger("higherhrnet").warning(
            f"skipping an unreadable training image ({count} so far): {error}")

    def load(self, index):
        """Original-size (image uint8 RGBA (H, W, 4), mask bool (H, W), joints (N, J, 3), person ann ids).

        The image carries an alpha plane (255) only because OpenCV warps 4 channels faster than 3; the
        augmentation and the input tensor use the RGB planes.
        """
        image_id = self.ids[index]
        image = read_image(self.image_path(index), self._archives, rgba=True)
        annotations = self.coco.loadAnns(self.coco.getAnnIds(imgIds=image_id))
        info = self.coco.imgs[image_id]
        if self.use_ignore_mask:
            mask = ignore_mask(annotations, info["height"], info["width"])
        else:
            mask = np.ones((info["height"], info["width"]), dtype=bool)
        persons = training_persons(annotations)
        joints = joints_array(persons, self.num_joints, self.with_center)
        return image, mask, joints, [ann["id"] for ann in persons]

    def make_targets(self, augmented):
        """(input tensor, heatmaps, masks, tag targets) from an AugmentedSample (see the module doc)."""
        heatmaps = [generate(joints) for generate, joints in zip(self.heatmap_generators, augmented.joints)]
        tag_targets = [generate(joints) for generate, joints in zip(self.joints_generators, augmented.joints)]
        return to_input_tensor_fast(augmented.image), heatmaps, augmented.masks, tag_targets

    def sample(self, index, params):
        """The training sample of `index` for given AugmentationParams (no RNG involved)."""
        image, mask, joints, _ = self.load(index)
        return self.make_targets(self.augmentation.apply(image, mask, joints, params))

    def __getitem__(self, index):
        return self.make_targets(self._augmented(index))

    def compact_item(self, index):
        """The sample `__getitem__` would give (same random draws), as a compact_batch.CompactSample."""
        return self.make_compact_targets(self._augmented(index))

    def make_compact_targets(self, augmented):
        """CompactSample of an AugmentedSample: image planes, heatmap pixels, uint8 masks, tag targets."""
        return CompactSample(
            image=torch.from_numpy(image_planes(augmented.image)[:3]),
            heatmap_points=[generate.points(joints) for generate, joints in zip(self.heatmap_generators,
                                                                                 augmented.joints)],
            heatmap_shapes=[(self.num_joints, generate.output_size, generate.output_size)
                            for generate in self.heatmap_generators],
            masks=[mask.astype(np.uint8) for mask in augmented.masks],
            tag_targets=[generate(joints) for generate, joints in zip(self.joints_generators, augmented.joints)])

    def _augmented(self, index):
        """AugmentedSample of `index` with freshly drawn augmentation parameters (NumPy's global RNG)."""
        image, mask, joints, _ = self._load_readable(index)
        params = self.augmentation.draw(*image.shape[:2])
        return self.augmentation.apply(image, mask, joints, params)
