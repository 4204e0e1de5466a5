"""Decoder inputs built from ground truth: the outputs of a "perfect" network, for tests and benchmarks.

For persons k = 1..K with joints (x, y, v) in heatmap pixels:
  det[j] = max_k a_k G_kj, with G_kj the official training Gaussian (sigma 2, peak 1 at the integer pixel
           of joint j of person k, when v > 0 and inside the map) and distinct amplitudes a_k = 1 - step (k-1);
  tag[j] = k where person k owns the pixel (largest a_k G_kj, first k on ties) and det[j] > 0, else 0.
As a flip test gives two tag maps per joint, the second channel here is the first plus Gaussian noise
(`tag_noise`), everywhere. Returned as det (1, J, H, W) and tags (1, J, H, W, 2) float32 tensors, the
shapes `codec.parse` reads. The reference grouping fixtures beside the repository were built the same way.
`perfect_stage_outputs` builds the same maps one step earlier, as the network's two stage outputs of a
flip test, so that the aggregation (resizing to the input size) runs on realistic maps too.
The decoder tests (tests/codec) use these maps, and tools/benchmark.py times the decoder on them.
"""
import numpy as np
import torch

from higherhrnet.codec import get_multi_scale_size
from higherhrnet.codec.targets import HeatmapGenerator
from higherhrnet.geometry import affine_transform, get_affine_transform

# A standing person in a unit box, COCO joint order, (x, y) with y downward.
_SKELETON = np.array([[0.50, 0.08], [0.54, 0.06], [0.46, 0.06], [0.58, 0.08], [0.42, 0.08], [0.68, 0.22],
                      [0.32, 0.22], [0.78, 0.38], [0.22, 0.38], [0.84, 0.52], [0.16, 0.52], [0.62, 0.54],
                      [0.38, 0.54], [0.64, 0.76], [0.36, 0.76], [0.65, 0.96], [0.35, 0.96]])


def perfect_maps(joints, size_wh, *, sigma=2.0, amplitude_step=0.02, tag_noise=0.05, seed=0):
    """det (1, J, H, W) and tags (1, J, H, W, 2) float32 tensors from joints (K, J, 3) in map pixels.

    size_wh: (W, H) of the maps. amplitude_step: a_k = 1 - amplitude_step * (k - 1), must stay > 0 for
    every person (0.05 suits at most 13 persons). seed: the noise of the second tag channel.
    """
    joints = np.asarray(joints, dtype=np.float64)
    num_persons, num_joints = joints.shape[:2]
    width, height = size_wh
    if num_persons and 1 - amplitude_step * (num_persons - 1) <= 0:
        raise ValueError(f"amplitude_step {amplitude_step} leaves no positive amplitude for {num_persons} persons")
    generator = HeatmapGenerator(max(width, height), num_joints, sigma)
    det = np.zeros((num_joints, height, width), np.float32)
    owner = np.zeros((num_joints, height, width), np.float32)
    for person in range(num_persons):
        amplitude = np.float32(1 - amplitude_step * person)
        heat = generator(joints[person:person + 1])[:, :height, :width] * amplitude
        better = heat > det  # strictly: the first person keeps a tie
        det[better] = heat[better]
        owner[better] = person + 1
    rng = np.random.default_rng(seed)
    second = owner + rng.normal(0.0, tag_noise, owner.shape).astype(np.float32)
    tags = np.stack([owner, second], axis=-1)
    return torch.from_numpy(det[None]), torch.from_numpy(tags[None])


