"""Every change to a case goes through a function here: one per action, one transaction, one event.

Rules: keyword-only arguments; the actor's right and the state are checked first; the case row is
updated with a version guard (a lost race raises CaseChangedMeanwhile and writes nothing); side
effects are sent on commit.
"""

from civicgrid.cases.services.clock import timer_fire
from civicgrid.cases.services.closing import case_close, case_evaluate, case_note, case_reopen, case_supervise
from civicgrid.cases.services.handling import (
    case_acknowledge,
    case_approve_extension,
    case_deny_extension,
    case_dispatch,
    case_escalate,
    case_request_extension,
    case_resolve,
    case_return,
    case_summon,
)
from civicgrid.cases.services.intake import (
    IdempotencyMismatch,
    NewCase,
    Reporter,
    case_accept,
    case_create,
    case_create_idempotent,
    case_merge,
    case_reject,
    case_withdraw,
    request_fingerprint,
)

__all__ = [
    "IdempotencyMismatch",
    "NewCase",
    "Reporter",
    "case_accept",
    "case_acknowledge",
    "case_approve_extension",
    "case_close",
    "case_create",
    "case_create_idempotent",
    "case_deny_extension",
    "case_dispatch",
    "case_escalate",
    "case_evaluate",
    "case_merge",
    "case_note",
    "case_reject",
    "case_reopen",
    "case_request_extension",
    "case_resolve",
    "case_return",
    "case_summon",
    "case_supervise",
    "case_withdraw",
    "request_fingerprint",
    "timer_fire",
]
