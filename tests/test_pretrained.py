"""Pretrained weights: download from a real local HTTP server into the hub cache, checksum, failures that leave
nothing behind, loading into the pytorchcv flavor with a new head or a grey stem, and local weight files."""

import hashlib
import http.server
import io
import re
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from model_helpers import randomize_batchnorm
from squeezenext import create_model
from squeezenext import pretrained as weights_store
from squeezenext.pretrained import PRETRAINED, PretrainedWeights

pytorchcv_models = pytest.importorskip("pytorchcv.models.squeezenext")
NAME = "sqnxt23_w1"


class Server:
    """A local HTTP server: ``files`` maps a URL path to bytes; ``truncate`` paths send half and hang up."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in outer.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(2)  # the server goes away mid-download
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Server]:
    running = Server()
    monkeypatch.setenv(weights_store.MIRROR_VARIABLE, running.url)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    yield running
    running.stop()


def _publish(server: Server, monkeypatch: pytest.MonkeyPatch, *, sha1: str | None = None) -> torch.nn.Module:
    """Serve a pytorchcv sqnxt23_w1 (random weights, randomized BatchNorm statistics) as the imgclsmob zip,
    registered with its true SHA-1 (or ``sha1``)."""
    torch.manual_seed(0)
    reference = pytorchcv_models.sqnxt23_w1().eval()
    randomize_batchnorm(reference)
    buffer = io.BytesIO()
    torch.save(reference.state_dict(), buffer)
    payload = buffer.getvalue()
    true_sha1 = hashlib.sha1(payload).hexdigest()
    entry = PretrainedWeights(NAME, 1906, sha1 or true_sha1, "v9.9.9")
    monkeypatch.setitem(PRETRAINED, NAME, entry)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(entry.file_name, payload)
    server.files[f"/v9.9.9/{entry.file_name}.zip"] = archive.getvalue()
    served: torch.nn.Module = reference
    return served


def _cache_listing() -> list[str]:
    folder = weights_store.cache_dir()
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_verifies_caches_and_loads(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _publish(server, monkeypatch)
    model = create_model(NAME, pretrained=True).eval()
    entry = PRETRAINED[NAME]
    assert _cache_listing() == [entry.file_name]  # the .pth only: no zip, no staging folder
    assert server.requests == [f"/v9.9.9/{entry.file_name}.zip"]
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = reference(x)
        assert (model(x) - expected).abs().max() <= 1e-5 * expected.abs().max()
    assert model.pretrained_cfg["input_size"] == (3, 224, 224)
    assert model.pretrained_cfg["crop_pct"] == 0.875
    assert model.pretrained_cfg["sha1"] == entry.sha1
    server.stop()  # the second time comes from the cache: no server needed
    again = create_model(NAME, pretrained=True).eval()
    assert torch.equal(again.state_dict()["fc.weight"], model.state_dict()["fc.weight"])


def test_new_head_and_grey_stem_load_the_rest(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _publish(server, monkeypatch)
    ten = create_model(NAME, pretrained=True, num_classes=10).eval()
    rgb = create_model(NAME, pretrained=True).eval()
    assert ten.fc.weight.shape == (10, 128)
    for key, value in rgb.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(ten.state_dict()[key], value), key
    grey = create_model(NAME, pretrained=True, in_channels=1).eval()
    image = torch.rand(1, 1, 224, 224)
    with torch.no_grad():  # the summed stem on a grey image == the RGB stem on that image repeated
        expected = rgb(image.repeat(1, 3, 1, 1))
        assert (grey(image) - expected).abs().max() <= 1e-5 * expected.abs().max()
    del reference


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("wrong-checksum", r"has SHA-1 [0-9a-f]{40}, not 0{40}: it was damaged or replaced"),
        ("missing", r"HTTP 404.*offline, place the unpacked file at .*sqnxt23_w1-1906-"),
        ("server-gone", r"cannot download|is not a zip"),
        ("not-a-zip", r"is not a zip holding sqnxt23_w1-1906-"),
    ],
)
def test_failed_downloads_leave_nothing(
    server: Server, monkeypatch: pytest.MonkeyPatch, setup: str, message: str
) -> None:
    _publish(server, monkeypatch, sha1="0" * 40 if setup == "wrong-checksum" else None)
    path = f"/v9.9.9/{PRETRAINED[NAME].file_name}.zip"
    if setup == "missing":
        del server.files[path]
    elif setup == "server-gone":
        server.truncate.add(path)
    elif setup == "not-a-zip":
        server.files[path] = b"<html>rate limited</html>"
    with pytest.raises(ValueError, match=message):
        create_model(NAME, pretrained=True)
    assert _cache_listing() == []


def test_unreachable_server_names_url_and_cache_path(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(server, monkeypatch)
    server.stop()
    with pytest.raises(ValueError, match=r"cannot download sqnxt23_w1's weights from http://127\.0\.0\.1:\d+/v9"):
        create_model(NAME, pretrained=True)
    assert _cache_listing() == []


def test_damaged_cached_file_is_reported(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    _publish(server, monkeypatch)
    folder = weights_store.cache_dir()
    folder.mkdir(parents=True)
    (folder / PRETRAINED[NAME].file_name).write_bytes(b"truncated")
    with pytest.raises(ValueError, match=r"does not have the SHA-1 of sqnxt23_w1's published weights"):
        create_model(NAME, pretrained=True)


def test_variants_without_public_weights_and_conflicts() -> None:
    with pytest.raises(ValueError, match=r"sqnxt23g_w1 has no public pretrained weights; those with .*sqnxt23_w1"):
        create_model("1.0-G-SqNxt-23", pretrained=True)
    with pytest.raises(ValueError, match=r"fit flavor 'pytorchcv' only"):
        create_model(NAME, pretrained=True, flavor="official")
    with pytest.raises(ValueError, match=r"not both"):
        create_model(NAME, pretrained=True, weights="x.pth")
    assert set(PRETRAINED) == {
        "sqnxt23_w1",
        "sqnxt23_w3d2",
        "sqnxt23_w2",
        "sqnxt23v5_w1",
        "sqnxt23v5_w3d2",
        "sqnxt23v5_w2",
    }


def test_registry_matches_pytorchcv_metadata() -> None:
    """Our URLs and checksums are pytorchcv's own (its model store's metadata)."""
    store = pytest.importorskip("pytorchcv.models.common.model_store")
    for name, entry in PRETRAINED.items():
        error, sha1, release = store.get_model_name_suffix_data(name)
        assert (f"{entry.top5_error:04d}", entry.sha1, entry.release) == (error, sha1, release)


def test_local_weight_files(tmp_path: Path) -> None:
    reference = pytorchcv_models.sqnxt23v5_w1().eval()
    pth = tmp_path / "sqnxt23v5_w1.pth"
    torch.save(reference.state_dict(), pth)
    from_pth = create_model("sqnxt23v5_w1", flavor="pytorchcv", weights=pth).eval()
    ours = tmp_path / "ours.pt"
    torch.save(from_pth.state_dict(), ours)
    from_ours = create_model("sqnxt23v5_w1", flavor="pytorchcv", weights=ours)
    assert from_pth.state_dict().keys() == from_ours.state_dict().keys()
    assert all(torch.equal(value, from_ours.state_dict()[key]) for key, value in from_pth.state_dict().items())
    with pytest.raises(
        ValueError, match=r"does not fit the model: stages\.0\.blocks\.2\.reduce1\.conv\.weight is missing"
    ):
        create_model("sqnxt23_w1", flavor="pytorchcv", weights=pth)  # another architecture
    with pytest.raises(ValueError, match=r"does not exist"):
        create_model("sqnxt23_w1", weights=tmp_path / "none.pth")


def test_offline_command_line_is_one_line(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from squeezenext.cli import main

    _publish(server, monkeypatch)
    server.stop()
    assert main(["export", NAME, "--pretrained", "--out", str(tmp_path / "m.onnx")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and re.match(r"squeezenext: error: cannot download .* place the unpacked file at", lines[0])
    assert _cache_listing() == [] and not (tmp_path / "m.onnx").exists()


def test_export_pretrained_carries_labels_and_preprocessing(
    server: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from squeezenext.cli import main
    from squeezenext.deploy.predictor import Predictor

    _publish(server, monkeypatch)
    out = tmp_path / "m.onnx"
    assert main(["export", NAME, "--pretrained", "--out", str(out)]) == 0
    predictor = Predictor(out)
    assert predictor.classes[:2] == ["tench", "goldfish"] and len(predictor.classes) == 1000
    assert predictor.preprocessing.input_size == 224
