"""Pose estimation on your own pictures: the `Predictor` API.

    from higherhrnet import Predictor
    predictor = Predictor("experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml",
                          "models/pytorch/pose_coco/pose_higher_hrnet_w32_512.pth")
    people = predictor.predict("photo.jpg")        # or a BGR array from cv2.imread (color="rgb" for RGB)
    for person in people:
        person.keypoints                           # (J, 3): x, y in image pixels, joint score
        person.score                               # person score (mean joint score, official)

Every image goes through `engine.inference.PosePipeline`, the very pipeline of tools/valid.py (test resize,
flip pass, aggregation, grouping, adjust, refine, back-projection), so the poses equal the official
evaluation's. The optional person filters of `pose_nms` (TEST.POSE_NMS, TEST.MIN_PERSON_SCORE; both off by
default) run after it, as in tools/valid.py. With backend='onnx' an onnxruntime session of a raw-network
export (tools/export_onnx.py) replaces the torch network inside the same pipeline.

Coordinates: x is the column, y the row, in pixels of the image as given (pixel centres at integer + 0.5
offsets exactly as the official back-projection produces them). A joint score is a heatmap value, not a
visibility flag; joints filled in by refine can have low scores.
"""
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
from yacs.config import CfgNode

from higherhrnet.config import check_config, load_config, merge_opts
from higherhrnet.data.image_io import read_image_rgb
from higherhrnet.engine.inference import InferenceSettings, PosePipeline, prepare
from higherhrnet.evaluation.results import person_record
from higherhrnet.keypoints import layout_from_config
from higherhrnet.models import build_model, load_model_weights, resolve_device
from higherhrnet.pose_nms import PersonFilter
from higherhrnet.visualize import draw_skeletons, random_person_colors

BACKENDS = ("torch", "onnx")
COLOR_ORDERS = ("bgr", "rgb")


@dataclass
class Person:
    """One detected person. keypoints (J, 3) float32: x, y (image pixels), joint score; tags (J, T) float32."""
    keypoints: np.ndarray
    score: float
    tags: np.ndarray

    def __repr__(self):
        return f"Person(score={self.score:.3f}, joints={len(self.keypoints)})"


@dataclass(eq=False)
class Prediction(Sequence):
    """The people found in one image: a sequence of `Person`, plus the raw pipeline arrays.

    raw: list of P (J, 3 + T) float32 arrays (x, y, joint score, tags), the pipeline's output after the
      optional filters; scores: the P person scores; image_size: (height, width) of the input image;
      num_joints: J.
    heatmaps (1, J, H, W) / tags (1, J, H, W, T): the aggregated maps the decoder read, at the scale-1.0
      input size, when predicted with keep_maps=True (else None).
    has_center_joint: the last joint is a person centre (DATASET.WITH_CENTER without TEST.IGNORE_CENTER).
    joint_names: the names of the body joints (the keypoint layout's, DATASET.KEYPOINTS.NAMES or official).
    """
    raw: List[np.ndarray]
    scores: List[float]
    image_size: tuple
    num_joints: int
    heatmaps: Optional[object] = None
    tags: Optional[object] = None
    has_center_joint: bool = False
    joint_names: tuple = ()
    persons: List[Person] = field(init=False, repr=False)

    def __post_init__(self):
        self.persons = [Person(np.ascontiguousarray(person[:, :3]), float(score), np.ascontiguousarray(person[:, 3:]))
                        for person, score in zip(self.raw, self.scores)]

    def __len__(self):
        return len(self.persons)

    def __getitem__(self, index):
        return self.persons[index]

    @property
    def keypoints(self):
        """All people's keypoints as one (P, J, 3) float32 array (x, y, joint score)."""
        if not self.persons:
            return np.zeros((0, self.num_joints, 3), dtype=np.float32)
        return np.stack([person.keypoints for person in self.persons])

    @property
    def person_scores(self):
        """(P,) float32 person scores."""
        return np.asarray(self.scores, dtype=np.float32)

    def records(self, image_id=0, file_name=None):
        """COCO results records (as the official results file, algorithm.md §7.1), one per person.

        Each record: bbox, category_id 1, image_id, keypoints [x1, y1, s1, ...], score, and file_name if given.
        """
        records = []
        for person, score in zip(self.raw, self.scores):
            record = person_record(image_id, person, score, drop_last_joint=self.has_center_joint)
            if file_name is not None:
                record["file_name"] = str(file_name)
            records.append(record)
        return records

    def __repr__(self):
        return f"Prediction({len(self)} people, image {self.image_size[1]}x{self.image_size[0]})"


