"""docs/samples/ holds the first test image of each Fashion-MNIST class, as its README says."""

import gzip
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from squeezenext.train.data import FASHION_MNIST_SYSTEM_DIR

SAMPLES = Path(__file__).resolve().parents[1] / "docs" / "samples"


def _table() -> list[tuple[str, int]]:
    rows = re.findall(r"^\| (\S+\.png) \| [^|]+ \| (\d+) \|$", (SAMPLES / "README.md").read_text(), flags=re.M)
    return [(name, int(index)) for name, index in rows]


def test_every_sample_is_listed_once() -> None:
    assert sorted(name for name, _ in _table()) == sorted(path.name for path in SAMPLES.glob("*.png"))
    assert len(_table()) == 10


def _read(path: Path, header: int) -> np.ndarray:
    with gzip.open(path) as handle:
        return np.frombuffer(handle.read(), np.uint8, offset=header)


@pytest.mark.skipif(not FASHION_MNIST_SYSTEM_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_each_sample_is_the_first_test_image_of_its_class() -> None:
    images = _read(FASHION_MNIST_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    labels = _read(FASHION_MNIST_SYSTEM_DIR / "t10k-labels-idx1-ubyte.gz", 8)
    for label, (name, index) in enumerate(_table()):
        assert np.array_equal(np.asarray(Image.open(SAMPLES / name)), images[index]), name
        assert labels[index] == label and label not in labels[:index], name
