"""The transforms of training and evaluation, as :class:`~squeezenext.preprocessing.Preprocessing` describes them.

Every transform is ``transform(image, seed)``; all its randomness comes from ``seed``, so augmentation is
reproducible (:mod:`squeezenext.train.data` derives the seed from ``(seed, epoch, index)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torchvision.transforms import v2

from squeezenext.preprocessing import IMAGENET_RESIZE_RATIO, PAPER_RESIZE, Preprocessing

Transform = Callable[[Any, int], torch.Tensor]
"""``transform(image, seed)``: a normalized float tensor; all randomness comes from ``seed``."""


def _grey_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return image.expand(3, *image.shape[1:]) if image.shape[0] == 1 else image


class TorchvisionTransform:
    """A torchvision v2 pipeline run with the global torch RNG seeded per image (PIL-sized images)."""

    def __init__(self, pipeline: v2.Compose) -> None:
        self.pipeline = pipeline

    def __call__(self, image: Any, seed: int) -> torch.Tensor:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            result: torch.Tensor = self.pipeline(image)
        return result


class PadCropFlip:
    """The ``small`` transform on uint8 tensors, drawing from its own generator (about 50 us per image).

    Train: resize to ``size`` if needed; ``augment``: ``crop-flip`` pads by ``size // 8`` and takes a random
    ``size`` crop, then flips horizontally with probability 1/2; ``flip`` only flips; ``none`` does neither.
    Eval: resize only. Then scale to [0, 1] and normalize.
    """

    def __init__(
        self, size: int, mean: Sequence[float], std: Sequence[float], repeat_grey: bool, train: bool, augment: str
    ) -> None:
        self.size, self.repeat_grey = size, repeat_grey
        self.pad = size // 8 if train and augment == "crop-flip" else 0
        self.flip = train and augment != "none"
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def __call__(self, image: Any, seed: int) -> torch.Tensor:
        tensor = image if isinstance(image, torch.Tensor) else v2.functional.pil_to_tensor(image)
        x = tensor.float().div_(255)
        if x.shape[-2:] != (self.size, self.size):
            x = torch.nn.functional.interpolate(x[None], (self.size, self.size), mode="bilinear", antialias=True)[0]
        generator = torch.Generator().manual_seed(seed)
        if self.pad:
            x = torch.nn.functional.pad(x, (self.pad,) * 4)
            top, left = torch.randint(0, 2 * self.pad + 1, (2,), generator=generator).tolist()
            x = x[:, top : top + self.size, left : left + self.size]
        if self.flip and torch.rand((), generator=generator) < 0.5:
            x = x.flip(-1)
        if self.repeat_grey:
            x = _grey_to_rgb(x)
        return (x - self.mean) / self.std


def build_transforms(
    kind: str, size: int, mean: Sequence[float], std: Sequence[float], repeat_grey: bool, augment: str = "crop-flip"
) -> tuple[Transform, Transform, Preprocessing]:
    """Train and eval transforms (tensors or PIL in, normalized float tensors out).

    * ``small``: resize to ``size``; random crop with ``size // 8`` padding and flip, as ``augment`` says.
    * ``paper``: the official solver: 256x256 resize, random ``size`` crop (227), per-channel mean
      subtraction on 0-255 pixels, no flip; eval: center crop.
    * ``imagenet``: RandomResizedCrop + flip, ImageNet mean/std; eval: resize ``size * 256 / 224``, center crop.
    """
    if kind == "small":
        preprocessing = Preprocessing(kind, size, len(mean), tuple(mean), tuple(std), scale_to_unit=True)
        return (
            PadCropFlip(size, mean, std, repeat_grey, train=True, augment=augment),
            PadCropFlip(size, mean, std, repeat_grey, train=False, augment=augment),
            preprocessing,
        )
    to_tensor: list[Any] = [v2.ToImage()]
    grey: list[Any] = [v2.Lambda(_grey_to_rgb)] if repeat_grey else []
    if kind == "paper":
        normalize = [v2.ToDtype(torch.float32, scale=False), v2.Normalize(list(mean), [1.0] * len(mean))]
        train = [v2.Resize((PAPER_RESIZE, PAPER_RESIZE), antialias=True), v2.RandomCrop(size)]
        test = [v2.Resize((PAPER_RESIZE, PAPER_RESIZE), antialias=True), v2.CenterCrop(size)]
        std = (1.0,) * len(mean)
    else:
        normalize = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(list(mean), list(std))]
        train = [v2.RandomResizedCrop(size, antialias=True), v2.RandomHorizontalFlip()]
        test = [v2.Resize(round(size * IMAGENET_RESIZE_RATIO), antialias=True), v2.CenterCrop(size)]
    preprocessing = Preprocessing(kind, size, len(mean), tuple(mean), tuple(std), scale_to_unit=kind != "paper")
    return (
        TorchvisionTransform(v2.Compose(to_tensor + train + grey + normalize)),
        TorchvisionTransform(v2.Compose(to_tensor + test + grey + normalize)),
        preprocessing,
    )
