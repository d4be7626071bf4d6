"""Drive health from ``smartctl --json``: parse, judge, and run smartctl.

Pure Python, no Django. :func:`parse_smartctl` turns smartctl's JSON (ATA/SATA,
NVMe and SCSI/SAS devices alike) into a :class:`DriveHealth` with the counters
that predict failure and a verdict with human-readable reasons.

Verdict policy (the vault stores camera originals, so the bar is "would I trust
this drive with the only copy?"):

``failing``
    smartctl's overall-health self-assessment FAILED; an ATA attribute is at or
    below its threshold *now*; an NVMe critical-warning bit other than temperature
    (spare below threshold, reliability degraded, read-only, volatile-memory backup
    failed, persistent memory unreliable); NVMe percentage used >= 100; or the
    drive has already returned data it could not read: NVMe media errors, SCSI
    uncorrected read/write/verify errors, ATA Reported_Uncorrect (187) or
    Offline_Uncorrectable (198) above zero.
``warning``
    Remapped or suspect sectors: reallocated sectors (5), current pending sectors
    (197), SCSI grown defects; interface CRC errors (199, usually the cable); an
    ATA attribute that failed in the past; entries in the ATA error log; a failed
    self-test in the log; NVMe temperature warning or percentage used >= 90.
``healthy``
    SMART status reported as passed and none of the above.
``unknown``
    The device could not be opened or SMART status was not reported.

:func:`run_smartctl` runs ``smartctl --json -a DEVICE`` and parses the result.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DriveHealth",
    "SmartError",
    "SmartctlNotFoundError",
    "Verdict",
    "parse_smartctl",
    "run_smartctl",
]


class SmartError(RuntimeError):
    """smartctl output that cannot be used (not JSON, not smartctl's, or smartctl crashed)."""


class SmartctlNotFoundError(SmartError):
    """smartctl is not installed or not on PATH."""


class Verdict(enum.StrEnum):
    """Overall judgement of a drive; see the module docstring for the policy."""

    HEALTHY = "healthy"
    WARNING = "warning"
    FAILING = "failing"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class DriveHealth:
    """What smartctl reported about one drive, and the verdict.

    Counters are None when the drive type does not have them or smartctl did not
    report them (not zero: "not reported" is different from "none").

    Attributes:
        device: Device path smartctl opened (``/dev/sda``).
        protocol: ``"ATA"``, ``"NVMe"`` or ``"SCSI"`` as smartctl names it.
        model / serial / firmware: Identity; SCSI model is ``vendor product``.
        capacity_bytes: User capacity.
        passed: SMART overall-health self-assessment; None if not reported.
        temperature_c / power_on_hours: Current temperature, age.
        reallocated_sectors / pending_sectors / offline_uncorrectable /
        reported_uncorrectable / crc_errors: ATA attributes 5, 197, 198, 187, 199 (raw).
        nvme_critical_warning / nvme_percentage_used / nvme_media_errors /
        nvme_available_spare / nvme_available_spare_threshold: NVMe health log.
        scsi_grown_defects / scsi_uncorrected_errors: SCSI grown defect list and the
            sum of uncorrected read/write/verify errors.
        verdict: :class:`Verdict`.
        reasons: Why, most serious first ("5 reallocated sectors").
        messages: smartctl's own messages (errors and warnings), verbatim.
        exit_status: smartctl's exit status bit mask, if present.
    """

    device: str | None
    protocol: str | None
    model: str | None
    serial: str | None
    firmware: str | None
    capacity_bytes: int | None
    passed: bool | None
    temperature_c: int | None
    power_on_hours: int | None
    reallocated_sectors: int | None
    pending_sectors: int | None
    offline_uncorrectable: int | None
    reported_uncorrectable: int | None
    crc_errors: int | None
    nvme_critical_warning: int | None
    nvme_percentage_used: int | None
    nvme_media_errors: int | None
    nvme_available_spare: int | None
    nvme_available_spare_threshold: int | None
    scsi_grown_defects: int | None
    scsi_uncorrected_errors: int | None
    verdict: Verdict
    reasons: tuple[str, ...]
    messages: tuple[str, ...]
    exit_status: int | None


# smartctl exit status bits (smartctl(8), "RETURN VALUES").
_EXIT_OPEN_FAILED = 1 << 1
_EXIT_SELF_TEST_ERRORS = 1 << 7

# NVMe critical warning bits (NVMe base spec, SMART / Health log byte 0).
_NVME_WARNINGS = (
    (0x01, "available spare is below its threshold", Verdict.FAILING),
    (0x02, "temperature is outside its thresholds", Verdict.WARNING),
    (0x04, "NVM subsystem reliability is degraded", Verdict.FAILING),
    (0x08, "media is in read-only mode", Verdict.FAILING),
    (0x10, "volatile memory backup device has failed", Verdict.FAILING),
    (0x20, "persistent memory region is unreliable", Verdict.FAILING),
)


def _get(data: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(data, Mapping) and isinstance(key, str):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _str(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def parse_smartctl(output: Mapping[str, Any] | str | bytes) -> DriveHealth:
    """Parse ``smartctl --json`` output (already-loaded dict, or the JSON text).

    Works with any of smartctl's JSON modes (``-a``, ``-x``, ``--info --health
    --attributes``); fields the mode did not produce are None.

    Returns:
        A :class:`DriveHealth` with verdict and reasons.

    Raises:
        SmartError: if the text is not JSON or not a smartctl JSON object.
    """
    data: Any
    if isinstance(output, str | bytes):
        try:
            data = json.loads(output)
        except ValueError as exc:
            raise SmartError(
                f"smartctl output is not JSON ({exc}); run smartctl with --json (smartmontools 7.0 or later)"
            ) from None
    else:
        data = output
    if not isinstance(data, Mapping) or not isinstance(data.get("smartctl"), Mapping):
        raise SmartError("not smartctl --json output: no 'smartctl' object at the top level")

    protocol = _str(_get(data, "device", "protocol"))
    messages = tuple(
        str(m.get("string", "")).strip()
        for m in (_get(data, "smartctl", "messages") or [])
        if isinstance(m, Mapping) and str(m.get("string", "")).strip()
    )
    exit_status = _int(_get(data, "smartctl", "exit_status"))
    passed_raw = _get(data, "smart_status", "passed")
    passed = passed_raw if isinstance(passed_raw, bool) else None

    attributes: dict[int, Mapping[str, Any]] = {}
    for attribute in _get(data, "ata_smart_attributes", "table") or []:
        if isinstance(attribute, Mapping) and _int(attribute.get("id")) is not None:
            attributes[int(attribute["id"])] = attribute

    def raw(attribute_id: int) -> int | None:
        attribute = attributes.get(attribute_id)
        return None if attribute is None else _int(_get(attribute, "raw", "value"))

    nvme_log = _get(data, "nvme_smart_health_information_log")
    scsi_log = _get(data, "scsi_error_counter_log")
    scsi_uncorrected: int | None = None
    if isinstance(scsi_log, Mapping):
        counts = [
            _int(_get(scsi_log, kind, "total_uncorrected_errors")) for kind in ("read", "write", "verify")
        ]
        if any(c is not None for c in counts):
            scsi_uncorrected = sum(c for c in counts if c is not None)

    model = _str(data.get("model_name")) or _str(data.get("scsi_model_name"))
    if model is None and (_str(data.get("scsi_vendor")) or _str(data.get("scsi_product"))):
        model = " ".join(p for p in (_str(data.get("scsi_vendor")), _str(data.get("scsi_product"))) if p)

    health = DriveHealth(
        device=_str(_get(data, "device", "name")),
        protocol=protocol,
        model=model,
        serial=_str(data.get("serial_number")),
        firmware=_str(data.get("firmware_version")) or _str(data.get("scsi_revision")),
        capacity_bytes=_int(_get(data, "user_capacity", "bytes")) or _int(data.get("nvme_total_capacity")),
        passed=passed,
        temperature_c=_int(_get(data, "temperature", "current")),
        power_on_hours=_int(_get(data, "power_on_time", "hours")),
        reallocated_sectors=raw(5),
        pending_sectors=raw(197),
        offline_uncorrectable=raw(198),
        reported_uncorrectable=raw(187),
        crc_errors=raw(199),
        nvme_critical_warning=_int(_get(nvme_log, "critical_warning")),
        nvme_percentage_used=_int(_get(nvme_log, "percentage_used")),
        nvme_media_errors=_int(_get(nvme_log, "media_errors")),
        nvme_available_spare=_int(_get(nvme_log, "available_spare")),
        nvme_available_spare_threshold=_int(_get(nvme_log, "available_spare_threshold")),
        scsi_grown_defects=_int(data.get("scsi_grown_defect_list")),
        scsi_uncorrected_errors=scsi_uncorrected,
        verdict=Verdict.UNKNOWN,
        reasons=(),
        messages=messages,
        exit_status=exit_status,
    )
    verdict, reasons = _judge(data, health, attributes)
    return dataclasses.replace(health, verdict=verdict, reasons=tuple(reasons))


def _judge(
    data: Mapping[str, Any], h: DriveHealth, attributes: Mapping[int, Mapping[str, Any]]
) -> tuple[Verdict, list[str]]:
    failing: list[str] = []
    warning: list[str] = []

    # Without a "device" object smartctl never got as far as talking to the drive.
    if (h.exit_status is not None and h.exit_status & _EXIT_OPEN_FAILED) or "device" not in data:
        detail = "; ".join(h.messages) or "smartctl reported no device"
        return Verdict.UNKNOWN, [f"device could not be opened: {detail}"]

    if h.passed is False:
        failing.append("SMART overall-health self-assessment FAILED")

    for attribute_id, attribute in sorted(attributes.items()):
        when_failed = str(attribute.get("when_failed") or "")
        name = str(attribute.get("name") or f"attribute {attribute_id}")
        if when_failed == "now":
            failing.append(
                f"{name} (attribute {attribute_id}) is at or below its failure threshold "
                f"(value {attribute.get('value')}, threshold {attribute.get('thresh')})"
            )
        elif when_failed == "past":
            warning.append(f"{name} (attribute {attribute_id}) was below its failure threshold in the past")

    def count(value: int | None, bucket: list[str], singular: str) -> None:
        if value is not None and value > 0:
            bucket.append(_plural(value, singular))

    count(h.reported_uncorrectable, failing, "reported uncorrectable error")
    count(h.offline_uncorrectable, failing, "offline uncorrectable sector")
    count(h.nvme_media_errors, failing, "NVMe media error")
    count(h.scsi_uncorrected_errors, failing, "uncorrected SCSI read/write/verify error")
    count(h.reallocated_sectors, warning, "reallocated sector")
    count(h.pending_sectors, warning, "pending sector")
    count(h.scsi_grown_defects, warning, "grown defect")
    count(h.crc_errors, warning, "interface CRC error")

    critical = h.nvme_critical_warning
    if critical:
        for bit, text, severity in _NVME_WARNINGS:
            if critical & bit:
                (failing if severity is Verdict.FAILING else warning).append(f"NVMe critical warning: {text}")
        if critical & ~0x3F:
            failing.append(f"NVMe critical warning 0x{critical:02X} has unknown bits set")
    used = h.nvme_percentage_used
    if used is not None:
        if used >= 100:
            failing.append(f"NVMe endurance used up ({used}% used)")
        elif used >= 90:
            warning.append(f"NVMe endurance nearly used up ({used}% used)")
    spare, threshold = h.nvme_available_spare, h.nvme_available_spare_threshold
    # Normally also flagged by critical-warning bit 0; report it once either way.
    if spare is not None and threshold is not None and spare < threshold and not (critical or 0) & 0x01:
        failing.append(f"NVMe available spare {spare}% is below its threshold {threshold}%")

    error_count = _int(_get(data, "ata_smart_error_log", "summary", "count"))
    if error_count is None:
        error_count = _int(_get(data, "ata_smart_error_log", "extended", "count"))
    if error_count:
        warning.append(f"{_plural(error_count, 'error')} in the ATA error log")
    if h.exit_status is not None and h.exit_status & _EXIT_SELF_TEST_ERRORS:
        warning.append("the self-test log contains errors")

    if failing:
        return Verdict.FAILING, failing + warning
    if warning:
        return Verdict.WARNING, warning
    if h.passed is None:
        detail = "; ".join(h.messages)
        return Verdict.UNKNOWN, ["SMART status not reported" + (f": {detail}" if detail else "")]
    return Verdict.HEALTHY, []


def run_smartctl(device: str, *, smartctl: str = "smartctl", timeout: float = 120.0) -> DriveHealth:
    """Run ``smartctl --json -a DEVICE`` and parse its output.

    smartctl's non-zero exit codes are a bit mask describing the drive, not a
    failure of the command, so they are parsed rather than raised.

    Args:
        device: Device path, e.g. ``/dev/sda`` or ``/dev/nvme0``.
        smartctl: Program name or path.
        timeout: Seconds before giving up (a dying drive can hang a command).

    Returns:
        The :class:`DriveHealth`.

    Raises:
        ValueError: if ``device`` is empty or starts with ``-`` (would be an option).
        SmartctlNotFoundError: if smartctl is not installed.
        SmartError: on timeout, or when smartctl printed no usable JSON.
    """
    if not device or device.startswith("-"):
        raise ValueError(f"{device!r} is not a device path")
    program = shutil.which(smartctl)
    if program is None:
        raise SmartctlNotFoundError(
            f"{smartctl!r} was not found on PATH; install smartmontools 7.0 or later "
            "(Debian/Ubuntu: apt install smartmontools; macOS: brew install smartmontools)"
        )
    try:
        completed = subprocess.run(
            [program, "--json", "-a", device], capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise SmartError(f"smartctl did not finish within {timeout:g} s for {device}") from None
    except OSError as exc:
        raise SmartctlNotFoundError(f"could not run {program}: {exc}") from exc
    try:
        return parse_smartctl(completed.stdout)
    except SmartError as exc:
        stderr = completed.stderr.decode("utf-8", "replace").strip()
        detail = f"; stderr: {stderr[:500]}" if stderr else ""
        raise SmartError(f"{device}: {exc} (exit status {completed.returncode}){detail}") from None
