"""Backgrounds, distractor shapes and the camera-like finish of the synthetic images.

Backgrounds are textures (gradients, smooth noise, stripes, checks, blurred blobs), muted towards grey so the
saturated limb colours of the figures stay the most salient thing, but not always. Distractors are plain
shapes (discs, boxes, polygons, rings, sticks) in any colour: they are not people and carry no keypoints.
Images are uint8 BGR (H, W, 3); coordinates are OpenCV drawing coordinates (x = column, y = row).
"""
import math

import cv2
import numpy as np

_SHIFT = 4
_ONE = 1 << _SHIFT


def random_colour(rng, saturation=(0.0, 1.0), value=(0.15, 1.0)):
    """A BGR colour with HSV saturation and value drawn from the given ranges."""
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*saturation) * 255, rng.uniform(*value) * 255]]])
    bgr = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)[0, 0]
    return tuple(int(c) for c in bgr)


_GREY_WEIGHTS = np.array([0.114, 0.587, 0.299], np.float32)           # BGR -> luma, as cv2.cvtColor


def _mute(colours, mute):
    """Move BGR colours (..., 3) a fraction `mute` of the way to their grey; float32."""
    colours = np.asarray(colours, np.float32)
    grey = colours @ _GREY_WEIGHTS
    return colours * np.float32(1 - mute) + grey[..., None] * np.float32(mute)


def _blend(t, rng, saturation, mute):
    """Per-pixel mix of two random muted colours, weights t (H, W) float32 in [0, 1] -> (H, W, 3) float32."""
    a, b = _mute([random_colour(rng, saturation), random_colour(rng, saturation)], mute)
    return cv2.merge([cv2.addWeighted(t, float(cb - ca), t, 0.0, float(ca)) for ca, cb in zip(a, b)])


def _ramp(height, width, angle):
    """x cos(angle) + y sin(angle) over the image, (H, W) float32."""
    xs = np.arange(width, dtype=np.float32)[None, :] * np.float32(math.cos(angle))
    ys = np.arange(height, dtype=np.float32)[:, None] * np.float32(math.sin(angle))
    return xs + ys


def _gradient(rng, height, width, mute):
    t = _ramp(height, width, rng.uniform(0, 2 * math.pi))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    return _blend(t, rng, (0, 0.7), mute)


def _smooth_noise(rng, height, width, mute):
    """Random colours on a coarse grid, cubic-interpolated (muted on the grid, which is the same thing)."""
    cell = rng.uniform(12, 60)
    grid = rng.uniform(0, 255, size=(max(2, int(height / cell) + 2), max(2, int(width / cell) + 2), 3))
    grid = _mute(0.5 * grid + 0.5 * np.array(random_colour(rng, (0, 0.6))), mute)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)


def _stripes(rng, height, width, mute):
    angle = rng.uniform(0, math.pi)
    period = rng.uniform(6, 50)
    wave = np.sin(_ramp(height, width, angle) * np.float32(2 * math.pi / period))
    t = np.clip(wave * np.float32(rng.uniform(0.5, 4.0)), -1, 1) * np.float32(0.5) + np.float32(0.5)
    return _blend(t, rng, (0, 0.8), mute)


