"""The demo: poses on your own images, folders, videos and webcam, with pictures and results files.

    python tools/demo.py --cfg <yaml> --weights <pth> --input photo.jpg folder/ clip.mp4 0 --output out/
    python -m higherhrnet.demo ...                      (the same; also the `higherhrnet-demo` command)

Inputs (--input, any number): an image file; a folder (its images, sorted by name, and each video in it);
a video file (by extension); a webcam index such as 0. Outputs in --output:

    <stem>_pose.jpg                 the image with the skeletons of persons scoring >= --min-score
    <folder>/<stem>_pose.jpg        the same for the images of a folder
    <stem>_pose.mp4 (or .avi)       the overlay video of a video or webcam input
    <name>_results.json             one per input: COCO results records (algorithm.md §7.1) plus `file_name`
                                    (and `frame` for videos); image_id = the number in the file name
                                    when it is all digits (COCO / CrowdPose names), else the position
                                    of the image in its input (the frame index for videos)
    <stem>_heatmaps.jpg, _tags.jpg  with --save-maps: the aggregated maps the decoder read (first
                                    frame only for videos)

Every picture goes through `Predictor`, i.e. the pipeline of tools/valid.py; image files are read upright
(EXIF orientation applied, as photo viewers show them), so overlays and keypoints are in the displayed
picture's pixels. The results files keep every person (the official output); only the drawing leaves out
persons scoring below --min-score (default 0.1) and joints scoring <= --joint-threshold (default 0.1):
the person score is a mean joint heatmap value, and 0.1 is also the decoder's joint detection threshold
(TEST.DETECTION_THRESHOLD), below which a "person" is mostly background (a black image gives dozens).
--draw-all draws everything. Inputs that cannot be read
are reported in one line and skipped; the run goes on and lists them at the end. The exit status is 0 if
anything was processed, 1 if nothing was, 2 for a bad config, weights or option.
"""
import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np
import torch.nn.functional as F
from tqdm import tqdm

from higherhrnet.data.image_io import ImageReadError, read_image_rgb_upright
from higherhrnet.engine.output_dirs import file_in_the_way
from higherhrnet.visualize import DRAW_MIN_SCORE, heatmap_row, label_columns, tagmap_row, write_picture
from higherhrnet.errors import UsageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".jp2")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv")
VIDEO_CODECS = {"mp4": "mp4v", "avi": "MJPG"}
MAP_PICTURE_HEIGHT = 256  # map pictures are scaled down to this height (J + 1 columns each)


def is_image_file(path):
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def is_video_file(path):
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS


def list_image_files(folder):
    """The image files (by extension) directly inside `folder`, sorted by name."""
    return sorted(path for path in Path(folder).iterdir() if path.is_file() and is_image_file(path))


@dataclass
class DemoInput:
    """One unit of work: kind 'images' (a file or a folder's images), 'video' or 'webcam'."""
    kind: str
    name: str                      # output name stem
    source: str                    # what the user gave (for messages)
    images: List[Path] = field(default_factory=list)
    video: Optional[Path] = None
    webcam: Optional[int] = None
    folder: bool = False           # images of a folder: overlays go to <output>/<name>/


def collect_inputs(specs):
    """Turn --input strings into DemoInputs. Returns (inputs, problems, ignored): problems = [(source, reason)]
    for inputs that do not exist, ignored = number of folder entries that are neither images nor videos."""
    inputs, problems, ignored = [], [], 0
    for spec in specs:
        path = Path(spec)
        if not path.exists() and spec.isdigit():
            inputs.append(DemoInput("webcam", f"webcam{int(spec)}", f"webcam {int(spec)}", webcam=int(spec)))
        elif path.is_dir():
            entries = sorted(entry for entry in path.iterdir() if entry.is_file())
            images = [entry for entry in entries if is_image_file(entry)]
            videos = [entry for entry in entries if is_video_file(entry)]
            ignored += len(entries) - len(images) - len(videos)
            if images:
                inputs.append(DemoInput("images", path.resolve().name or "images", spec, images=images, folder=True))
            inputs.extend(DemoInput("video", video.stem, str(video), video=video) for video in videos)
            if not images and not videos:
                problems.append((spec, "folder without image or video files"))
        elif path.is_file():
            if is_video_file(path):
                inputs.append(DemoInput("video", path.stem, spec, video=path))
            else:
                inputs.append(DemoInput("images", path.stem, spec, images=[path]))
        else:
            problems.append((spec, "no such file, folder or webcam index"))
    _make_names_unique(inputs)
    return inputs, problems, ignored


