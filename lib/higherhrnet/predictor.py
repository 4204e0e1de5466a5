"""Pose estimation on your own pictures: the `Predictor` API.

    from higherhrnet import Predictor
    predictor = Predictor("experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml",
                          "models/pytorch/pose_coco/pose_higher_hrnet_w32_512.pth")
    people = predictor.predict("photo.jpg")        # or a BGR array (cv2.imread), a PIL image, a tensor
    for person in people:                          # sorted by score, highest first
        person.keypoints                           # (J, 3): x, y in image pixels, joint score
        person.score                               # person score (mean joint score, official)
        person.bbox                                # [x, y, width, height] of the detected joints
        dict(zip(person.joint_names, person.keypoints.tolist()))
    people.to_json()                               # or json.dumps(people.as_dict()); records(): COCO format

Inputs: a file path (EXIF orientation applied, as photo viewers and cv2.imread show the picture; keypoints
are in that upright picture's pixels; tools/valid.py keeps the official reading, which ignores it); a uint8
NumPy array (H, W, 3) in `color` order (BGR by default, as cv2.imread), (H, W, 4) or (H, W); a PIL image
(any mode, converted to RGB); a uint8 torch tensor, RGB, (3, H, W) as torchvision reads images, or (H, W, 3).

Every image goes through `engine.inference.PosePipeline`, the very pipeline of tools/valid.py (test resize,
flip pass, aggregation, grouping, adjust, refine, back-projection), so the poses equal the official
evaluation's. The optional person filters of `pose_nms` (TEST.POSE_NMS, TEST.MIN_PERSON_SCORE; both off by
default) run after it, as in tools/valid.py. With backend='onnx' an onnxruntime session of a raw-network
export (tools/export_onnx.py) replaces the torch network inside the same pipeline.

Coordinates: x is the column, y the row, in pixels of the image as given (pixel centres at integer + 0.5
offsets exactly as the official back-projection produces them). A joint score is a heatmap value, not a
visibility flag; joints filled in by refine can have low scores.
"""
import json
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np
from yacs.config import CfgNode

from higherhrnet.config import check_config, load_config, merge_opts
from higherhrnet.data.image_io import read_image_rgb_upright
from higherhrnet.errors import UserError
from higherhrnet.engine.inference import InferenceSettings, PosePipeline, prepare
from higherhrnet.evaluation.results import person_record
from higherhrnet.keypoints import KEYPOINTS_KEYS, layout_from_config
from higherhrnet.models import build_model, load_model_weights, resolve_device
from higherhrnet.pose_nms import PersonFilter
from higherhrnet.visualize import draw_skeletons, random_person_colors

BACKENDS = ("torch", "onnx")
PRECISIONS = {"fp32": False, "bf16": True}  # precision -> TEST.AMP
COLOR_ORDERS = ("bgr", "rgb")
ImageInput = Any  # a path (str / os.PathLike), a uint8 NumPy array, a PIL image or a uint8 torch tensor


class PredictorArgumentError(UserError, ValueError):
    """A Predictor argument or input of the wrong kind (one line naming the argument)."""


class ImageTypeError(PredictorArgumentError, TypeError):
    """An image argument of a type the Predictor does not read."""


class NoWeightsError(PredictorArgumentError):
    """The torch backend got no weights file (neither `weights` nor TEST.MODEL_FILE)."""


@dataclass
class Person:
    """One detected person.

    keypoints (J, 3) float32: x, y (image pixels), joint score; tags (J, T) float32; score: person score;
    joint_names: the J names ('nose', 'left_eye', ...); index: the person's position in the pipeline's
    (official results-file) order, i.e. in `Prediction.raw` and `Prediction.records()`.
    A joint the grouping did not find has score 0 (and a meaningless position); `bbox` leaves it out.
    """
    keypoints: np.ndarray
    score: float
    tags: np.ndarray
    joint_names: Tuple[str, ...] = ()
    index: int = 0

    @property
    def detected(self) -> np.ndarray:
        """(J,) bool: joints with a positive score and finite coordinates."""
        return (self.keypoints[:, 2] > 0) & np.isfinite(self.keypoints[:, :2]).all(axis=1)

    @property
    def bbox(self) -> Optional[List[float]]:
        """[x, y, width, height] (COCO box) around the detected joints only; None if no joint is detected.

        Differs from the box of `records()`, which is the official one over every joint.
        """
        points = self.keypoints[self.detected, :2]
        if not len(points):
            return None
        (x_min, y_min), (x_max, y_max) = points.min(axis=0), points.max(axis=0)
        return [float(x_min), float(y_min), float(x_max - x_min), float(y_max - y_min)]

    def as_dict(self) -> Dict[str, Any]:
        """Plain Python values (json.dumps works): score, bbox, keypoints [[x, y, score], ...], joint_names."""
        return {"score": float(self.score), "bbox": self.bbox, "keypoints": self.keypoints.tolist(),
                "joint_names": list(self.joint_names)}

    to_dict = as_dict

    def __repr__(self):
        return f"Person(score={self.score:.3f}, joints={int(self.detected.sum())}/{len(self.keypoints)})"


