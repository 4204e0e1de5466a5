"""Centre/scale affine maps between image pixels and network input or heatmap pixels (algorithm.md §6.2, 6.10).

A region is described by a `center` (x, y) in image pixels and a `scale` (scale_w, scale_h) in units of
200 pixels; only scale_w is used: the map is an isotropic scaling by `output_w / (200 * scale_w)` (times a
rotation) that sends `center` to the output centre `(output_w / 2, output_h / 2)`. No +0.5 pixel-centre
offset is applied here: the map acts on whatever coordinates it is given, (x, y) = (column, row).

The matrix is built the official way, from three point pairs stored as float32 and solved by OpenCV's
`getAffineTransform`, so it agrees with the official matrix to the last bit.
"""
import cv2
import numpy as np

PIXELS_PER_SCALE_UNIT = 200.0


def _rotate(point, angle_rad):
    """Rotate a 2-vector (x, y) by `angle_rad` (counter-clockwise in a y-up frame), float64 list."""
    sin, cos = np.sin(angle_rad), np.cos(angle_rad)
    return [point[0] * cos - point[1] * sin, point[0] * sin + point[1] * cos]


def _third_point(a, b):
    """The point b + (a - b) turned by 90 degrees: (b_x - (a - b)_y, b_y + (a - b)_x), float32."""
    direction = a - b
    return b + np.array([-direction[1], direction[0]], dtype=np.float32)


def get_affine_transform(center, scale, rot, output_size, inv=False):
    """2x3 float64 affine matrix from image pixels to an output of size `output_size` = (w, h).

    center: (x, y) image pixels; scale: (scale_w, scale_h) in 200-px units, or a scalar for both;
    rot: degrees; inv: return the inverse map (output -> image) instead.
    Source points: center, center + rot(0, -scale_w * 100), and the perpendicular third point;
    destination points: (w/2, h/2), (w/2, h/2 - w/2), and the perpendicular third point.
    """
    if np.ndim(scale) == 0:
        scale = np.array([scale, scale])
    scale = np.asarray(scale, dtype=np.float64)
    center = np.asarray(center)
    if center.shape != (2,) or scale.shape != (2,) or len(output_size) != 2:
        raise ValueError(f"get_affine_transform: expected center (2,), scale (2,) and output_size (w, h), "
                         f"got shapes {center.shape}, {scale.shape} and {output_size!r}")
    if scale[0] <= 0 or output_size[0] <= 0 or output_size[1] <= 0:
        raise ValueError(f"get_affine_transform: scale_w and output size must be positive, "
                         f"got scale {scale.tolist()} and output_size {output_size!r}")
    source_width = scale[0] * PIXELS_PER_SCALE_UNIT
    output_w, output_h = output_size[0], output_size[1]

    source_up = _rotate([0, source_width * -0.5], np.pi * rot / 180)
    output_up = np.array([0, output_w * -0.5], dtype=np.float32)

    source = np.zeros((3, 2), dtype=np.float32)
    target = np.zeros((3, 2), dtype=np.float32)
    source[0] = center
    source[1] = center + source_up
    target[0] = [output_w * 0.5, output_h * 0.5]
    target[1] = np.array([output_w * 0.5, output_h * 0.5]) + output_up
    source[2] = _third_point(source[0], source[1])
    target[2] = _third_point(target[0], target[1])

    if inv:
        return cv2.getAffineTransform(target, source)
    return cv2.getAffineTransform(source, target)


def affine_transform(point, matrix):
    """Apply a 2x3 affine `matrix` to one point (x, y); returns a float64 array (2,)."""
    homogeneous = np.array([point[0], point[1], 1.0])
    return np.dot(matrix, homogeneous)[:2]
