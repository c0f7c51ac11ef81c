"""A long training campaign that survives sessions: start or resume it in the background, watch it.

    .venv/bin/python tools/campaign.py start [--name fast-sgd]   # starts, or resumes after the last epoch
    .venv/bin/python tools/campaign.py status                     # epochs done, best PublicTest, time left
    .venv/bin/python tools/campaign.py plot                       # history.png: PublicTest per epoch
    .venv/bin/python tools/campaign.py keep --name accurate-vgg   # a finished teacher into models/teachers/
    .venv/bin/python tools/campaign.py bank                       # its state into models/campaign/, to commit

Without ``--name``, each works on the first campaign of ``QUEUE`` neither finished (all its epochs run and
its weight average scored) nor kept (below), and ``start`` runs the queue: when one campaign has finished, its
background process starts the next (``chain``; its own log is ``queue.log``, its pid in ``pid`` beside it, so a
second ``start`` while it lives starts nothing), so ``make campaign`` once a session keeps the machine training
whoever watches. One campaign trains at a time: while any trainer or the queue runs, a ``start`` of another
campaign, named or queued, says which one trains and starts nothing.

Training runs at the lowest CPU priority (nice 19, and its session's autogroup too), so the rest of a
session keeps the machine. Its state lives outside the work tree, under ``~/.cache/fer/campaign/<name>/`` (a
checkout is laid anew each session; the machine usually stays): weights, optimizer state, epoch and random
states after every epoch (``fer.train``), so a killed run resumes exactly. ``history.csv`` there has one row
per epoch, with PublicTest accuracy on the epochs checked (every fifth, then every one of the last third). A
network is exported to ``candidate/`` only when its mirrored PublicTest accuracy beats the shipped fast model's.

A replaced machine loses ``~/.cache/fer/``; a commit survives it. So a finished campaign whose network later
runs learn from (a teacher) is kept in the repository: ``keep`` copies its best network to
``models/teachers/<name>.keras``, to be committed; from then on the queue skips that campaign and its
students are taught by the kept file, on any machine. A run under way is banked the same way: ``bank`` packs
its state (the weights, momenta and weight average, its history, its best network: all weights rounded to
float16) into one compressed ``.npz``, stored as consecutive parts of at most 19 MB in
``models/campaign/<name>/`` (the repository takes no file over 20 MB; the VGG-sized run's bank is 24 MB), to
be committed at the end of each session, and a start on a machine whose cache holds fewer of its epochs
unpacks the bank first and resumes from there.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
HOME = Path(os.environ.get("FER_CAMPAIGN_DIR", Path.home() / ".cache" / "fer" / "campaign"))
DATA = ROOT.parent / "shared" / "data" / "fer2013" / "fer2013.npz.xz"
# The shipped fast mode's PublicTest accuracy (each face as is and mirrored; README, model card).
SHIPPED_FAST = 0.7049

# The published recipe for ~73% single networks (SGD with Nesterov momentum, lr 0.01, weight decay 5e-4,
# crops, flips, shifts, rotations, erasing; 150 epochs, the most that fits two or three sessions of this
# 2-core machine at 100-240 s per epoch, where papers use 250-300) on the live network's architecture
# (168 M multiply-accumulates per pass). Keras' weight decay is decoupled and scaled by the learning rate:
# 5e-3 shrinks the weights by lr * 5e-3 per step, what PyTorch's L2 of 5e-4 does under momentum 0.9.
FAST_SGD = [
    "--widths", "48", "96", "192", "384", "--convs", "1", "1", "2", "2",
    "--optimizer", "sgd", "--learning-rate", "0.01", "--momentum", "0.9", "--weight-decay", "5e-3",
    "--epochs", "150", "--warmup-epochs", "2", "--batch-size", "64", "--class-weight", "sqrt",
    "--zoom", "0.15", "--shift", "0.1", "--rotation-degrees", "10", "--erasing", "0.5", "--seed", "73",
    # from epoch 8 (2026-12-01): bfloat16 arithmetic, float32 weights; 1.4x faster steps on this CPU
    "--precision", "mixed_bfloat16",
    # from epoch 127 (2026-12-01): each epoch is checked, kept and exported with its batch-norm statistics
    # recomputed over 2,048 clean Training faces and their mirrors (fer.train.recalibrate_batchnorm); the
    # training itself is unchanged, so the resume stays exact
    "--bn-faces", "2048",
    # added 2026-12-01 for fast-sgd-b (fast-sgd, at epoch 147 of 150, ran to its end without it): the mean
    # of the weights after each of the last 20 epochs, checked at the end like an epoch (stochastic weight
    # averaging; not yet measured here)
    "--average-last", "20",
    # from epoch 80 of fast-sgd-b (2026-12-02): checked on PublicTest after every fifth epoch only, and after
    # every one of the last third (from epoch 100 of 150); a check took 40-134 s of its 160-610 s epochs
    # 59-78 (the epoch's time less the fit's), and fast-sgd's best epochs were 120-135; the training is
    # unchanged, so the resume stays exact
    "--check-every", "5",
]


def changed(recipe: list[str], **flags: str | tuple[str, ...]) -> list[str]:
    """``recipe`` with the values of some flags replaced: ``changed(r, seed="75", convs=("2", "2", "2", "2"))``."""
    out = list(recipe)
    for name, values in flags.items():
        values = (values,) if isinstance(values, str) else tuple(values)
        at = out.index("--" + name.replace("_", "-"))
        out[at + 1 : at + 1 + len(values)] = values
    return out


# The VGG-sized network of the published 72-73% single networks on fast-sgd's recipe, over 120 epochs.
VGG = changed(FAST_SGD, widths=("64", "128", "256", "512"), convs=("2", "2", "2", "2"), epochs="120")
RECIPES = {
    "fast-sgd": FAST_SGD,
    # The same recipe from another seed: a second network of the same cost, to average with the first in
    # the accurate mode (two independently trained networks disagree where one alone errs) and to show how
    # much of a run's accuracy is its seed.
    "fast-sgd-b": changed(FAST_SGD, seed="75"),
    # A bigger network for the accurate mode only (no multiply-accumulate budget there): the VGG-sized
    # architecture of the published 72-73% single networks (64-512 channels, two convolutions per block,
    # 4.69 M parameters), the same recipe over 120 epochs; 653 ms per training step against the fast
    # network's 249 (tools/train_cost.py, bfloat16, 2026-12-01), so about 10 h of this machine alone.
    # Also the teacher a live network can later be distilled from.
    "accurate-vgg": changed(VGG, seed="77"),
    # A second cycle for the shipped fast network that fits one session (~30 epochs at 100-200 s): the same
    # recipe at a third of the peak learning rate, started from the shipped weights (copied into the
    # campaign's folder at its first start, so a resume never depends on what models/ holds by then).
    "fast-tune": [
        "--widths", "48", "96", "192", "384", "--convs", "1", "1", "2", "2",
        "--optimizer", "sgd", "--learning-rate", "0.003", "--momentum", "0.9", "--weight-decay", "5e-3",
        "--epochs", "30", "--warmup-epochs", "1", "--batch-size", "64", "--class-weight", "sqrt",
        "--zoom", "0.15", "--shift", "0.1", "--rotation-degrees", "10", "--erasing", "0.5", "--seed", "74",
        "--init-from", "{shipped}",
    ],
    # The live network distilled from a stronger teacher (the route to 72% for the fast mode at its cost):
    # a 30-epoch second cycle of the shipped fast network at a third of the peak learning rate, its targets
    # half label, half the mean of two frozen teachers on the same augmented view (`fer train
    # --teacher-networks`): accurate-vgg's best network and the shipped fast one. Distilled from the shipped
    # pair alone (71.50%) the same kind of cycle ended level with a plain one (models/CAMPAIGN.md), so it waits for the
    # finished VGG-sized network; both teachers are copied into the campaign's folder at its first start.
    "fast-distil": changed(FAST_SGD, learning_rate="0.003", epochs="30", warmup_epochs="1", seed="78", average_last="10")
    + ["--init-from", "{shipped}", "--teacher-networks", "{accurate-vgg}", "{shipped}", "--teacher-weight", "0.5"],
    # The same two teachers over fast-sgd's whole schedule from random weights (150 epochs, seed 79):
    # fast-distil, a 30-epoch second cycle, ended at 69.69% in the fast mode, level with the plain and the
    # pair-distilled second cycles (69.5-69.8%): a cycle from the shipped weights stays in their basin; this
    # measures whether a student distilled from its first step ends anywhere else (2026-12-02). Since
    # 2026-12-04 ``{shipped}`` is the GPU-trained, taught network (70.49%), copied at the run's first start:
    # a stronger second teacher than the lost run had, and the bar a candidate must now pass.
    "fast-distil-long": changed(FAST_SGD, seed="79")
    + ["--teacher-networks", "{accurate-vgg}", "{shipped}", "--teacher-weight", "0.5"],
    # fast-distil's second cycle (30 epochs from the shipped weights at a third of the peak learning rate) with
    # mixup (each face blended with another, targets too, lam ~ Beta(0.2, 0.2)) where fast-distil had teachers:
    # the plain, pair-distilled and VGG-distilled cycles all ended at 69.5-69.8%; mixup regularises in another
    # way. Queued first on 2026-12-03, when a replaced machine had lost fast-distil-long and accurate-vgg,
    # and the new one (AVX2 only) trained ~13x slower than the old: a 30-epoch cycle is what fits its sessions.
    "fast-mixup": changed(FAST_SGD, learning_rate="0.003", epochs="30", warmup_epochs="1", seed="81", average_last="10")
    + ["--init-from", "{shipped}", "--mixup", "0.2"],
    # fast-distil-long with the shipped pair as its teachers (the fast network and the AdamW one, the accurate
    # mode's two members), since the VGG-sized teacher was lost with the machine (2026-12-03) and would take far
    # longer to train again on an AVX2-only CPU than the student: fast-distil-long's epoch 127 was the only
    # network of the live network's cost to beat the shipped one by the rule's McNemar test (70.63% int8, p =
    # 0.016), and every second cycle from the shipped weights ended at 69.5-69.8% whoever taught it. 100 epochs,
    # not 150: with two teachers a step took 1,401 ms against 913 ms without, on the AVX2-only EPYC
    # (`tools/train_cost.py wide48: --teachers 2`, 2026-12-03, the campaign beside it), so 10.5 minutes an epoch
    # of steps; a shorter cosine reaches its low learning rates, where these runs gain most, 50 epochs sooner.
    "fast-distil-pair-long": changed(FAST_SGD, seed="83", epochs="100")
    + ["--teacher-networks", "{shipped}", "{adamw}", "--teacher-weight", "0.5"],
    # accurate-vgg's recipe from another seed (80): a second strong member for the accurate mode. Over the
    # accurate mode's ten views accurate-vgg's best epoch alone reads 71.44%, level with the shipped pair
    # (71.50%), and the three together 71.86% (models/CAMPAIGN.md): one VGG-sized network more is the accurate
    # mode's next step, where a second seed of the fast network would add a member 1.6 points weaker.
    "accurate-vgg-b": changed(VGG, seed="80"),
    # The VGG-sized network taught from its first step by accurate-vgg's best network and the shipped fast one
    # (half the target theirs, on each augmented view; seed 84): what fast-distil-long did for the live
    # network (70.72% at its epoch 127 against 69.55% for fast-sgd untaught, before it was lost), for the
    # accurate mode's member. Its two teachers read 72.97% together, ten views each, against 70.97% and
    # 70.49% alone, each face and its mirror (models/CAMPAIGN.md); VGG-sized networks trained without a
    # teacher added 0.4-0.6 points to the accurate mode as a third or fourth member, none passing its rule.
    "accurate-vgg-distil": changed(VGG, seed="84")
    + ["--teacher-networks", "{accurate-vgg}", "{shipped}", "--teacher-weight", "0.5"],
    # accurate-vgg-distil's recipe from another seed (86), taught by accurate-vgg-distil's own best network in
    # accurate-vgg's place (why: the QUEUE comment below, 2026-12-06).
    "accurate-vgg-distil-b": changed(VGG, seed="86")
    + ["--teacher-networks", "{accurate-vgg-distil}", "{shipped}", "--teacher-weight", "0.5"],
    # fast-distil-long's recipe from another seed (88), taught by accurate-vgg-distil's best network in
    # accurate-vgg's place (why: the QUEUE comment below, 2026-12-07).
    "fast-distil-long-b": changed(FAST_SGD, seed="88")
    + ["--teacher-networks", "{accurate-vgg-distil}", "{shipped}", "--teacher-weight", "0.5"],
}
# What `make campaign` works through, in order: each starts once the one before has run all its epochs.
# fast-sgd finished on 2026-12-01 and ships as the fast mode, so it is not queued: on a replaced machine
# (an empty ~/.cache/fer/) it would otherwise start again from epoch 0. The VGG-sized network goes first
# since 2026-12-02, when such a replacement lost fast-sgd-b at epoch 111 of 150: the accurate mode and a
# teacher for the live network need a stronger network more than a second seed of the same one.
# fast-distil goes before fast-sgd-b (2026-12-02): a second seed of the fast network is of less use to the
# accurate mode once the VGG-sized one is there, and distillation is the one route left to the fast target.
# fast-distil-long goes before fast-sgd-b too (2026-12-02), once fast-distil had shown that a second cycle,
# distilled or not, stays at 69.5-69.8%. accurate-vgg-b goes before fast-sgd-b (2026-12-03): the accurate
# mode gains more from a second strong member than from a second weak one. fast-mixup goes first (2026-12-03):
# on a replaced, AVX2-only machine, where a 30-epoch cycle is what fits its sessions (its recipe, above).
# fast-distil-pair-long goes next (2026-12-03): the long distillation that came closest to the fast target,
# without the VGG-sized teacher it would otherwise wait for; a passing epoch ships at a session's end.
# fast-mixup leaves the queue (2026-12-04): it finished on 2026-12-03 (69.60% at best, models/CAMPAIGN.md), and a
# replaced machine (an empty ~/.cache/fer/ again, now an AMD EPYC with AVX512-BF16) would otherwise run it again.
# fast-distil-pair-long leaves it too (2026-12-04): it finished that day (69.66% at best, not shipped, models/CAMPAIGN.md).
# fast-distil-long now goes right after its teacher, before fast-distil (2026-12-04): of the runs at the live
# network's cost only it, taught by the VGG-sized network over 150 epochs, passed the rule's McNemar test
# (70.63%, p = 0.016, before it was lost); fast-distil's 30-epoch cycle ended at 69.69% like every second cycle,
# and the pair-taught 100-epoch run at 69.49%.
# accurate-vgg-distil goes right after fast-distil-long (2026-12-04): the accurate mode needs a member stronger
# than accurate-vgg's 70.91% (as a third member that one added 0.4 points, p = 0.27), and a taught network is
# the likelier one; fast-distil's cycle from the shipped weights has ended level with them four times.
# fast-distil-long leaves the queue (2026-12-05): it finished that day (70.08% at best, not shipped,
# models/CAMPAIGN.md), and the machine was replaced again (an Intel Xeon with AMX), so accurate-vgg-distil
# follows its teacher directly.
# fast-distil goes before accurate-vgg-distil (2026-12-05): the machine was replaced a sixth time, by an
# AVX2-only AMD EPYC, where a taught VGG-sized step takes 2,771 ms and a taught fast one 1,353 ms
# (`tools/train_cost.py "VGG-size" "wide48: fast" --teacher-names VGG wide48:`): accurate-vgg-distil's 120
# epochs are about 42 hours there, fifteen sessions on machines replaced six times in five days, fast-distil's
# 30 about 5.5. On a CPU with AMX it costs the queue about an hour and a half.
# fast-distil leaves the queue (2026-12-06): it finished a second time (70.77% in the fast mode, p = 0.505, not
# shipped, models/CAMPAIGN.md), and the machine was replaced a seventh time (an AMD EPYC with AVX-512), so a
# third run of it would come before accurate-vgg-distil again.
# accurate-vgg-distil-b takes accurate-vgg-b's place (2026-12-06): taught by the VGG-sized accurate-vgg, the
# VGG-sized network read a point more than untaught at the same recipe and cost (71.91% at epoch 88 against
# 70.91%, mirrored PublicTest), so the second VGG-sized member is taught too, by accurate-vgg-distil's best
# network; accurate-vgg-b stays a recipe, unqueued.
# fast-distil-long-b takes fast-sgd-b's place (2026-12-07): every run of the live network's size that read over
# 70% was taught from its first step by a VGG-sized network (fast-distil-long: 70.72% and 70.08%; untaught
# fast-sgd 69.27-69.55%), and accurate-vgg-distil (71.91%) is the strongest teacher the campaign has kept, so
# the fast mode's next try is taught by it; an untaught second seed would add a weak member to the accurate
# mode and nothing to the fast one. fast-sgd-b stays a recipe, unqueued.
# accurate-vgg-distil-b leaves the queue (2026-12-07): it finished (71.75% at epoch 106, its weight average
# 71.47%; as a third accurate member 72.69% with either, not shipped, models/CAMPAIGN.md), and no queued run learns
# from it, so it is not kept in models/teachers/; its bank at commit 6cc57ac holds its best network.
QUEUE = ("accurate-vgg", "accurate-vgg-distil", "fast-distil-long-b")
CPUINFO = Path("/proc/cpuinfo")
# Where a recipe starts from the shipped fast network (``{shipped}``), and the accurate mode's second network,
# the AdamW one (``{adamw}``, a teacher).
SHIPPED_MODEL = ROOT / "models" / "fer_cnn.keras"
ADAMW_MODEL = ROOT / "models" / "fer_cnn_adamw.keras"
# Finished teachers kept in the repository (``keep``): the machine was replaced five times by 2026-12-05,
# each time with ~/.cache/fer/ and the 6-10 hours of the VGG-sized teacher every later run waited for.
KEPT = ROOT / "models" / "teachers"


# A run's state in the repository (``bank``): the machine was replaced eight times by 2026-12-06, and two of
# those replacements took accurate-vgg-distil's run with them, after 41 and then 20 of its 120 epochs.
BANK = ROOT / "models" / "campaign"
# Bytes per file of a bank (``<name>/000.part``, ``001.part``...): the repository takes no file over 20 MB
PART = 19_000_000
# The files of a campaign's folder that a bank carries besides its state (a run's candidate is exported again
# from best.keras at the resume, fer.train)
BANKED_FILES = ("history.csv", "best.keras", "average.keras")


def kept(name: str) -> Path | None:
    """Campaign ``name``'s best network as kept in the repository, or None."""
    path = KEPT / f"{name}.keras"
    return path if path.exists() else None