def _make_names_unique(inputs):
    seen = {}
    for item in inputs:
        count = seen.get(item.name, 0)
        seen[item.name] = count + 1
        if count:
            item.name = f"{item.name}_{count}"


def image_id_from_name(file_name, position):
    """The integer stem of an all-digit file name ('000000000785.jpg' -> 785), else `position`."""
    stem = Path(file_name).stem
    return int(stem) if stem.isdigit() else int(position)


def display_available():
    """True when a window can be opened: a display exists and OpenCV has a GUI backend."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        cv2.namedWindow("higherhrnet")
    except cv2.error:
        return False
    return True


def _open_webcam(index):
    """cv2.VideoCapture(index) without OpenCV's multi-line warnings when there is no such camera."""
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        return cv2.VideoCapture(index)
    finally:
        cv2.utils.logging.setLogLevel(level)


def save_map_pictures(prefix, image_rgb, prediction):
    """Write <prefix>_heatmaps.jpg and <prefix>_tags.jpg: the image then one column per joint map, labelled."""
    heatmaps, tags = prediction.heatmaps[0], prediction.tags[0, :, :, :, 0]
    height = heatmaps.shape[1]
    if height > MAP_PICTURE_HEIGHT:
        size = (MAP_PICTURE_HEIGHT, max(1, round(heatmaps.shape[2] * MAP_PICTURE_HEIGHT / height)))
        heatmaps = F.interpolate(heatmaps[None], size=size, mode="bilinear", align_corners=False)[0]
        tags = F.interpolate(tags[None], size=size, mode="bilinear", align_corners=False)[0]
    image_bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
    names = tuple(prediction.joint_names)[:heatmaps.shape[0]]
    names += ("center",) * (heatmaps.shape[0] - len(names))  # the WITH_CENTER channel comes last
    labels = ("image",) + names
    write_picture(f"{prefix}_heatmaps.jpg", label_columns(heatmap_row(image_bgr, heatmaps.numpy()), labels))
    write_picture(f"{prefix}_tags.jpg", label_columns(tagmap_row(image_bgr, tags.numpy()), labels))


