"""Registry behaviour: names, aliases, duplicates and clear errors."""

import pytest

from squeezenext import create_model, get_spec, list_models, register, squeezenext
from squeezenext.errors import ModelError
from squeezenext.registry import PYTORCHCV_MODELS
from squeezenext.specs import Provenance, SqueezeNextSpec

EXPECTED_NAMES = {
    "sqnxt23_w1",
    "sqnxt23_w3d2",
    "sqnxt23_w2",
    "sqnxt23v5_w1",
    "sqnxt23v5_w3d2",
    "sqnxt23v5_w2",
    "sqnxt23g_w1",
    "sqnxt23v2_w1",
    "sqnxt23v3_w1",
    "sqnxt23v4_w1",
    "sqnxt44_w1",
    "sqnxt44_w3d2",
    "sqnxt44_w2",
}


def test_registry_holds_every_variant() -> None:
    assert set(list_models()) == EXPECTED_NAMES


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("1.0-SqNxt-23", "sqnxt23_w1"),
        ("2.0-SqNxt-23v5", "sqnxt23v5_w2"),
        ("1.0-G-SqNxt-23", "sqnxt23g_w1"),
        ("2.0-SqNxt-44", "sqnxt44_w2"),
    ],
)
def test_paper_names_are_aliases(alias: str, name: str) -> None:
    assert get_spec(alias) is get_spec(name)


def test_unverified_variants_are_labelled() -> None:
    unverified = {n for n in list_models() if get_spec(n).provenance is Provenance.UNVERIFIED}
    assert unverified == {"sqnxt23v2_w1", "sqnxt23v3_w1", "sqnxt23v4_w1"}
    assert get_spec("sqnxt23v4_w1").provenance.label == "UNVERIFIED"


def test_duplicate_names_are_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        register(SqueezeNextSpec(name="sqnxt23_w1", paper_name="new", blocks=(1, 1, 1, 1)))
    with pytest.raises(ValueError, match="already registered"):
        register(SqueezeNextSpec(name="new", paper_name="1.0-SqNxt-23", blocks=(1, 1, 1, 1)))
    assert "new" not in list_models()


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"unknown model 'sqnxt99'.*sqnxt23_w1.*1\.0-SqNxt-23"):
        create_model("sqnxt99")


def test_unknown_option_lists_valid_options() -> None:
    with pytest.raises(ModelError, match=r"unknown option.*dropout.*valid options.*in_channels, stem"):
        create_model("sqnxt23_w1", dropout=0.5)


def test_unknown_flavor_and_stem_are_refused() -> None:
    with pytest.raises(ValueError, match="valid flavors: official, pytorchcv"):
        create_model("sqnxt23_w1", flavor="caffe")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="valid stems: standard, small"):
        create_model("sqnxt23_w1", stem="tiny")


def test_pytorchcv_flavor_only_for_pytorchcv_models() -> None:
    assert len(PYTORCHCV_MODELS) == 6
    with pytest.raises(ValueError, match="flavor 'pytorchcv' exists only"):
        create_model("sqnxt44_w1", flavor="pytorchcv")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0.3}, "multiple of 4"),
        ({"width": 1.0, "groups": 3}, "multiple of 4 x groups"),
        ({"blocks": (1, 1, 1)}, "four positive integers"),
        ({"blocks": (1, 0, 1, 1)}, "four positive integers"),
        ({"width": -1.0}, "positive"),
    ],
)
def test_bad_architectures_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        squeezenext(**kwargs)  # type: ignore[arg-type]


def test_num_classes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        create_model("sqnxt23_w1", num_classes=0)
