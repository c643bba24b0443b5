"""``squeezenext export`` as a library function: every format of one model, checked, written together.

The fp32 ONNX file is verified against PyTorch; int8 (QDQ, calibrated on the model's own training images or a
named data set), fp16, OpenVINO IR and ExecuTorch programs are each checked against it; with a checkpoint the
int8 files' accuracy is measured on its whole test split. Every file is made in a temporary folder beside the
output and moved into place only when all succeeded. The data set's images come from the caller
(:data:`DatasetImages`), so this module needs nothing of training.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from squeezenext import onnx_io
from squeezenext.deploy.export import export_onnx, int8_path, relative_error
from squeezenext.deploy.half import convert_fp16, fp16_path
from squeezenext.deploy.quantize import DEFAULT_CALIBRATION_IMAGES, quantize_int8
from squeezenext.fileio import TEMPORARY_MARKER
from squeezenext.sources import LoadedModel

DatasetImages = Callable[[LoadedModel, str | None, int, str], tuple[np.ndarray, np.ndarray]]
"""``(model, data set name or None for its own, count (0: all), split) -> (images, labels)``, preprocessed as the
model was evaluated."""
Logits = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ExportRequest:
    """What to write: the fp32 file ``out`` (``NAME.onnx``) and which other formats beside it."""

    out: Path
    batch: int | None = None
    """A fixed batch size; None: dynamic."""
    int8: bool = False
    fp16: bool = False
    openvino: bool = False
    executorch: bool = False
    graph_rewrites: bool = False
    calibration: str | None = None
    """The data set int8 is calibrated on (default: the checkpoint's own, else random images)."""
    calibration_images: int = DEFAULT_CALIBRATION_IMAGES
    evaluate: bool = True
    """Measure the int8 files' top-1 on a checkpoint's test split."""

    def outputs(self) -> list[Path]:
        """Every file the export writes."""
        paths = [self.out]
        if self.int8:
            paths.append(int8_path(self.out))
        if self.fp16:
            paths.append(fp16_path(self.out))
        if self.executorch:
            pte = self.out.with_suffix(".pte")
            paths += [pte, int8_path(pte)] if self.int8 else [pte]
        if self.openvino:
            paths += [self.out.with_suffix(".xml"), self.out.with_suffix(".bin")]
        return paths


def export_model(loaded: LoadedModel, request: ExportRequest, dataset_images: DatasetImages) -> dict[str, Any]:
    """Write every format ``request`` asks for; return the report (paths, sizes, errors against fp32, accuracy)."""
    out = request.out
    data = loaded.checkpoint["config"]["data"] if loaded.checkpoint is not None else None
    verify = None
    if data is not None:
        import torch

        verify = torch.from_numpy(dataset_images(loaded, None, 16, "test")[0])
        if request.batch is not None:  # exactly the fixed batch: the first images, repeated if there are fewer
            verify = verify[torch.arange(request.batch) % len(verify)]
    calibration: np.ndarray | None = None
    calibration_data = request.calibration or data or "fake"
    if request.int8:  # before anything is written: bad calibration data fails first
        calibration, _ = dataset_images(loaded, calibration_data, request.calibration_images, "train")
        if request.executorch:
            from squeezenext.deploy.executorch_runtime import calibration_used

            calibration_used(len(calibration), request.batch or 1)
    quantized, half = int8_path(out), fp16_path(out)
    report: dict[str, Any] = {}
    # Both files are made in a temporary folder beside the output and moved into place only when all succeeded.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}{TEMPORARY_MARKER}") as work:
        fp32_tmp, int8_tmp = Path(work) / "fp32.onnx", Path(work) / "int8.onnx"
        report["fp32"] = export_onnx(
            loaded, fp32_tmp, batch=request.batch, verify_inputs=verify, rewrite=request.graph_rewrites
        )
        checked_on = _check_inputs(loaded, verify, request.batch)  # the other formats are checked on these
        if request.fp16:
            report["fp16"] = convert_fp16(fp32_tmp, Path(work) / "fp16.onnx", checked_on)
        if request.openvino:
            from squeezenext.deploy.openvino_runtime import export_ir

            report["openvino"] = export_ir(fp32_tmp, Path(work) / "ir.xml", checked_on)
        if request.executorch:
            import torch

            from squeezenext.deploy.executorch_runtime import export_pte, export_pte_int8, program_logits

            example = torch.from_numpy(checked_on[: request.batch or 1])
            report["executorch"] = export_pte(loaded.module, example, Path(work) / "model.pte")
            if calibration is not None:
                pte_int8 = Path(work) / "model.int8.pte"
                report["executorch"]["int8"] = export_pte_int8(loaded.module, example, calibration, pte_int8)
                if data is not None and request.evaluate:
                    report["executorch"]["int8"]["accuracy"] = _int8_accuracy(
                        loaded,
                        data,
                        dataset_images,
                        partial(program_logits, Path(work) / "model.pte"),
                        partial(program_logits, pte_int8),
                    )
        if calibration is not None:
            quantize_int8(fp32_tmp, int8_tmp, calibration)
            fp32_classes = _onnx_logits(fp32_tmp, checked_on).argmax(axis=1)
            int8_classes = _onnx_logits(int8_tmp, checked_on).argmax(axis=1)
            report["int8"] = {
                "path": str(quantized),
                "bytes": int8_tmp.stat().st_size,
                "calibration": calibration_data,
                "calibration_images": len(calibration),
                "check_images": len(checked_on),
                "top1_agreement_vs_fp32": float(np.mean(fp32_classes == int8_classes)),
            }
            if data is not None and request.evaluate:
                report["accuracy"] = _int8_accuracy(
                    loaded, data, dataset_images, partial(_onnx_logits, fp32_tmp), partial(_onnx_logits, int8_tmp)
                )
            os.replace(int8_tmp, quantized)
        if "fp16" in report:
            os.replace(Path(work) / "fp16.onnx", half)
            report["fp16"]["path"] = str(half)
        if "executorch" in report:
            os.replace(Path(work) / "model.pte", out.with_suffix(".pte"))
            report["executorch"]["path"] = str(out.with_suffix(".pte"))
            if "int8" in report["executorch"]:
                os.replace(Path(work) / "model.int8.pte", int8_path(out.with_suffix(".pte")))
                report["executorch"]["int8"]["path"] = str(int8_path(out.with_suffix(".pte")))
        if "openvino" in report:
            xml = out.with_suffix(".xml")
            os.replace(Path(work) / "ir.bin", xml.with_suffix(".bin"))
            os.replace(Path(work) / "ir.xml", xml)
            report["openvino"].update(path=str(xml), weights=str(xml.with_suffix(".bin")))
        os.replace(fp32_tmp, out)
    report["fp32"]["path"] = str(out)
    return report


def _onnx_logits(path: Path, images: np.ndarray) -> np.ndarray:
    session = onnx_io.cpu_session(path)
    return np.concatenate([onnx_io.run(session, images[i : i + 256]) for i in range(0, len(images), 256)])


def _check_inputs(loaded: LoadedModel, verify: Any, batch: int | None) -> np.ndarray:
    """Images the fp16, OpenVINO and ExecuTorch files are checked on: the fp32 export's verification images,
    else noise."""
    if verify is not None:
        return np.asarray(verify.numpy())
    size, channels = loaded.preprocessing.input_size, loaded.preprocessing.in_channels
    return np.random.default_rng(0).standard_normal((batch or 8, channels, size, size), dtype=np.float32)


def _int8_accuracy(
    loaded: LoadedModel, data: str, dataset_images: DatasetImages, fp32_logits_of: Logits, int8_logits_of: Logits
) -> dict[str, Any]:
    """Top-1 of an fp32 and an int8 model (functions from images to logits) on the whole test split of the
    checkpoint's data set ``data``, as its own config builds it."""
    test_images, test_labels = dataset_images(loaded, None, 0, "test")
    fp32_logits, int8_logits = fp32_logits_of(test_images), int8_logits_of(test_images)
    fp32_top1 = 100.0 * float(np.mean(fp32_logits.argmax(axis=1) == test_labels))
    int8_top1 = 100.0 * float(np.mean(int8_logits.argmax(axis=1) == test_labels))
    return {
        "data": data,
        "test_images": len(test_images),
        "fp32_top1": fp32_top1,
        "int8_top1": int8_top1,
        "change_points": int8_top1 - fp32_top1,
        "top1_agreement": float(np.mean(fp32_logits.argmax(axis=1) == int8_logits.argmax(axis=1))),
        "logits_relative_error": relative_error(int8_logits, fp32_logits),
    }
