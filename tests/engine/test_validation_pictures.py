"""The prediction pictures of validation: the layout's skeleton on fixed images, nothing else of the run touched."""
import random

import numpy as np
import torch

from higherhrnet.config import load_config
from higherhrnet.engine.validation_pictures import NUM_PICTURES, ValidationPictures
from higherhrnet.models import build_model, load_model_weights


def test_pictures_are_fixed_images_and_leave_rngs_and_weights_alone(shared):
    cfg = load_config(str(shared / "tiny" / "tiny_coco.yaml"),
                      ["DATASET.ROOT", str(shared / "data" / "coco_sample")])
    model = load_model_weights(build_model(cfg), str(shared / "tiny" / "tiny_coco.pth"))
    pictures = ValidationPictures.from_config(cfg, torch.device("cpu"))
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    states = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
    weights = {key: value.clone() for key, value in model.state_dict().items()}
    first, second = pictures.draw(model), pictures.draw(model)
    assert random.getstate() == states[0] and np.array_equal(np.random.get_state()[1], states[1])
    assert torch.equal(torch.get_rng_state(), states[2])
    assert all(torch.equal(weights[key], value) for key, value in model.state_dict().items())
    assert len(first) == NUM_PICTURES and [tag for tag, _ in first] == [tag for tag, _ in second]
    ids = [pictures.dataset[index][1] for index in range(NUM_PICTURES)]
    assert [tag for tag, _ in first] == [f"val/prediction/{image_id}" for image_id in ids]
    for (_, picture), (_, again), index in zip(first, second, range(NUM_PICTURES)):
        image = pictures.dataset[index][0]
        assert picture.dtype == np.uint8 and picture.shape == image.shape
        assert np.array_equal(picture, again)
    # the trained tiny model finds people on the sample: skeletons are drawn on at least one picture
    assert any(not np.array_equal(picture, pictures.dataset[index][0]) for index, (_, picture) in enumerate(first))
