"""Training augmentation: random affine crop and horizontal flip (algorithm.md §4.1-4.2).

The pipeline is split into *drawing* the random parameters (`TrainAugmentation.draw`, global NumPy RNG
then Python's `random`, in the official order) and *applying* them (`apply_augmentation`, pure), so a
sample can be rebuilt from recorded parameters without any RNG. ToTensor + Normalize is
`image_io.to_input_tensor_fast`.

Conventions: x = column, y = row. Joints are mapped with the same 3x3 affine as the pixels, in OpenCV's
warp coordinates (pixel k has its centre at k); the targets then take `int(x)` as the pixel index. The
matrix maps original-image pixels onto a square map of side `output_size`, and
`affine_matrix(..., R) = (R / S) * affine_matrix(..., S)` up to rounding.
"""
import random
from dataclasses import dataclass

import cv2
import numpy as np
from ..errors import ConfigError


@dataclass(frozen=True)
class AugmentationParams:
    """One draw of the training augmentation.

    aug_scale: multiplies the crop side (200 * scale px); aug_rot: degrees (the image content turns
    counter-clockwise for positive values); dx, dy: crop-centre shift in original-image pixels; flip:
    horizontal flip after the affine.
    """
    aug_scale: float = 1.0
    aug_rot: float = 0.0
    dx: int = 0
    dy: int = 0
    flip: bool = False


@dataclass
class AugmentedSample:
    """Result of `apply_augmentation`.

    image: uint8 (S, S, C), same channels as the input image; masks[s]: float32 (R_s, R_s) of 0/1;
    joints[s]: float64 (N, J, 3) at resolution R_s after the flip; joints_affine[s]: the same before the
    flip; center (2,) and scale (200-px units): the final crop; matrix_input (3, 3) for S and
    matrices_output[s] (3, 3) for R_s.
    """
    image: np.ndarray
    masks: list
    joints: list
    joints_affine: list
    center: np.ndarray
    scale: float
    matrix_input: np.ndarray
    matrices_output: list


def base_scale(height, width, scale_type="short"):
    """Crop side before augmentation, in 200-px units: short (or long) image side / 200."""
    if scale_type == "short":
        return min(height, width) / 200
    if scale_type == "long":
        return max(height, width) / 200
    raise ConfigError(f"DATASET.SCALE_TYPE {scale_type!r} is not supported; expected 'short' or 'long'")


def crop_center_scale(height, width, params, scale_type="short"):
    """Final crop centre (x, y) float64 (2,) and scale (200-px units) of an image for drawn `params`."""
    center = np.array((width / 2, height / 2))
    scale = base_scale(height, width, scale_type)
    scale *= params.aug_scale
    center[0] += params.dx
    center[1] += params.dy
    return center, scale


def affine_matrix(center, scale, output_size, rotation_deg=0.0):
    """3x3 float64 matrix mapping original-image pixels onto an output_size x output_size map.

    The square of side 200 * scale around `center` fills the map; with rotation_deg != 0 the result is
    then rotated about the map centre by -rotation_deg (algorithm.md §4.1, train/README.md step 5).
    """
    side = 200 * scale
    matrix = np.zeros((3, 3))
    matrix[0, 0] = float(output_size) / side
    matrix[1, 1] = float(output_size) / side
    matrix[0, 2] = output_size * (-float(center[0]) / side + 0.5)
    matrix[1, 2] = output_size * (-float(center[1]) / side + 0.5)
    matrix[2, 2] = 1
    if rotation_deg != 0:
        radians = -rotation_deg * np.pi / 180
        sin, cos = np.sin(radians), np.cos(radians)
        rotation = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], dtype=np.float64)
        to_origin = np.eye(3)
        to_origin[0, 2] = -output_size / 2
        to_origin[1, 2] = -output_size / 2
        back = np.eye(3)
        back[0, 2] = output_size / 2
        back[1, 2] = output_size / 2
        matrix = np.dot(back, np.dot(rotation, np.dot(to_origin, matrix)))
    return matrix


def warp_image(image, matrix, size):
    """cv2.warpAffine(image, matrix[:2], (size, size)): bilinear, constant border 0 (uint8 (H, W, C) or (H, W)).

    Pass RGBA (C = 4) for speed: OpenCV's 4-channel path is faster than the 3-channel one and gives the
    same value in every channel (channels are interpolated independently). The result goes into an array
    made here, which is faster than the one OpenCV allocates itself; every output pixel is written, so the
    values agree.
    """
    output = np.empty((size, size) + image.shape[2:], dtype=image.dtype)
    return cv2.warpAffine(image, matrix[:2], (size, size), dst=output)


def mask_to_255(mask):
    """uint8 (H, W): 255 where the bool or 0/1 mask is set, else 0 (the official `mask * 255` as uint8)."""
    return mask.astype(np.uint8) * np.uint8(255)


def warp_mask(mask_255, matrix, size):
    """Official mask warp: bilinear warp of the 0/255 mask, / 255, > 0.5 -> float32 (size, size) of 0/1.

    mask_255: uint8 (H, W) from `mask_to_255` (made once per sample for all resolutions); 255 = counted in
    the loss. Outside the source image the result is 0.
    """
    warped = warp_image(mask_255, matrix, size)
    # `warped / 255 > 0.5` in float64 is the same as `warped > 127` for uint8 values.
    return (warped > 127).astype(np.float32)


def affine_joints(joints, matrix):
    """Apply the 2x3 affine to (x, y) of joints (N, J, C) float64; other columns unchanged (new array)."""
    result = joints.copy()
    points = joints[:, :, :2].reshape(-1, 2)
    homogeneous = np.concatenate((points, np.ones((points.shape[0], 1))), axis=1)
    result[:, :, :2] = np.dot(homogeneous, matrix[:2].T).reshape(joints.shape[0], joints.shape[1], 2)
    return result


