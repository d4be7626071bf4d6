"""The drives behind a mount point: mountinfo as Linux writes it, a /sys tree as it lays it out."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.blockdev import DeviceError, drives_behind, mount_of

MOUNTINFO = r"""22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /proc rw,nosuid - proc proc rw
51 22 8:17 / /Volumes/SHUTTLE\04001 rw,relatime shared:30 - exfat /dev/sdb1 rw
52 22 9:0 / /srv/raid rw,relatime shared:31 - xfs /dev/md0 rw
53 22 0:50 / /mnt/nas rw,relatime shared:32 - nfs4 nas:/export rw
54 22 259:1 / /mnt/fast rw,relatime shared:33 - ext4 /dev/nvme0n1p1 rw
"""


@pytest.fixture
def sys_block(tmp_path: Path) -> Path:
    """/sys/class/block with sda1, sdb1, nvme0n1p1 as partitions and md0 over sdc1 + sdd1."""
    devices = tmp_path / "devices"
    block = tmp_path / "block"
    block.mkdir()
    disks = {"sda": ["sda1"], "sdb": ["sdb1"], "sdc": ["sdc1"], "sdd": ["sdd1"], "nvme0n1": ["nvme0n1p1"]}
    for disk, parts in disks.items():
        (devices / disk).mkdir(parents=True)
        (block / disk).symlink_to(devices / disk)
        for part in parts:
            (devices / disk / part).mkdir()
            (devices / disk / part / "partition").write_text("1\n")
            (block / part).symlink_to(devices / disk / part)
    (devices / "md0" / "slaves").mkdir(parents=True)
    (block / "md0").symlink_to(devices / "md0")
    for member in ("sdc1", "sdd1"):
        (devices / "md0" / "slaves" / member).symlink_to(devices / member[:-1] / member)
    return block


def test_the_longest_mount_wins_and_escapes_are_decoded() -> None:
    assert mount_of("/Volumes/SHUTTLE 01/A001", mountinfo=MOUNTINFO) == (
        "/Volumes/SHUTTLE 01",
        "/dev/sdb1",
        "exfat",
    )
    assert mount_of("/home/dit", mountinfo=MOUNTINFO) == ("/", "/dev/sda1", "ext4")


def test_a_partition_resolves_to_its_disk_and_a_raid_to_its_members(sys_block: Path) -> None:
    assert drives_behind("/Volumes/SHUTTLE 01", mountinfo=MOUNTINFO, sys_block=sys_block) == ["/dev/sdb"]
    assert drives_behind("/mnt/fast/x", mountinfo=MOUNTINFO, sys_block=sys_block) == ["/dev/nvme0n1"]
    assert drives_behind("/srv/raid/day1", mountinfo=MOUNTINFO, sys_block=sys_block) == [
        "/dev/sdc",
        "/dev/sdd",
    ]


def test_a_network_share_says_it_is_not_a_local_drive(sys_block: Path) -> None:
    with pytest.raises(DeviceError, match=r"nfs4 mount .* not a local drive"):
        drives_behind("/mnt/nas/day1", mountinfo=MOUNTINFO, sys_block=sys_block)


def test_a_vanished_device_is_said_so(sys_block: Path) -> None:
    info = "22 1 8:1 / / rw - ext4 /dev/reelvault-gone-sdq1 rw\n"
    with pytest.raises(DeviceError, match="has vanished"):
        drives_behind("/x", mountinfo=info, sys_block=sys_block)
