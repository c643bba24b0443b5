"""The training loop: one CPU to many GPUs over several machines (torchrun + DistributedDataParallel).

Launch with ``squeezenext train`` (one process) or ``torchrun ... -m squeezenext.cli train`` (docs/training.md).
Rank 0 logs, evaluates and writes checkpoints; every rank runs the same steps on its share of the global
batch (DistributedSampler), so a run over ``N`` processes sees the same images per step as one process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from squeezenext.checkpoint import load_checkpoint, save_checkpoint
from squeezenext.errors import CheckpointError, SqueezeNextError
from squeezenext.fileio import write_json
from squeezenext.machine import native_bf16
from squeezenext.model import SqueezeNext
from squeezenext.sources import TRAINABLE_KINDS, BuildOptions, parse_network
from squeezenext.train.config import INIT_PYTORCHCV, TrainConfig, TrainConfigError, save_config
from squeezenext.train.data import DataBundle, DataError, build_data, collate
from squeezenext.train.metrics import MetricsLog
from squeezenext.train.progress import progress_display
from squeezenext.train.rng import rng_state, set_rng_state
from squeezenext.train.schedule import PolySchedule
from squeezenext.weights import load_state_dict_checked
from squeezenext.workload import count_parameters

TRAINING_STATE = ("optimizer", "scaler", "epoch", "step_in_epoch", "global_step", "rng")
"""Entries a checkpoint needs to be resumed (besides model and config)."""
RESUME_COMPATIBLE_KEYS = (
    "out",
    "progress",
    "workers",
    "log_every",
    "checkpoint_every",
    "device",
    "compile",
    "eval_every",
    "test_flip",
)
"""Keys that may change between a run and its resumption; every other key must match."""


class TrainingDivergedError(SqueezeNextError):
    """The loss became NaN or infinite; the last good checkpoint is left as it was."""


@dataclass(frozen=True)
class ProcessPlace:
    """This process's place in the run."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def wants_cuda(config: TrainConfig) -> bool:
    """Whether the run goes to a GPU: ``device: cuda``, or ``auto`` with one visible."""
    return config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())


def setup_distributed(config: TrainConfig) -> ProcessPlace:
    """Join the torchrun process group when WORLD_SIZE > 1 (NCCL on GPUs, gloo on CPUs)."""
    use_cuda = wants_cuda(config)
    if config.device == "cuda" and not torch.cuda.is_available():
        raise TrainConfigError("device: cuda was asked for but no GPU is visible; use device: cpu or auto")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    return ProcessPlace(rank=rank, world=world, device=device)


def build_model(config: TrainConfig, num_classes: int, in_channels: int) -> nn.Module:
    """A registered SqueezeNext in the config's flavor and stem, or ``torchvision:``/``pytorchcv:<name>``
    (3-channel input only, unmodified)."""
    source = parse_network(config.model, TRAINABLE_KINDS, purpose="training")
    if source.spec is None and in_channels != 3:
        raise TrainConfigError(f"{config.model} takes 3-channel input: set grey: repeat for grey data")
    return source.module(BuildOptions(num_classes, in_channels, config.flavor, config.stem))


def initialize(model: nn.Module, config: TrainConfig) -> dict[str, Any]:
    """Load ``config.init`` into a fresh model: ``pytorchcv`` (the public ImageNet weights of the config's
    model, flavor pytorchcv) or a weight file (a checkpoint, a pytorchcv ``.pth`` or a state dict). A
    classifier of another size keeps its fresh initialization; any other mismatch names the first tensor."""
    from squeezenext.pretrained import fetch, pretrained_entry
    from squeezenext.registry import get_spec
    from squeezenext.weights import load_backbone, read_state_dict

    if not isinstance(model, SqueezeNext):
        raise TrainConfigError(f"init applies to SqueezeNext models, not {config.model}")
    if config.init == INIT_PYTORCHCV:
        if config.flavor != "pytorchcv":
            raise TrainConfigError("init: pytorchcv loads pytorchcv's weights, which fit flavor: pytorchcv only")
        source = fetch(pretrained_entry(get_spec(config.model).name))
    else:
        source = Path(config.init)
    skipped = load_backbone(model, read_state_dict(source), str(source))
    return {"source": str(source), "loaded": len(model.state_dict()) - len(skipped), "skipped": skipped}