def _pid(folder: Path) -> int | None:
    """The pid of this campaign's running trainer, or None; in ``HOME`` itself, the queue's process."""
    try:
        pid = int((folder / "pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    # the trainer (python -m fer train), or for a moment after a start, the queue's process (campaign.py chain)
    return pid if cmdline.exists() and re.search(rb"\bfer\b|campaign\.py", cmdline.read_bytes()) else None


def _training() -> str | None:
    """Which campaign trains now, whether the queue started it or ``start --name`` did ("the queue" between
    two of its trainers), or None."""
    if (pid := _pid(HOME)) is not None:
        return f"the queue (pid {pid})"
    folders = sorted(HOME.glob("*/pid")) if HOME.is_dir() else []
    return next((f"{f.parent.name} (pid {pid})" for f in folders if (pid := _pid(f.parent)) is not None), None)


class NotReady(Exception):
    """A recipe's network is not there yet: a teacher campaign not ``finished``."""


def _network(placeholder: str, folder: Path) -> Path:
    """The file a recipe's ``{shipped}`` (the shipped fast network), ``{adamw}`` (the shipped AdamW network)
    or ``{<campaign>}`` (that finished campaign's best network) stands for: a copy in ``folder``, made once, at
    the first start, so a resume never depends on what models/ or the other campaign holds by then."""
    key = placeholder[1:-1]
    copy = folder / ("init.keras" if key == "shipped" else f"teacher_{key}.keras")
    if not copy.exists():
        source = {"shipped": SHIPPED_MODEL, "adamw": ADAMW_MODEL}.get(key) or kept(key)
        if source is None:
            if not finished(key):
                done = len(_history(HOME / key))
                raise NotReady(f"it needs the finished {key} campaign ({done} of {planned_epochs(key)} epochs run, or still running)")
            source = HOME / key / "best.keras"
        shutil.copyfile(source, copy)
    return copy


def native_bfloat16(cpuinfo: Path | None = None) -> bool:
    """Whether this CPU computes in bfloat16 itself (AVX512-BF16 or AMX). Without it TensorFlow emulates
    bfloat16: the fast network's training step took 10,487 ms in mixed_bfloat16 against 828 ms in float32 on
    an AVX2-only AMD EPYC (tools/train_cost.py --precision, 2026-12-03), where the earlier machine's
    AVX512-BF16 ran it in 237 against 340 ms (fer.train.TrainConfig.precision)."""
    try:
        flags = set((cpuinfo or CPUINFO).read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def _epochs_in(state) -> int:
    """How many epochs a ``state.npz`` (fer.train's checkpoint) or a bank (:func:`banked`) holds; 0 where there
    is none."""
    if isinstance(state, Path):
        state = np.load(state) if state.exists() else {}
    return int(state["epoch"]) if "epoch" in state else 0


def banked(name: str):
    """Campaign ``name``'s bank, its parts joined in order: its ``.npz``, each array read when asked for
    (``status`` reads the epoch alone in 0.03 s, where reading the VGG-sized run's whole bank takes 0.44 s);
    {} where there is none."""
    parts = sorted(_bank_folder(name).glob("*.part"))
    return np.load(io.BytesIO(b"".join(part.read_bytes() for part in parts))) if parts else {}


def _bank_folders(name: str) -> tuple[Path, Path, Path]:
    """The folders :func:`write_bank` uses for campaign ``name``'s bank: the new one it writes, the bank, and
    the old one it replaces."""
    return tuple(BANK / f"{name}{end}" for end in (".new", "", ".old"))


def _bank_folder(name: str) -> Path:
    """The folder that holds campaign ``name``'s bank: ``BANK / name``, or where a crash in :func:`write_bank`
    came between its two renames, the new bank, written whole (``<name>.new``)."""
    new, target, _ = _bank_folders(name)
    return target if target.is_dir() or not new.is_dir() else new


def write_bank(name: str, arrays: dict) -> Path:
    """Store ``arrays`` as campaign ``name``'s bank: one compressed ``.npz`` cut into parts of ``PART`` bytes,
    written whole into a new folder that then takes the old one's place by two renames, so that a crash at any
    point leaves one whole bank for :func:`banked`."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    data = buffer.getbuffer()
    new, target, old = _bank_folders(name)
    if _bank_folder(name) == new:  # the last write stopped between its renames: its bank becomes the bank
        new.rename(target)
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    for start in range(0, len(data), PART):
        (new / f"{start // PART:03d}.part").write_bytes(data[start:start + PART])
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def _edit_weights(network: bytes, edit) -> bytes:
    """A ``.keras`` file (a zip of its config and ``model.weights.h5``) with ``edit`` applied to its weights,
    opened in memory with h5py."""
    edited = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(network)) as source, zipfile.ZipFile(edited, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "model.weights.h5":
                buffer = io.BytesIO(data)
                with h5py.File(buffer, "r+") as weights:
                    edit(weights)
                data = buffer.getvalue()
            target.writestr(info, data)
    return edited.getvalue()


def _halved(value: np.ndarray) -> np.ndarray:
    """An array as a bank holds it: float32 weights rounded to float16 (half the size in the repository, and a
    resume on a new machine computes differently anyway: bfloat16 or float32, other kernels), the rest as is."""
    return value.astype(np.float16) if value.dtype == np.float32 and value.ndim else value


def _pack_file(file: str, data: bytes) -> dict:
    """A file of a campaign's folder as a bank holds it (``file:<file>``). A network's weights go apart, through
    :func:`_halved` (``weights:<file>:<h5 path>``), and the file keeps them zeroed: the VGG-sized best network
    takes 8.6 MB of the compressed bank instead of 18.9 (2026-12-06)."""
    weights = {}

    def take(path: str, item) -> None:
        if isinstance(item, h5py.Dataset) and (half := _halved(item[()])).dtype == np.float16:
            weights[f"weights:{file}:{path}"] = half
            item[...] = 0

    if file.endswith(".keras"):
        data = _edit_weights(data, lambda h5: h5.visititems(take))
    return {f"file:{file}": np.frombuffer(data, np.uint8), **weights}


def _unpack_file(file: str, arrays) -> bytes:
    """The file :func:`_pack_file` packed, a network's weights put back in float32 (a bank from before
    2026-12-06 holds the whole network, and no weights apart)."""
    data, prefix = arrays[f"file:{file}"].tobytes(), f"weights:{file}:"

    def put(h5) -> None:
        for key in [k for k in arrays if k.startswith(prefix)]:
            h5[key[len(prefix):]][...] = arrays[key].astype(np.float32)

    return _edit_weights(data, put) if file.endswith(".keras") else data


def bank(name: str) -> int:
    """Pack campaign ``name``'s state into its bank (:func:`write_bank`), taken while a running trainer is not
    between the writes of an epoch (best.keras when the epoch is the best, its state, then its row of the
    history). Its weights and momenta, and its networks' weights, go in as float16 (:func:`_halved`)."""
    folder = HOME / name
    state = folder / "state.npz"
    for _ in range(60):
        if not state.exists():
            print(f"{name}: nothing to bank: no epoch finished in {folder}", file=sys.stderr)
            return 2
        before = state.stat().st_mtime_ns
        arrays = {key: _halved(value) for key, value in np.load(state).items()}
        files = {f: (folder / f).read_bytes() for f in BANKED_FILES if (folder / f).exists()}
        newer = [f for f in BANKED_FILES[1:] if (folder / f).exists() and (folder / f).stat().st_mtime_ns > before]
        agree = len(_history(folder)) == int(arrays["epoch"]) and not newer
        if state.stat().st_mtime_ns == before and (agree or _pid(folder) is None):  # a stopped one writes nothing
            break
        time.sleep(1)  # the trainer is between the two writes of an epoch
    else:
        print(f"{name}: not banked: its state and history.csv did not agree for a minute", file=sys.stderr)
        return 2
    for f, data in files.items():
        arrays |= _pack_file(f, data)
    target = write_bank(name, arrays)
    parts = sorted(target.iterdir())
    print(f"{name}: banked {arrays['epoch']} epochs in {target} ({sum(p.stat().st_size for p in parts) / 1e6:.1f} MB "
          f"in {len(parts)} files); commit it")
    return 0


def _unbank(name: str, folder: Path) -> None:
    """Unpack campaign ``name``'s bank into ``folder`` if it holds more epochs than the folder's state: a
    replaced machine, or one that stopped training before the bank was made elsewhere. The state goes last, so
    a start killed half-way unpacks again."""
    arrays = banked(name)
    if _epochs_in(arrays) <= _epochs_in(folder / "state.npz"):
        return
    for key in [k for k in arrays if k.startswith("file:")]:
        (folder / key[5:]).write_bytes(_unpack_file(key[5:], arrays))
    with open(folder / "state.tmp.npz", "wb") as fh:
        np.savez(fh, **{k: v.astype(np.float32) if v.dtype == np.float16 else v for k, v in arrays.items()
                        if not k.startswith(("file:", "weights:"))})
    (folder / "state.tmp.npz").replace(folder / "state.npz")
    print(f"{name}: unpacked {BANK / name}: {_epochs_in(arrays)} epochs", flush=True)


def train_command(name: str, data: Path, folder: Path) -> list[str]:
    """The ``fer train`` command of a campaign, its networks (``{...}`` in the recipe) copied into ``folder``
    and its bank unpacked there when it is ahead (``_unbank``); in float32 on a CPU without bfloat16
    arithmetic (:func:`native_bfloat16`)."""
    folder.mkdir(parents=True, exist_ok=True)
    _unbank(name, folder)
    recipe = [str(_network(arg, folder)) if arg.startswith("{") else arg for arg in RECIPES[name]]
    if "--precision" in recipe and not native_bfloat16():
        recipe = changed(recipe, precision="float32")
    command = [sys.executable, "-m", "fer", "train", "--data", str(data), *recipe]
    return command + ["--checkpoints", str(folder), "--out", str(folder / "candidate"), "--export-above", str(SHIPPED_FAST)]


def _lowest_priority() -> None:
    """Run in the child before it starts the trainer, in its new session: nice 19, and the session's
    autogroup at nice 19 too where the kernel has autogroups. Nice alone is not enough there: each session
    is one group with an equal share of the CPU whatever its processes' nice values, so the trainer took
    half of the two cores from everything else the session ran (seen 2026-12-01: 93% of a core against
    two runs at nice 5)."""
    os.nice(19)
    try:
        Path("/proc/self/autogroup").write_text("19")
    except OSError:  # not Linux, or a kernel without autogroups: nice 19 is the whole story
        pass


def launch(command: list[str], log, env: dict) -> subprocess.Popen:
    """Start ``command`` in the background at the lowest CPU priority, in a session of its own (it
    outlives the shell that started it)."""
    return subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        start_new_session=True, preexec_fn=_lowest_priority,
    )


def start(name: str, data: Path, queue: bool = False) -> int:
    """Start campaign ``name``'s trainer in the background, or with ``queue`` the process that runs it and
    then the rest of the queue (``chain``)."""
    folder = HOME / name
    if (pid := _pid(folder)) is not None:
        print(f"{name}: already running (pid {pid}); {folder}")
        return 0
    if queue and (pid := _pid(HOME)) is not None:  # between two of its trainers no campaign has a live pid
        print(f"the queue is already running (pid {pid}), between two campaigns; {HOME / 'queue.log'}")
        return 0
    if busy := _training():  # two trainers on two cores would each run at half speed
        print(f"{name}: not started: {busy} is training on this machine; one campaign at a time "
              "(stop it first to switch)", file=sys.stderr)
        return 2
    if not data.exists():
        print(f"error: no training data at {data}", file=sys.stderr)
        return 2
    try:
        command = train_command(name, data, folder)
    except NotReady as why:
        print(f"{name}: not started: {why}", file=sys.stderr)
        return 2
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    if queue:  # the queue's process writes its trainers' pids over this one's as it starts each
        command = [sys.executable, str(Path(__file__).resolve()), "chain", "--data", str(data)]
    with open(HOME / "queue.log" if queue else folder / "train.log", "ab") as log:
        proc = launch(command, log, env)
    for where in (folder, HOME) if queue else (folder,):
        (where / "pid").write_text(str(proc.pid))
    done = len(_history(folder))
    where = f"resuming at epoch {done} (epochs 0-{done - 1} done)" if done else "from epoch 0"
    print(f"{name}: started (pid {proc.pid}), {where}; state in {folder}")
    return 0


def chain(data: Path) -> int:
    """``make campaign``'s background process: the queue's campaigns one after another, each trainer started
    as ``start`` starts one (``launch``), its pid in its folder. It stops when the queue is done, when the
    next campaign cannot start yet, or when a trainer fails or is killed."""
    while not (finished(name := current()) or kept(name)):
        folder = HOME / name
        try:
            command = train_command(name, data, folder)
        except NotReady as why:
            print(f"{name}: not started: {why}", flush=True)
            return 2
        with open(folder / "train.log", "ab") as log:
            proc = launch(command, log, dict(os.environ))
            (folder / "pid").write_text(str(proc.pid))
            print(f"{name}: trainer started (pid {proc.pid})", flush=True)
            code = proc.wait()
        if code or not finished(name):
            print(f"{name}: trainer ended with code {code}; the queue stops", flush=True)
            return code or 1
    return 0


def _history(folder: Path) -> list[dict]:
    path = folder / "history.csv"
    return list(csv.DictReader(path.read_text().splitlines())) if path.exists() else []


def _checked(rows: list[dict]) -> list[dict]:
    """The rows of the epochs checked on PublicTest (``fer train --check-every`` leaves the others blank)."""
    return [r for r in rows if r["val_accuracy_mirrored"]]


def _flag(name: str, flag: str, count: int = 1) -> list[str]:
    """The ``count`` values of ``--flag`` in campaign ``name``'s recipe (what ``changed`` writes)."""
    at = RECIPES[name].index("--" + flag) + 1
    return RECIPES[name][at : at + count]


def planned_epochs(name: str) -> int:
    return int(_flag(name, "epochs")[0])


def finished(name: str) -> bool:
    """All its epochs run, its weight average scored (``average.keras``; after the last epoch the trainer
    still scores it, and it may become ``best.keras``) where the recipe averages, and its trainer gone."""
    folder = HOME / name
    averages = "--average-last" in RECIPES[name]
    return (
        len(_history(folder)) >= planned_epochs(name)
        and (not averages or (folder / "average.keras").exists())
        and _pid(folder) is None
    )


def current() -> str:
    """The campaign of the moment: the first in ``QUEUE`` neither finished nor kept (else the last); one
    stopped between its last epoch and its weight average resumes to score that average."""
    return next((name for name in QUEUE if not (finished(name) or kept(name))), QUEUE[-1])


def keep(name: str) -> int:
    """Copy finished campaign ``name``'s best network into the repository (``KEPT``), to be committed."""
    if not finished(name):
        print(f"{name}: not kept: {len(_history(HOME / name))} of {planned_epochs(name)} epochs run, or still running",
              file=sys.stderr)
        return 2
    KEPT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HOME / name / "best.keras", target := KEPT / f"{name}.keras")
    for folder in _bank_folders(name):  # its bank is of no more use, nor what a crash in write_bank left of one
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{name}: kept as {target}; commit it (and the removal of its bank, if it had one)")
    return 0


