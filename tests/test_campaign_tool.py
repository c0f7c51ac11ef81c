"""tools/campaign.py: the command a campaign runs, and the shipped network a second cycle starts from."""

import filecmp
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from tools import campaign
from tools.runtime_size import slugignored


@pytest.fixture(autouse=True)
def _no_kept_teachers(tmp_path, monkeypatch):
    """Each test sees only the teachers it keeps and the runs it banks itself, whatever models/ holds by then."""
    monkeypatch.setattr(campaign, "KEPT", tmp_path / "kept")
    monkeypatch.setattr(campaign, "BANK", tmp_path / "bank")


def test_a_second_cycle_starts_from_its_own_copy_of_the_shipped_network(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped.keras"
    shipped.write_bytes(b"first weights")
    monkeypatch.setattr(campaign, "SHIPPED_MODEL", shipped)
    folder = tmp_path / "fast-tune"
    command = campaign.train_command("fast-tune", tmp_path / "data.npz.xz", folder)
    init = folder / "init.keras"
    assert command[command.index("--init-from") + 1] == str(init)
    assert filecmp.cmp(init, shipped, shallow=False)
    assert command[command.index("--checkpoints") + 1] == str(folder)
    assert float(command[command.index("--export-above") + 1]) == campaign.SHIPPED_FAST
    # A resume keeps the copy made at the first start, whatever models/ ships by then.
    shipped.write_bytes(b"a newer network")
    assert campaign.train_command("fast-tune", tmp_path / "data.npz.xz", folder) == command
    assert init.read_bytes() == b"first weights"


def test_a_campaign_from_scratch_has_no_starting_network(tmp_path):
    command = campaign.train_command("fast-sgd", tmp_path / "data.npz.xz", tmp_path / "fast-sgd")
    assert "--init-from" not in command
    assert not (tmp_path / "fast-sgd" / "init.keras").exists()


def _epochs_done(home: Path, name: str, count: int) -> None:
    """A history.csv in ``home / name`` with ``count`` epochs run."""
    (home / name).mkdir(exist_ok=True)
    rows = [f"{epoch},0.01,1.0,0.5,0.5,0.5,100.0,2026-12-01T00:00:00" for epoch in range(count)]
    header = "epoch,learning_rate,loss,accuracy,val_accuracy,val_accuracy_mirrored,seconds,finished_at"
    (home / name / "history.csv").write_text("\n".join([header, *rows]) + "\n")


def test_make_campaign_goes_through_the_queue(tmp_path, monkeypatch):
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    first, second = campaign.QUEUE[:2]
    assert campaign.current() == first  # nothing run yet

    _epochs_done(tmp_path, first, campaign.planned_epochs(first) - 1)
    assert campaign.current() == first  # one epoch short: resumed, not left
    _epochs_done(tmp_path, first, campaign.planned_epochs(first))
    assert campaign.current() == first  # stopped before its weight average was scored: resumed to score it
    (tmp_path / first / "average.keras").write_bytes(b"the mean of its last epochs")
    assert campaign.current() == second


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads a trainer's command line from /proc")
def test_a_campaign_whose_trainer_still_runs_is_not_finished(tmp_path, monkeypatch):
    """After its last epoch the trainer still scores the weight average; while it runs, the queue waits."""
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    first, second = campaign.QUEUE[:2]
    _epochs_done(tmp_path, first, campaign.planned_epochs(first))
    (tmp_path / first / "average.keras").write_bytes(b"the mean of its last epochs")
    code = "import time; print('up', flush=True); time.sleep(120)"
    trainer = subprocess.Popen([sys.executable, "-c", code, "-m", "fer", "train"], stdout=subprocess.PIPE)
    try:
        # Popen returns once the child has called exec, before the kernel has laid out its new command line
        # (/proc/<pid>/cmdline reads empty for that moment); a line from the child's own code comes after.
        assert trainer.stdout.readline() == b"up\n"
        (tmp_path / first / "pid").write_text(str(trainer.pid))
        assert not campaign.finished(first)
        assert campaign.current() == first
    finally:
        trainer.kill()
        trainer.communicate()
    assert campaign.finished(first)
    assert campaign.current() == second


def test_the_second_seed_differs_from_the_first_only_in_its_seed(tmp_path):
    a = campaign.train_command("fast-sgd", tmp_path / "data.npz.xz", tmp_path / "a")
    b = campaign.train_command("fast-sgd-b", tmp_path / "data.npz.xz", tmp_path / "a")
    assert [(x, y) for x, y in zip(a, b) if x != y] == [("73", "75")]
    assert campaign.RECIPES["fast-sgd"][campaign.RECIPES["fast-sgd"].index("--seed") + 1] == "73"


def test_the_long_distillation_is_the_recipe_from_random_weights_with_fast_distils_teachers(tmp_path, monkeypatch):
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    monkeypatch.setattr(campaign, "SHIPPED_MODEL", tmp_path / "shipped.keras")
    (tmp_path / "shipped.keras").write_bytes(b"fast weights")
    _epochs_done(tmp_path, "accurate-vgg", 120)
    (tmp_path / "accurate-vgg" / "best.keras").write_bytes(b"vgg weights")
    (tmp_path / "accurate-vgg" / "average.keras").write_bytes(b"averaged weights")
    a = campaign.train_command("fast-sgd", tmp_path / "data.npz.xz", tmp_path / "a")
    long = campaign.train_command("fast-distil-long", tmp_path / "data.npz.xz", tmp_path / "a")
    assert "--init-from" not in long
    start, end = long.index("--teacher-networks"), long.index("--teacher-weight") + 2
    assert long[start:end] == ["--teacher-networks", str(tmp_path / "a" / "teacher_accurate-vgg.keras"),
                               str(tmp_path / "a" / "init.keras"), "--teacher-weight", "0.5"]
    rest = long[:start] + long[end:]
    assert [(x, y) for x, y in zip(a, rest) if x != y] == [("73", "79")] and len(rest) == len(a)


def test_the_taught_vgg_sized_member_is_accurate_vggs_recipe_with_fast_distil_longs_teachers(tmp_path, monkeypatch):
    """accurate-vgg-distil: the VGG-sized recipe from another seed, taught by copies of accurate-vgg's best
    network and the shipped fast one; in the queue once accurate-vgg has finished."""
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    monkeypatch.setattr(campaign, "SHIPPED_MODEL", tmp_path / "shipped.keras")
    (tmp_path / "shipped.keras").write_bytes(b"fast weights")
    assert campaign.current() == "accurate-vgg"
    _epochs_done(tmp_path, "accurate-vgg", campaign.planned_epochs("accurate-vgg"))
    (tmp_path / "accurate-vgg" / "average.keras").write_bytes(b"averaged weights")
    (tmp_path / "accurate-vgg" / "best.keras").write_bytes(b"vgg weights")
    assert campaign.current() == "accurate-vgg-distil"
    folder = tmp_path / "accurate-vgg-distil"
    v = campaign.train_command("accurate-vgg", tmp_path / "data.npz.xz", folder)
    d = campaign.train_command("accurate-vgg-distil", tmp_path / "data.npz.xz", folder)
    start, end = d.index("--teacher-networks"), d.index("--teacher-weight") + 2
    assert d[start:end] == ["--teacher-networks", str(folder / "teacher_accurate-vgg.keras"),
                            str(folder / "init.keras"), "--teacher-weight", "0.5"]
    assert (folder / "teacher_accurate-vgg.keras").read_bytes() == b"vgg weights"
    assert (folder / "init.keras").read_bytes() == b"fast weights"
    rest = d[:start] + d[end:]
    assert [(x, y) for x, y in zip(v, rest) if x != y] == [("77", "84")] and len(rest) == len(v)


def test_the_accurate_member_is_the_recipe_on_the_vgg_sized_network(tmp_path):
    a = campaign.train_command("fast-sgd", tmp_path / "data.npz.xz", tmp_path / "a")
    v = campaign.train_command("accurate-vgg", tmp_path / "data.npz.xz", tmp_path / "a")
    assert len(a) == len(v)
    assert [(x, y) for x, y in zip(a, v) if x != y] == [
        ("48", "64"), ("96", "128"), ("192", "256"), ("384", "512"), ("1", "2"), ("1", "2"), ("150", "120"), ("73", "77")
    ]


@pytest.mark.parametrize("name, model, seeds", [
    ("accurate-vgg-distil-b", "accurate-vgg-distil", ("84", "86")),
    ("fast-distil-long-b", "fast-distil-long", ("79", "88")),
])
def test_the_b_runs_are_taught_by_the_taught_vgg_sized_network(tmp_path, monkeypatch, name, model, seeds):
    """accurate-vgg-distil-b and fast-distil-long-b: each an earlier taught run's recipe from another seed, its
    first teacher accurate-vgg-distil's best network in accurate-vgg's place."""
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    monkeypatch.setattr(campaign, "SHIPPED_MODEL", tmp_path / "shipped.keras")
    (tmp_path / "shipped.keras").write_bytes(b"fast weights")
    campaign.KEPT.mkdir()
    for teacher in ("accurate-vgg", "accurate-vgg-distil"):
        (campaign.KEPT / f"{teacher}.keras").write_bytes(teacher.encode())
    first = campaign.train_command(model, tmp_path / "data.npz.xz", tmp_path / "a")
    folder = tmp_path / name
    second = campaign.train_command(name, tmp_path / "data.npz.xz", folder)
    assert [(x, y) for x, y in zip(first, second) if x != y] == [
        seeds, (str(tmp_path / "a" / "teacher_accurate-vgg.keras"), str(folder / "teacher_accurate-vgg-distil.keras")),
        (str(tmp_path / "a" / "init.keras"), str(folder / "init.keras")),
        (str(tmp_path / "a"), str(folder)), (str(tmp_path / "a" / "candidate"), str(folder / "candidate")),
    ] and len(first) == len(second)
    assert (folder / "teacher_accurate-vgg-distil.keras").read_bytes() == b"accurate-vgg-distil"


def test_the_taught_live_network_starts_once_the_runs_before_it_have_finished(tmp_path, monkeypatch):
    """fast-distil-long-b, in place of fast-sgd-b (an untaught second seed), is the queue's last run."""
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    for before in campaign.QUEUE[:-1]:
        assert campaign.current() == before
        _epochs_done(tmp_path, before, campaign.planned_epochs(before))
        (tmp_path / before / "average.keras").write_bytes(b"averaged weights")
    assert campaign.current() == campaign.QUEUE[-1] == "fast-distil-long-b"
    assert not {"fast-sgd-b", "accurate-vgg-b"} & set(campaign.QUEUE)


def test_on_a_replaced_machine_the_queue_starts_the_vgg_sized_network_not_a_finished_campaign(tmp_path, monkeypatch):
    """A replaced machine has an empty cache: `make campaign` must not train the shipped fast-sgd, nor the
    finished fast-mixup, fast-distil-pair-long, fast-distil-long, fast-distil (twice) and accurate-vgg-distil-b,
    again."""
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    assert campaign.current() == "accurate-vgg"
    finished = {"fast-sgd", "fast-mixup", "fast-distil-pair-long", "fast-distil-long", "fast-distil",
                "accurate-vgg-distil-b"}
    assert not finished & set(campaign.QUEUE) and set(campaign.QUEUE) <= set(campaign.RECIPES)


def test_the_trainer_runs_at_the_lowest_priority_in_a_session_of_its_own(tmp_path):
    with open(tmp_path / "log", "ab") as log:
        proc = campaign.launch(["sleep", "30"], log, dict(os.environ))
    try:
        assert os.getsid(proc.pid) == proc.pid != os.getsid(0)
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == 19
        autogroup = Path(f"/proc/{proc.pid}/autogroup")
        if autogroup.exists():  # the session's CPU share, which nice alone does not lower
            assert autogroup.read_text().split()[-2:] == ["nice", "19"]
    finally:
        proc.kill()
        proc.wait()


def test_status_and_plot_read_a_history_with_unchecked_epochs(tmp_path, monkeypatch, capsys):
    """Epochs that --check-every leaves unchecked have blank accuracies: the best and the last figure come
    from the checked ones."""
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    (tmp_path / "fast-sgd").mkdir()
    header = "epoch,learning_rate,loss,accuracy,val_accuracy,val_accuracy_mirrored,seconds,finished_at"
    rows = ["0,0.01,1.5,0.4,,,100.0,t", "1,0.01,1.4,0.5,0.6,0.61,150.0,t", "2,0.01,1.3,0.55,0.58,0.59,950.0,t",
            "3,0.01,1.2,0.6,,,100.0,t"]
    (tmp_path / "fast-sgd" / "history.csv").write_text("\n".join([header, *rows]) + "\n")
    assert campaign.status("fast-sgd") == 0
    out = capsys.readouterr().out
    assert "best PublicTest (mirrored) 61.00% at epoch 1" in out and "last checked epoch (2) 59.00%" in out
    assert "4 of 150 epochs" in out
    # epoch 2 spanned a pause: the estimate is the median epoch's (125 s), not the mean's (325 s)
    assert "125 s per epoch lately; about 5.1 h left" in out
    assert "score it" not in out
    (tmp_path / "fast-sgd" / "candidate").mkdir()
    (tmp_path / "fast-sgd" / "candidate" / "fer_cnn.tflite").write_bytes(b"a network")
    assert campaign.status("fast-sgd") == 0
    scoring = capsys.readouterr().out.split("score it by the shipping rule:\n")[1].splitlines()
    assert [line.split()[-2] for line in scoring] == ["fast", "accurate", "accurate"]
    assert scoring[1].endswith("candidate/fer_cnn.tflite+models/fer_cnn_adamw.tflite")
    assert scoring[2].endswith("models/fer_cnn.tflite+models/fer_cnn_adamw.tflite+" + str(tmp_path / "fast-sgd" / "candidate" / "fer_cnn.tflite"))
    # A VGG-sized network is over the live network's budget: only the accurate mode's places are offered.
    (tmp_path / "accurate-vgg" / "candidate").mkdir(parents=True)
    (tmp_path / "accurate-vgg" / "candidate" / "fer_cnn.tflite").write_bytes(b"a network")
    assert campaign.status("accurate-vgg") == 0
    scoring = capsys.readouterr().out.split("score it by the shipping rule:\n")[1].splitlines()
    assert [line.split()[-2] for line in scoring] == ["accurate", "accurate"]
    assert campaign.plot("fast-sgd") == 0
    assert (tmp_path / "fast-sgd" / "history.png").stat().st_size > 0


def test_the_distilled_cycle_waits_for_its_teacher_then_keeps_its_own_copies(tmp_path, monkeypatch):
    """fast-distil's teachers are accurate-vgg's best network, once that campaign has run all its epochs, and
    the shipped fast network; both are copied at the first start, so a resume reads the same files."""
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    shipped, vgg = tmp_path / "shipped.keras", tmp_path / "accurate-vgg" / "best.keras"
    monkeypatch.setattr(campaign, "SHIPPED_MODEL", shipped)
    shipped.write_bytes(b"fast weights")
    _epochs_done(tmp_path, "accurate-vgg", 119)
    vgg.write_bytes(b"vgg weights")
    folder = tmp_path / "fast-distil"
    assert campaign.start("fast-distil", shipped) == 2  # 119 of 120 epochs: not yet
    assert not (folder / "teacher_accurate-vgg.keras").exists()

    _epochs_done(tmp_path, "accurate-vgg", 120)
    assert campaign.start("fast-distil", shipped) == 2  # all epochs, but its weight average not yet scored
    (vgg.parent / "average.keras").write_bytes(b"averaged weights")
    command = campaign.train_command("fast-distil", tmp_path / "data.npz.xz", folder)
    teachers = command[command.index("--teacher-networks") + 1 : command.index("--teacher-weight")]
    assert teachers == [str(folder / "teacher_accurate-vgg.keras"), str(folder / "init.keras")]
    assert command[command.index("--init-from") + 1] == str(folder / "init.keras")
    assert (folder / "teacher_accurate-vgg.keras").read_bytes() == b"vgg weights"
    vgg.write_bytes(b"a later network")
    assert campaign.train_command("fast-distil", tmp_path / "data.npz.xz", folder) == command
    assert (folder / "teacher_accurate-vgg.keras").read_bytes() == b"vgg weights"


@pytest.fixture
def quick_trainers(tmp_path, monkeypatch):
    """A cache in ``tmp_path``, an (empty) data file, and trainers that are real child processes exiting at
    once: the data file and the list of trainers started."""
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    data = tmp_path / "data.npz.xz"
    data.write_bytes(b"")
    started = []

    def launch(command, log, env):
        started.append(subprocess.Popen([sys.executable, "-c", "pass"]))
        return started[-1]

    monkeypatch.setattr(campaign, "launch", launch)
    return data, started


def test_a_start_records_its_trainer_and_says_whether_it_resumes(tmp_path, quick_trainers, capsys):
    """The trainer is a real child process (one that exits at once); its pid is what `status` later reads."""
    data, started = quick_trainers
    assert campaign.start("fast-sgd-b", data) == 0
    assert "from epoch 0;" in capsys.readouterr().out
    assert (tmp_path / "fast-sgd-b" / "pid").read_text() == str(started[-1].pid)
    started[-1].wait()
    _epochs_done(tmp_path, "fast-sgd-b", 3)
    assert campaign.start("fast-sgd-b", data) == 0
    assert "resuming at epoch 3 (epochs 0-2 done);" in capsys.readouterr().out
    started[-1].wait()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads a trainer's command line from /proc")
def test_one_campaign_trains_at_a_time_however_it_was_started(tmp_path, quick_trainers, capsys):
    """A trainer started by name (or the queue) holds the machine: neither another named start nor `make
    campaign` starts a second one beside it; once it has ended, they start."""
    data, started = quick_trainers
    code = "import time; print('up', flush=True); time.sleep(120)"
    trainer = subprocess.Popen([sys.executable, "-c", code, "-m", "fer", "train"], stdout=subprocess.PIPE)
    try:
        assert trainer.stdout.readline() == b"up\n"  # its command line is laid out by now (see above)
        (tmp_path / "accurate-vgg-distil").mkdir()
        (tmp_path / "accurate-vgg-distil" / "pid").write_text(str(trainer.pid))
        assert campaign.start("fast-sgd-b", data) == 2
        assert campaign.start(campaign.current(), data, queue=True) == 2  # the queue's own first campaign
        err = capsys.readouterr().err
        assert f"not started: accurate-vgg-distil (pid {trainer.pid}) is training" in err
        assert not started and not (tmp_path / "fast-sgd-b" / "pid").exists()
    finally:
        trainer.kill()
        trainer.wait()
    assert campaign.start("fast-sgd-b", data) == 0
    assert (tmp_path / "fast-sgd-b" / "pid").read_text() == str(started[-1].pid)
    started[-1].wait()


def test_the_mixup_cycle_is_fast_distils_with_mixup_in_place_of_the_teachers(tmp_path, monkeypatch):
    monkeypatch.setattr(campaign, "SHIPPED_MODEL", tmp_path / "shipped.keras")
    (tmp_path / "shipped.keras").write_bytes(b"fast weights")
    mixup = campaign.RECIPES["fast-mixup"]
    distil = campaign.RECIPES["fast-distil"]
    assert mixup[mixup.index("--mixup") + 1] == "0.2" and "--teacher-networks" not in mixup
    teachers = distil.index("--teacher-networks")
    assert [(x, y) for x, y in zip(distil[:teachers], mixup) if x != y] == [("78", "81")]
    assert mixup[teachers:] == ["--mixup", "0.2"] and distil[teachers - 2 : teachers] == ["--init-from", "{shipped}"]


def test_bfloat16_only_where_the_cpu_computes_it(tmp_path, monkeypatch):
    """On an AVX2-only CPU TensorFlow emulates bfloat16 (13x slower steps): the recipe runs in float32 there."""
    avx2, amx = tmp_path / "avx2", tmp_path / "amx"
    avx2.write_text("flags\t\t: fpu sse2 avx avx2 fma f16c\n")
    amx.write_text("flags\t\t: fpu sse2 avx avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert not campaign.native_bfloat16(avx2) and campaign.native_bfloat16(amx)
    assert not campaign.native_bfloat16(tmp_path / "absent")
    for cpu, precision in ((avx2, "float32"), (amx, "mixed_bfloat16")):
        monkeypatch.setattr(campaign, "CPUINFO", cpu)
        command = campaign.train_command("fast-sgd", tmp_path / "data.npz.xz", tmp_path / "a")
        assert command[command.index("--precision") + 1] == precision


def test_the_long_pair_distillation_is_taught_by_copies_of_both_shipped_networks(tmp_path, monkeypatch):
    """fast-distil-pair-long: fast-sgd's recipe over 100 epochs from another seed, taught by the accurate mode's
    two networks, both copied at the first start (the AdamW network's weights ship in models/ for that)."""
    assert campaign.ADAMW_MODEL.exists() and campaign.SHIPPED_MODEL.exists()
    for name in ("SHIPPED_MODEL", "ADAMW_MODEL"):
        monkeypatch.setattr(campaign, name, tmp_path / f"{name}.keras")
        (tmp_path / f"{name}.keras").write_bytes(name.encode())
    folder = tmp_path / "fast-distil-pair-long"
    command = campaign.train_command("fast-distil-pair-long", tmp_path / "data.npz.xz", folder)
    teachers = command[command.index("--teacher-networks") + 1 : command.index("--teacher-weight")]
    assert teachers == [str(folder / "init.keras"), str(folder / "teacher_adamw.keras")]
    assert [Path(t).read_bytes() for t in teachers] == [b"SHIPPED_MODEL", b"ADAMW_MODEL"]
    assert "--init-from" not in command  # from random weights, over the whole schedule
    recipe = campaign.RECIPES["fast-distil-pair-long"]
    assert [(x, y) for x, y in zip(campaign.FAST_SGD, recipe) if x != y] == [("150", "100"), ("73", "83")]


def test_a_kept_teacher_survives_a_replaced_machine(tmp_path, monkeypatch, capsys):
    """`keep` copies a finished teacher's best network into the repository; on a machine with an empty cache
    the queue then skips that campaign, and its students are taught by the kept file."""
    home, repo = tmp_path / "cache", tmp_path / "teachers"
    monkeypatch.setattr(campaign, "HOME", home)
    monkeypatch.setattr(campaign, "KEPT", repo)
    monkeypatch.setattr(campaign, "SHIPPED_MODEL", tmp_path / "shipped.keras")
    (tmp_path / "shipped.keras").write_bytes(b"fast weights")
    home.mkdir()
    _epochs_done(home, "accurate-vgg", 119)
    assert campaign.keep("accurate-vgg") == 2 and not repo.exists()
    assert "not kept: 119 of 120 epochs" in capsys.readouterr().err
    _epochs_done(home, "accurate-vgg", 120)
    (home / "accurate-vgg" / "average.keras").write_bytes(b"averaged weights")
    (home / "accurate-vgg" / "best.keras").write_bytes(b"vgg weights")
    campaign.write_bank("accurate-vgg", {"epoch": np.array(100)})
    (campaign.BANK / "accurate-vgg").rename(campaign.BANK / "accurate-vgg.new")  # a crash between write_bank's renames
    assert campaign.keep("accurate-vgg") == 0
    assert (repo / "accurate-vgg.keras").read_bytes() == b"vgg weights"
    assert list(campaign.BANK.iterdir()) == []  # a kept campaign's bank is of no more use, wherever a crash left it
    # The machine is replaced: the cache is empty, the kept file is still there.
    monkeypatch.setattr(campaign, "HOME", tmp_path / "new-cache")
    assert campaign.current() == "accurate-vgg-distil"
    folder = tmp_path / "new-cache" / "accurate-vgg-distil"
    command = campaign.train_command("accurate-vgg-distil", tmp_path / "data.npz.xz", folder)
    assert str(folder / "teacher_accurate-vgg.keras") in command
    assert (folder / "teacher_accurate-vgg.keras").read_bytes() == b"vgg weights"


def test_kept_teachers_and_banked_runs_stay_out_of_a_deployment():
    root = Path(campaign.__file__).resolve().parent.parent
    patterns = [line for line in (root / ".slugignore").read_text().splitlines() if line and not line.startswith("#")]
    assert slugignored("models/teachers/accurate-vgg.keras", patterns)
    assert slugignored("models/campaign/accurate-vgg-distil/000.part", patterns)
    assert {"models/teachers/", "models/campaign/"} <= set((root / ".dockerignore").read_text().splitlines())


def test_no_file_the_repository_holds_or_would_take_is_over_its_20_mb_limit():
    """The weights, kept teachers and a bank's parts (``campaign.PART``) all stay under the repository's
    limit for one file: what git tracks, and what ``git add`` would take."""
    root = Path(campaign.__file__).resolve().parent.parent
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                            capture_output=True)
    if listed.returncode:
        pytest.skip("not a git checkout")
    files = [root / name for name in listed.stdout.decode().split("\0") if name and (root / name).is_file()]
    assert len(files) > 100 and campaign.PART < 20_000_000
    assert [f for f in files if f.stat().st_size >= 20_000_000] == []


def _float_weights(network: bytes) -> dict:
    """The float32 weights in a ``.keras`` file, by their path in its ``model.weights.h5``."""
    weights = {}
    with h5py.File(io.BytesIO(zipfile.ZipFile(io.BytesIO(network)).read("model.weights.h5"))) as h5:
        h5.visititems(lambda path, item: weights.update(
            {path: item[()]} if isinstance(item, h5py.Dataset) and item.dtype == np.float32 else {}))
    return weights


def test_a_run_banked_on_one_machine_goes_on_from_its_last_epoch_on_another(tmp_path, monkeypatch, capsys):
    """A real run: one epoch on a first machine, banked; a second machine with an empty cache unpacks the bank
    and trains the second epoch, its history and best network carried over, its weights those of one whole run
    on the first machine to within the bank's float16 rounding."""
    from .test_data import write_fer_csv

    rng = np.random.default_rng(7)
    rows = [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "Training") for i in range(48)]
    rows += [(i % 7, rng.integers(0, 256, (48, 48), dtype=np.uint8), "PublicTest") for i in range(14)]
    data = write_fer_csv(tmp_path / "tiny.csv.gz", rows)
    monkeypatch.setitem(campaign.RECIPES, "tiny", [
        "--widths", "4", "8", "--convs", "1", "1", "--batch-size", "16", "--optimizer", "sgd",
        "--learning-rate", "0.05", "--erasing", "0.5", "--epochs", "2", "--check-every", "1"])

    def train(machine: str, *flags: str) -> Path:
        monkeypatch.setattr(campaign, "HOME", tmp_path / machine)
        folder = tmp_path / machine / "tiny"
        done = subprocess.run(campaign.train_command("tiny", data, folder) + list(flags), cwd=campaign.ROOT,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return folder

    whole = np.load(train("one-machine") / "state.npz")  # before there is a bank to unpack
    first = train("first", "--stop-after", "1")
    monkeypatch.setattr(campaign, "PART", 5_000)  # the tiny network's bank in several parts, as a VGG's is
    assert campaign.bank("tiny") == 0
    parts = sorted((campaign.BANK / "tiny").iterdir())
    assert len(parts) > 2 and all(part.stat().st_size <= 5_000 for part in parts)
    banked = campaign.banked("tiny")
    assert banked["epoch"] == 1 and banked["var0"].dtype != np.float32  # float16: half the size
    best = _float_weights((first / "best.keras").read_bytes())
    assert best and not any(w.any() for w in _float_weights(banked["file:best.keras"].tobytes()).values())
    joined = _float_weights(campaign._unpack_file("best.keras", banked))  # its weights apart, in float16
    assert joined.keys() == best.keys() and all(np.allclose(joined[k], best[k], rtol=1e-3, atol=1e-4) for k in best)
    second = train("second")  # a new machine: an empty cache
    assert "tiny: unpacked" in capsys.readouterr().out
    history = (second / "history.csv").read_text().splitlines()
    assert history[:2] == (first / "history.csv").read_text().splitlines()  # epoch 0 from the first machine
    assert [row.split(",")[0] for row in history[1:]] == ["0", "1"]
    assert (second / "best.keras").exists()
    went_on = np.load(second / "state.npz")
    weights = [k for k in whole.files if k.startswith(("var", "opt"))]
    assert weights and all(np.allclose(went_on[k], whole[k], rtol=1e-2, atol=2e-3) for k in weights)


def test_a_crash_while_a_bank_is_written_leaves_one_whole_bank(monkeypatch):
    campaign.write_bank("fast-sgd", {"epoch": np.array(4)})
    (campaign.BANK / "fast-sgd").rename(campaign.BANK / "fast-sgd.new")  # the crash between write_bank's renames
    assert int(campaign.banked("fast-sgd")["epoch"]) == 4
    with monkeypatch.context() as crash:  # and the next write crashes while it writes its parts
        crash.setattr(Path, "write_bytes", lambda *_: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            campaign.write_bank("fast-sgd", {"epoch": np.array(5)})
    assert int(campaign.banked("fast-sgd")["epoch"]) == 4
    campaign.write_bank("fast-sgd", {"epoch": np.array(5)})
    assert int(campaign.banked("fast-sgd")["epoch"]) == 5
    assert [folder.name for folder in campaign.BANK.iterdir()] == ["fast-sgd"]


def test_a_bank_is_unpacked_only_over_a_cache_that_holds_fewer_epochs(tmp_path, monkeypatch):
    folder = tmp_path / "cache" / "fast-sgd"
    folder.mkdir(parents=True)
    campaign.write_bank("fast-sgd", {"epoch": np.array(3), "best": np.array(0.6), "var0": np.ones(4, np.float16),
                                     "file:history.csv": np.frombuffer(b"banked", np.uint8)})
    np.savez(folder / "state.npz", epoch=5, best=0.7, var0=np.zeros(4, np.float32))
    (folder / "history.csv").write_text("cached")
    campaign.train_command("fast-sgd", tmp_path / "data.npz.xz", folder)
    assert int(np.load(folder / "state.npz")["epoch"]) == 5 and (folder / "history.csv").read_text() == "cached"
    np.savez(folder / "state.npz", epoch=2, best=0.5, var0=np.zeros(4, np.float32))
    campaign.train_command("fast-sgd", tmp_path / "data.npz.xz", folder)
    state = np.load(folder / "state.npz")
    assert int(state["epoch"]) == 3 and state["var0"].dtype == np.float32 and state["var0"].tolist() == [1.0] * 4
    assert (folder / "history.csv").read_text() == "banked"


def _fake_trainer(order: Path, code: int = 0):
    """A train_command whose trainer is a real child process that writes its campaign's whole history
    (and weight average) at once, notes its name in ``order``, and exits with ``code``."""
    def train_command(name, data, folder):
        folder.mkdir(parents=True, exist_ok=True)
        header = "epoch,learning_rate,loss,accuracy,val_accuracy,val_accuracy_mirrored,seconds,finished_at"
        rows = [f"{e},0.01,1.0,0.5,0.5,0.5,100.0,2026-12-05T00:00:00" for e in range(campaign.planned_epochs(name))]
        script = (f"from pathlib import Path; f = Path({str(folder)!r})\n"
                  f"(f / 'history.csv').write_text({chr(10).join([header, *rows]) + chr(10)!r})\n"
                  f"(f / 'average.keras').write_bytes(b'averaged')\n"
                  f"with open({str(order)!r}, 'a') as o: o.write({name!r} + ' ')\n"
                  f"raise SystemExit({code})")
        return [sys.executable, "-c", script]
    return train_command


def test_the_queue_runs_one_campaign_after_another_in_one_background_process(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    monkeypatch.setattr(campaign, "QUEUE", ("fast-tune", "fast-sgd-b"))
    monkeypatch.setattr(campaign, "train_command", _fake_trainer(tmp_path / "order"))
    assert campaign.chain(tmp_path / "data.npz.xz") == 0
    assert (tmp_path / "order").read_text() == "fast-tune fast-sgd-b "
    assert campaign.finished("fast-tune") and campaign.finished("fast-sgd-b")
    assert capsys.readouterr().out.count("trainer started") == 2
    # Run again once the queue is done: nothing starts.
    assert campaign.chain(tmp_path / "data.npz.xz") == 0
    assert (tmp_path / "order").read_text() == "fast-tune fast-sgd-b "


def test_a_failed_or_killed_trainer_stops_the_queue(tmp_path, monkeypatch):
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    monkeypatch.setattr(campaign, "QUEUE", ("fast-tune", "fast-sgd-b"))
    monkeypatch.setattr(campaign, "train_command", _fake_trainer(tmp_path / "order", code=-9 % 256))
    assert campaign.chain(tmp_path / "data.npz.xz") == 247
    assert (tmp_path / "order").read_text() == "fast-tune "


def test_make_campaign_starts_the_queue_and_a_named_start_only_its_trainer(tmp_path, monkeypatch):
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    data = tmp_path / "data.npz.xz"
    data.write_bytes(b"")
    launched = []

    def launch(command, log, env):
        launched.append((command, Path(log.name).name, subprocess.Popen([sys.executable, "-c", "pass"])))
        return launched[-1][2]

    monkeypatch.setattr(campaign, "launch", launch)
    assert campaign.start("fast-sgd-b", data, queue=True) == 0
    command, log, proc = launched[-1]
    assert command[1:] == [str(Path(campaign.__file__).resolve()), "chain", "--data", str(data)] and log == "queue.log"
    proc.wait()
    assert campaign.start("fast-sgd-b", data) == 0
    command, log, proc = launched[-1]
    assert command[1:4] == ["-m", "fer", "train"] and log == "train.log"
    proc.wait()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads the queue's command line from /proc")
def test_a_second_make_campaign_between_two_trainers_starts_no_second_queue(tmp_path, monkeypatch, capsys):
    """In the moment after one trainer has ended and before the queue's process starts the next, no campaign
    has a live pid; the queue's own pid (a real, sleeping process named like it) still stops a second one."""
    monkeypatch.setattr(campaign, "HOME", tmp_path)
    data = tmp_path / "data.npz.xz"
    data.write_bytes(b"")
    launched = []

    def launch(command, log, env):
        code = "import time; print('up', flush=True); time.sleep(60)"
        launched.append(subprocess.Popen([sys.executable, "-c", code, "campaign.py"], stdout=subprocess.PIPE))
        # its command line reads empty until the child runs (see the test above); a real queue is long up by
        # the time a second make campaign comes
        assert launched[-1].stdout.readline() == b"up\n"
        return launched[-1]

    monkeypatch.setattr(campaign, "launch", launch)
    try:
        assert campaign.start("fast-tune", data, queue=True) == 0
        (tmp_path / "fast-tune" / "pid").write_text("0")  # its trainer has ended, the next not yet started
        capsys.readouterr()
        assert campaign.start("fast-tune", data, queue=True) == 0
        assert len(launched) == 1
        assert f"the queue is already running (pid {launched[0].pid})" in capsys.readouterr().out
        launched[0].kill()
        launched[0].wait()
        assert campaign.start("fast-tune", data, queue=True) == 0  # the queue gone, a new one starts
        assert len(launched) == 2
    finally:
        for proc in launched:
            proc.kill()
            proc.wait()
            proc.stdout.close()