def flip_joints(joints, flip_index, output_size, input_size=None, exact_flip=False):
    """Mirror joints (N, J, C) at resolution output_size: reorder joints with flip_index, then mirror x.

    Official [Q]: x <- output_size - x - 1 (pixel-index mirror at the output resolution), which sits
    1 - output_size / input_size px left of the mirrored image. exact_flip (DATASET.EXACT_FLIP, off by
    default, differs from official): x <- output_size - x - output_size / input_size, the exact mirror of the
    image flip.
    """
    flipped = joints[:, flip_index]
    if exact_flip:
        flipped[:, :, 0] = output_size - flipped[:, :, 0] - output_size / input_size
    else:
        flipped[:, :, 0] = output_size - flipped[:, :, 0] - 1
    return flipped


def flip_matrix(output_size, input_size):
    """3x3 mirror x <- output_size - output_size / input_size - x (the exact image-flip mirror at that size)."""
    return np.array([[-1.0, 0.0, output_size - output_size / input_size], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def apply_augmentation(image, mask, joints, params, input_size, output_sizes, flip_index,
                       scale_type="short", exact_flip=False):
    """Affine crop then optional flip of one training sample, for given (recorded or drawn) params.

    image: uint8 (H, W, C) (RGB, or RGBA for a faster warp); mask: bool (H, W) or None (all True);
    joints: float64 (N, J, 3) original-image pixels. Returns an AugmentedSample with one mask and one
    joints array per output size. Follows train/README.md steps 4-7: masks warped per resolution, joints
    mapped per resolution, image warped at input_size, then the flip mirrors image and masks by columns
    and joints with `flip_joints`. With exact_flip the masks are warped with the mirrored matrix instead,
    so they match the image flip too.
    """
    height, width = image.shape[:2]
    if mask is None:
        mask = np.ones((height, width), dtype=bool)
    center, scale = crop_center_scale(height, width, params, scale_type)
    mask_255 = mask_to_255(mask)
    matrices_output, masks, joints_affine, joints_final = [], [], [], []
    for output_size in output_sizes:
        matrix = affine_matrix(center, scale, output_size, params.aug_rot)
        matrices_output.append(matrix)
        moved = affine_joints(joints, matrix)
        joints_affine.append(moved)
        if not params.flip:
            masks.append(warp_mask(mask_255, matrix, output_size))
        elif exact_flip:  # DATASET.EXACT_FLIP, not official: the mask is warped with the mirrored matrix
            masks.append(warp_mask(mask_255, flip_matrix(output_size, input_size) @ matrix, output_size))
            moved = flip_joints(moved, flip_index, output_size, input_size, exact_flip=True)
        else:
            masks.append(np.ascontiguousarray(warp_mask(mask_255, matrix, output_size)[:, ::-1]))
            moved = flip_joints(moved, flip_index, output_size)
        joints_final.append(moved)
    matrix_input = affine_matrix(center, scale, input_size, params.aug_rot)
    warped = warp_image(image, matrix_input, input_size)
    if params.flip:
        cv2.flip(warped, 1, dst=warped)  # in place (OpenCV swaps mirrored pairs)
    return AugmentedSample(image=warped, masks=masks, joints=joints_final, joints_affine=joints_affine,
                           center=center, scale=scale, matrix_input=matrix_input, matrices_output=matrices_output)


class TrainAugmentation:
    """RandomAffineTransform then RandomHorizontalFlip (official order, algorithm.md §4.1-4.2) as draw + apply.

    Ranges as in the config: max_rotation (deg), min_scale / max_scale (aug_scale range), max_translate
    (px per 200-px unit of crop), flip_prob. `flip_index` reorders joints when flipping.
    """

    def __init__(self, input_size, output_sizes, flip_index, max_rotation, min_scale, max_scale,
                 max_translate, flip_prob, scale_type="short", exact_flip=False):
        self.input_size = input_size
        self.output_sizes = list(output_sizes)
        self.flip_index = list(flip_index)
        self.max_rotation = max_rotation
        self.min_scale = min_scale
        self.max_scale = max_scale
        self.max_translate = max_translate
        self.flip_prob = flip_prob
        self.scale_type = scale_type
        self.exact_flip = exact_flip

    def draw(self, height, width):
        """Draw AugmentationParams for an image of (height, width).

        Order [P]: np.random.random (scale), np.random.random (rotation), then if max_translate > 0
        np.random.randint twice (dx, dy) with bounds +-max_translate * scale truncated toward zero (scale
        includes aug_scale), then Python random.random() < flip_prob.
        """
        aug_scale = np.random.random() * (self.max_scale - self.min_scale) + self.min_scale
        aug_rot = (np.random.random() * 2 - 1) * self.max_rotation
        dx = dy = 0
        if self.max_translate > 0:
            scale = base_scale(height, width, self.scale_type) * aug_scale
            bound = int(self.max_translate * scale)
            dx = int(np.random.randint(-bound, bound))
            dy = int(np.random.randint(-bound, bound))
        flip = random.random() < self.flip_prob
        return AugmentationParams(aug_scale=aug_scale, aug_rot=aug_rot, dx=dx, dy=dy, flip=flip)

    def apply(self, image, mask, joints, params):
        return apply_augmentation(image, mask, joints, params, self.input_size, self.output_sizes,
                                  self.flip_index, self.scale_type, self.exact_flip)

    def __call__(self, image, mask, joints):
        return self.apply(image, mask, joints, self.draw(*image.shape[:2]))
