"""Data sets: fake, image folders with bad files, Fashion-MNIST discovery, reproducible augmentation."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from squeezenext.train import data as data_module
from squeezenext.train.config import TrainConfig
from squeezenext.train.data import DataError, build_data, collate


def _folder(root: Path, classes: dict[str, list[str]], split: str, size: int = 40) -> None:
    rng = np.random.default_rng(0)
    for name, files in classes.items():
        folder = root / split / name
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(folder / file)


def _config(**changes: object) -> TrainConfig:
    return TrainConfig(**{"input_size": 32, "transform": "small", **changes})  # type: ignore[arg-type]


def test_fake_data() -> None:
    bundle = build_data(_config(data="fake", fake_images=20, fake_classes=4))
    image, label = bundle.train[0]
    assert image is not None and image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert 0 <= label < 4
    assert len(bundle.test) == 5 and bundle.in_channels == 3 and len(bundle.classes) == 4


def test_augmentation_is_a_function_of_seed_epoch_and_index() -> None:
    bundle = build_data(_config(data="fake", fake_images=8))
    train = bundle.train

    def image(index: int) -> torch.Tensor:
        result = train[index][0]
        assert result is not None
        return result

    first = image(3)
    assert torch.equal(first, image(3))
    torch.rand(100)  # independent of any global RNG use in between
    assert torch.equal(first, image(3))
    train.set_epoch(1)
    assert not torch.equal(first, image(3))


def test_image_folder_skips_and_counts_bad_files(tmp_path: Path) -> None:
    _folder(tmp_path, {"cat": ["a.png", "b.png"], "dog": ["c.png", "d.png"]}, "train")
    _folder(tmp_path, {"cat": ["e.png"], "dog": ["f.png"]}, "val")
    (tmp_path / "train" / "dog" / "broken.jpg").write_bytes(b"not a jpeg")
    bundle = build_data(_config(data=f"imagefolder:{tmp_path}"))
    assert bundle.classes == ["cat", "dog"]
    items = [bundle.train[i] for i in range(len(bundle.train))]
    images, labels, bad = collate(items)
    assert bad == 1 and images.shape == (4, 3, 32, 32) and labels.tolist() == [0, 0, 1, 1]


def test_image_folder_fails_on_bad_files_when_asked(tmp_path: Path) -> None:
    _folder(tmp_path, {"cat": ["a.png"], "dog": ["b.png"]}, "train")
    _folder(tmp_path, {"cat": ["c.png"], "dog": ["d.png"]}, "val")
    (tmp_path / "train" / "dog" / "broken.jpg").write_bytes(b"not a jpeg")
    bundle = build_data(_config(data=f"imagefolder:{tmp_path}", bad_images="fail"))
    with pytest.raises(DataError, match=r"cannot read image .*broken\.jpg"):
        [bundle.train[i] for i in range(len(bundle.train))]


def test_mismatched_classes_are_refused(tmp_path: Path) -> None:
    _folder(tmp_path, {"cat": ["a.png"], "dog": ["b.png"]}, "train")
    _folder(tmp_path, {"cat": ["c.png"], "cow": ["d.png"]}, "val")
    with pytest.raises(DataError, match=r"different classes \(only in train: \['dog'\], only in val: \['cow'\]"):
        build_data(_config(data=f"imagefolder:{tmp_path}"))


def test_missing_split_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="train does not exist; expected the ImageNet layout"):
        build_data(_config(data=f"imagefolder:{tmp_path}"))
    (tmp_path / "train" / "cat").mkdir(parents=True)
    (tmp_path / "val" / "cat").mkdir(parents=True)
    with pytest.raises(DataError, match="train"):
        build_data(_config(data=f"imagefolder:{tmp_path}"))


def test_unknown_data_kind() -> None:
    with pytest.raises(DataError, match="valid: fashion-mnist, fashion-mnist-5, fake, imagefolder:PATH"):
        build_data(_config(data="cifar10"))


def test_fashion_mnist_offline_missing_gives_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"], raising=False)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        build_data(_config(data="fashion-mnist", data_root=str(tmp_path / "root")))


@pytest.mark.skipif(
    not (data_module.FASHION_MNIST_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed (make run installs it)",
)
def test_fashion_mnist_from_the_debian_package(tmp_path: Path) -> None:
    bundle = build_data(_config(data="fashion-mnist", data_root=str(tmp_path), input_size=28))
    assert len(bundle.train) == 60_000 and len(bundle.test) == 10_000
    assert bundle.in_channels == 1 and bundle.classes[0] == "T-shirt/top"
    image, _ = bundle.test[0]
    assert image is not None and image.shape == (1, 28, 28)
    repeated = build_data(_config(data="fashion-mnist", data_root=str(tmp_path), grey="repeat", test_subset=4))
    assert repeated.in_channels == 3 and repeated.test[0][0].shape == (3, 32, 32)  # type: ignore[union-attr]


@pytest.mark.skipif(
    not (data_module.FASHION_MNIST_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed (make run installs it)",
)
def test_fashion_mnist_gz_files_in_the_data_root_are_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The four gz files copied into ROOT/FashionMNIST/raw (torchvision's layout, e.g. on a machine without the
    Debian package or the internet) are decompressed and read, with no download."""
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in data_module.FASHION_MNIST_FILES:
        shutil.copy(data_module.FASHION_MNIST_SYSTEM_DIR / name, raw / name)
    monkeypatch.setattr(data_module, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", ["http://127.0.0.1:9/"], raising=False)
    bundle = build_data(_config(data="fashion-mnist", data_root=str(tmp_path), input_size=28, test_subset=4))
    assert len(bundle.train) == 60_000 and len(bundle.test) == 4


@pytest.mark.skipif(
    not (data_module.FASHION_MNIST_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed (make run installs it)",
)
def test_fashion_mnist_in_five_groups(tmp_path: Path) -> None:
    ten = build_data(_config(data="fashion-mnist", data_root=str(tmp_path), input_size=28))
    five = build_data(_config(data="fashion-mnist-5", data_root=str(tmp_path), input_size=28))
    assert five.classes == ["tops", "trousers", "dresses", "footwear", "bags"]
    members = {name: [ten.classes[i] for i in indices] for name, indices in data_module.GROUPS_OF_CLASSES}
    assert members["footwear"] == ["Sandal", "Sneaker", "Ankle boot"]
    assert members["tops"] == ["T-shirt/top", "Pullover", "Coat", "Shirt"]
    group_of = {i: g for g, (_, indices) in enumerate(data_module.GROUPS_OF_CLASSES) for i in indices}
    for index in range(0, 10_000, 997):  # same images, labels mapped
        (image10, label10), (image5, label5) = ten.test[index], five.test[index]
        assert torch.equal(image10, image5) and label5 == group_of[label10]  # type: ignore[arg-type]
