"""The Predictor's Python habits: typed, JSON-ready, sorted persons, bboxes of detected joints, PIL / tensor
inputs, EXIF orientation of paths, and one-line errors for wrong arguments (tiny model, COCO sample)."""
import inspect
import json
import os

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

import higherhrnet
from higherhrnet.data.image_io import read_image_rgb
from higherhrnet.errors import UserError
from higherhrnet.predictor import Person, Prediction, Predictor, scales_argument

IMAGE = "000000000785.jpg"  # 640 x 425, several people


@pytest.fixture(scope="module")
def tiny(shared):
    return {"cfg": shared / "tiny" / "tiny_coco.yaml", "weights": shared / "tiny" / "tiny_coco.pth",
            "image": shared / "data" / "coco_sample" / "images" / "val2017" / IMAGE}


@pytest.fixture(scope="module")
def predictor(tiny):
    return Predictor(tiny["cfg"], tiny["weights"], device="cpu")


@pytest.fixture(scope="module")
def prediction(predictor, tiny):
    return predictor.predict(tiny["image"])


def test_package_lists_and_types_the_api():
    assert {"Predictor", "Prediction", "Person"} <= set(dir(higherhrnet)) and "Predictor" in higherhrnet.__all__
    assert higherhrnet.Predictor is Predictor
    assert {"image", "color", "return"} <= set(inspect.get_annotations(Predictor.predict))
    assert "scales" in inspect.get_annotations(Predictor.__init__)
    assert os.path.isfile(os.path.join(os.path.dirname(higherhrnet.__file__), "py.typed"))


@pytest.mark.slow
def test_persons_sorted_with_names_and_json_round_trip(prediction):
    scores = [person.score for person in prediction]
    assert len(scores) > 1 and scores == sorted(scores, reverse=True)
    assert sorted(person.index for person in prediction) == list(range(len(prediction)))
    assert prediction.scores != scores  # the pipeline's order is not the score order on this image
    assert prediction[0].joint_names[0] == "nose" and len(prediction[0].joint_names) == 17
    text = prediction.to_json()
    assert json.loads(text) == prediction.as_dict() == prediction.to_dict()
    first = json.loads(text)["persons"][0]
    assert first["score"] == pytest.approx(prediction[0].score)
    np.testing.assert_allclose(first["keypoints"], prediction[0].keypoints, rtol=1e-6)
    assert json.loads(json.dumps([person.as_dict() for person in prediction]))[0]["bbox"] == prediction[0].bbox


@pytest.mark.slow
def test_bbox_covers_detected_joints_only(prediction):
    undetected = [person for person in prediction if (person.keypoints[:, 2] == 0).any()]
    assert undetected, "the sample has a person with an undetected joint (score 0, placed near x < 0)"
    for person in prediction:
        x, y, width, height = person.bbox
        detected = person.keypoints[person.keypoints[:, 2] > 0, :2]
        assert x == pytest.approx(detected[:, 0].min()) and y == pytest.approx(detected[:, 1].min())
        assert x + width == pytest.approx(detected[:, 0].max()) and y + height == pytest.approx(detected[:, 1].max())
        assert x >= 0  # the official records' box includes the undetected joint at x < 0
    record = prediction.records()[undetected[0].index]
    assert record["bbox"][0] < 0 <= undetected[0].bbox[0]
    empty = Person(np.zeros((17, 3), np.float32), 0.0, np.zeros((17, 1), np.float32))
    assert empty.bbox is None and empty.as_dict()["bbox"] is None


@pytest.mark.slow
def test_pil_and_tensor_inputs_give_the_poses_of_the_array(predictor, tiny):
    image_rgb = read_image_rgb(tiny["image"])
    expected = predictor.predict(image_rgb, color="rgb")
    tensor_chw = torch.from_numpy(image_rgb).permute(2, 0, 1).contiguous()
    for given in (Image.fromarray(image_rgb), Image.fromarray(image_rgb).convert("RGBA"), tensor_chw,
                  tensor_chw.permute(1, 2, 0)):
        got = predictor.predict(given)
        assert got.scores == expected.scores
        for ours, theirs in zip(got.raw, expected.raw):
            np.testing.assert_array_equal(ours, theirs)


@pytest.mark.slow
def test_exif_orientation_is_applied_to_paths(predictor, tiny, tmp_path):
    upright = Image.open(tiny["image"])
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # stored turned left; Orientation 6: turn right to view
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.jpg"
    stored.save(path, quality=95, exif=exif.tobytes())
    raw_pixels = read_image_rgb(path)                       # the official reading: sideways
    assert raw_pixels.shape[:2] == (640, 425)
    from_path = predictor.predict(path)
    assert from_path.image_size == (425, 640)
    viewed = np.ascontiguousarray(np.rot90(raw_pixels, k=-1))  # what a photo viewer shows
    expected = predictor.predict(viewed, color="rgb")
    assert from_path.scores == expected.scores and len(from_path) > 0
    for ours, theirs in zip(from_path.raw, expected.raw):
        np.testing.assert_array_equal(ours, theirs)
    # cv2.imread's default reading agrees (the README's two calls are equal)
    np.testing.assert_array_equal(cv2.imread(str(path))[:, :, ::-1], viewed)


def test_scales_argument():
    assert scales_argument(None) is None and scales_argument(0.5) == [0.5] and scales_argument(1) == [1.0]
    assert scales_argument((0.5, 1, 2.0)) == [0.5, 1.0, 2.0]


@pytest.mark.slow
def test_bad_arguments_give_one_line_errors(predictor, tiny, prediction):
    image = np.zeros((32, 32, 3), np.uint8)
    cases = [
        (lambda: Predictor(tiny["cfg"], tiny["weights"], scales="1.0"), "scales='1.0': expected a number"),
        (lambda: Predictor(tiny["cfg"], tiny["weights"], scales=[[1.0]]), "non-empty list of numbers"),
        (lambda: Predictor(tiny["cfg"], tiny["weights"], scales=True), "expected a number"),
        (lambda: predictor.predict([[1, 2], [3, 4]]), "image 0 of the list is a list"),
        (lambda: predictor.predict(torch.zeros(3, 8, 8)), "image tensor must be uint8"),
        (lambda: predictor.predict(torch.zeros(2, 8, 8, dtype=torch.uint8)), r"\(3, H, W\)"),
        (lambda: predictor.draw(image, [1, 2, 3]), r"draw: prediction\[0\] must be a Person"),
        (lambda: predictor.draw(image, 7), "draw: prediction must be what predict"),
    ]
    for call, message in cases:
        with pytest.raises(UserError, match=message) as raised:
            call()
        assert "\n" not in str(raised.value)
    # a single float is one scale
    assert list(Predictor(tiny["cfg"], tiny["weights"], scales=1.0).settings.scale_factors) == [1.0]
    # draw accepts persons or keypoint arrays, and min_score drops low persons
    assert predictor.draw(image, [prediction[0], prediction[1].keypoints]).shape == (32, 32, 3)
    everyone = predictor.draw(tiny["image"], prediction)
    top_only = predictor.draw(tiny["image"], prediction, min_score=prediction[0].score)
    only_first = predictor.draw(tiny["image"], [prediction[0]])
    np.testing.assert_array_equal(top_only, only_first)
    assert not np.array_equal(everyone, top_only)
    assert isinstance(prediction, Prediction)
