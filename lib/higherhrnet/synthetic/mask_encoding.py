"""COCO encodings of a (H, W) bool mask: uncompressed RLE, polygons, and its box.

COCO's pixel-corner convention throughout: pixel (row r, column c) covers [c, c + 1) x [r, r + 1), so a box
[x0, y0, x1, y1] covers the mask and polygon vertices sit on pixel centres at +0.5.
"""
import cv2
import numpy as np


def uncompressed_rle(mask):
    """COCO uncompressed RLE of a (H, W) bool mask: run lengths in column-major order, zeros first."""
    flat = mask.flatten(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    counts = np.diff(np.concatenate([[0], changes, [flat.size]])).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"counts": [int(c) for c in counts], "size": [int(mask.shape[0]), int(mask.shape[1])]}


def polygons(mask):
    """Outer contours of a (H, W) bool mask as COCO polygons [[x1, y1, x2, y2, ...], ...] (pixel centres
    at +0.5), simplified to within 0.7 pixel; fragments of fewer than three points are dropped."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outlines = []
    for contour in contours:
        contour = cv2.approxPolyDP(contour, 0.7, True).reshape(-1, 2)
        if len(contour) >= 3:
            outlines.append((contour.reshape(-1) + 0.5).tolist())
    return outlines


def mask_box(mask):
    """[x0, y0, x1, y1] (floats) covering the pixels of a non-empty (H, W) bool mask, pixel corners."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    return [float(xs[0]), float(ys[0]), float(xs[-1] + 1), float(ys[-1] + 1)]


def corners_to_xywh(box):
    """[x0, y0, x1, y1] -> COCO's [x, y, width, height]."""
    return [box[0], box[1], box[2] - box[0], box[3] - box[1]]
