"""higherhrnet.Predictor on the COCO sample with the tiny model: the official poses, any input form."""
import json
import subprocess
import sys

import numpy as np
import pytest

from higherhrnet.data.image_io import ImageReadError, read_image_rgb
from higherhrnet.predictor import Prediction, Predictor

from near_ties import assert_poses_match_official, decoder_of_images


@pytest.fixture(scope="module")
def tiny(shared):
    return {"cfg": shared / "tiny" / "tiny_coco.yaml", "weights": shared / "tiny" / "tiny_coco.pth",
            "images": shared / "data" / "coco_sample" / "images" / "val2017",
            "annotations": shared / "data" / "coco_sample" / "annotations" / "person_keypoints_val2017.json",
            "pipeline": shared / "tiny" / "pipeline"}


@pytest.fixture(scope="module")
def predictor(tiny):
    return Predictor(tiny["cfg"], tiny["weights"], device="cpu")


@pytest.fixture(scope="module")
def sample_images(tiny):
    """[(image id, path)] in annotation-file order (the order of the official results file)."""
    images = json.loads(tiny["annotations"].read_text())["images"]
    return [(image["id"], tiny["images"] / image["file_name"]) for image in images]


@pytest.fixture(scope="module")
def predictions_from_paths(predictor, sample_images):
    return [predictor.predict(path) for _, path in sample_images]


def assert_same_as_official(records, official, predictor, sample_images):
    """Equal to the fixture, or different only at near-ties proven on this predictor's maps (near_ties.py)."""
    assert_poses_match_official(records, official, decoder_of_images(predictor.pipeline, dict(sample_images)))