def _checks(rng, height, width, mute):
    cell = int(rng.integers(8, 48))
    t = ((np.arange(height)[:, None] // cell + np.arange(width)[None, :] // cell) % 2).astype(np.float32)
    return _blend(t, rng, (0, 0.6), mute)


def _blobs(rng, height, width, mute):
    """Soft discs, drawn and blurred at half resolution (the blur hides the difference)."""
    small = np.empty(((height + 1) // 2, (width + 1) // 2, 3), np.float32)
    small[:] = random_colour(rng, (0, 0.6))
    for _ in range(int(rng.integers(5, 25))):
        centre = (int(rng.uniform(0, small.shape[1])), int(rng.uniform(0, small.shape[0])))
        radius = int(rng.uniform(3, 0.15 * max(height, width)))
        cv2.circle(small, centre, radius, random_colour(rng, (0, 0.8)), -1)
    small = _mute(cv2.GaussianBlur(small, (0, 0), rng.uniform(1, 6)), mute)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


_TEXTURES = (_gradient, _smooth_noise, _stripes, _checks, _blobs)


def draw_background(rng, height, width):
    """A textured background (H, W, 3) uint8 BGR: one texture, sometimes blended with a second, muted
    20..80 % towards grey."""
    mute = rng.uniform(0.2, 0.8)
    image = _TEXTURES[rng.integers(len(_TEXTURES))](rng, height, width, mute)
    if rng.random() < 0.4:
        second = _TEXTURES[rng.integers(len(_TEXTURES))](rng, height, width, mute)
        alpha = rng.uniform(0.2, 0.5)
        image = cv2.addWeighted(image, 1 - alpha, second, alpha, 0.0)
    return cv2.convertScaleAbs(image)          # rounds and saturates to uint8; the values are >= 0 already


def _polygon(rng, centre, size, count):
    angles = np.sort(rng.uniform(0, 2 * math.pi, size=count))
    radii = size * rng.uniform(0.5, 1.0, size=count)
    return np.stack([centre[0] + radii * np.cos(angles), centre[1] + radii * np.sin(angles)], axis=1)


def draw_shape(rng, image, owner, code, size):
    """Draw one random distractor of about `size` pixels somewhere in the image; mark it in `owner`."""
    height, width = image.shape[:2]
    centre = np.array([rng.uniform(0, width), rng.uniform(0, height)])
    colour = random_colour(rng)
    kind = rng.integers(6)
    layers = ((image, colour, cv2.LINE_AA), (owner, code, cv2.LINE_8))
    fixed = lambda p: (int(round(p[0] * _ONE)), int(round(p[1] * _ONE)))
    if kind == 0:                                              # disc or ellipse
        axes = (int(size * rng.uniform(0.3, 0.6) * _ONE), int(size * rng.uniform(0.3, 0.6) * _ONE))
        angle = rng.uniform(0, 180)
        for target, value, line in layers:
            cv2.ellipse(target, fixed(centre), axes, angle, 0, 360, value, -1, line, _SHIFT)
    elif kind == 1:                                            # rotated box
        box = cv2.boxPoints(((float(centre[0]), float(centre[1])),
                             (size * rng.uniform(0.3, 1.0), size * rng.uniform(0.3, 1.0)), rng.uniform(0, 90)))
        points = np.array([fixed(p) for p in box], np.int32)
        for target, value, line in layers:
            cv2.fillPoly(target, [points], value, line, _SHIFT)
    elif kind == 2:                                            # irregular polygon
        points = np.array([fixed(p) for p in _polygon(rng, centre, size * 0.6, int(rng.integers(3, 8)))], np.int32)
        for target, value, line in layers:
            cv2.fillPoly(target, [points], value, line, _SHIFT)
    elif kind == 3:                                            # ring
        radius = int(size * rng.uniform(0.25, 0.5) * _ONE)
        thickness = max(1, int(size * rng.uniform(0.05, 0.15)))
        for target, value, line in layers:
            cv2.circle(target, fixed(centre), radius, value, thickness, line, _SHIFT)
    else:                                                      # stick or cross: limb-like but not a person
        angle = rng.uniform(0, math.pi)
        thickness = max(2, int(size * rng.uniform(0.06, 0.2)))
        arms = [angle] if kind == 4 else [angle, angle + rng.uniform(0.6, 2.5)]
        for a in arms:
            offset = np.array([math.cos(a), math.sin(a)]) * size * rng.uniform(0.3, 0.7)
            for target, value, line in layers:
                cv2.line(target, fixed(centre - offset), fixed(centre + offset), value, thickness, line, _SHIFT)


def finish_photo(rng, image):
    """Camera-like finish in place: a little blur sometimes, a brightness/contrast change, grey sensor noise
    in half of the images."""
    if rng.random() < 0.3:
        image[:] = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.4, 0.9))
    gain, bias = rng.uniform(0.85, 1.15), rng.uniform(-15, 15)
    if rng.random() < 0.5:
        image[:] = cv2.addWeighted(image, gain, image, 0.0, bias)          # saturates to 0..255
        return
    height, width = image.shape[:2]
    noise = rng.standard_normal((height, width), dtype=np.float32) * np.float32(rng.uniform(1, 5))
    image[:] = cv2.addWeighted(image.astype(np.float32), gain, cv2.merge([noise, noise, noise]), 1.0, bias,
                               dtype=cv2.CV_8U)
