"""Checklists through the pages: per role, completed with who and when, required for a day's sign-off."""

from __future__ import annotations

from catalog.models import AuditEvent
from recovery.models import Checklist, ChecklistRun
from tests.fixtures import ShootDayFactory, World

WRAP = "End-of-day wrap"


def make_wrap(world: World) -> Checklist:
    response = world.client("producer").post(
        "/p/FILM/checklists/",
        {
            "name": WRAP,
            "kind": "wrap",
            "role": "dit",
            "items": "Every card offloaded twice\nShuttle labelled and sealed\nRAID SMART read",
            "required_for_signoff": "on",
        },
    )
    assert response.status_code == 302
    return Checklist.objects.get(name=WRAP)


def test_a_day_waits_for_its_wrap_checklist_which_the_dit_completes(world: World) -> None:
    day = ShootDayFactory(project=world.project, number=1)
    checklist = make_wrap(world)
    items = list(checklist.items.values_list("pk", flat=True))
    signoff = world.client("producer").post("/api/projects/FILM/days/1/signoff/")
    assert signoff.status_code == 409
    assert f"the '{WRAP}' checklist of day 1 is not completed" in signoff.json()["reasons"]

    # Only the DIT (or an admin) completes the DIT's checklist; refusals are audited.
    for persona in ("editor", "viewer"):
        assert (
            world.client(persona)
            .post(f"/checklists/{checklist.pk}/", {"day": "1", "item": items})
            .status_code
            == 403
        )
    assert AuditEvent.objects.filter(action="checklist.complete_refused").count() == 2
    dit = world.client("dit")
    partial = dit.post(f"/checklists/{checklist.pk}/", {"day": "1", "item": items[:2]}, follow=True)
    assert "1 item(s) not ticked: RAID SMART read" in partial.content.decode()
    assert not ChecklistRun.objects.exists()
    done = dit.post(
        f"/checklists/{checklist.pk}/", {"day": "1", "item": items, "note": "all good"}, follow=True
    )
    assert "Completed by dit" in done.content.decode()
    run = ChecklistRun.objects.get()
    assert run.completed_by.username == "dit" and run.day == day and len(run.items) == 3
    entry = AuditEvent.objects.get(action="checklist.complete")
    assert entry.actor_name == "dit" and entry.after == {"checklist": WRAP, "day": 1, "items": 3}
    reasons = world.client("producer").post("/api/projects/FILM/days/1/signoff/").json().get("reasons", [])
    assert not any("checklist" in reason for reason in reasons)


def test_role_matrix_for_checklists(world: World) -> None:
    checklist = make_wrap(world)
    for persona in ("admin", "producer", "editor", "dit", "viewer", "colorist", "vfx", "it_support"):
        assert world.client(persona).get(f"/checklists/{checklist.pk}/").status_code == 200
        assert world.client(persona).get("/p/FILM/checklists/").status_code == 200
    assert world.client("outsider").get(f"/checklists/{checklist.pk}/").status_code == 404
    assert world.client("outsider").get("/p/FILM/checklists/").status_code == 404
    refused = world.client("dit").post("/p/FILM/checklists/", {"name": "x", "items": "y"})
    assert refused.status_code == 403
    assert AuditEvent.objects.filter(action="checklist.create_refused", actor_name="dit").count() == 1
