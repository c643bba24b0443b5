"""The user's images, read once for ``predict`` and image-folder data: every bit depth PIL opens is scaled (not
clipped) to the 8 bits the preprocessing expects, and an image too large to decode safely is refused.

Scaling: 8-bit images as they are; 16-bit integer images (PNG, TIFF: PIL modes ``I;16*`` and ``I`` within
0-65535, or uint16 arrays) by 255/65535; floating-point images (TIFF, PIL mode ``F``, NumPy floats) by 255 when
they lie in [0, 1], the usual convention, and refused otherwise, since no scale can be inferred.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

UINT16_MAX = 65535


def _scaled(array: np.ndarray, source: str, error: type[Exception]) -> np.ndarray:
    """``array`` as uint8, scaled from its type's range (see the module docstring)."""
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind == "b":
        return array.astype(np.uint8) * 255
    if array.dtype.kind in "iu":
        if array.size and (array.min() < 0 or array.max() > UINT16_MAX):
            raise error(f"{source}: integer pixel values outside 0-65535; give 8- or 16-bit images")
        sixteen_bit = array.dtype == np.uint16 or array.max(initial=0) > 255  # PIL's mode I holds 16-bit files
        return np.round(array * (255 / UINT16_MAX)).astype(np.uint8) if sixteen_bit else array.astype(np.uint8)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or (array.size and (array.min() < 0 or array.max() > 1)):
            raise error(
                f"{source}: floating-point pixels must lie in [0, 1] (found {np.nanmin(array):g} to "
                f"{np.nanmax(array):g}); scale the image to [0, 1] or save it with 8 or 16 bits"
            )
        return np.round(array * 255).astype(np.uint8)
    raise error(f"{source}: pixels of type {array.dtype} are not an image; give 8-bit, 16-bit or [0, 1] float pixels")


def from_array(array: np.ndarray, mode: str, source: str, error: type[Exception]) -> Image.Image:
    """An image in PIL ``mode`` from an HxW or HxWxC array."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)):
        raise error(f"{source}: expected an HxW or HxWxC (C = 1, 3 or 4) array, got shape {list(array.shape)}")
    pixels = _scaled(array, source, error)
    return Image.fromarray(pixels[..., 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels).convert(mode)


def open_image(path: str | Path, mode: str, error: type[Exception]) -> Image.Image:
    """The image file at ``path`` in PIL ``mode``; a missing, unreadable or decompression-bomb file is ``error``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                if opened.mode in ("I", "F") or opened.mode.startswith("I;16"):
                    return from_array(np.asarray(opened), mode, f"image {path}", error)
                return opened.convert(mode)
    except FileNotFoundError:
        raise error(f"image {path} does not exist") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise error(
            f"cannot read image {path}: it has more than {Image.MAX_IMAGE_PIXELS:,} pixels, PIL's limit against "
            "decompression bombs; resize it first"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as problem:
        raise error(f"cannot read image {path}: {problem}") from None
