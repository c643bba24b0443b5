"""Data sets and transforms: Fashion-MNIST (offline default), an ImageNet-layout folder, synthetic data.

Augmentation is reproducible: every item draws its random numbers from a generator seeded by
``(seed, epoch, index)``, so a run resumed in the middle of an epoch, or split over several processes,
sees exactly the images an uninterrupted run sees.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torchvision
from PIL import Image
from torch.utils.data import Dataset, Subset

from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import atomic_path
from squeezenext.images import open_image
from squeezenext.preprocessing import Preprocessing
from squeezenext.pretrained import IMAGENET_MEAN, IMAGENET_STD
from squeezenext.train.config import TrainConfig, default_data_root
from squeezenext.transforms import Transform, build_transforms

FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's ``dataset-fashion-mnist`` package puts the four gz files."""
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FASHION_MNIST_MEAN, FASHION_MNIST_STD = (0.2860,), (0.3530,)
FASHION_MNIST_GROUPS = "fashion-mnist-5"
"""Fashion-MNIST with its 10 classes merged into 5 groups (a second task on the same images, for fine-tuning)."""
GROUPS_OF_CLASSES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("tops", (0, 2, 4, 6)),  # T-shirt/top, Pullover, Coat, Shirt
    ("trousers", (1,)),
    ("dresses", (3,)),
    ("footwear", (5, 7, 9)),  # Sandal, Sneaker, Ankle boot
    ("bags", (8,)),
)
CAFFE_MEAN_RGB = (123.0, 117.0, 104.0)
"""The official solver's per-channel mean (BGR 104/117/123), in RGB order, on 0-255 pixels."""


class DataError(SqueezeNextError):
    """A data set that cannot be used; the message says what was found and what to do."""


@dataclass
class DataBundle:
    """Train and test sets with what the model and the predictor need to know about them."""

    train: SeededDataset
    test: SeededDataset
    classes: list[str]
    in_channels: int
    preprocessing: Preprocessing


