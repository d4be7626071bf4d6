"""Fixity's write services: audits (request, run, schedule, unreachable volumes, moved copies) and repair."""

from fixity.services.audits import (
    FixityError,
    fixity_audits_due,
    fixity_moved_accept,
    fixity_repair_request,
    fixity_run_execute,
    fixity_run_fail,
    fixity_run_request,
    fixity_runs_recover,
    repairable,
)
from fixity.services.repair import fixity_repair_run

__all__ = [
    "FixityError",
    "fixity_audits_due",
    "fixity_moved_accept",
    "fixity_repair_request",
    "fixity_repair_run",
    "fixity_run_execute",
    "fixity_run_fail",
    "fixity_run_request",
    "fixity_runs_recover",
    "repairable",
]