@pytest.mark.slow
def test_import_stays_light_until_predictor_is_used():
    code = ("import sys, higherhrnet; print('torch' in sys.modules); higherhrnet.Predictor; "
            "print('torch' in sys.modules)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert completed.stdout.split() == ["False", "True"], completed.stderr[-1000:]


@pytest.mark.parity
def test_predictor_reproduces_the_official_poses(tiny, predictor, sample_images, predictions_from_paths):
    official = json.loads((tiny["pipeline"] / "a_flip_single_scale" / "keypoints_val2017_results.json").read_text())
    records = [record for (image_id, _), prediction in zip(sample_images, predictions_from_paths)
               for record in prediction.records(image_id)]
    assert_same_as_official(records, official, predictor, sample_images)
    # records carry the official keys (plus file_name when asked)
    first = predictions_from_paths[0].records(785, file_name="000000000785.jpg")[0]
    assert sorted(first) == ["bbox", "category_id", "file_name", "image_id", "keypoints", "score"]


@pytest.mark.slow
def test_prediction_holds_people_and_raw_arrays(predictions_from_paths):
    prediction = predictions_from_paths[0]  # image 785, 640x425
    assert isinstance(prediction, Prediction) and prediction.image_size == (425, 640)
    assert len(prediction) == len(prediction.raw) == len(prediction.scores) > 0
    assert prediction.keypoints.shape == (len(prediction), 17, 3)
    person = prediction[0]  # the highest score; raw, scores and records() keep the pipeline's order
    assert person.keypoints.shape == (17, 3) and person.tags.shape == (17, 2)  # flip test: T = 2
    np.testing.assert_array_equal(person.keypoints, prediction.raw[person.index][:, :3])
    assert person.score == prediction.scores[person.index] == pytest.approx(max(prediction.person_scores))
    assert prediction.heatmaps is None and prediction.tags is None


@pytest.mark.slow
def test_path_bgr_rgb_and_list_inputs_agree(predictor, sample_images, predictions_from_paths):
    _, path = sample_images[0]  # a colour picture (image 40083 is grey: R = G = B)
    image_rgb = read_image_rgb(path)
    from_bgr = predictor.predict(np.ascontiguousarray(image_rgb[:, :, ::-1]))  # default color='bgr' (OpenCV)
    from_rgb, = predictor.predict([image_rgb], color="rgb")                      # a list -> a list
    for prediction in (from_bgr, from_rgb):
        assert len(prediction) == len(predictions_from_paths[0])
        for ours, theirs in zip(prediction.raw, predictions_from_paths[0].raw):
            np.testing.assert_array_equal(ours, theirs)
    # the colour order matters: RGB given as BGR is another picture
    swapped = predictor.predict(image_rgb, color="bgr")
    assert len(swapped) != len(from_rgb) or not np.array_equal(swapped.keypoints, from_rgb.keypoints)


@pytest.mark.parity
def test_config_switches_flip_and_filters(tiny, predictor, sample_images, predictions_from_paths):
    image_id, path = sample_images[0]
    no_flip = Predictor(predictor.cfg, tiny["weights"], flip=False)  # a config node works too
    official = json.loads((tiny["pipeline"] / "b_noflip_single_scale" / "keypoints_val2017_results.json").read_text())
    assert_same_as_official(no_flip.predict(path).records(image_id),
                            [record for record in official if record["image_id"] == image_id], no_flip, sample_images)

    everyone = predictions_from_paths[3]
    assert min(everyone.scores) < 0.1
    filtered = Predictor(tiny["cfg"], tiny["weights"], min_score=0.1, pose_nms=True).predict(sample_images[3][1])
    assert 0 < len(filtered) < len(everyone) and min(filtered.scores) >= 0.1
    kept = [everyone.scores.index(score) for score in filtered.scores]
    assert kept == sorted(kept)  # a subset, in pipeline order
    for index, person in zip(kept, filtered.raw):
        np.testing.assert_array_equal(person, everyone.raw[index])


@pytest.mark.slow
def test_keep_maps_and_draw(predictor, sample_images):
    _, path = sample_images[0]
    prediction = predictor.predict(path, keep_maps=True)
    assert tuple(prediction.heatmaps.shape) == (1, 17, 256, 448)      # the scale-1 input of a 640x425 image
    assert tuple(prediction.tags.shape) == (1, 17, 256, 448, 2)
    image_rgb = read_image_rgb(path)
    drawn = predictor.draw(image_rgb, prediction, color="rgb")
    assert drawn.shape == image_rgb.shape and drawn.dtype == np.uint8
    assert not np.array_equal(drawn, image_rgb[:, :, ::-1])
    np.testing.assert_array_equal(image_rgb, read_image_rgb(path))    # the input is not modified


def test_bad_inputs_give_one_line_errors(tiny, predictor, tmp_path):
    cases = [
        (lambda: predictor.predict(np.zeros((32, 32, 3), np.float32)), ValueError, "must be uint8"),
        (lambda: predictor.predict(np.zeros((32, 32, 2), np.uint8)), ValueError, r"\(H, W, 3\)"),
        (lambda: predictor.predict(np.zeros((0, 32, 3), np.uint8)), ValueError, "empty"),
        (lambda: predictor.predict(np.zeros((32, 32, 3), np.uint8), color="hsv"), ValueError, "color 'hsv'"),
        (lambda: predictor.predict(tmp_path / "missing.jpg"), ImageReadError, "missing.jpg: image file not found"),
        (lambda: predictor.predict(12), TypeError, "file path, a NumPy array, a PIL image or a torch tensor"),
        (lambda: Predictor(tiny["cfg"], tiny["weights"], backend="tensorflow"), ValueError, "backend 'tensorflow'"),
        (lambda: Predictor(tiny["cfg"]), ValueError, "no weights"),
        (lambda: Predictor(tiny["cfg"], tmp_path / "model.onnx"), ValueError, "backend='onnx'"),
        (lambda: Predictor(tiny["cfg"], tiny["weights"], scales=[0.5, 2.0]), ValueError, "1"),
    ]
    for call, error_type, message in cases:
        with pytest.raises(error_type, match=message) as raised:
            call()
        assert "\n" not in str(raised.value)


@pytest.mark.slow  # two runs of the whole pipeline
def test_grayscale_and_rgba_arrays_are_accepted(predictor):
    assert isinstance(predictor.predict(np.full((64, 96), 128, np.uint8)), Prediction)
    assert isinstance(predictor.predict(np.full((64, 96, 4), 128, np.uint8)), Prediction)