def status(name: str) -> int:
    folder = HOME / name
    rows, planned = _history(folder), planned_epochs(name)
    pid = _pid(folder)
    print(f"{name}: {'running, pid ' + str(pid) if pid else 'not running'}; {len(rows)} of {planned} epochs; {folder}")
    if checked := _checked(rows):
        best = max(checked, key=lambda r: float(r["val_accuracy_mirrored"]))
        print(f"best PublicTest (mirrored) {float(best['val_accuracy_mirrored']):.2%} at epoch {best['epoch']}; "
              f"shipped {SHIPPED_FAST:.2%}; last checked epoch ({checked[-1]['epoch']}) {float(checked[-1]['val_accuracy_mirrored']):.2%}")
    if rows:
        # the median: an epoch that spanned a paused test suite (900+ s against 150) does not skew it
        per_epoch = statistics.median(float(r["seconds"]) for r in rows[-5:])
        print(f"{per_epoch:.0f} s per epoch lately; about {(planned - len(rows)) * per_epoch / 3600:.1f} h left")
    epochs = _epochs_in(banked(name))
    print(f"banked in the repository: {epochs} epochs" + (" (tools/campaign.py bank, then commit)" if epochs < len(rows) else ""))
    candidate = folder / "candidate" / "fer_cnn.tflite"
    print(f"candidate exported: {'yes' if candidate.exists() else 'no'}")
    if candidate.exists():  # scored at the end of every session that has one, and shipped if it passes
        score = f".venv/bin/python tools/compare_models.py {DATA}"
        live = _flag(name, "widths", 4) == _flag("fast-sgd", "widths", 4)  # the live network's cost
        places = [f"fast {candidate}"] if live else []
        places += [f"accurate {candidate}+models/fer_cnn_adamw.tflite",  # the accurate mode's first member
                   f"accurate models/fer_cnn.tflite+models/fer_cnn_adamw.tflite+{candidate}"]  # or a third one
        print("score it by the shipping rule:", *(f"  {score} {place}" for place in places), sep="\n")
    return 0


