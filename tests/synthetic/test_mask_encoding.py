"""COCO encodings of a mask (synthetic/mask_encoding.py) against pycocotools' own decoding."""
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from higherhrnet.synthetic.mask_encoding import corners_to_xywh, mask_box, polygons, uncompressed_rle


def _masks():
    square = np.zeros((9, 12), bool)
    square[2:6, 3:10] = True
    corner = np.zeros((5, 4), bool)
    corner[0, 0] = corner[4, 3] = True                 # starts with a set pixel: the counts begin with 0
    return {"square": square, "corner": corner}


@pytest.mark.parametrize("name", ["square", "corner"])
def test_uncompressed_rle_decodes_to_the_mask(name):
    mask = _masks()[name]
    rle = uncompressed_rle(mask)
    assert rle["size"] == list(mask.shape) and sum(rle["counts"]) == mask.size
    decoded = mask_utils.decode(mask_utils.frPyObjects(rle, *rle["size"]))
    assert np.array_equal(decoded.astype(bool), mask)


def test_box_and_polygon_cover_the_pixels_in_corner_coordinates():
    square = _masks()["square"]
    assert mask_box(square) == [3.0, 2.0, 10.0, 6.0]
    assert corners_to_xywh(mask_box(square)) == [3.0, 2.0, 7.0, 4.0]
    outline = polygons(square)
    assert len(outline) == 1
    xs, ys = outline[0][0::2], outline[0][1::2]
    assert (min(xs), min(ys), max(xs), max(ys)) == (3.5, 2.5, 9.5, 5.5)    # the border pixels' centres
