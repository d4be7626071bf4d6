"""Set a project's recovery desk: the duty rota and the escalation ladder.

manage.py recovery_desk DEMO                                      # show who is on duty and the ladder
manage.py recovery_desk DEMO --shift dit 2026-12-06T07:00 2026-12-06T19:00 [--reach "radio 4"]
manage.py recovery_desk DEMO --step "DIT on duty:10:@duty" \\
    --step "Data manager:20:producer,dm@example.com" --step "Vendor:60:https://hooks.example.com/x"
manage.py recovery_desk DEMO --default-ladder                     # back to the admins after the global delay

A step is NAME:MINUTES:CONTACTS; contacts are usernames of members, email
addresses and webhook URLs (outside contacts, no account), and ``@duty`` for
whoever is on the desk at that moment. Times without a zone are local
(REELVAULT_TIME_ZONE).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.utils import timezone

from alerts.selectors import escalation_ladder, on_duty
from alerts.services import AlertError, StepSpec, duty_shift_add, escalation_ladder_set
from catalog.models import Project
from core.commands import ReelvaultCommand


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not a date and time: {value!r} (use 2026-12-06T07:00)") from exc
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def _step(spec: str) -> StepSpec:
    try:
        name, minutes, contacts = spec.split(":", 2)
        delay = int(minutes)
    except ValueError as exc:
        raise CommandError(f"a step is NAME:MINUTES:CONTACTS, not {spec!r}") from exc
    users, emails, hooks, duty = [], [], [], False
    for contact in (c.strip() for c in contacts.split(",") if c.strip()):
        if contact == "@duty":
            duty = True
        elif contact.startswith(("http://", "https://")):
            hooks.append(contact)
        elif "@" in contact:
            emails.append(contact)
        else:
            user = get_user_model().objects.filter(username=contact).first()
            if user is None:
                raise CommandError(f"no user {contact!r}")
            users.append(user)
    return StepSpec(
        name=name, after_minutes=delay, users=users, emails=emails, webhooks=hooks, include_on_duty=duty
    )


class Command(ReelvaultCommand):
    help = "Show or set a project's duty rota and escalation ladder."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("project")
        parser.add_argument("--shift", nargs=3, metavar=("USER", "FROM", "UNTIL"))
        parser.add_argument("--reach", default="", help="How to reach the person on this shift.")
        parser.add_argument("--step", action="append", default=[], help="NAME:MINUTES:CONTACTS (repeat).")
        parser.add_argument("--default-ladder", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(code=str(options["project"]).upper()).first()
        if project is None:
            raise CommandError(f"no project {options['project']}")
        try:
            if options["shift"]:
                username, starts, ends = options["shift"]
                user = get_user_model().objects.filter(username=username).first()
                if user is None:
                    raise CommandError(f"no user {username!r}")
                duty_shift_add(
                    actor=None,
                    project=project,
                    user=user,
                    starts_at=_when(starts),
                    ends_at=_when(ends),
                    reach=options["reach"],
                )
            if options["step"] or options["default_ladder"]:
                escalation_ladder_set(actor=None, project=project, steps=[_step(s) for s in options["step"]])
        except AlertError as exc:
            raise CommandError(str(exc)) from exc
        duty = ", ".join(u.get_username() for u in on_duty(project=project)) or "nobody"
        self.stdout.write(f"{project.code}: on duty now: {duty}")
        for step in escalation_ladder(project=project):
            who = [u.get_username() for u in step.users] + step.emails + step.webhooks
            if step.include_on_duty:
                who.insert(0, "whoever is on duty")
            self.stdout.write(
                f"  {step.position}. {step.name} after {step.after_seconds // 60} min: {', '.join(who)}"
            )
