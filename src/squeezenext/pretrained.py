"""The public ImageNet weights (pytorchcv's) and each variant's preprocessing (``pretrained_cfg``).

The six published checkpoints come from pytorchcv's model store (imgclsmob releases); their release tags,
SHA-1 checksums and top-5 errors are copied from pytorchcv 0.0.74, ``pytorchcv/models/common/
model_metainfos.csv``. A download goes to the torch hub cache (``torch.hub.get_dir()/checkpoints``, that is
``$TORCH_HOME/hub/checkpoints``) as pytorchcv's ``.pth`` file name, once: the zip is fetched and unpacked
in a temporary folder beside it, the unpacked file's SHA-1 is checked, and only then is it moved into place,
so the cache never holds a partial or unverified file. ``SQUEEZENEXT_WEIGHTS_MIRROR`` replaces the release
URL's base (``<mirror>/<release>/<file>.zip``) for machines that reach a local mirror only.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from squeezenext.errors import SqueezeNextError
from squeezenext.paper import PAPER_INPUT_SIZE

RELEASES_URL = "https://github.com/osmr/imgclsmob/releases/download"
"""Where pytorchcv's model store publishes its checkpoints (pytorchcv ``imgclsmob_repo_url``)."""
MIRROR_VARIABLE = "SQUEEZENEXT_WEIGHTS_MIRROR"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
"""The normalization pytorchcv's ImageNet models were trained with (torchvision's reference recipe)."""
PYTORCHCV_INPUT_SIZE, PYTORCHCV_CROP = 224, 0.875
"""pytorchcv evaluates these checkpoints on a 224 px center crop of a 256 px resize (``img_size``,
``img_scale`` in its metadata)."""
_CHUNK = 1 << 20


class WeightsError(SqueezeNextError):
    """Weights that cannot be had: no public checkpoint, no network, a checksum mismatch, a damaged file."""


@dataclass(frozen=True)
class PretrainedWeights:
    """One published checkpoint: pytorchcv's file name is ``<model>-<top-5 error x 100>-<sha1[:8]>.pth``."""

    model: str
    top5_error: int
    sha1: str
    release: str

    @property
    def file_name(self) -> str:
        return f"{self.model}-{self.top5_error:04d}-{self.sha1[:8]}.pth"

    def url(self) -> str:
        """The zip's URL (the mirror's, when ``SQUEEZENEXT_WEIGHTS_MIRROR`` is set)."""
        base = os.environ.get(MIRROR_VARIABLE, "").rstrip("/") or RELEASES_URL
        return f"{base}/{self.release}/{self.file_name}.zip"


PRETRAINED: dict[str, PretrainedWeights] = {
    entry.model: entry
    for entry in (
        PretrainedWeights("sqnxt23_w1", 1906, "97b74e0c4d6bf9fc939771d94b2f6dd97de34024", "v0.0.171"),
        PretrainedWeights("sqnxt23v5_w1", 1785, "2fe3ad67d73313193a77690b10c17cbceef92340", "v0.0.172"),
        PretrainedWeights("sqnxt23_w3d2", 1350, "c2f21bce669dbe50fba544bcc39bc1302f63e1e8", "v0.0.210"),
        PretrainedWeights("sqnxt23v5_w3d2", 1301, "c244844ba2f02dadd350dddd74e21360b452f9dd", "v0.0.212"),
        PretrainedWeights("sqnxt23_w2", 1100, "b9bb7302824f89f16e078f0a506e3a8c0ad9c74e", "v0.0.240"),
        PretrainedWeights("sqnxt23v5_w2", 1066, "229b0d3de06197e399eeebf42dc826b78f0aba86", "v0.0.216"),
    )
}


