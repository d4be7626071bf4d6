"""Restores as catalog operations: request, approve or reject, queue, run, drill.

The life of a request::

    requested ──approve(s)──▶ approved ──▶ queued ──▶ running ──▶ verified
        │                        │    ▲         │              └────▶ failed (per-file results kept)
        ├──reject──▶ rejected    ▼    │ sign-off│ reopen
        │                      waiting ◀────────┘   (editorial restores of a day not signed off,
        │                                            where the project holds them)
        ├──withdraw (the requester)──▶ withdrawn
        └──nobody decides within REELVAULT_RESTORE_REQUEST_TTL_HOURS──▶ expired

Split by concern (callers may import from here or from the module):
- ``requests``: targets, requesting, approving or rejecting, queueing. Rules:
  requesting needs REQUEST_RESTORE on the project and every clip and the
  target must belong to it; approving and rejecting need APPROVE_RESTORE;
  nobody decides on their own request (admins included) nor twice; a request
  over ``REELVAULT_RESTORE_SECOND_APPROVAL_BYTES`` or covering a whole shoot
  day needs two different approvers; a refused attempt by a project member
  is written to the audit log in its own transaction (never rolled back)
  and raises RestoreRefused (403).
- ``runner``: the job claims the row (queued, or running with a stale
  heartbeat after a killed worker), copies each file still pending from its
  best copy through ``copyengine.filecopy``, condemns copies found corrupt or
  missing and goes on with the next one, and finally writes an ASC MHL
  generation into the restore folder at the target.
- ``drills``: drills, their schedules and the scratch clean-up.
- ``base``: the errors, refusals and announcements they share.
"""

from __future__ import annotations

from restore.services.base import (
    REELVAULT_VERSION,
    DrillError,
    RestoreConflict,
    RestoreError,
    RestoreRefused,
    RestoreTargetPathError,
)
from restore.services.drills import (
    ScheduleSpec,
    drill_schedule_set,
    restore_drill_plan,
    restore_drill_scenario_start,
    restore_drill_start,
    restore_drills_due,
)
from restore.services.requests import (
    BulkOutcome,
    Selection,
    item_path,
    restore_request_approve,
    restore_request_create,
    restore_request_hold_if_waiting,
    restore_request_queue,
    restore_request_reject,
    restore_request_withdraw,
    restore_requests_approve,
    restore_requests_expire,
    restore_requests_hold,
    restore_requests_reject,
    restore_requests_resume,
    restore_target_create,
    restore_target_path_check,
)
from restore.services.runner import restore_request_fail, restore_request_run, restore_requests_recover

__all__ = [
    "REELVAULT_VERSION",
    "BulkOutcome",
    "DrillError",
    "RestoreConflict",
    "RestoreError",
    "RestoreRefused",
    "RestoreTargetPathError",
    "ScheduleSpec",
    "Selection",
    "drill_schedule_set",
    "item_path",
    "restore_drill_plan",
    "restore_drill_scenario_start",
    "restore_drill_start",
    "restore_drills_due",
    "restore_request_approve",
    "restore_request_create",
    "restore_request_fail",
    "restore_request_hold_if_waiting",
    "restore_request_queue",
    "restore_request_reject",
    "restore_request_run",
    "restore_request_withdraw",
    "restore_requests_approve",
    "restore_requests_expire",
    "restore_requests_hold",
    "restore_requests_recover",
    "restore_requests_reject",
    "restore_requests_resume",
    "restore_target_create",
    "restore_target_path_check",
]