class DemoRun:
    """Runs a Predictor over DemoInputs and writes the outputs; collects counts and skipped inputs."""

    def __init__(self, predictor, output_dir, *, save_maps=False, show=False, joint_threshold=DRAW_MIN_SCORE,
                 min_score=DRAW_MIN_SCORE, video_format="mp4", max_frames=0, show_progress=True):
        self.predictor = predictor
        self.output_dir = Path(output_dir)
        self.save_maps, self.show = save_maps, show
        self.joint_threshold, self.min_score = joint_threshold, min_score
        self.video_format, self.max_frames = video_format, max_frames
        self.show_progress = show_progress
        self.num_images = self.num_frames = 0
        self.skipped = []
        self.quit = False

    def note(self, message):
        tqdm.write(message, file=sys.stderr)

    def skip(self, source, reason):
        self.skipped.append((str(source), reason))
        self.note(f"skipped {source}: {reason}")

    def run(self, inputs):
        for item in inputs:
            if self.quit:
                break
            if item.kind == "images":
                self.run_images(item)
            else:
                self.run_video(item)
        if self.show:
            cv2.destroyAllWindows()

    def _display(self, image_bgr, wait_ms):
        cv2.imshow("higherhrnet", image_bgr)
        if cv2.waitKey(wait_ms) & 0xFF in (ord("q"), 27):
            self.quit = True

    def run_images(self, item):
        folder = self.output_dir / item.name if item.folder else self.output_dir
        folder.mkdir(parents=True, exist_ok=True)
        records, processed = [], 0
        progress = tqdm(item.images, desc=item.name, unit="img", dynamic_ncols=True,
                        disable=not (self.show_progress and item.folder))
        try:
            for position, path in enumerate(progress):
                try:
                    image_rgb = read_image_rgb_upright(path)
                except ImageReadError as error:
                    self.skip(path, str(error).split(": ", 1)[-1])
                    continue
                prediction = self.predictor.predict(image_rgb, color="rgb", keep_maps=self.save_maps)
                records += prediction.records(image_id_from_name(path.name, position), file_name=path.name)
                overlay = self.predictor.draw(image_rgb, prediction, color="rgb",
                                              joint_threshold=self.joint_threshold, min_score=self.min_score)
                write_picture(folder / f"{path.stem}_pose.jpg", overlay)
                if self.save_maps:
                    save_map_pictures(folder / path.stem, image_rgb, prediction)
                self.num_images += 1
                processed += 1
                if self.show:
                    self._display(overlay, 0 if len(item.images) == 1 else 1)
                    if self.quit:
                        break
        except KeyboardInterrupt:
            self.note(f"{item.source}: interrupted after {processed} image(s)")
            self.quit = True
        finally:
            progress.close()
        if processed:
            self._write_records(item, records)

    def run_video(self, item):
        if item.kind == "webcam":
            capture = _open_webcam(item.webcam)
            if not capture.isOpened():
                self.skip(item.source, "cannot open it (no camera with this index, or no access)")
                return
        else:
            capture = cv2.VideoCapture(str(item.video))
            if not capture.isOpened():
                self.skip(item.source, "not a readable video (missing codec or corrupt file)")
                return
        fps = capture.get(cv2.CAP_PROP_FPS)
        fps = fps if fps and 0 < fps < 1000 else 25.0
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if item.kind == "video" else 0
        if self.max_frames:
            total = min(total, self.max_frames) if total > 0 else self.max_frames
        self.output_dir.mkdir(parents=True, exist_ok=True)
        video_path = self.output_dir / f"{item.name}_pose.{self.video_format}"
        writer, records, frame_index = None, [], 0
        progress = tqdm(total=total or None, desc=item.name, unit="frame", dynamic_ncols=True,
                        disable=not self.show_progress)
        try:
            while not self.max_frames or frame_index < self.max_frames:
                ok, frame_bgr = capture.read()
                if not ok:
                    break
                prediction = self.predictor.predict(frame_bgr, color="bgr",
                                                    keep_maps=self.save_maps and frame_index == 0)
                for record in prediction.records(frame_index, file_name=item.source):
                    record["frame"] = frame_index
                    records.append(record)
                overlay = self.predictor.draw(frame_bgr, prediction, color="bgr",
                                              joint_threshold=self.joint_threshold, min_score=self.min_score)
                if writer is None:
                    writer = self._open_writer(video_path, fps, overlay.shape)
                writer.write(overlay)
                if self.save_maps and frame_index == 0:
                    save_map_pictures(self.output_dir / item.name, frame_bgr[:, :, ::-1], prediction)
                frame_index += 1
                self.num_frames += 1
                progress.update(1)
                if self.show:
                    self._display(overlay, 1)
                    if self.quit:
                        break
        except KeyboardInterrupt:
            self.note(f"{item.source}: interrupted after {frame_index} frames")
            self.quit = True
        finally:
            progress.close()
            capture.release()
            if writer is not None:
                writer.release()
        if frame_index == 0:
            self.skip(item.source, "no frame could be read")
            return
        self._write_records(item, records)

    def _open_writer(self, path, fps, shape):
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.video_format]), fps,
                                 (shape[1], shape[0]))
        if not writer.isOpened():
            raise OSError(f"{path}: cannot write a {self.video_format} video (codec {VIDEO_CODECS[self.video_format]} "
                          "unavailable); try --video-format avi")
        return writer

    def _write_records(self, item, records):
        path = self.output_dir / f"{item.name}_results.json"
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(records, handle, sort_keys=True, indent=4)