def pretrained_entry(name: str) -> PretrainedWeights:
    """The published checkpoint of registry name ``name``, or an error listing the variants that have one."""
    if name not in PRETRAINED:
        raise WeightsError(
            f"{name} has no public pretrained weights; those with pytorchcv's ImageNet weights: "
            f"{', '.join(PRETRAINED)} (or pass weights=PATH / --weights PATH for a file of your own)"
        )
    return PRETRAINED[name]


def pretrained_cfg(name: str, *, pretrained: bool) -> dict[str, Any]:
    """How a variant's input is prepared (timm's ``pretrained_cfg``).

    With pytorchcv's weights: what they were evaluated with (224 px center crop of a 256 px resize, bilinear,
    ImageNet mean/std, the 1,000 ImageNet-1k classes). Without: the paper's 227 px input and the same
    normalization, for a model a user trains.
    """
    entry = PRETRAINED.get(name) if pretrained else None
    cfg: dict[str, Any] = {
        "input_size": (3, PYTORCHCV_INPUT_SIZE, PYTORCHCV_INPUT_SIZE)
        if entry
        else (3, PAPER_INPUT_SIZE, PAPER_INPUT_SIZE),
        "crop_pct": PYTORCHCV_CROP,
        "interpolation": "bilinear",
        "mean": IMAGENET_MEAN,
        "std": IMAGENET_STD,
        "num_classes": 1000,
        "label_names": "imagenet-1k",
    }
    if entry:
        cfg |= {
            "url": entry.url(),
            "file_name": entry.file_name,
            "sha1": entry.sha1,
            "top5_error": entry.top5_error / 100,
        }
    return cfg


def imagenet_labels() -> list[str]:
    """The 1,000 ImageNet-1k class names, in the order of the classifier's outputs (torchvision's list)."""
    from torchvision.models import ResNet18_Weights

    return list(ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def cache_dir() -> Path:
    """Where downloaded checkpoints are kept: the torch hub cache's ``checkpoints`` folder."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(entry: PretrainedWeights, *, folder: Path | None = None, progress: bool = True) -> Path:
    """The verified checkpoint file of ``entry``, downloaded into ``folder`` (the hub cache) when absent."""
    folder = folder or cache_dir()
    target = folder / entry.file_name
    if target.is_file():
        if sha1_of(target) == entry.sha1:
            return target
        raise WeightsError(
            f"{target} does not have the SHA-1 of {entry.model}'s published weights ({entry.sha1}); "
            "delete it and run again to download it afresh"
        )
    url = entry.url()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{entry.file_name}.", dir=folder))
    except OSError as error:
        raise WeightsError(f"cannot write to the weights cache {folder}: {error.strerror or error}") from None
    try:
        _download_verified(entry, url, staging, progress)
        os.replace(staging / entry.file_name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _download_verified(entry: PretrainedWeights, url: str, staging: Path, progress: bool) -> None:
    import torch.hub

    archive = staging / f"{entry.file_name}.zip"
    try:
        torch.hub.download_url_to_file(url, str(archive), progress=progress)
    except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
        raise WeightsError(
            f"cannot download {entry.model}'s weights from {url} ({_reason(error)}); offline, place the "
            f"unpacked file at {cache_dir() / entry.file_name} (SHA-1 {entry.sha1}) or pass weights=PATH"
        ) from None
    try:
        with zipfile.ZipFile(archive) as bundle:
            bundle.extract(entry.file_name, staging)
    except (zipfile.BadZipFile, KeyError, OSError, EOFError) as error:
        raise WeightsError(
            f"the download from {url} is not a zip holding {entry.file_name} ({_reason(error)}); "
            "run again to download it afresh"
        ) from None
    found = sha1_of(staging / entry.file_name)
    if found != entry.sha1:
        raise WeightsError(
            f"the download from {url} has SHA-1 {found}, not {entry.sha1}: it was damaged or replaced; "
            "nothing was kept, run again"
        )


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or str(error)
    code = getattr(error, "code", None)
    return f"HTTP {code}: {reason}" if code else str(reason) or type(error).__name__