def _mix(seed: int, epoch: int, index: int) -> int:
    digest = hashlib.blake2b(f"{seed}/{epoch}/{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF


class SeededDataset(Dataset[tuple[torch.Tensor | None, int]]):
    """Applies ``transform`` with a seed derived from ``(seed, epoch, index)``.

    The base set yields ``(image, label)``; an unreadable image is ``None`` and passes through.
    """

    def __init__(self, base: Dataset[Any], transform: Transform, seed: int) -> None:
        self.base = base
        self.transform = transform
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[torch.Tensor | None, int]:
        image, label = self.base[index]
        if image is None:
            return None, int(label)
        return self.transform(image, _mix(self.seed, self.epoch, index)), int(label)


class TensorImages(Dataset[tuple[torch.Tensor, int]]):
    """Images held in one uint8 tensor ``(N, H, W)`` or ``(N, C, H, W)`` with integer labels."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images if images.dim() == 4 else images.unsqueeze(1)
        self.labels = labels

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.images[index], int(self.labels[index])


def collate(batch: Sequence[tuple[torch.Tensor | None, int]]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Stack the readable images; also return how many were unreadable."""
    good = [(image, label) for image, label in batch if image is not None]
    bad = len(batch) - len(good)
    if not good:
        return torch.empty(0), torch.empty(0, dtype=torch.long), bad
    images = torch.stack([image for image, _ in good])
    labels = torch.tensor([label for _, label in good], dtype=torch.long)
    return images, labels, bad


def _grouping(grouped: bool, classes: list[str]) -> tuple[torch.Tensor, list[str]]:
    """Label map and class names: the identity, or :data:`GROUPS_OF_CLASSES`."""
    if not grouped:
        return torch.arange(len(classes)), classes
    relabel = torch.empty(len(classes), dtype=torch.long)
    for group, (_, members) in enumerate(GROUPS_OF_CLASSES):
        relabel[list(members)] = group
    return relabel, [name for name, _ in GROUPS_OF_CLASSES]


def _fashion_mnist(root: Path, train: bool) -> torchvision.datasets.FashionMNIST:
    """torchvision's reader over gzipped files already at hand (in ``ROOT/FashionMNIST/raw`` itself, or the
    Debian package's), else its normal download.

    torchvision reads the decompressed IDX files from ``ROOT/FashionMNIST/raw``; the package ships them
    gzipped, so they are decompressed there once (atomically, so concurrent ranks do not collide).
    """
    raw = root / "FashionMNIST" / "raw"
    missing = [name for name in FASHION_MNIST_FILES if not (raw / name.removesuffix(".gz")).exists()]
    folder = next((f for f in (raw, FASHION_MNIST_SYSTEM_DIR) if all((f / name).exists() for name in missing)), None)
    if missing and folder is not None:
        for name in missing:
            with gzip.open(folder / name) as source, atomic_path(raw / name.removesuffix(".gz")) as tmp:
                tmp.write_bytes(source.read())
        missing = []
    try:
        return torchvision.datasets.FashionMNIST(str(root), train=train, download=bool(missing))
    except Exception as error:  # network errors of every kind when offline
        raise DataError(
            f"Fashion-MNIST is not under {raw} or {FASHION_MNIST_SYSTEM_DIR}, and downloading it failed "
            f"({error}). Install it with `apt-get install dataset-fashion-mnist` (Debian) or go online."
        ) from None


class SafeImageFolder(torchvision.datasets.ImageFolder):  # type: ignore[misc]
    """An ImageFolder whose unreadable files become ``None`` (``skip``) or a DataError (``fail``)."""

    def __init__(self, root: str, fail_on_bad: bool) -> None:
        self.fail_on_bad = fail_on_bad
        super().__init__(root, loader=self._load)

    def _load(self, path: str) -> Image.Image | None:
        try:
            return open_image(path, "RGB", DataError)
        except DataError as error:
            if self.fail_on_bad:
                raise DataError(f"{error}; remove it, or set bad_images: skip to skip and count it") from None
            return None


def _image_folder(path: Path, split: str, fail_on_bad: bool) -> SafeImageFolder:
    folder = path / split
    if not folder.is_dir():
        raise DataError(
            f"{folder} does not exist; expected the ImageNet layout PATH/train/<class>/*, PATH/val/<class>/*"
        )
    try:
        return SafeImageFolder(str(folder), fail_on_bad)
    except FileNotFoundError as error:
        raise DataError(f"{folder}: {error}") from None


def _subset(dataset: Dataset[Any], count: int) -> Dataset[Any]:
    return Subset(dataset, range(min(count, len(dataset)))) if count else dataset  # type: ignore[arg-type]


def build_data(config: TrainConfig) -> DataBundle:
    """Train and test sets for ``config.data``: ``fashion-mnist``, ``imagefolder:PATH`` or ``fake``."""
    mean: tuple[float, ...]
    std: tuple[float, ...]
    if config.data in ("fashion-mnist", FASHION_MNIST_GROUPS):
        root = Path(config.data_root) if config.data_root else default_data_root()
        train_set, test_set = _fashion_mnist(root, True), _fashion_mnist(root, False)
        relabel, classes = _grouping(config.data == FASHION_MNIST_GROUPS, list(train_set.classes))
        train_base: Dataset[Any] = TensorImages(train_set.data, relabel[train_set.targets])
        test_base: Dataset[Any] = TensorImages(test_set.data, relabel[test_set.targets])
        grey = True
        mean, std = FASHION_MNIST_MEAN, FASHION_MNIST_STD
    elif config.data == "fake":
        size = (3, config.input_size, config.input_size)
        train_base = torchvision.datasets.FakeData(config.fake_images, size, config.fake_classes)
        test_base = torchvision.datasets.FakeData(
            max(config.fake_images // 4, 1), size, config.fake_classes, random_offset=config.fake_images
        )
        classes = [f"class{i}" for i in range(config.fake_classes)]
        grey = False
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    elif config.data.startswith("imagefolder:"):
        path = Path(config.data.removeprefix("imagefolder:"))
        fail = config.bad_images == "fail"
        train_folder, test_folder = _image_folder(path, "train", fail), _image_folder(path, "val", fail)
        if train_folder.classes != test_folder.classes:
            only_train = sorted(set(train_folder.classes) - set(test_folder.classes))
            only_val = sorted(set(test_folder.classes) - set(train_folder.classes))
            raise DataError(
                f"{path}: train and val have different classes (only in train: {only_train[:5]}, "
                f"only in val: {only_val[:5]}); both must hold the same class folders"
            )
        train_base, test_base, classes = train_folder, test_folder, list(train_folder.classes)
        grey = False
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    else:
        raise DataError(
            f"unknown data {config.data!r}; valid: fashion-mnist, {FASHION_MNIST_GROUPS}, fake, imagefolder:PATH"
        )
    if config.transform == "paper":
        mean = CAFFE_MEAN_RGB if not grey else (sum(CAFFE_MEAN_RGB) / 3,)
    repeat = grey and config.grey == "repeat"
    if repeat:
        mean, std = mean * 3, std * 3
    train_tf, test_tf, preprocessing = build_transforms(
        config.transform, config.input_size, mean, std, repeat, config.augment
    )
    train = SeededDataset(_subset(train_base, config.train_subset), train_tf, config.seed)
    test = SeededDataset(_subset(test_base, config.test_subset), test_tf, config.seed)
    for name, dataset in (("train", train), ("test", test)):
        if len(dataset) == 0:
            raise DataError(f"the {name} split of {config.data} is empty")
    if len(classes) < 2:
        raise DataError(f"{config.data} has {len(classes)} class; classification needs at least 2")
    return DataBundle(
        train=train,
        test=test,
        classes=classes,
        in_channels=1 if grey and not repeat else 3,
        preprocessing=dataclasses.replace(preprocessing, grey=grey),
    )
