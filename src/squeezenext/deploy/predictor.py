"""Classify images with an exported ONNX model or a training checkpoint, preprocessed as in training."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from squeezenext import onnx_io
from squeezenext.errors import SqueezeNextError
from squeezenext.eval_transform import EvalTransform, eval_transform
from squeezenext.images import from_array, open_image
from squeezenext.preprocessing import TRANSFORMS, Preprocessing
from squeezenext.recorded import torch_installed
from squeezenext.sources import SourceKind, parse_network
from squeezenext.typedconfig import is_int

ImageInput = str | Path | Image.Image | np.ndarray


class PredictorError(SqueezeNextError):
    """A model or image that cannot be used; the message names it."""


@dataclass(frozen=True)
class Prediction:
    """Top-k labels of one image, most probable first."""

    labels: list[str]
    probabilities: list[float]


class Predictor:
    """``Predictor("model.onnx")`` or ``Predictor("runs/x/model.pt")``; then ``predict([...], top_k)``."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_file():
            raise PredictorError(f"model file {path} does not exist")
        self._session: Any = None
        self._module: Any = None  # a torch.nn.Module, for a checkpoint
        source = parse_network(path, (SourceKind.ONNX, SourceKind.CHECKPOINT), purpose="a Predictor")
        if source.kind is SourceKind.ONNX:
            self._load_onnx(path)
        else:
            loaded = source.loaded()
            self._module, self.classes, self.preprocessing = loaded.module, loaded.classes, loaded.preprocessing
        p = self.preprocessing
        repeat = p.grey and p.in_channels == 3
        if torch_installed():  # the evaluation's own transforms
            from squeezenext.transforms import build_transforms

            transform = build_transforms(p.transform, p.input_size, p.mean, p.std, repeat_grey=repeat)[1]

            def torch_transform(image: Image.Image) -> np.ndarray:
                prepared: np.ndarray = transform(image, 0).numpy()
                return prepared

            self._transform: EvalTransform = torch_transform
        else:  # an ONNX model without PyTorch: the same transforms in NumPy and PIL
            self._transform = eval_transform(p, repeat)
        self._mode = "L" if p.grey else "RGB"

    def _load_onnx(self, path: Path) -> None:
        model = onnx_io.read_model(path)
        self._session = onnx_io.cpu_session(path)
        metadata = onnx_io.metadata(model)
        if onnx_io.PREPROCESSING_KEY not in metadata:
            raise PredictorError(f"{path} has no squeezenext metadata; export it with `squeezenext export`")
        try:
            classes = json.loads(metadata.get(onnx_io.CLASSES_KEY, ""))
            self.preprocessing = Preprocessing(**json.loads(metadata[onnx_io.PREPROCESSING_KEY]))
            valid = (
                isinstance(classes, list)
                and all(isinstance(c, str) for c in classes)
                and self.preprocessing.transform in TRANSFORMS
                and self.preprocessing.input_size >= 1
                and len(self.preprocessing.mean) == len(self.preprocessing.std) == self.preprocessing.in_channels
            )
        except (ValueError, TypeError):
            valid = False
        outputs = self._session.get_outputs()[0].shape
        if not valid or (isinstance(outputs[-1], int) and outputs[-1] != len(classes)):
            raise PredictorError(
                f"{path}: its squeezenext metadata (classes, preprocessing) is damaged or does not fit the model; "
                "export it again with `squeezenext export`"
            )
        self.classes = classes

    def _prepare(self, image: ImageInput) -> np.ndarray:
        if isinstance(image, str | Path):
            image = open_image(image, self._mode, PredictorError)
        elif isinstance(image, np.ndarray):
            image = from_array(image, self._mode, "the image array", PredictorError)
        else:
            image = image.convert(self._mode)
        return self._transform(image)

    def logits(self, images: Sequence[ImageInput]) -> np.ndarray:
        """Raw class scores, shape (len(images), classes)."""
        batch = np.stack([self._prepare(image) for image in images])
        if self._session is not None:
            return onnx_io.run(self._session, batch)
        import torch

        with torch.no_grad():
            scores: np.ndarray = self._module(torch.from_numpy(batch)).numpy()
        return scores

    def predict(self, images: Sequence[ImageInput], top_k: int = 5) -> list[Prediction]:
        """The ``top_k`` most probable classes of each image."""
        if not is_int(top_k) or top_k < 1:
            raise PredictorError(f"top_k must be an integer >= 1, got {top_k!r}")
        scores = self.logits(images)
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities = exp / exp.sum(axis=1, keepdims=True)
        k = min(top_k, probabilities.shape[1])
        results = []
        for row in probabilities:
            order = np.argsort(-row)[:k]
            results.append(Prediction([self.classes[i] for i in order], [float(row[i]) for i in order]))
        return results