def freeze_stages(model: nn.Module, stages: int) -> list[nn.Module]:
    """Freeze the stem and the first ``stages`` stages of a SqueezeNext (no gradients; their BatchNorm layers
    stay in eval mode, see :meth:`Trainer._train_step`); returns the frozen modules."""
    if stages == 0:
        return []
    if not isinstance(model, SqueezeNext):
        raise TrainConfigError("freeze_stages applies to SqueezeNext models only")
    frozen = [model.stem, *list(model.stages)[:stages]]
    for module in frozen:
        module.requires_grad_(False)
    return frozen


def parameter_groups(model: nn.Module, backbone_lr_scale: float) -> list[dict[str, Any]]:
    """SGD parameter groups: the classifier at the schedule's rate, the rest at ``backbone_lr_scale`` times it
    (frozen parameters are left out)."""
    classifier = model.get_classifier() if isinstance(model, SqueezeNext) else None
    head = {id(p) for p in classifier.parameters()} if classifier is not None else set()
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in trainable if id(p) not in head], "lr_scale": backbone_lr_scale},
        {"params": [p for p in trainable if id(p) in head], "lr_scale": 1.0},
    ]
    return [group for group in groups if group["params"]]


def resolve_amp(amp: str, device: torch.device) -> str:
    """``auto``: bf16 where the hardware computes it natively (a GPU that supports it; a CPU with AVX-512
    BF16 or AMX), else none: on a CPU without them bf16 is emulated and was 5x slower than fp32 (an AMD
    EPYC with AVX2, docs/training.md). Other values are returned as they are."""
    if amp != "auto":
        return amp
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "none"
    return "bf16" if native_bf16() else "none"


def _autocast(config: TrainConfig, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    amp = resolve_amp(config.amp, device)
    if amp == "none":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader[Any], device: torch.device, config: TrainConfig
) -> dict[str, float | int]:
    """Loss, top-1 and top-5 accuracy (percent) over a whole loader; unreadable images are counted."""
    was_training = model.training
    model.eval()
    total, correct1, correct5, loss_sum, bad = 0, 0, 0, 0.0, 0
    for images, labels, skipped in loader:
        bad += skipped
        if labels.numel() == 0:
            continue
        images, labels = _to_device(images, labels, device, config)
        with _autocast(config, device):
            logits = model(images).float()
            if config.test_flip:
                logits = _mean_probabilities(logits, model(images.flip(3)).float())
        loss_sum += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
        top = logits.topk(min(5, logits.shape[1]), dim=1).indices
        hits = top == labels[:, None]
        correct1 += int(hits[:, 0].sum())
        correct5 += int(hits.any(dim=1).sum())
        total += int(labels.numel())
    model.train(was_training)
    if total == 0:
        raise DataError(f"no readable image in the evaluation set ({bad} unreadable)")
    return {
        "loss": loss_sum / total,
        "top1": 100.0 * correct1 / total,
        "top5": 100.0 * correct5 / total,
        "images": total,
        "unreadable": bad,
    }


