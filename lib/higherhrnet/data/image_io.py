"""Reading images the official way and turning them into normalised network inputs.

Images are read with OpenCV in colour, ignoring EXIF orientation (as the official code does), and returned
as uint8 RGB arrays of shape (H, W, 3). `to_input_tensor` applies ToTensor (/255, HWC -> CHW) and the
ImageNet normalisation with torchvision's float32 arithmetic, without depending on torchvision.
"""
import os

import cv2
import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageReadError(OSError):
    """An image file is missing or cannot be decoded."""


def read_image_rgb(path):
    """Read an image file as uint8 RGB (H, W, 3), EXIF orientation ignored; one-line error if unreadable."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImageReadError(f"{path}: image file not found")
    image = cv2.imread(path, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None:
        raise ImageReadError(f"{path}: not a readable image (corrupt or unsupported format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def to_input_tensor(image_rgb):
    """uint8 RGB (H, W, 3) -> normalised float32 tensor (3, H, W): (x/255 - mean) / std per channel."""
    tensor = torch.from_numpy(np.ascontiguousarray(image_rgb)).permute(2, 0, 1).float().div(255)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1)
    return tensor.sub_(mean).div_(std)
