"""Test-time resizing of an image for one test scale (algorithm.md §6.2).

The network input at scale `current_scale` keeps the image aspect ratio. Its short side is
`input_size * min_scale` rounded by `floor((x + 63) / 64) * 64` (not a ceiling), and its long side is
rounded the same way, both *at the minimum scale*, then multiplied by `current_scale / min_scale`.
The base size of an image (scale 1.0) therefore depends on the whole scale set.
"""
import cv2
import numpy as np

from higherhrnet.geometry import PIXELS_PER_SCALE_UNIT, get_affine_transform


def _round_up_to_64(x):
    """Official rounding to a multiple of 64: floor((x + 63) / 64) * 64 (float in, float out)."""
    return (x + 63) // 64 * 64


def get_multi_scale_size(image, input_size, current_scale, min_scale):
    """Network input size, centre and scale of `image` at one test scale.

    image: (H, W, C) array (only its shape is used); input_size: DATASET.INPUT_SIZE (e.g. 512);
    current_scale: the test scale being processed; min_scale: min(TEST.SCALE_FACTOR).
    Returns ((w_resized, h_resized) ints, center int array (2,) = (int(w/2 + 0.5), int(h/2 + 0.5)),
    scale float64 array (2,) = (scale_w, scale_h) in 200-px units; scale_w * 200 image pixels map to
    w_resized input pixels).
    """
    if np.ndim(image) < 2:
        raise ValueError(f"get_multi_scale_size: expected an (H, W, C) image, got shape {np.shape(image)}")
    if current_scale <= 0 or min_scale <= 0 or input_size <= 0:
        raise ValueError(f"get_multi_scale_size: sizes and scales must be positive, got input_size "
                         f"{input_size}, current_scale {current_scale}, min_scale {min_scale}")
    h, w = np.shape(image)[:2]
    center = np.array([int(w / 2.0 + 0.5), int(h / 2.0 + 0.5)])
    min_input_size = int(_round_up_to_64(min_scale * input_size))
    if w < h:
        w_resized = int(min_input_size * current_scale / min_scale)
        h_resized = int(int(_round_up_to_64(min_input_size / w * h)) * current_scale / min_scale)
        scale_w = w / PIXELS_PER_SCALE_UNIT
        scale_h = h_resized / w_resized * w / PIXELS_PER_SCALE_UNIT
    else:
        h_resized = int(min_input_size * current_scale / min_scale)
        w_resized = int(int(_round_up_to_64(min_input_size / h * w)) * current_scale / min_scale)
        scale_h = h / PIXELS_PER_SCALE_UNIT
        scale_w = w_resized / h_resized * h / PIXELS_PER_SCALE_UNIT
    return (w_resized, h_resized), center, np.array([scale_w, scale_h])


def resize_align_multi_scale(image, input_size, current_scale, min_scale):
    """Warp `image` (H, W, 3) uint8 to its network input size at `current_scale`.

    Bilinear warp with a constant 0 border (OpenCV defaults) by the centre/scale affine map.
    Returns (resized image (h_resized, w_resized, 3) of the input dtype, center (2,), scale (2,)).
    """
    size_resized, center, scale = get_multi_scale_size(image, input_size, current_scale, min_scale)
    matrix = get_affine_transform(center, scale, 0, size_resized)
    image_resized = cv2.warpAffine(np.ascontiguousarray(image), matrix, size_resized)
    return image_resized, center, scale
