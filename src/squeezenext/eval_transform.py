"""The evaluation transforms of :mod:`squeezenext.transforms` in NumPy and PIL, for prediction without PyTorch
(an ONNX model in the ``[deploy]`` install). PIL's resampling is the reference torchvision's antialiased resize
follows, so the two agree to float rounding on ``small`` and to one 8-bit step on the others
(tests/test_light_install.py measures it); where PyTorch is installed the Predictor uses torchvision's transforms."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from squeezenext.preprocessing import IMAGENET_RESIZE_RATIO, PAPER_RESIZE, Preprocessing

EvalTransform = Callable[[Image.Image], np.ndarray]


def _resize_float(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear, antialiased when shrinking, per channel of a (C, H, W) float array; ``size`` is (H, W)."""
    channels = [
        np.asarray(Image.fromarray(channel, mode="F").resize((size[1], size[0]), Image.Resampling.BILINEAR))
        for channel in pixels
    ]
    return np.stack(channels).astype(np.float32)


def _center_crop(pixels: np.ndarray, size: int) -> np.ndarray:
    height, width = pixels.shape[-2:]
    top, left = round((height - size) / 2), round((width - size) / 2)
    return pixels[..., top : top + size, left : left + size]


def eval_transform(preprocessing: Preprocessing, repeat_grey: bool) -> EvalTransform:
    """``image -> (C, size, size) float32`` as the evaluation prepared it."""
    p = preprocessing
    mean = np.asarray(p.mean, dtype=np.float32).reshape(-1, 1, 1)
    std = np.asarray(p.std, dtype=np.float32).reshape(-1, 1, 1)

    def channels_first(image: Image.Image) -> np.ndarray:
        array = np.asarray(image)
        return (array[None] if array.ndim == 2 else array.transpose(2, 0, 1)).astype(np.float32)

    def finish(pixels: np.ndarray) -> np.ndarray:
        if repeat_grey and pixels.shape[0] == 1:
            pixels = np.repeat(pixels, 3, axis=0)
        return ((pixels - mean) / std).astype(np.float32)

    def small(image: Image.Image) -> np.ndarray:
        pixels = channels_first(image) / 255
        if pixels.shape[-2:] != (p.input_size, p.input_size):
            pixels = _resize_float(pixels, (p.input_size, p.input_size))
        return finish(pixels)

    def resized_and_cropped(image: Image.Image) -> np.ndarray:
        if p.transform == "paper":
            image = image.resize((PAPER_RESIZE, PAPER_RESIZE), Image.Resampling.BILINEAR)
        else:
            # torchvision's Resize(int): the shorter side to ``short``, the longer one truncated to keep the ratio
            short, (width, height) = round(p.input_size * IMAGENET_RESIZE_RATIO), image.size
            if width <= height:
                width, height = short, int(short * height / width)
            else:
                width, height = int(short * width / height), short
            image = image.resize((width, height), Image.Resampling.BILINEAR)
        pixels = _center_crop(channels_first(image), p.input_size)
        return finish(pixels / 255 if p.scale_to_unit else pixels)

    return small if p.transform == "small" else resized_and_cropped
