"""Prediction pictures of a few fixed test images, made at each validation during training for TensorBoard.

    pictures = ValidationPictures.from_config(cfg, device)          # rank 0, once
    for tag, picture in pictures.draw(model):                        # after each validation
        metrics.add_image(tag, picture, epochs_done)                 # engine.metrics_log.RunMetrics

The pictures are the first NUM_PICTURES images of DATASET.TEST, run through the tools/valid.py pipeline
(`engine.inference.PosePipeline`) and drawn with the layout's skeleton (`visualize.draw_skeletons`),
persons scoring above MIN_PERSON_SCORE only. They are made after the validation and apart from it: the
results file, the AP and every random number generator of the run are untouched (colours come from a
generator of their own).
"""
import cv2
import numpy as np

from ..data.build import build_test_dataset, dataset_layout
from ..visualize import DRAW_MIN_SCORE, draw_skeletons
from .inference import InferenceSettings, PosePipeline

NUM_PICTURES = 3
MIN_PERSON_SCORE = DRAW_MIN_SCORE  # as the demo's pictures


class ValidationPictures:
    """dataset: a test dataset (items (RGB uint8 image, image_id, file_name)); settings: InferenceSettings;
    skeleton: (a, b) limbs; device: where the model runs."""

    def __init__(self, dataset, settings, skeleton, device, count=NUM_PICTURES):
        self.dataset, self.settings, self.skeleton, self.device = dataset, settings, skeleton, device
        self.indices = list(range(min(count, len(dataset))))

    @classmethod
    def from_config(cls, cfg, device, count=NUM_PICTURES):
        dataset = build_test_dataset(cfg)
        layout = dataset_layout(cfg, dataset)
        return cls(dataset, InferenceSettings.from_config(cfg, device, layout=layout), layout.skeleton, device, count)

    def draw(self, model):
        """[(TensorBoard tag, RGB uint8 (H, W, 3) picture)] of `model`'s predictions; leaves the model in eval mode."""
        pipeline = PosePipeline(model, self.settings, self.device)
        pictures = []
        for index in self.indices:
            image, image_id, _ = self.dataset[index]
            persons, scores = pipeline(image)
            shown = [person for person, score in zip(persons, scores) if score > MIN_PERSON_SCORE]
            colors = [tuple(int(c) for c in rgb) for rgb in np.random.default_rng(0).integers(40, 255, (len(shown), 3))]
            picture = draw_skeletons(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), shown, self.skeleton, colors,
                                     demo_style=True)
            pictures.append((f"val/prediction/{image_id}", cv2.cvtColor(picture, cv2.COLOR_BGR2RGB)))
        return pictures
