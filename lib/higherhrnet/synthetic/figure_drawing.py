"""Drawing a posed figure (figures.Figure) into an image and an owner map, back to front.

Image coordinates are OpenCV drawing coordinates: (x, y) = (column, row), pixel centres at integers; points
are handed to OpenCV in fixed point (1/16 pixel). The image is (H, W, 3) uint8 BGR, drawn antialiased; the
owner map is (H, W) int32, drawn without antialiasing, and records which part covers each pixel.
"""
import math

import cv2
import numpy as np

from .figures import scaled_colour
from .poses import unit_vector

SHIFT = 4                    # OpenCV drawing fixed-point bits: coordinates are given in 1/16 pixel
_ONE = 1 << SHIFT
FACE_CAP_COS = math.cos(math.radians(62))           # skin within 62 degrees of the face direction
# Unit vector towards the light in the camera frame (x right, y down, z towards the camera): upper left, front.
LIGHT = np.array([-0.45, -0.55, 0.70]) / np.linalg.norm([-0.45, -0.55, 0.70])


def _fixed(point):
    return int(math.floor(point[0] * _ONE + 0.5)), int(math.floor(point[1] * _ONE + 0.5))


def _draw_capsule(image, owner, code, part, outline_px):
    p0, p1 = _fixed(part.points[0]), _fixed(part.points[1])
    thickness = max(2, int(round(2 * part.radius)))
    cv2.line(image, p0, p1, part.outline, thickness + 2 * outline_px, cv2.LINE_AA, SHIFT)
    cv2.line(image, p0, p1, part.colour, thickness, cv2.LINE_AA, SHIFT)
    if thickness >= 6:           # a lighter stripe gives the capsule some volume
        offset = np.array([-0.3, -0.3]) * part.radius
        q0, q1 = _fixed(part.points[0] + offset), _fixed(part.points[1] + offset)
        cv2.line(image, q0, q1, scaled_colour(part.colour, 1.25), max(1, thickness // 4), cv2.LINE_AA, SHIFT)
    cv2.line(owner, p0, p1, code, thickness + 2 * outline_px, cv2.LINE_8, SHIFT)


def _draw_ball(image, owner, code, part, outline_px):
    centre = _fixed(part.points[0])
    radius = int(round(max(1.0, part.radius) * _ONE))
    cv2.circle(image, centre, radius + outline_px * _ONE, part.outline, -1, cv2.LINE_AA, SHIFT)
    cv2.circle(image, centre, radius, part.colour, -1, cv2.LINE_AA, SHIFT)
    cv2.circle(owner, centre, radius + outline_px * _ONE, code, -1, cv2.LINE_8, SHIFT)


def _draw_polygon(image, owner, code, part, outline_px):
    points = np.array([_fixed(p) for p in part.points], dtype=np.int32)
    cv2.fillPoly(image, [points], part.colour, cv2.LINE_AA, SHIFT)
    cv2.polylines(image, [points], True, part.outline, outline_px, cv2.LINE_AA, SHIFT)
    cv2.fillPoly(owner, [points], code, cv2.LINE_8, SHIFT)
    cv2.polylines(owner, [points], True, code, outline_px, cv2.LINE_8, SHIFT)


def _draw_head(image, owner, code, part, outline_px):
    """A shaded sphere: skin within the face cap, hair elsewhere; then ears, eyes and nose where labelled."""
    cx, cy = part.points[0]
    radius = max(part.radius, 1.5)
    height, width = image.shape[:2]
    x0, y0 = max(0, int(math.floor(cx - radius - 1))), max(0, int(math.floor(cy - radius - 1)))
    x1, y1 = min(width, int(math.ceil(cx + radius + 2))), min(height, int(math.ceil(cy + radius + 2)))
    info = part.head
    if x1 > x0 and y1 > y0:
        xs, ys = np.meshgrid(np.arange(x0, x1) - cx, np.arange(y0, y1) - cy)
        u, w = xs / radius, ys / radius
        dist = np.sqrt(u * u + w * w)
        alpha = np.clip((1.0 - dist) * radius + 0.5, 0.0, 1.0)
        z = np.sqrt(np.clip(1.0 - u * u - w * w, 0.0, 1.0))
        normals = np.stack([u, w, z], axis=-1)
        local = normals @ info["rotation"]                   # camera -> head frame (rotation transposed)
        face_direction = unit_vector(np.array([0.0, 0.2, 1.0]))
        is_face = (local @ face_direction > FACE_CAP_COS) & (local[..., 1] > -0.7)
        shade = 0.55 + 0.45 * np.clip(normals @ LIGHT, 0.0, 1.0)
        base = np.where(is_face[..., None], np.array(part.colour, float), np.array(info["hair"], float))
        rim = np.clip((dist - 1.0) * radius + outline_px + 0.5, 0.0, 1.0)[..., None]   # dark outline ring
        colour = base * shade[..., None] * (1 - rim) + np.array(part.outline, float) * rim
        alpha = alpha[..., None]
        patch = image[y0:y1, x0:x1].astype(np.float64)
        image[y0:y1, x0:x1] = np.clip(patch * (1 - alpha) + colour * alpha + 0.5, 0, 255).astype(np.uint8)
        owner[y0:y1, x0:x1][alpha[..., 0] >= 0.5] = code
    face, labelled = info["face"], info["labelled"]
    for index, key in ((3, "left_ear"), (4, "right_ear")):
        if labelled[index]:
            centre = _fixed(face[index])
            axes = (int(round(radius * 0.2 * _ONE)), int(round(radius * 0.3 * _ONE)))
            angle = math.degrees(math.atan2(face[index][1] - cy, face[index][0] - cx))
            cv2.ellipse(image, centre, (axes[0] + outline_px * _ONE, axes[1] + outline_px * _ONE), angle, 0, 360,
                        scaled_colour(info[key], 0.45), -1, cv2.LINE_AA, SHIFT)
            cv2.ellipse(image, centre, axes, angle, 0, 360, info[key], -1, cv2.LINE_AA, SHIFT)
            cv2.ellipse(owner, centre, (axes[0] + outline_px * _ONE, axes[1] + outline_px * _ONE), angle, 0, 360,
                        code, -1, cv2.LINE_8, SHIFT)
    for index in (1, 2):
        if labelled[index]:
            centre = _fixed(face[index])
            cv2.circle(image, centre, int(round(radius * 0.2 * _ONE)), (245, 245, 245), -1, cv2.LINE_AA, SHIFT)
            cv2.circle(image, centre, int(round(radius * 0.12 * _ONE)), (30, 20, 15), -1, cv2.LINE_AA, SHIFT)
    if labelled[0]:
        centre = _fixed(face[0])
        cv2.circle(image, centre, int(round(radius * 0.15 * _ONE)), (40, 40, 170), -1, cv2.LINE_AA, SHIFT)


_DRAWERS = {"capsule": _draw_capsule, "ball": _draw_ball, "polygon": _draw_polygon, "head": _draw_head}


def draw_figure(image, owner, figure, owner_base, height_px):
    """Draw a figure back to front into `image` (H, W, 3) uint8 BGR and `owner` (H, W) int32, in place.

    owner receives `owner_base + part_id` on every pixel a part covers (outline included), so a later
    figure or shape overwrites what it hides. Outlines are ~0.6 % of the height, at least one pixel.
    """
    outline_px = max(1, int(round(0.006 * height_px)))
    for part in figure.parts:
        _DRAWERS[part.kind](image, owner, owner_base + part.part_id, part, outline_px)