def perfect_stage_outputs(joints, input_size_wh, flip_index, *, amplitude_step=0.05, seed=0):
    """The two stage outputs of a "perfect" HigherHRNet for an input of input_size_wh (W, H), and of its mirror.

    joints (K, J, 3) in input pixels. Stage 0 (1/4 resolution): J heatmaps then J tag maps (person index,
    as in `perfect_maps`); stage 1 (1/2 resolution): J heatmaps. The flipped pass is what the network gives
    for the mirrored input: every map mirrored along W, with the left / right joint channels swapped
    (flip_index); its tags are `perfect_maps`' noisy second channel, so that the two tag channels differ.
    Returns (outputs, outputs_flipped), lists of float32 tensors (1, C, h, w).
    """
    width, height = input_size_wh
    joints = np.asarray(joints, dtype=np.float64)
    scaled = lambda factor: np.concatenate([joints[..., :2] * factor, joints[..., 2:]], axis=-1)  # noqa: E731
    heat0, tags0 = perfect_maps(scaled(0.25), (width // 4, height // 4), amplitude_step=amplitude_step, seed=seed)
    heat1, _ = perfect_maps(scaled(0.5), (width // 2, height // 2), amplitude_step=amplitude_step, seed=seed)
    outputs = [torch.cat([heat0, tags0[..., 0]], dim=1), heat1]
    flip_index = list(flip_index)
    flipped_tags = torch.flip(tags0[..., 1][:, flip_index], [3])
    outputs_flipped = [torch.cat([torch.flip(heat0[:, flip_index], [3]), flipped_tags], dim=1),
                       torch.flip(heat1[:, flip_index], [3])]
    return [o.contiguous() for o in outputs], [o.contiguous() for o in outputs_flipped]


def crowd_joints(num_persons, size_wh, *, seed=0, missing=0.15, height_range=(0.23, 0.59), jitter=3.0):
    """Joints (K, 17, 3) of K standing persons placed at random in a (W, H) map; each joint has v = 0
    (not labelled, so absent from the maps and left to refine) with probability `missing`.

    height_range: person heights as fractions of H (120 to 300 pixels in a 512-pixel map).
    """
    rng = np.random.default_rng(seed)
    width, height = size_wh
    joints = np.zeros((num_persons, len(_SKELETON), 3))
    for person in range(num_persons):
        box_height = rng.uniform(*height_range) * height
        box_width = 0.5 * box_height
        left, top = rng.uniform(0, width - box_width), rng.uniform(0, height - box_height)
        joints[person, :, 0] = left + _SKELETON[:, 0] * box_width + rng.normal(0, jitter, len(_SKELETON))
        joints[person, :, 1] = top + _SKELETON[:, 1] * box_height + rng.normal(0, jitter, len(_SKELETON))
        joints[person, :, 2] = rng.random(len(_SKELETON)) >= missing
    return joints


def crowd_case(num_persons, size_wh=(768, 512), seed=0):
    """A crowded test case: maps, geometry and ground truth of `num_persons` synthetic persons.

    The maps are those of an image of size size_wh tested at input size min(size_wh) (PROJECT2IMAGE: maps
    at the image size). Returns a dict with det, tags, center, scale, heatmap_size (W, H), joints.
    """
    joints = crowd_joints(num_persons, size_wh, seed=seed)
    det, tags = perfect_maps(joints, size_wh, seed=seed)
    image_shape = (size_wh[1], size_wh[0], 3)
    base_size, center, scale = get_multi_scale_size(np.empty(image_shape, np.uint8), min(size_wh), 1.0, 1.0)
    return dict(det=det, tags=tags, center=center, scale=scale, heatmap_size=tuple(base_size), joints=joints)


def image_case(image_shape, annotations, input_size, seed=0):
    """Maps of one annotated image at the test geometry of `input_size` (as the grouping fixtures were made).

    image_shape: (H, W, ...) of the image; annotations: its COCO annotation dicts (persons with
    iscrowd == 0 and num_keypoints > 0 are drawn, in json order). Returns the dict of `crowd_case`.
    """
    persons = [ann for ann in annotations if ann.get("iscrowd", 0) == 0 and ann.get("num_keypoints", 0) > 0]
    base_size, center, scale = get_multi_scale_size(np.empty(image_shape, np.uint8), input_size, 1.0, 1.0)
    to_maps = get_affine_transform(center, scale, 0, base_size)
    joints = np.zeros((len(persons), 17, 3))
    for index, ann in enumerate(persons):
        keypoints = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        for joint, (x, y, visibility) in enumerate(keypoints):
            joints[index, joint, :2] = affine_transform((x, y), to_maps)
            joints[index, joint, 2] = visibility
    step = 0.05 if len(persons) <= 13 else 0.02
    det, tags = perfect_maps(joints, tuple(base_size), amplitude_step=step, seed=seed)
    return dict(det=det, tags=tags, center=center, scale=scale, heatmap_size=tuple(base_size), joints=joints,
                amplitude_step=step)
