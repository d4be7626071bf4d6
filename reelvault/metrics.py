"""Prometheus metrics at ``/metrics``, in the text exposition format (version 0.0.4), written here.

Every value is read from the database at scrape time (a handful of aggregate
queries), so any web process answers the same and nothing is lost on a
restart. Counters are sums over job rows, which are never deleted.

Access: ``Authorization: Bearer $REELVAULT_METRICS_TOKEN`` (for Prometheus'
``authorization`` scrape setting), or the session of a staff user (to look
in a browser; it sees only the projects where it has a role, superusers see
all). Without either: 401; a logged-in non-staff user: 403. With the token
unset only staff sessions get in.
https://prometheus.io/docs/instrumenting/exposition_formats/
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = Mapping[str, str]


@dataclass
class Metric:
    name: str
    kind: str  # counter, gauge
    help: str
    samples: list[tuple[Labels, float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if value != value:  # NaN
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render(metrics: Iterable[Metric]) -> str:
    """The exposition text: HELP and TYPE lines, then one line per sample."""
    lines: list[str] = []
    for metric in metrics:
        lines.append(f"# HELP {metric.name} {_escape_help(metric.help)}")
        lines.append(f"# TYPE {metric.name} {metric.kind}")
        for labels, value in metric.samples:
            rendered = ",".join(f'{key}="{_escape_label(str(val))}"' for key, val in sorted(labels.items()))
            lines.append(
                f"{metric.name}{{{rendered}}} {_number(value)}"
                if rendered
                else f"{metric.name} {_number(value)}"
            )
    return "\n".join(lines) + "\n"


def collect() -> list[Metric]:
    """Read every metric from the database."""
    from alerts.models import Alert, Delivery
    from alerts.outbox import deliveries_pending_counts
    from catalog.models import Copy, DaySignOff, Project, Volume
    from catalog.policy import policy_by_project
    from ingest.models import OffloadJob
    from metadata.models import MetadataExtraction
    from restore.models import RestoreRequest

    codes = dict(Project.objects.values_list("pk", "code"))

    transfer_bytes = Metric(
        "reelvault_transfer_bytes_total", "counter", "Bytes read from camera cards by finished offload jobs."
    )
    transfer_jobs = Metric(
        "reelvault_transfer_jobs_total", "counter", "Finished offload jobs by final state."
    )
    transfer_failures = Metric(
        "reelvault_transfer_failures_total", "counter", "Offload jobs that ended failed or incomplete."
    )
    finished = (
        OffloadJob.objects.filter(state__in=OffloadJob.FINISHED)
        .values_list("project_id", "state")
        .annotate(n=Count("id"), read=Sum("source_bytes_read"))
        .order_by()
    )
    bytes_by_project: dict[int, int] = dict.fromkeys(codes, 0)
    failures_by_project: dict[int, int] = dict.fromkeys(codes, 0)
    for project_id, state, n, read in finished:
        transfer_jobs.add(n, project=codes[project_id], state=state)
        bytes_by_project[project_id] += int(read or 0)
        if state in (OffloadJob.State.FAILED, OffloadJob.State.INCOMPLETE):
            failures_by_project[project_id] += n
    for project_id, code in codes.items():
        transfer_bytes.add(bytes_by_project[project_id], project=code)
        transfer_failures.add(failures_by_project[project_id], project=code)

    queue = Metric(
        "reelvault_job_queue_length",
        "gauge",
        "Jobs waiting or running, by kind of job and state (database rows).",
    )
    for project_id, state, n in (
        OffloadJob.objects.filter(state__in=[OffloadJob.State.QUEUED, OffloadJob.State.RUNNING])
        .values_list("project_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    ):
        queue.add(n, kind="offload", state=state, project=codes[project_id])
    for project_id, state, n in (
        RestoreRequest.objects.filter(
            state__in=[
                RestoreRequest.State.REQUESTED,
                RestoreRequest.State.QUEUED,
                RestoreRequest.State.RUNNING,
            ]
        )
        .values_list("project_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    ):
        queue.add(n, kind="restore", state=state, project=codes[project_id])
    for state, n in (
        MetadataExtraction.objects.filter(
            state__in=[MetadataExtraction.State.QUEUED, MetadataExtraction.State.RUNNING]
        )
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    ):
        queue.add(n, kind="metadata", state=state, project="")
    # The outbox's messages waiting to be sent, under the kinds the three former outboxes had.
    outbox_kinds = {
        Delivery.Kind.EMAIL: "email",
        Delivery.Kind.WEBHOOK: "webhook",
        Delivery.Kind.REPORT: "report_email",
        Delivery.Kind.CONTACT: "contact_email",
    }
    for kind, n in deliveries_pending_counts().items():
        queue.add(n, kind=outbox_kinds[Delivery.Kind(kind)], state="pending", project="")

    gap_clips = Metric(
        "reelvault_policy_gap_clips", "gauge", "Clips that do not meet their project's storage policy."
    )
    gap_days = Metric(
        "reelvault_policy_gap_days", "gauge", "Shoot days with at least one clip short of the policy."
    )
    gap_age = Metric(
        "reelvault_policy_gap_oldest_seconds",
        "gauge",
        "Age of the oldest clip short of the policy (0 when none).",
    )
    policies = policy_by_project(project_ids=list(codes))
    now = timezone.now()
    for project_id, code in codes.items():
        policy = policies.get(project_id)
        gap_clips.add(policy.short_clips if policy else 0, project=code)
        gap_days.add(policy.short_days if policy else 0, project=code)
        oldest = policy.oldest_gap_at if policy else None
        gap_age.add((now - oldest).total_seconds() if oldest else 0, project=code)

    failures = Metric(
        "reelvault_verification_failures",
        "gauge",
        "Copies now corrupt, missing or failed (camera cards excluded).",
    )
    failed_copies = {
        (project_id, state): n
        for project_id, state, n in Copy.objects.filter(state__in=["corrupt", "missing", "failed"])
        .exclude(volume__kind=Volume.Kind.CARD)
        .values_list("volume__project_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    }
    for project_id, code in codes.items():
        for state in ("corrupt", "missing", "failed"):
            failures.add(failed_copies.get((project_id, state), 0), project=code, state=state)

    alerts = Metric("reelvault_alerts_open", "gauge", "Alerts not resolved, by severity and state.")
    open_alerts = {
        (project_id, severity, state): n
        for project_id, severity, state, n in Alert.objects.exclude(state=Alert.State.RESOLVED)
        .values_list("project_id", "severity", "state")
        .annotate(n=Count("id"))
        .order_by()
    }
    for project_id, code in codes.items():
        for severity in Alert.Severity.values:
            for state in (Alert.State.OPEN, Alert.State.ACKNOWLEDGED):
                alerts.add(
                    open_alerts.get((project_id, severity, state), 0),
                    project=code,
                    severity=severity,
                    state=state,
                )
    escalated = Metric("reelvault_alerts_escalated", "gauge", "Open alerts that were escalated to admins.")
    for project_id, n in (
        Alert.objects.filter(state=Alert.State.OPEN, escalated_at__isnull=False)
        .values_list("project_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        escalated.add(n, project=codes[project_id])

    signed = Metric("reelvault_days_signed_off", "gauge", "Shoot days whose latest sign-off stands.")
    latest = (
        DaySignOff.objects.order_by("day_id", "-at", "-id")
        .distinct("day_id")
        .values_list("day__project_id", "action")
    )
    signed_by_project: dict[int, int] = dict.fromkeys(codes, 0)
    for project_id, action in latest:
        signed_by_project[project_id] += action == DaySignOff.Action.SIGN_OFF
    for project_id, code in codes.items():
        signed.add(signed_by_project[project_id], project=code)

    free = Metric(
        "reelvault_volume_free_ratio", "gauge", "Free space of volumes whose capacity is recorded (0-1)."
    )
    for project_id, label, kind, free_bytes, capacity in Volume.objects.filter(
        ~Q(kind=Volume.Kind.CARD), capacity_bytes__gt=0, free_bytes__isnull=False
    ).values_list("project_id", "label", "kind", "free_bytes", "capacity_bytes"):
        free.add(
            int(free_bytes or 0) / int(capacity or 1), project=codes[project_id], volume=label, kind=kind
        )

    return [
        transfer_bytes,
        transfer_jobs,
        transfer_failures,
        queue,
        gap_clips,
        gap_days,
        gap_age,
        failures,
        alerts,
        escalated,
        signed,
        free,
        *_fixity_metrics(),
    ]


def _fixity_metrics() -> list[Metric]:
    """Audits: bytes re-proven, failures found, the oldest proof per tier, volumes unreachable."""
    from fixity.selectors import fixity_figures

    figures = fixity_figures()
    verified = Metric(
        "reelvault_fixity_bytes_verified_total", "counter", "Bytes read back and hashed by fixity audits."
    )
    verified.add(figures.bytes_verified)
    failures = Metric(
        "reelvault_fixity_failures_total", "counter", "Copies fixity audits found corrupt or missing."
    )
    failures.add(figures.failures)
    oldest = Metric(
        "reelvault_fixity_oldest_proof_seconds",
        "gauge",
        "Age of the oldest proof of a verified copy, per tier.",
    )
    for tier, seconds in sorted(figures.oldest_proof_seconds.items()):
        oldest.add(seconds, tier=tier)
    unreachable = Metric(
        "reelvault_volumes_unreachable",
        "gauge",
        "Volumes the last audit could not read (not mounted, no answer).",
    )
    unreachable.add(figures.unreachable)
    return [verified, failures, oldest, unreachable]


def scoped(metrics: list[Metric], *, project_codes: set[str]) -> list[Metric]:
    """Only the samples of these projects (system-wide samples, with no project, are left out)."""
    for metric in metrics:
        metric.samples = [
            (labels, v) for labels, v in metric.samples if labels.get("project") in project_codes
        ]
    return metrics


def _has_token(request: HttpRequest) -> bool:
    token = settings.REELVAULT_METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if not (token and header.startswith("Bearer ")):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(), token.encode())


def _authorized(request: HttpRequest) -> bool | None:
    """True: allowed; False: logged in but not staff (403); None: no credentials (401)."""
    if _has_token(request):
        return True
    if settings.REELVAULT_METRICS_TOKEN and request.headers.get("Authorization", "").startswith("Bearer "):
        return None
    user = request.user
    if user.is_authenticated:
        return bool(user.is_active and user.is_staff)
    return None


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    allowed = _authorized(request)
    if allowed is None:
        response = HttpResponse(
            "metrics need a bearer token or a staff session\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="reelvault-metrics"'
        return response
    if not allowed:
        return HttpResponse("metrics are for staff\n", status=403, content_type="text/plain")
    metrics = collect()
    user = request.user
    if not _has_token(request) and not user.is_superuser:
        # A staff session sees the figures of its own projects only; the bearer token
        # (Prometheus) and superusers see every project.
        from catalog.permissions import projects_for

        metrics = scoped(metrics, project_codes=set(projects_for(user).values_list("code", flat=True)))
    return HttpResponse(render(metrics), content_type=CONTENT_TYPE)