@dataclass(eq=False)
class Prediction(Sequence):
    """The people found in one image: a sequence of `Person` sorted by score (highest first), plus the raw
    pipeline arrays in the pipeline's order (that of the official results file, kept by `records()`).

    raw: list of P (J, 3 + T) float32 arrays (x, y, joint score, tags), the pipeline's output after the
      optional filters; scores: the P person scores; image_size: (height, width) of the input image;
      num_joints: J.
    heatmaps (1, J, H, W) / tags (1, J, H, W, T): the aggregated maps the decoder read, at the scale-1.0
      input size, when predicted with keep_maps=True (else None).
    has_center_joint: the last joint is a person centre (DATASET.WITH_CENTER without TEST.IGNORE_CENTER).
    joint_names: the names of the body joints (the keypoint layout's, DATASET.KEYPOINTS.NAMES or official);
      each Person names its J joints, 'center' last when has_center_joint.
    """
    raw: List[np.ndarray]
    scores: List[float]
    image_size: Tuple[int, int]
    num_joints: int
    heatmaps: Optional[Any] = None
    tags: Optional[Any] = None
    has_center_joint: bool = False
    joint_names: tuple = ()
    persons: List[Person] = field(init=False, repr=False)

    def __post_init__(self):
        names = tuple(self.joint_names)
        if len(names) == self.num_joints - 1:
            names += ("center",)
        order = sorted(range(len(self.raw)), key=lambda index: -float(self.scores[index]))  # stable for ties
        self.persons = [Person(np.ascontiguousarray(self.raw[index][:, :3]), float(self.scores[index]),
                               np.ascontiguousarray(self.raw[index][:, 3:]), names, index) for index in order]

    def __len__(self) -> int:
        return len(self.persons)

    def __getitem__(self, index):
        return self.persons[index]

    def as_dict(self) -> Dict[str, Any]:
        """Plain Python values: image_size [height, width], num_joints, persons (Person.as_dict, by score)."""
        return {"image_size": [int(self.image_size[0]), int(self.image_size[1])], "num_joints": int(self.num_joints),
                "persons": [person.as_dict() for person in self.persons]}

    to_dict = as_dict

    def to_json(self, **dumps_options) -> str:
        """`as_dict()` as a JSON string (json.dumps options such as indent=2 are passed on)."""
        return json.dumps(self.as_dict(), **dumps_options)

    @property
    def keypoints(self) -> np.ndarray:
        """All people's keypoints as one (P, J, 3) float32 array (x, y, joint score), sorted by score."""
        if not self.persons:
            return np.zeros((0, self.num_joints, 3), dtype=np.float32)
        return np.stack([person.keypoints for person in self.persons])

    @property
    def person_scores(self) -> np.ndarray:
        """(P,) float32 person scores, in the pipeline's order (as `scores` and `raw`)."""
        return np.asarray(self.scores, dtype=np.float32)

    def records(self, image_id: int = 0, file_name: Optional[str] = None) -> List[Dict[str, Any]]:
        """COCO results records (as the official results file, algorithm.md §7.1), one per person, in the
        pipeline's order.

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


def _tensor_to_rgb(image):
    """uint8 torch tensor, RGB, (3, H, W) / (1, H, W) (torchvision's layout) or (H, W, 3 or 4) -> (H, W, 3)."""
    if image.dtype.is_floating_point or str(image.dtype) != "torch.uint8":
        raise PredictorArgumentError(f"image tensor must be uint8 (0..255), got {image.dtype}; "
                                     "e.g. (x * 255).clamp(0, 255).to(torch.uint8)")
    array = image.detach().cpu().numpy()
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = np.moveaxis(array, 0, 2)  # CHW -> HWC
    elif array.ndim != 3 or array.shape[2] not in (3, 4):
        raise PredictorArgumentError(f"image tensor must be (3, H, W), (1, H, W) or (H, W, 3), "
                                     f"got shape {tuple(image.shape)}")
    return array[:, :, 0] if array.shape[2] == 1 else array


def image_to_rgb(image: ImageInput, color: str = "bgr") -> np.ndarray:
    """A path, a uint8 array, a PIL image or a uint8 tensor -> uint8 RGB (H, W, 3).

    Paths are read upright (EXIF orientation applied, `data.image_io.read_image_rgb_upright`; `color` is
    ignored). Arrays: (H, W, 3) in `color` order ('bgr' as cv2.imread gives, or 'rgb'), (H, W, 4) with alpha
    (dropped) or (H, W) grayscale. PIL images: any mode, converted to RGB. Torch tensors: uint8 RGB,
    (3, H, W) or (1, H, W) as torchvision reads images, or (H, W, 3); a first dimension of 1 or 3 means
    channels first. `color` applies to NumPy arrays only. Raises a one-line error otherwise.
    """
    if color not in COLOR_ORDERS:
        raise PredictorArgumentError(f"color {color!r}: expected one of {', '.join(COLOR_ORDERS)}")
    if isinstance(image, (str, os.PathLike)):
        return read_image_rgb_upright(image)
    module = type(image).__module__.split(".")[0]
    if module == "PIL" and hasattr(image, "convert"):
        return np.ascontiguousarray(np.asarray(image.convert("RGB")))
    if module == "torch" and hasattr(image, "detach"):
        image, color = _tensor_to_rgb(image), "rgb"
    if isinstance(image, (list, tuple)):
        raise ImageTypeError(f"image is a nested {type(image).__name__}: an image is a file path, a NumPy array, a PIL "
                        "image or a torch tensor (np.asarray(..., dtype=np.uint8) turns nested lists into one)")
    if not isinstance(image, np.ndarray):
        raise ImageTypeError(f"image must be a file path, a NumPy array, a PIL image or a torch tensor, "
                        f"got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise PredictorArgumentError(f"image array must be uint8 (0..255), got {image.dtype}; "
                                     "e.g. (x * 255).clip(0, 255).astype(np.uint8)")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim != 3 or image.shape[2] not in (3, 4):
        raise PredictorArgumentError(f"image array must be (H, W, 3), (H, W, 4) or (H, W), got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise PredictorArgumentError(f"image array is empty (shape {image.shape})")
    image = image[:, :, :3]
    if color == "bgr":
        image = image[:, :, ::-1]
    return np.ascontiguousarray(image)


def scales_argument(scales) -> Optional[List[float]]:
    """`scales` of Predictor as TEST.SCALE_FACTOR: None (keep the config), one number (one scale) or a list
    of numbers; anything else (a string, nested lists, booleans) is a one-line PredictorArgumentError."""
    if scales is None:
        return None
    if isinstance(scales, numbers.Real) and not isinstance(scales, bool):
        return [float(scales)]
    if isinstance(scales, (str, bytes)) or not isinstance(scales, Iterable):
        raise PredictorArgumentError(f"scales={scales!r}: expected a number or a list of numbers, "
                                     "e.g. 1.0 or [0.5, 1.0, 2.0]")
    values = list(scales)
    if not values or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        raise PredictorArgumentError(f"scales={scales!r}: expected a non-empty list of numbers, e.g. [0.5, 1.0, 2.0]")
    return [float(v) for v in values]


def _person_keypoints(prediction, num_joints):
    """The (J, 3) keypoint arrays of a draw() `prediction`: a Prediction, or a list of Person / (J, >=3) arrays."""
    if isinstance(prediction, Prediction):
        return [person.keypoints for person in prediction]
    if not isinstance(prediction, (list, tuple)):
        raise PredictorArgumentError(f"draw: prediction must be what predict() returned (a Prediction), "
                                     f"got {type(prediction).__name__}")
    keypoints = []
    for position, person in enumerate(prediction):
        array = person.keypoints if isinstance(person, Person) else person
        if not isinstance(array, np.ndarray) or array.ndim != 2 or array.shape[0] != num_joints or array.shape[1] < 3:
            raise PredictorArgumentError(
                f"draw: prediction[{position}] must be a Person or a ({num_joints}, 3) keypoint array, got "
                f"{type(person).__name__}{' of shape ' + str(array.shape) if isinstance(array, np.ndarray) else ''}")
        keypoints.append(np.asarray(array[:, :3], dtype=np.float32))
    return keypoints


class Predictor:
    """Multi-person poses for any picture with a HigherHRNet config and weights.

    config: experiment YAML path (e.g. experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml) or a config
      node from `higherhrnet.config.load_config`.
    weights: torch backend: a .pth file (every official format, see `models.load_model_weights`); None
      uses TEST.MODEL_FILE. onnx backend: the .onnx file of tools/export_onnx.py (raw network export).
    device: 'cpu', 'cuda', 'cuda:1', 'mps'; None uses DEVICE from the config ('' = CUDA if available).
    flip / scales: flip test and test scales; None keeps TEST.FLIP_TEST / TEST.SCALE_FACTOR of the config
      (True / [1] in the official YAMLs). scales: one number (0.5 = one scale) or a list ([0.5, 1.0, 2.0]).
    pose_nms / pose_nms_oks / min_score: the person filters of `higherhrnet.pose_nms`; None keeps
      TEST.POSE_NMS / TEST.POSE_NMS_OKS / TEST.MIN_PERSON_SCORE (off / 0.9 / 0 by default).
    backend: 'torch' or 'onnx' (onnxruntime runs the network; everything else is unchanged).
    opts: further KEY VALUE config overrides, as on the tools' command lines.
    model: an already-built torch network to use instead of loading `weights` (torch backend only).
    precision: 'fp32' (the official float32 numerics) or 'bf16' (the fast mode of TEST.AMP: BatchNorm folded,
      weights pre-cast, channels-last; bfloat16 on CPU, float16 on CUDA; not bit-exact, torch backend only);
      None keeps TEST.AMP of the config (False = fp32).
    onnx_threads: onnxruntime intra-op threads (0 = its default); onnx_session_config: optional
      onnxruntime session config entries (see `export.OnnxNetwork`).
    """

    def __init__(self, config: Union[str, "os.PathLike[str]", CfgNode],
                 weights: Union[str, "os.PathLike[str]", None] = None, *, device: Optional[str] = None,
                 flip: Optional[bool] = None, scales: Union[float, Iterable[float], None] = None,
                 pose_nms: Optional[bool] = None, pose_nms_oks: Optional[float] = None,
                 min_score: Optional[float] = None, backend: str = "torch", opts: Iterable[Any] = (),
                 model: Any = None, onnx_threads: int = 0, onnx_session_config: Optional[Dict[str, str]] = None,
                 precision: Optional[str] = None):
        if backend not in BACKENDS:
            raise PredictorArgumentError(f"backend {backend!r}: expected one of {', '.join(BACKENDS)}")
        if precision is not None and precision not in PRECISIONS:
            raise PredictorArgumentError(f"precision {precision!r}: expected one of {', '.join(PRECISIONS)}")
        if precision == "bf16" and backend != "torch":
            raise PredictorArgumentError("precision='bf16' is for the torch backend (the ONNX export runs in fp32)")
        overrides = list(opts or ())
        for key, value in (("TEST.FLIP_TEST", None if flip is None else bool(flip)),
                           ("TEST.SCALE_FACTOR", scales_argument(scales)),
                           ("TEST.POSE_NMS", None if pose_nms is None else bool(pose_nms)),
                           ("TEST.POSE_NMS_OKS", None if pose_nms_oks is None else float(pose_nms_oks)),
                           ("TEST.MIN_PERSON_SCORE", None if min_score is None else float(min_score)),
                           ("DEVICE", None if device is None else str(device)),
                           ("TEST.AMP", None if precision is None else PRECISIONS[precision])):
            if value is not None:
                overrides += [key, value]
        self.cfg = _resolve_config(config, overrides)
        self.device = resolve_device(self.cfg.DEVICE)
        self.backend = backend
        if backend == "torch":
            network = self._torch_network(weights, model)
        else:
            if model is not None:
                raise PredictorArgumentError("model= is for the torch backend; the onnx backend reads the .onnx file "
                                             "given as weights")
            network = self._onnx_network(weights, onnx_threads, onnx_session_config)
        self.layout = self._keypoint_layout(network)
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
                raise PredictorArgumentError("give either weights or model, not both")
            return model.to(self.device)
        weights = weights if weights is not None else self.cfg.TEST.MODEL_FILE
        if not weights:
            raise NoWeightsError("no weights: pass weights='<file>.pth' or set TEST.MODEL_FILE in the config")
        if os.fspath(weights).endswith(".onnx"):
            raise PredictorArgumentError(f"{os.fspath(weights)} is an ONNX model: use backend='onnx' to run it")
        network = build_model(self.cfg, is_train=False)
        load_model_weights(network, weights)
        return network.to(self.device)

    def _keypoint_layout(self, network):
        """The config's keypoint layout; for an ONNX model with a layout in its metadata, the model's tables
        where DATASET.KEYPOINTS leaves them empty, and a one-line error where both give one and they differ."""
        layout = layout_from_config(self.cfg)
        exported = getattr(network, "layout", None) if self.backend == "onnx" else None
        if exported is None:
            return layout
        from higherhrnet.export.layout_metadata import combine_layouts

        given = [key for key in KEYPOINTS_KEYS if self.cfg.DATASET.KEYPOINTS.get(key)]
        return combine_layouts(layout, given, exported, network.path)

    def _onnx_network(self, weights, threads, session_config):
        from higherhrnet.export.onnx_runtime import OnnxNetwork, network_output_channels

        if not weights:
            raise PredictorArgumentError("backend='onnx' needs the .onnx file (tools/export_onnx.py) as weights")
        num_stages = self.cfg.MODEL.EXTRA.DECONV.NUM_DECONVS + 1
        expected = network_output_channels(self.cfg.MODEL.NUM_JOINTS, self.cfg.MODEL.TAG_PER_JOINT,
                                           self.cfg.LOSS.WITH_AE_LOSS[:num_stages])
        return OnnxNetwork(weights, expected_channels=expected, device=self.device, threads=threads,
                           session_config=session_config)

    def predict(self, image: ImageInput, color: str = "bgr", keep_maps: bool = False,
                timings: Optional[Dict[str, float]] = None) -> Union[Prediction, List[Prediction]]:
        """People in one image (a path, a uint8 array, a PIL image or a tensor, see `image_to_rgb`) -> `Prediction`.

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

    def predict_batch(self, images: Iterable[ImageInput], color: str = "bgr", keep_maps: bool = False,
                      timings: Optional[Dict[str, float]] = None) -> List[Prediction]:
        """`predict` on each image in turn (the pipeline works one image at a time); returns a list."""
        images = list(images)
        for position, image in enumerate(images):
            if isinstance(image, (list, tuple)):
                raise ImageTypeError(f"image {position} of the list is a {type(image).__name__}: an image is a file "
                                "path, a NumPy array, a PIL image or a torch tensor (np.asarray(..., "
                                "dtype=np.uint8) turns nested lists into one)")
        return [self.predict(image, color=color, keep_maps=keep_maps, timings=timings) for image in images]

    __call__ = predict

    def draw(self, image: ImageInput, prediction: Union[Prediction, List[Any]], color: str = "bgr",
             joint_threshold: float = 0.0, colors: Optional[List[Tuple[int, int, int]]] = None,
             min_score: float = 0.0) -> np.ndarray:
        """A BGR uint8 (H, W, 3) copy of `image` with the persons' skeletons drawn (anti-aliased lines).

        image: as for `predict`. prediction: what `predict` returned (or a list of Person / (J, 3) arrays).
        joint_threshold: joints scoring <= this are not drawn. min_score: persons of a Prediction scoring
        below this are not drawn (0 draws everyone). colors: one BGR tuple per drawn person; default a fixed
        sequence (the i-th drawn person always gets the same colour).
        """
        image_bgr = np.ascontiguousarray(image_to_rgb(image, color)[:, :, ::-1])
        if isinstance(prediction, Prediction) and min_score > 0:
            prediction = [person for person in prediction if person.score >= min_score]
        keypoints = _person_keypoints(prediction, self.num_joints)
        if colors is None:
            colors = random_person_colors(len(keypoints), rng=np.random.default_rng(0))
        return draw_skeletons(image_bgr, keypoints, self.layout.skeleton, colors=colors, demo_style=True,
                              score_threshold=joint_threshold)

    def __repr__(self):
        scales = list(self.settings.scale_factors)
        return (f"Predictor({self.cfg.MODEL.NAME}, backend={self.backend}, device={self.device}, "
                f"flip={self.settings.flip_test}, scales={scales})")