def plot(name: str) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = HOME / name
    rows = _history(folder)
    if not rows:
        print(f"{name}: no epoch finished yet", file=sys.stderr)
        return 2
    checked = _checked(rows)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([int(r["epoch"]) + 1 for r in rows], [float(r["accuracy"]) for r in rows], label="training (augmented)")
    at = [int(r["epoch"]) + 1 for r in checked]
    ax.plot(at, [float(r["val_accuracy"]) for r in checked], label="PublicTest")
    ax.plot(at, [float(r["val_accuracy_mirrored"]) for r in checked], label="PublicTest, mirrored")
    ax.axhline(SHIPPED_FAST, color="grey", linestyle=":", label="shipped fast mode")
    ax.set(xlabel="epoch", ylabel="accuracy", title=f"campaign {name}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "history.png", dpi=100)
    print(folder / "history.png")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("start", "status", "plot", "keep", "bank", "chain"))
    parser.add_argument("--name", choices=RECIPES, help="default: the first in the queue not yet finished")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    queue, args.name = args.name is None, args.name or current()
    actions = {"start": lambda: start(args.name, args.data, queue), "status": lambda: status(args.name),
               "plot": lambda: plot(args.name), "keep": lambda: keep(args.name),
               "bank": lambda: bank(args.name), "chain": lambda: chain(args.data)}
    return actions[args.action]()


if __name__ == "__main__":
    sys.exit(main())