def _resolve_config(config, overrides):
    """A checked, frozen config from a YAML path or a config node, with KEY VALUE `overrides` merged."""
    if isinstance(config, CfgNode):
        if not overrides:
            return config
        cfg = config.clone()
        cfg.defrost()
        merge_opts(cfg, overrides)  # merged as given: no DATA_DIR joining of path keys
        cfg.freeze()
        check_config(cfg)
        return cfg
    if isinstance(config, (str, os.PathLike)):
        return load_config(os.fspath(config), overrides)
    raise TypeError(f"config must be a YAML path or a config node (higherhrnet.config.load_config), "
                    f"got {type(config).__name__}")


def image_to_rgb(image, color="bgr"):
    """A path or a uint8 array -> uint8 RGB (H, W, 3).

    Paths are read as the test dataset reads images (`data.image_io.read_image_rgb`; `color` is ignored).
    Arrays: (H, W, 3) in `color` order ('bgr' as cv2.imread gives, or 'rgb'), (H, W, 4) with alpha (dropped)
    or (H, W) grayscale. Raises a one-line ValueError / TypeError / ImageReadError otherwise.
    """
    if color not in COLOR_ORDERS:
        raise ValueError(f"color {color!r}: expected one of {', '.join(COLOR_ORDERS)}")
    if isinstance(image, (str, os.PathLike)):
        return read_image_rgb(image)
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a file path or a NumPy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ValueError(f"image array must be uint8 (0..255), got {image.dtype}; "
                         "e.g. (x * 255).clip(0, 255).astype(np.uint8)")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"image array must be (H, W, 3), (H, W, 4) or (H, W), got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image array is empty (shape {image.shape})")
    image = image[:, :, :3]
    if color == "bgr":
        image = image[:, :, ::-1]
    return np.ascontiguousarray(image)