def _config_keys(node, prefix=""):
    keys = set()
    for key, value in node.items():
        keys.add(prefix + key)
        if isinstance(value, dict):
            keys |= _config_keys(value, f"{prefix}{key}.")
    return keys


def split_config_overrides(argv):
    """Split argv before the first config key (e.g. TEST.FLIP_TEST): (options, KEY VALUE overrides).

    Options taking several values (--input a b, --scales 0.5 1) would otherwise swallow the overrides.
    A token starts the overrides if it is a key of the config schema, or if it is not an existing path and
    begins with a section name (TEST.TYPO: the config then reports the unknown key). IMG_1.JPG stays an input.
    """
    from higherhrnet.config import get_cfg

    argv = list(sys.argv[1:] if argv is None else argv)
    cfg = get_cfg()
    keys = _config_keys(cfg)
    sections = {key for key, value in cfg.items() if isinstance(value, dict)}
    for position, token in enumerate(argv):
        if token in keys or (token.split(".")[0] in sections and "." in token and not os.path.exists(token)):
            return argv[:position], argv[position:]
    return argv, []


def parse_args(argv=None):
    argv, overrides = split_config_overrides(argv)
    parser = argparse.ArgumentParser(
        prog="higherhrnet-demo",
        description="Multi-person poses on images, folders, videos or a webcam: skeleton overlays and "
                    "COCO-style results files.",
        epilog="Example: python tools/demo.py --cfg experiments/coco/higher_hrnet/w32_512_adam_lr1e-3.yaml "
               "--weights models/pytorch/pose_coco/pose_higher_hrnet_w32_512.pth --input photos/ --output out/")
    parser.add_argument("--cfg", required=True, help="experiment YAML")
    parser.add_argument("--weights", help="torch weights (.pth); default TEST.MODEL_FILE")
    parser.add_argument("--input", nargs="+", required=True,
                        help="image files, folders, video files, or a webcam index such as 0")
    parser.add_argument("--output", default="output/demo", help="output folder (default: output/demo)")
    parser.add_argument("--save-maps", action="store_true", help="also save heatmap and tag-map pictures")
    parser.add_argument("--show", action="store_true", help="show the overlays in a window (needs a display)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: DEVICE of the config, '' = auto)")
    parser.add_argument("--no-flip", action="store_true", help="no flip test (faster, slightly less accurate)")
    parser.add_argument("--scales", type=float, nargs="+", help="test scales, e.g. 0.5 1.0 2.0 (default: config)")
    parser.add_argument("--min-score", type=float, default=DRAW_MIN_SCORE,
                        help="draw persons scoring at least this (default 0.1; results files keep every person, "
                             "TEST.MIN_PERSON_SCORE filters them too)")
    parser.add_argument("--pose-nms", action="store_true", help="OKS pose NMS (TEST.POSE_NMS; threshold "
                        "TEST.POSE_NMS_OKS)")
    parser.add_argument("--backend", choices=("torch", "onnx"), default="torch", help="network runtime")
    parser.add_argument("--bf16", action="store_true",
                        help="fast mode (TEST.AMP): bfloat16 on CPU / float16 on CUDA, BatchNorm folded; not "
                        "bit-exact, and fast only on CPUs with native bfloat16 (AVX512-BF16 / AMX)")
    parser.add_argument("--onnx", help="ONNX model of tools/export_onnx.py (with --backend onnx)")
    parser.add_argument("--joint-threshold", type=float, default=DRAW_MIN_SCORE,
                        help="draw joints scoring above this (default 0.1; results files keep every joint)")
    parser.add_argument("--draw-all", action="store_true",
                        help="draw every person and joint (--min-score 0 --joint-threshold 0)")
    parser.add_argument("--video-format", choices=sorted(VIDEO_CODECS), default="mp4",
                        help="container of overlay videos (mp4: mp4v codec, avi: MJPG)")
    parser.add_argument("--max-frames", type=int, default=0, help="stop each video / webcam after N frames")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.add_argument("opts", nargs=argparse.REMAINDER,
                        help="config overrides as KEY VALUE pairs, e.g. TEST.DETECTION_THRESHOLD 0.2")
    args = parser.parse_args(argv)
    args.opts = list(args.opts) + overrides
    return args