def _mean_probabilities(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Log of the mean of two views' class probabilities (horizontal-flip test-time augmentation): a valid
    log-probability, so that cross-entropy on it is the averaged prediction's loss."""
    views = torch.stack([first.log_softmax(dim=1), second.log_softmax(dim=1)])
    return torch.logsumexp(views, dim=0) - math.log(2)


def _to_device(
    images: torch.Tensor, labels: torch.Tensor, device: torch.device, config: TrainConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    images = images.to(device, non_blocking=True).contiguous(memory_format=memory_format)
    return images, labels.to(device, non_blocking=True)


class _StopRequest:
    """SIGTERM/SIGINT set a flag; the loop saves a checkpoint after the current step and exits."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopRequest:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.signal = signum

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _any_rank(flag: bool, place: ProcessPlace) -> bool:
    if place.world == 1:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=place.device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


class _EpochMeter:
    """Running training loss, top-1 and throughput over a span of steps."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.images = 0
        self.loss_sum = 0.0
        self.hits = 0

    def add(self, loss: float, hits: int, images: int) -> None:
        self.loss_sum += loss * images
        self.hits += hits
        self.images += images

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.images / elapsed if elapsed > 0 else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "loss": self.loss_sum / self.images,
            "top1": 100.0 * self.hits / self.images,
            "images_per_s": self.rate(),
            "seconds": time.perf_counter() - self.started,
        }


class Trainer:
    """One training run: ``Trainer(config).fit(resume)`` returns the final test metrics."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.place = setup_distributed(config)
        if config.amp == "fp16" and self.place.device.type != "cuda":
            raise TrainConfigError("amp: fp16 needs a GPU (with grad scaling); on the CPU use amp: bf16")
        if config.batch_size % self.place.world:
            raise TrainConfigError(
                f"batch_size {config.batch_size} (global) is not divisible by the {self.place.world} processes"
            )
        self.local_batch = config.batch_size // self.place.world
        if config.deterministic:
            torch.use_deterministic_algorithms(True)
            # deterministic mode also fills every new tensor with NaN (to expose kernels that read memory they
            # did not write): 3,000 fills per step, a fifth of a CPU step's time in the main job (torch.profiler,
            # docs/training.md); the results do not depend on it (tests/test_main_job.py, test_train_resume.py)
            torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
            torch.backends.cudnn.benchmark = False
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.manual_seed(config.seed)
        self.out = Path(config.out)
        self.data: DataBundle = build_data(config)
        self.steps_per_epoch = len(self.data.train) // config.batch_size
        if self.steps_per_epoch == 0:
            raise TrainConfigError(
                f"the training set has {len(self.data.train)} images, fewer than one global batch "
                f"of {config.batch_size}; lower batch_size"
            )
        full = self.steps_per_epoch * config.epochs
        self.total_steps = min(full, config.max_steps) if config.max_steps else full
        self.schedule = PolySchedule.scaled(
            base_lr=config.base_lr,
            base_batch=config.base_batch,
            global_batch=config.batch_size,
            total_steps=self.total_steps,
            warmup_iters=config.warmup_iters,
            warmup_start_lr=config.warmup_start_lr,
            power=config.lr_power,
        )
        model = build_model(config, len(self.data.classes), self.data.in_channels)
        self.init_report = initialize(model, config) if config.init else None
        self.frozen = freeze_stages(model, config.freeze_stages)
        model = model.to(self.place.device)
        if config.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.params = count_parameters(model, "paper")
        self.optimizer = torch.optim.SGD(
            parameter_groups(model, config.backbone_lr_scale),
            lr=self.schedule(0),
            momentum=config.momentum,
            nesterov=config.nesterov,
            weight_decay=config.weight_decay,
        )
        self.amp = resolve_amp(config.amp, self.place.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp == "fp16")
        wrapped: nn.Module = model
        if self.place.world > 1:
            ids = [self.place.device.index] if self.place.device.type == "cuda" else None
            wrapped = DistributedDataParallel(model, device_ids=ids)
        self.forward_module = torch.compile(wrapped) if config.compile else wrapped
        self.global_step = 0
        self.session_start_step = 0
        self.epoch = 0
        self.step_in_epoch = 0
        self.unreadable = 0

    # -- checkpoints ---------------------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoints"

    def _state(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "rng": rng_state(),
            "config": dataclasses.asdict(self.config),
            "classes": self.data.classes,
            "in_channels": self.data.in_channels,
            "preprocessing": dataclasses.asdict(self.data.preprocessing),
        }

    def save(self, name: str = "last.pt") -> Path:
        path = self.checkpoint_dir / name
        if self.place.main:
            save_checkpoint(self._state(), path)
        return path

    def resume(self, source: str) -> bool:
        """``auto``: the run's ``last.pt`` if present; else a path. Returns whether a checkpoint was loaded."""
        path = self.checkpoint_dir / "last.pt" if source == "auto" else Path(source)
        if source == "auto" and not path.exists():
            return False
        state = load_checkpoint(path)
        missing = [key for key in TRAINING_STATE if key not in state]
        if missing:
            raise CheckpointError(
                f"{path} is not a training checkpoint (no {', '.join(missing)}); resume from a run's "
                "checkpoints/last.pt or checkpoints/epoch_NNN.pt"
            )
        saved = state["config"]
        mine = dataclasses.asdict(self.config)
        differing = sorted(k for k in mine if k not in RESUME_COMPATIBLE_KEYS and saved.get(k) != mine[k])
        if differing:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {mine[k]!r}" for k in differing)
            raise CheckpointError(f"{path} was written by a run with another configuration ({details})")
        load_state_dict_checked(self.model, state["model"], str(path))
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            self.scaler.load_state_dict(state["scaler"])
            set_rng_state(state["rng"])
        except (KeyError, ValueError, TypeError, RuntimeError) as error:
            raise CheckpointError(f"{path}: its optimizer or random state is damaged ({error})") from None
        self.epoch, self.step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
        self.global_step = int(state["global_step"])
        if self.step_in_epoch >= self.steps_per_epoch:
            self.epoch, self.step_in_epoch = self.epoch + 1, 0
        return True

    # -- loop ----------------------------------------------------------------------------------------
    def _train_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
        """This rank's batches of the current epoch, after the ones already done."""
        train = self.data.train
        train.set_epoch(self.epoch)
        sampler: DistributedSampler[int] = DistributedSampler(
            train, num_replicas=self.place.world, rank=self.place.rank, shuffle=True, seed=self.config.seed
        )
        sampler.set_epoch(self.epoch)
        indices = list(sampler)[self.step_in_epoch * self.local_batch :]
        loader = DataLoader(
            train,
            batch_size=self.local_batch,
            sampler=indices,
            num_workers=self.config.workers,
            collate_fn=collate,
            drop_last=True,
            pin_memory=self.place.device.type == "cuda",
        )
        yield from loader

    def _test_loader(self) -> DataLoader[Any]:
        return DataLoader(
            self.data.test,
            batch_size=max(self.local_batch, 64),
            num_workers=self.config.workers,
            collate_fn=collate,
        )

    def _train_step(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, int]:
        """One optimizer step; returns the global batch's mean loss and its number of top-1 hits."""
        lr = self.schedule(self.global_step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group["lr_scale"]
        images, labels = _to_device(images, labels, self.place.device, self.config)
        if self.config.freeze_bn:
            for module in self.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        for module in self.frozen:
            module.eval()
        with _autocast(self.config, self.place.device):
            logits = self.forward_module(images)
            loss = nn.functional.cross_entropy(logits.float(), labels, label_smoothing=self.config.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        scaled: torch.Tensor = self.scaler.scale(loss)
        scaled.backward()  # type: ignore[no-untyped-call]
        self.scaler.step(self.optimizer)
        self.scaler.update()
        stats = torch.stack([loss.detach(), (logits.detach().argmax(dim=1) == labels).sum().float()])
        if self.place.world > 1:
            dist.all_reduce(stats)
            stats[0] /= self.place.world
        return float(stats[0]), int(stats[1])

    def fit(self, resume: str | None = None) -> dict[str, Any]:
        """Train to the end (or to a stop signal), evaluate on the test set, write the run's outputs."""
        if resume:
            self.resume(resume)
        self.session_start_step = self.global_step
        main = self.place.main
        if main:
            self.out.mkdir(parents=True, exist_ok=True)
            save_config(self.config, self.out / "config.yaml")
            if self.init_report is not None and self.global_step == 0:
                skipped = ", ".join(self.init_report["skipped"]) or "none"
                print(
                    f"init: loaded {self.init_report['loaded']} tensors from {self.init_report['source']}; "
                    f"re-initialized (another size): {skipped}",
                    flush=True,
                )
        log = MetricsLog(self.out, self.global_step) if main else None
        progress = progress_display(self.total_steps, self.global_step) if main and self.config.progress else None
        started = time.perf_counter()
        test_metrics: dict[str, float | int] = {}
        with _StopRequest() as stop:
            while self.global_step < self.total_steps:
                outcome = self._run_epoch(stop, log, progress)
                if isinstance(outcome, Path):
                    if progress is not None:
                        progress.close()
                    if main:
                        print(f"stopped by a signal at step {self.global_step}; checkpoint {outcome}")
                        print("resume with --resume auto")
                    return {
                        "status": "interrupted",
                        "signal": stop.signal,
                        "step": self.global_step,
                        "checkpoint": str(outcome),
                    }
                test_metrics = outcome or test_metrics
        if progress is not None:
            progress.close()
        return self._finish(log, test_metrics, time.perf_counter() - started)

    def _run_epoch(
        self, stop: _StopRequest, log: MetricsLog | None, progress: Any
    ) -> Path | dict[str, float | int] | None:
        """The rest of the current epoch. Returns the checkpoint written on a stop signal, else the epoch's
        test metrics (None when it was not evaluated). Training loss and top-1 cover this session's steps.

        A stop signal on an epoch's last step still lets that epoch's end-of-epoch work (its record, test
        evaluation and ``epoch_NNN.pt``) finish before the run stops."""
        config = self.config
        meter = _EpochMeter()
        window = _EpochMeter()
        stopped = False
        batches = 0
        for images, labels, bad in self._train_batches():
            batches += 1
            self.unreadable += bad
            if labels.numel():
                loss, hits = self._train_step(images, labels)
                if not math.isfinite(loss):
                    raise self._diverged(f"the training loss became {loss}")
                images_done = int(labels.numel()) * self.place.world
                meter.add(loss, hits, images_done)
                window.add(loss, hits, images_done)
            self.global_step += 1
            self.step_in_epoch += 1
            due = self.global_step % config.log_every == 0 or self.global_step == 1
            if log is not None and window.images and due:
                lr = self.schedule(self.global_step - 1)
                summary = window.summary()
                log.add("step", {"step": self.global_step, "epoch": self.epoch, "lr": lr, **summary})
                if progress is not None:
                    progress.set_postfix(loss=f"{loss:.3f}", lr=f"{lr:.3g}", img_s=f"{summary['images_per_s']:.0f}")
                window = _EpochMeter()
            if progress is not None:
                progress.update(1)
            if config.checkpoint_every and self.global_step % config.checkpoint_every == 0:
                self.save()
            if _any_rank(stop.signal is not None, self.place):
                stopped = True
                break
            if self.global_step >= self.total_steps:
                break
        if batches and not meter.images and self.place.world == 1:
            raise DataError(
                f"every training image of epoch {self.epoch} was unreadable ({self.unreadable} skipped); "
                f"check the files under {config.data.removeprefix('imagefolder:')}"
            )
        complete = self.step_in_epoch >= self.steps_per_epoch or self.global_step >= self.total_steps
        if not complete:
            return self.save() if stopped else None
        metrics = self._end_epoch(log, meter)
        if stopped and self.global_step < self.total_steps:
            return self.checkpoint_dir / "last.pt"
        return metrics

    def _diverged(self, what: str) -> TrainingDivergedError:
        return TrainingDivergedError(
            f"{what} at epoch {self.epoch} step {self.global_step} (lr {self.schedule(self.global_step):.4g}); "
            f"stopped without saving, so {self.checkpoint_dir / 'last.pt'} (if any) is the last good state. "
            "Lower base_lr, lengthen warmup_iters or use amp: none, then --resume auto."
        )

    def _end_epoch(self, log: MetricsLog | None, meter: _EpochMeter) -> dict[str, float | int] | None:
        """Evaluate when due, log the epoch, write ``epoch_NNN.pt`` and ``last.pt``, move to the next epoch."""
        config = self.config
        record: dict[str, Any] = {"step": self.global_step, "epoch": self.epoch}
        if meter.images:
            record.update({f"train_{k}": v for k, v in meter.summary().items()})
        last = self.global_step >= self.total_steps
        test_metrics = None
        if self.place.main and config.eval_every and ((self.epoch + 1) % config.eval_every == 0 or last):
            test_metrics = self._evaluate()
            record.update({f"test_{k}": v for k, v in test_metrics.items()})
        if log is not None:
            log.add("epoch", record)
        self.save(f"epoch_{self.epoch:03d}.pt")
        self.save()
        self.epoch, self.step_in_epoch = self.epoch + 1, 0
        return test_metrics

    def _evaluate(self) -> dict[str, float | int]:
        """Test metrics; a non-finite test loss is divergence, like a non-finite training loss."""
        metrics = evaluate(self.model, self._test_loader(), self.place.device, self.config)
        if not math.isfinite(metrics["loss"]):
            raise self._diverged(f"the test loss became {metrics['loss']}")
        return metrics

    def _finish(self, log: MetricsLog | None, test_metrics: dict[str, float | int], seconds: float) -> dict[str, Any]:
        unreadable = self.unreadable
        if self.place.world > 1:
            count = torch.tensor([unreadable], device=self.place.device)
            dist.all_reduce(count)
            unreadable = int(count.item())
        if not self.place.main:
            return {"status": "done"}
        if not test_metrics:
            test_metrics = self._evaluate()
        results = {
            "status": "done",
            "model": self.config.model,
            "params": self.params,
            "steps": self.global_step,
            "epochs": self.config.epochs,
            "train_seconds_this_session": seconds,
            "steps_this_session": self.global_step - self.session_start_step,
            "unreadable_train_images": unreadable,
            "init": self.init_report,
            "test": test_metrics,
        }
        final = self._state()
        final["results"] = results
        save_checkpoint(final, self.out / "model.pt")
        write_json(self.out / "results.json", results)
        if log is not None:
            log.write_csv()
            log.plot(self.out / "curves.png")
            log.close()
        if unreadable:
            print(f"skipped {unreadable} unreadable training images (bad_images: skip)")
        return results