class Predictor:
    """Multi-person poses for any picture with a HigherHRNet config and weights.

    config: experiment YAML path (e.g. experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml) or a config
      node from `higherhrnet.config.load_config`.
    weights: torch backend: a .pth file (every official format, see `models.load_model_weights`); None
      uses TEST.MODEL_FILE. onnx backend: the .onnx file of tools/export_onnx.py (raw network export).
    device: 'cpu', 'cuda', 'cuda:1', 'mps'; None uses DEVICE from the config ('' = CUDA if available).
    flip / scales: flip test and test scales; None keeps TEST.FLIP_TEST / TEST.SCALE_FACTOR of the config
      (True / [1] in the official YAMLs).
    pose_nms / pose_nms_oks / min_score: the person filters of `higherhrnet.pose_nms`; None keeps
      TEST.POSE_NMS / TEST.POSE_NMS_OKS / TEST.MIN_PERSON_SCORE (off / 0.9 / 0 by default).
    backend: 'torch' or 'onnx' (onnxruntime runs the network; everything else is unchanged).
    opts: further KEY VALUE config overrides, as on the tools' command lines.
    model: an already-built torch network to use instead of loading `weights` (torch backend only).
    onnx_threads: onnxruntime intra-op threads (0 = its default); onnx_session_config: optional
      onnxruntime session config entries (see `export.OnnxNetwork`).
    """

    def __init__(self, config, weights=None, *, device=None, flip=None, scales=None, pose_nms=None,
                 pose_nms_oks=None, min_score=None, backend="torch", opts=(), model=None, onnx_threads=0,
                 onnx_session_config=None):
        if backend not in BACKENDS:
            raise ValueError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        overrides = list(opts or ())
        for key, value in (("TEST.FLIP_TEST", None if flip is None else bool(flip)),
                           ("TEST.SCALE_FACTOR", None if scales is None else [float(s) for s in scales]),
                           ("TEST.POSE_NMS", None if pose_nms is None else bool(pose_nms)),
                           ("TEST.POSE_NMS_OKS", None if pose_nms_oks is None else float(pose_nms_oks)),
                           ("TEST.MIN_PERSON_SCORE", None if min_score is None else float(min_score)),
                           ("DEVICE", None if device is None else str(device))):
            if value is not None:
                overrides += [key, value]
        self.cfg = _resolve_config(config, overrides)
        self.device = resolve_device(self.cfg.DEVICE)
        self.backend = backend
        if backend == "torch":
            network = self._torch_network(weights, model)
        else:
            if model is not None:
                raise ValueError("model= is for the torch backend; the onnx backend reads the .onnx file "
                                 "given as weights")
            network = self._onnx_network(weights, onnx_threads, onnx_session_config)
        self.layout = layout_from_config(self.cfg)
        self.joint_names = self.layout.names
        self.settings = InferenceSettings.from_config(self.cfg, self.device, layout=self.layout)
        self.pipeline = PosePipeline(network, self.settings, self.device)
        self.person_filter = PersonFilter.from_config(
            self.cfg, sigmas=None if self.layout.official else self.layout.sigmas_array())
        self.num_joints = self.settings.num_joints
        self.has_center_joint = bool(self.cfg.DATASET.WITH_CENTER and not self.cfg.TEST.IGNORE_CENTER)

    def _torch_network(self, weights, model):
        if model is not None:
            if weights is not None:
                raise ValueError("give either weights or model, not both")
            return model.to(self.device)
        weights = weights if weights is not None else self.cfg.TEST.MODEL_FILE
        if not weights:
            raise ValueError("no weights: pass weights='<file>.pth' or set TEST.MODEL_FILE in the config")
        if os.fspath(weights).endswith(".onnx"):
            raise ValueError(f"{os.fspath(weights)} is an ONNX model: use backend='onnx' to run it")
        network = build_model(self.cfg, is_train=False)
        load_model_weights(network, weights)
        return network.to(self.device)

    def _onnx_network(self, weights, threads, session_config):
        from higherhrnet.export.onnx_runtime import OnnxNetwork, network_output_channels

        if not weights:
            raise ValueError("backend='onnx' needs the .onnx file (tools/export_onnx.py) as weights")
        num_stages = self.cfg.MODEL.EXTRA.DECONV.NUM_DECONVS + 1
        expected = network_output_channels(self.cfg.MODEL.NUM_JOINTS, self.cfg.MODEL.TAG_PER_JOINT,
                                           self.cfg.LOSS.WITH_AE_LOSS[:num_stages])
        return OnnxNetwork(weights, expected_channels=expected, device=self.device, threads=threads,
                           session_config=session_config)

    def predict(self, image, color="bgr", keep_maps=False, timings=None):
        """People in one image (a path or a uint8 array, see `image_to_rgb`) -> `Prediction`.

        A list or tuple of images is passed to `predict_batch`. keep_maps: also return the aggregated
        heatmaps and tag maps. timings: optional dict that accumulates seconds per pipeline step.
        """
        if isinstance(image, (list, tuple)):
            return self.predict_batch(image, color=color, keep_maps=keep_maps, timings=timings)
        image_rgb = image_to_rgb(image, color)
        maps = {} if keep_maps else None
        prepared = prepare(image_rgb, self.settings)
        persons, scores = self.pipeline.run_prepared(prepared, timings, maps=maps)
        persons, scores = self.person_filter(persons, scores)
        maps = maps or {}
        return Prediction(list(persons), [float(s) for s in scores], tuple(image_rgb.shape[:2]), self.num_joints,
                          heatmaps=maps.get("heatmaps"), tags=maps.get("tags"), has_center_joint=self.has_center_joint,
                          joint_names=self.joint_names)

    def predict_batch(self, images, color="bgr", keep_maps=False, timings=None):
        """`predict` on each image in turn (the pipeline works one image at a time); returns a list."""
        return [self.predict(image, color=color, keep_maps=keep_maps, timings=timings) for image in images]

    __call__ = predict

    def draw(self, image, prediction, color="bgr", joint_threshold=0.0, colors=None):
        """A BGR uint8 copy of `image` with every person's skeleton drawn (anti-aliased, size-aware lines).

        image: path or array as for `predict`. joint_threshold: joints scoring <= this are not drawn.
        colors: one BGR tuple per person; default a fixed sequence (person i always gets the same colour).
        """
        image_bgr = np.ascontiguousarray(image_to_rgb(image, color)[:, :, ::-1])
        if colors is None:
            colors = random_person_colors(len(prediction), rng=np.random.default_rng(0))
        keypoints = [person.keypoints for person in prediction]
        return draw_skeletons(image_bgr, keypoints, self.layout.skeleton, colors=colors, demo_style=True,
                              score_threshold=joint_threshold)

    def __repr__(self):
        scales = list(self.settings.scale_factors)
        return (f"Predictor({self.cfg.MODEL.NAME}, backend={self.backend}, device={self.device}, "
                f"flip={self.settings.flip_test}, scales={scales})")
