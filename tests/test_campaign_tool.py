"""tools/campaign.py: the command a campaign runs, and the shipped network a second cycle starts from."""

import filecmp

from tools import campaign


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
