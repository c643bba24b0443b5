"""The pytorchcv flavor against the real pytorchcv package (installed from PyPI, no weights)."""

import pytest
import torch

from model_helpers import randomize_batchnorm
from squeezenext import create_model, load_pytorchcv_state_dict
from squeezenext.pytorchcv_compat import pytorchcv_key
from squeezenext.registry import PYTORCHCV_MODELS

pytorchcv_models = pytest.importorskip("pytorchcv.models.squeezenext")


@pytest.mark.parametrize("name", sorted(PYTORCHCV_MODELS))
def test_pytorchcv_checkpoint_loads_with_identical_outputs(name: str) -> None:
    reference = getattr(pytorchcv_models, name)().eval()
    randomize_batchnorm(reference)
    ours = create_model(name, flavor="pytorchcv").eval()
    load_pytorchcv_state_dict(ours, reference.state_dict())
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        # features (everything before pytorchcv's final 7x7 pool) are bit-identical
        assert torch.equal(ours.forward_features(x), reference.features[:-1](x))
        # logits differ only by the summation order of the pool (global vs. fixed 7x7 average)
        expected = reference(x)
        assert (ours(x) - expected).abs().max() <= 1e-6 * expected.abs().max()
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())


def test_pytorchcv_checkpoint_into_wrong_model_is_refused() -> None:
    reference = pytorchcv_models.sqnxt23_w1()
    with pytest.raises(ValueError, match="flavor='pytorchcv'"):
        load_pytorchcv_state_dict(create_model("sqnxt23_w1"), reference.state_dict())
    with pytest.raises(ValueError, match="shape mismatch"):
        load_pytorchcv_state_dict(
            create_model("sqnxt23_w1", flavor="pytorchcv", num_classes=10), reference.state_dict()
        )


def test_unknown_key_is_refused() -> None:
    with pytest.raises(ValueError, match="not a key of a pytorchcv"):
        pytorchcv_key("features.stage1.unit1.conv9.conv.weight")
