"""smartctl --json: every real sample's verdict and reasons, synthetic edge cases, running smartctl."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from formats.smart import (
    DriveHealth,
    SmartctlNotFoundError,
    SmartError,
    Verdict,
    parse_smartctl,
    run_smartctl,
)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples" / "smartctl"


def load(name: str) -> DriveHealth:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip("../shared/samples is not present in this checkout")
    return parse_smartctl(path.read_bytes())


def raw_json(name: str) -> dict[str, Any]:
    path = SAMPLES / name
    if not path.is_file():
        pytest.skip("../shared/samples is not present in this checkout")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


# --------------------------------------------------------------------------- #
# Real samples
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("name", "protocol", "model", "capacity", "temperature", "hours"),
    [
        ("exporter_WDC_WD20EFRX-68EUZN0_17.json", "ATA", "WDC WD20EFRX-68EUZN0", 2000398934016, 34, 47657),
        (
            "exporter_sat-Samsung_based_SSDs-SAMSUNG_MZ7L3240HCHQ-00A07-sda.json",
            "ATA",
            "SAMSUNG MZ7L3240HCHQ-00A07",
            240057409536,
            30,
            10106,
        ),
        ("scrutiny_smart-ata-full.json", "ATA", "Samsung SSD 860 EVO 500GB", 500107862016, 36, 14551),
        (
            "exporter_SAMSUNG_MZVL21T0HCLR-00B00_23.json",
            "NVMe",
            "SAMSUNG MZVL21T0HCLR-00B00",
            1024209543168,
            29,
            10423,
        ),
    ],
)
def test_healthy_drives(
    name: str, protocol: str, model: str, capacity: int, temperature: int, hours: int
) -> None:
    health = load(name)
    assert health.verdict is Verdict.HEALTHY
    assert health.reasons == ()
    assert health.passed is True
    assert (health.protocol, health.model, health.capacity_bytes) == (protocol, model, capacity)
    assert (health.temperature_c, health.power_on_hours) == (temperature, hours)


def test_healthy_sata_hdd_counters_are_zero_not_none() -> None:
    health = load("exporter_WDC_WD20EFRX-68EUZN0_17.json")
    assert (health.reallocated_sectors, health.pending_sectors, health.offline_uncorrectable) == (0, 0, 0)
    assert health.crc_errors == 0
    assert health.reported_uncorrectable is None  # this drive has no attribute 187
    assert health.nvme_media_errors is None and health.scsi_grown_defects is None
    assert health.serial == "REDACTED" and health.device == "/dev/sdb"


def test_healthy_nvme_fields() -> None:
    health = load("exporter_SAMSUNG_MZVL21T0HCLR-00B00_23.json")
    assert (health.nvme_critical_warning, health.nvme_percentage_used, health.nvme_media_errors) == (0, 16, 0)
    assert (health.nvme_available_spare, health.nvme_available_spare_threshold) == (100, 10)
    assert health.reallocated_sectors is None


def test_hdd_with_reallocated_sectors_is_a_warning() -> None:
    health = load("exporter_ST3500418AS_12.json")
    assert health.verdict is Verdict.WARNING
    assert health.reasons == ("304 reallocated sectors",)
    assert health.passed is True
    assert health.model == "ST3500418AS"
    assert (health.pending_sectors, health.offline_uncorrectable, health.reported_uncorrectable) == (0, 0, 0)


def test_failing_hdd_behind_usb_bridge() -> None:
    health = load("scrutiny_smart-fail2.json")
    assert health.verdict is Verdict.FAILING
    assert health.passed is False
    assert health.reasons[0] == "SMART overall-health self-assessment FAILED"
    assert (
        "Reallocated_Sector_Ct (attribute 5) is at or below its failure threshold (value 1, threshold 5)"
        in health.reasons
    )
    assert "1975 reallocated sectors" in health.reasons
    assert "8 pending sectors" in health.reasons
    assert "56 errors in the ATA error log" in health.reasons
    assert "the self-test log contains errors" in health.reasons  # exit status 216 has bit 7
    assert (health.model, health.serial, health.exit_status) == (
        "Hitachi HDS721050DLE630",
        "MSK423Y20S3HBC",
        216,
    )


def test_failing_nvme_critical_warning() -> None:
    health = load("exporter_nvme-null-SAMSUNG_MZWLL3T2HAJQ-00005-nvme0.json")
    assert health.verdict is Verdict.FAILING
    assert health.reasons == (
        "SMART overall-health self-assessment FAILED",
        "NVMe critical warning: volatile memory backup device has failed",
    )
    assert health.nvme_critical_warning == 16
    assert health.capacity_bytes == 3200631791616  # only nvme_total_capacity in this file


def test_nvme_with_media_errors_fails_although_smart_passed() -> None:
    health = load("scrutiny_smart-nvme-failed.json")
    assert health.passed is True
    assert health.verdict is Verdict.FAILING
    assert health.reasons == ("7 NVMe media errors",)
    assert health.nvme_percentage_used == 3


def test_sas_drive_with_uncorrected_errors_and_grown_defects() -> None:
    health = load("exporter_SEAGATE_ST373453LC_26.json")
    assert health.protocol == "SCSI"
    assert health.model == "SEAGATE ST373453LC"
    assert health.firmware == "DX10"
    assert health.passed is True
    assert health.scsi_grown_defects == 260
    assert health.scsi_uncorrected_errors == 536  # 1 read + 535 write
    assert health.verdict is Verdict.FAILING
    assert health.reasons == ("536 uncorrected SCSI read/write/verify errors", "260 grown defects")
    assert (health.temperature_c, health.power_on_hours) == (33, 102880)


def test_device_that_could_not_be_opened_is_unknown() -> None:
    health = load("scrutiny_smart-fail.json")
    assert health.verdict is Verdict.UNKNOWN
    assert health.reasons == (
        "device could not be opened: Smartctl open device: /dev/sda failed: \\\\.\\PhysicalDrive0: "
        "Open failed, Error=5",
    )
    assert health.passed is None and health.model is None and health.device is None
    assert health.exit_status == 2


def test_dict_str_and_bytes_inputs_agree() -> None:
    data = raw_json("exporter_ST3500418AS_12.json")
    assert (
        parse_smartctl(data) == parse_smartctl(json.dumps(data)) == parse_smartctl(json.dumps(data).encode())
    )


# --------------------------------------------------------------------------- #
# Synthetic cases around the thresholds
# --------------------------------------------------------------------------- #


def ata(**attributes: int) -> dict[str, Any]:
    ids = {"reallocated": 5, "reported": 187, "pending": 197, "offline": 198, "crc": 199}
    return {
        "smartctl": {"exit_status": 0},
        "device": {"name": "/dev/sdx", "protocol": "ATA"},
        "smart_status": {"passed": True},
        "ata_smart_attributes": {
            "table": [
                {"id": ids[k], "name": k, "value": 100, "thresh": 10, "when_failed": "", "raw": {"value": v}}
                for k, v in attributes.items()
            ]
        },
    }


@pytest.mark.parametrize(
    ("attributes", "verdict", "reasons"),
    [
        ({"reallocated": 0, "pending": 0}, Verdict.HEALTHY, ()),
        ({"reallocated": 5}, Verdict.WARNING, ("5 reallocated sectors",)),
        ({"reallocated": 1}, Verdict.WARNING, ("1 reallocated sector",)),
        ({"pending": 2}, Verdict.WARNING, ("2 pending sectors",)),
        ({"crc": 3}, Verdict.WARNING, ("3 interface CRC errors",)),
        ({"offline": 1}, Verdict.FAILING, ("1 offline uncorrectable sector",)),
        (
            {"reported": 4, "reallocated": 8},
            Verdict.FAILING,
            ("4 reported uncorrectable errors", "8 reallocated sectors"),
        ),
    ],
)
def test_ata_counters(attributes: dict[str, int], verdict: Verdict, reasons: tuple[str, ...]) -> None:
    health = parse_smartctl(ata(**attributes))
    assert health.verdict is verdict
    assert health.reasons == reasons


def test_ata_attribute_failed_in_the_past() -> None:
    data = ata(reallocated=0)
    data["ata_smart_attributes"]["table"][0]["when_failed"] = "past"
    health = parse_smartctl(data)
    assert health.verdict is Verdict.WARNING
    assert health.reasons == ("reallocated (attribute 5) was below its failure threshold in the past",)


def nvme(**log: int) -> dict[str, Any]:
    return {
        "smartctl": {"exit_status": 0},
        "device": {"name": "/dev/nvme0", "protocol": "NVMe"},
        "smart_status": {"passed": True},
        "nvme_smart_health_information_log": {"available_spare": 100, "available_spare_threshold": 10, **log},
    }


@pytest.mark.parametrize(
    ("log", "verdict", "reasons"),
    [
        ({"critical_warning": 0, "percentage_used": 89}, Verdict.HEALTHY, ()),
        ({"percentage_used": 95}, Verdict.WARNING, ("NVMe endurance nearly used up (95% used)",)),
        ({"percentage_used": 100}, Verdict.FAILING, ("NVMe endurance used up (100% used)",)),
        (
            {"critical_warning": 2},
            Verdict.WARNING,
            ("NVMe critical warning: temperature is outside its thresholds",),
        ),
        ({"critical_warning": 8}, Verdict.FAILING, ("NVMe critical warning: media is in read-only mode",)),
        ({"available_spare": 5}, Verdict.FAILING, ("NVMe available spare 5% is below its threshold 10%",)),
        (
            {"critical_warning": 1, "available_spare": 5},
            Verdict.FAILING,
            ("NVMe critical warning: available spare is below its threshold",),
        ),
    ],
)
def test_nvme_thresholds(log: dict[str, int], verdict: Verdict, reasons: tuple[str, ...]) -> None:
    health = parse_smartctl(nvme(**log))
    assert health.verdict is verdict
    assert health.reasons == reasons


def test_missing_smart_status_is_unknown() -> None:
    data = ata(reallocated=0)
    del data["smart_status"]
    data["smartctl"]["messages"] = [{"string": "SMART support is: Unavailable", "severity": "warning"}]
    health = parse_smartctl(data)
    assert health.verdict is Verdict.UNKNOWN
    assert health.reasons == ("SMART status not reported: SMART support is: Unavailable",)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            "smartctl 7.3 2022-02-28 r5338\nSMART overall-health self-assessment test result: PASSED\n",
            "not JSON",
        ),
        ("[1, 2]", "no 'smartctl' object"),
        ('{"device": {}}', "no 'smartctl' object"),
    ],
)
def test_unusable_output(output: str, message: str) -> None:
    with pytest.raises(SmartError, match=message):
        parse_smartctl(output)


# --------------------------------------------------------------------------- #
# Running smartctl
# --------------------------------------------------------------------------- #


def fake_smartctl(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "smartctl"
    script.write_text(f"#!{sys.executable}\nimport sys, pathlib\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_run_smartctl_parses_output_and_ignores_bitmask_exit_code(tmp_path: Path) -> None:
    sample = SAMPLES / "exporter_ST3500418AS_12.json"
    if not sample.is_file():
        pytest.skip("../shared/samples is not present in this checkout")
    argv_file = tmp_path / "argv.json"
    script = fake_smartctl(
        tmp_path,
        f"pathlib.Path({str(argv_file)!r}).write_text(__import__('json').dumps(sys.argv[1:]))\n"
        f"sys.stdout.write(pathlib.Path({str(sample)!r}).read_text())\n"
        "sys.exit(64)",  # bit 6: error log has entries -- not a failure of the command
    )
    health = run_smartctl("/dev/sdz", smartctl=str(script))
    assert json.loads(argv_file.read_text()) == ["--json", "-a", "/dev/sdz"]
    assert health.verdict is Verdict.WARNING
    assert health.reasons == ("304 reallocated sectors",)


def test_run_smartctl_missing_program() -> None:
    with pytest.raises(SmartctlNotFoundError, match="install smartmontools"):
        run_smartctl("/dev/sda", smartctl="smartctl-that-does-not-exist-7f3a")


def test_run_smartctl_garbage_output(tmp_path: Path) -> None:
    script = fake_smartctl(tmp_path, "sys.stderr.write('Permission denied\\n'); sys.exit(2)")
    with pytest.raises(SmartError) as caught:
        run_smartctl("/dev/sda", smartctl=str(script))
    assert "/dev/sda" in str(caught.value)
    assert "exit status 2" in str(caught.value)
    assert "stderr: Permission denied" in str(caught.value)


def test_run_smartctl_timeout(tmp_path: Path) -> None:
    script = fake_smartctl(tmp_path, "import time; time.sleep(30)")
    with pytest.raises(SmartError, match=r"did not finish within 0\.5 s"):
        run_smartctl("/dev/sda", smartctl=str(script), timeout=0.5)


@pytest.mark.parametrize("device", ["", "-a", "--scan"])
def test_run_smartctl_refuses_option_like_devices(device: str) -> None:
    with pytest.raises(ValueError, match="not a device path"):
        run_smartctl(device)