def build_predictor(args):
    """The Predictor for the parsed arguments (raises one-line errors for bad settings)."""
    from higherhrnet.predictor import Predictor

    if args.backend == "onnx":
        if not args.onnx:
            raise UsageError("--backend onnx needs --onnx <model.onnx> (see tools/export_onnx.py)")
        weights = args.onnx
    else:
        if args.onnx:
            raise UsageError("--onnx is used with --backend onnx only")
        weights = args.weights
    return Predictor(args.cfg, weights, device=args.device, flip=False if args.no_flip else None,
                     scales=args.scales, pose_nms=True if args.pose_nms else None,
                     backend=args.backend, opts=args.opts, precision="bf16" if args.bf16 else None)


def main(argv=None):
    """Command-line entry point; returns the exit status (0 ok, 1 nothing processed, 2 setup error)."""
    from higherhrnet.errors import REPORTED_ERRORS

    args = parse_args(argv)
    if args.max_frames < 0:
        print("error: --max-frames must be >= 0", file=sys.stderr)
        return 2
    if args.backend == "onnx" and args.weights:
        print("warning: --weights is not used with --backend onnx (the .onnx file holds the weights)",
              file=sys.stderr)
    from higherhrnet.predictor import NoWeightsError

    try:
        predictor = build_predictor(args)
    except NoWeightsError:
        print("error: no weights: pass --weights <file>.pth or set TEST.MODEL_FILE in the config", file=sys.stderr)
        return 2
    except (*REPORTED_ERRORS, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    show = args.show
    if show and not display_available():
        print("warning: --show ignored: no display (or OpenCV without GUI support)", file=sys.stderr)
        show = False

    blocker = file_in_the_way(args.output)
    if blocker is not None:
        print(f"error: --output {args.output}: {blocker} is a file, not a folder", file=sys.stderr)
        return 2
    inputs, problems, ignored = collect_inputs(args.input)
    joint_threshold, min_score = (0.0, 0.0) if args.draw_all else (args.joint_threshold, args.min_score)
    run = DemoRun(predictor, args.output, save_maps=args.save_maps, show=show, joint_threshold=joint_threshold,
                  min_score=min_score,
                  video_format=args.video_format, max_frames=args.max_frames, show_progress=not args.no_progress)
    for source, reason in problems:
        run.skip(source, reason)
    try:
        run.run(inputs)
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if ignored:
        print(f"note: ignored {ignored} file(s) in the input folders that are neither images nor videos",
              file=sys.stderr)
    written = f"outputs in {run.output_dir}" if run.output_dir.is_dir() else "nothing written"
    print(f"processed {run.num_images} image(s) and {run.num_frames} video frame(s); {written}")
    if run.skipped:
        print(f"skipped {len(run.skipped)} input(s):", file=sys.stderr)
        for source, reason in run.skipped:
            print(f"  {source}: {reason}", file=sys.stderr)
    if not (run.num_images or run.num_frames):
        print("error: nothing was processed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
