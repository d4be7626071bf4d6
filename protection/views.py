"""Protection pages: the policy and where each day's copies are, rules and groups, the replication queue."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from catalog.models import Volume
from catalog.permissions import access_project, user_can
from formats.units import format_bytes
from protection import selectors, services
from protection.forms import GroupForm, PolicyForm, ReplicateForm, RuleForm
from protection.models import ReplicationJob, VolumeGroup
from protection.permissions import POLICY_EDIT, REPLICATE, access_replication


@login_required
def protection_home(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    days = list(project.days.order_by("number", "unit"))
    tiers = selectors.day_tiers(project=project)
    context = {
        "project": project,
        "policy_form": PolicyForm(initial={name: getattr(project, name) for name in services.POLICY_FIELDS}),
        "group_form": GroupForm(project=project),
        "rule_form": RuleForm(project=project),
        "replicate_form": ReplicateForm(),
        "groups": selectors.groups(project=project),
        "rules": selectors.rules(project=project),
        "days": [(day, tiers.get(day.pk, [])) for day in days],
        "can_edit_policy": user_can(request.user, project, POLICY_EDIT),
        "can_replicate": user_can(request.user, project, REPLICATE),
        "worm_tiers": [Volume.Tier(t).label for t in project.worm_tiers],
    }
    return render(request, "protection/home.html", context)


@login_required
@require_POST
def policy_update(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code, need=POLICY_EDIT, refusal="project.policy_update")
    form = PolicyForm(request.POST)
    if form.is_valid():
        try:
            services.project_policy_update(actor=request.user, project=project, **form.cleaned_data)
        except services.ProtectionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "Storage policy saved.")
    else:
        messages.error(
            request, "The policy was not saved: " + "; ".join(str(m) for e in form.errors.values() for m in e)
        )
    return redirect("protection-home", project.code)


@login_required
@require_POST
def group_create(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code, need=REPLICATE, refusal="volume_group.create")
    form = GroupForm(request.POST, project=project)
    if form.is_valid():
        try:
            group = services.volume_group_create(
                actor=request.user,
                project=project,
                name=form.cleaned_data["name"],
                volumes=form.cleaned_data["volumes"],
            )
        except services.ProtectionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Volume group {group.name} created.")
    else:
        messages.error(request, "The group was not created: give a name and at least one volume.")
    return redirect("protection-home", project.code)


@login_required
@require_POST
def rule_create(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code, need=REPLICATE, refusal="replication_rule.create")
    form = RuleForm(request.POST, project=project)
    if form.is_valid():
        kind, _, value = form.cleaned_data["source"].partition(":")
        source_group = (
            VolumeGroup.objects.filter(project=project, pk=value).first() if kind == "group" else None
        )
        try:
            rule = services.replication_rule_create(
                actor=request.user,
                project=project,
                destination=form.cleaned_data["destination"],
                source_tier=value if kind == "tier" else "",
                source_group=source_group,
            )
        except services.ProtectionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Rule added: {rule}.")
    else:
        messages.error(request, "The rule was not added: choose a source and a destination group.")
    return redirect("protection-home", project.code)


@login_required
@require_POST
def replicate(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code, need=REPLICATE, refusal="replication.request")
    form = ReplicateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give a card label or a shoot day number.")
        return redirect("protection-home", project.code)
    card = None
    if form.cleaned_data["card"]:
        card = project.volumes.filter(label__iexact=form.cleaned_data["card"], kind=Volume.Kind.CARD).first()
        if card is None:
            messages.error(request, f"{project.code} has no camera card {form.cleaned_data['card']}.")
            return redirect("protection-home", project.code)
    try:
        planned = services.replication_request(
            actor=request.user, project=project, card=card, day=form.cleaned_data["day"]
        )
    except services.ProtectionError as exc:
        messages.error(request, str(exc))
        return redirect("protection-home", project.code)
    if planned.files:
        messages.success(
            request, f"{planned.files} copies planned in {len(planned.jobs)} replication job(s)."
        )
    else:
        messages.info(request, "Nothing to replicate: every rule is already met for these files.")
    for gap in planned.unreachable[:5]:
        messages.warning(request, gap)
    return redirect("replication-queue", project.code)


@login_required
def replication_queue(request: HttpRequest, code: str) -> HttpResponse:
    project = access_project(request.user, code)
    jobs = selectors.replication_jobs(project=project)
    context = {
        "project": project,
        "running": jobs.filter(state=ReplicationJob.State.RUNNING),
        "waiting": jobs.filter(
            state__in=[
                ReplicationJob.State.QUEUED,
                ReplicationJob.State.WAITING_WINDOW,
                ReplicationJob.State.PAUSED,
            ]
        ),
        "failed": jobs.filter(state=ReplicationJob.State.FAILED),
        "done": jobs.filter(state=ReplicationJob.State.VERIFIED)[:50],
        "can_replicate": user_can(request.user, project, REPLICATE),
    }
    return render(request, "protection/queue.html", context)


@login_required
def replication_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = access_replication(request.user, job_id)
    items = job.items.select_related("source_copy__volume").order_by("path")
    context = {
        "job": job,
        "project": job.project,
        "items": items[:1000],
        "can_replicate": user_can(request.user, job.project, REPLICATE),
        "speed": format_bytes(int(job.bytes_copied / job.seconds)) + "/s" if job.seconds > 0 else "",
    }
    return render(request, "protection/job.html", context)


JobAction = Callable[..., ReplicationJob]


def _job_action(
    request: HttpRequest, job_id: int, *, action: str, service: JobAction, done: str
) -> HttpResponse:
    """Retry, pause or resume: DITs and admins (refusals audited as ``replication.<action>_refused``)."""
    job = access_replication(request.user, job_id, need=REPLICATE, refusal=f"replication.{action}")
    try:
        service(actor=request.user, job=job)
    except services.ProtectionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Replication {job.pk} {done}.")
    return redirect("replication-queue", job.project.code)


@login_required
@require_POST
def replication_retry(request: HttpRequest, job_id: int) -> HttpResponse:
    return _job_action(
        request, job_id, action="retry", service=services.replication_job_retry, done="queued again"
    )


@login_required
@require_POST
def replication_pause(request: HttpRequest, job_id: int) -> HttpResponse:
    return _job_action(request, job_id, action="pause", service=services.replication_job_pause, done="paused")


@login_required
@require_POST
def replication_resume(request: HttpRequest, job_id: int) -> HttpResponse:
    return _job_action(
        request, job_id, action="resume", service=services.replication_job_resume, done="resumed"
    )
