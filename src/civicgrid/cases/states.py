"""The case lifecycle as data: statuses, actions, the transition table and who may act (pure Python)."""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("待受理")  # arrived on any channel; nobody has looked at it yet
    ACCEPTED = "accepted", _("已受理")  # the platform took it on; not yet with a handling unit
    DISPATCHED = "dispatched", _("已派单")  # a lead unit holds it and must report in (报到)
    IN_PROGRESS = "in_progress", _("办理中")  # the lead unit acknowledged and is working on it
    RESOLVED = "resolved", _("已办结")  # the handler reported the outcome; awaiting rating or review
    CLOSED = "closed", _("已归档")  # 销号: archived, counts as closed
    REJECTED = "rejected", _("不予受理")  # refused at intake with a reason
    MERGED = "merged", _("已合并")  # a duplicate, merged into another case
    WITHDRAWN = "withdrawn", _("已撤回")  # the reporter withdrew it


class Action(StrEnum):
    """Action names are the API contract (`POST /cases/{number}/actions/{action}`)."""

    ACCEPT = "accept"
    REJECT = "reject"
    DISPATCH = "dispatch"
    ACKNOWLEDGE = "acknowledge"
    RETURN = "return"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    ESCALATE = "escalate"
    SUMMON = "summon"
    RESOLVE = "resolve"
    EVALUATE = "evaluate"
    REOPEN = "reopen"
    CLOSE = "close"
    MERGE = "merge"
    WITHDRAW = "withdraw"
    SUPERVISE = "supervise"
    NOTE = "note"
    # 考核剔除: served at /cases/{number}/exclusions, not under /actions/ (a decision names its request).
    REQUEST_EXCLUSION = "request_exclusion"
    EXCLUDE = "exclude"  # the approval: the case leaves every figure
    REFUSE_EXCLUSION = "refuse_exclusion"
    # Recorded by the system, never requested by a user.
    CREATE = "create"
    WARN = "warn"  # 预警: a share of a response or resolution time has passed
    RESPONSE_OVERDUE = "response_overdue"  # a unit did not report in by its response deadline
    NOT_REPORTED = "not_reported"  # …and stayed silent past the grace: 未报到 for the dispatcher
    REMIND = "remind"  # an extension request waits too long for its approver
    RATING_REQUEST = "rating_request"  # the reporter is invited to rate the resolution
    CALLBACK_DUE = "callback_due"  # unrated for too long: into the operators' callback queue (回访)


class Capacity(StrEnum):
    """How a user stands to a case; permissions are granted to capacities, not to people."""

    CENTRE = "centre"  # a dispatcher whose district holds the case (command centre)
    SUPERVISOR = "supervisor"  # a supervisor of the case's district
    LEADER = "leader"  # a leader of the case's district
    LEAD_HANDLER = "lead_handler"  # staff of the unit holding the lead assignment
    ASSIGNEE = "assignee"  # staff of a unit holding an unacknowledged or active assignment
    GRID_WORKER = "grid_worker"  # the grid worker of the grid the case is in (小事一格解决)
    CREATOR = "creator"  # the account that submitted the case (an integrator, a grid worker)
    # Staff of a unit whose figures count the case: its lead unit, or an assessed area (community,
    # street, district) holding its place.
    ASSESSED = "assessed"
    VIEWER = "viewer"  # any staff member who can see the case


S = Status
OPEN: frozenset[Status] = frozenset({S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED})
ENDED: frozenset[Status] = frozenset({S.CLOSED, S.REJECTED, S.MERGED, S.WITHDRAWN})
WITH_UNIT: frozenset[Status] = frozenset({S.DISPATCHED, S.IN_PROGRESS})
ALL: frozenset[Status] = OPEN | ENDED
# Figures are contested once the case counts (accepted) and mostly after the fact (closed).
EXCLUDABLE: frozenset[Status] = frozenset({S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.RESOLVED, S.CLOSED})

# action -> (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS: dict[Action, tuple[frozenset[Status], Status | None]] = {
    Action.ACCEPT: (frozenset({S.SUBMITTED}), S.ACCEPTED),
    Action.REJECT: (frozenset({S.SUBMITTED}), S.REJECTED),
    Action.DISPATCH: (frozenset({S.ACCEPTED}), S.DISPATCHED),
    # The lead's acknowledgement starts the work; an assisting unit's keeps the status.
    Action.ACKNOWLEDGE: (WITH_UNIT, S.IN_PROGRESS),
    Action.RETURN: (WITH_UNIT, S.ACCEPTED),
    Action.REQUEST_EXTENSION: (WITH_UNIT, None),
    Action.APPROVE_EXTENSION: (WITH_UNIT, None),
    Action.DENY_EXTENSION: (WITH_UNIT, None),
    Action.ESCALATE: (WITH_UNIT, S.DISPATCHED),
    Action.SUMMON: (WITH_UNIT, None),
    # From ACCEPTED only for the grid worker handling a small thing on the spot (小事一格解决).
    Action.RESOLVE: (frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.RESOLVED),
    # Satisfied or basically satisfied closes the case; dissatisfied keeps it resolved for review.
    Action.EVALUATE: (frozenset({S.RESOLVED}), S.CLOSED),
    Action.REOPEN: (frozenset({S.RESOLVED}), S.IN_PROGRESS),
    Action.CLOSE: (frozenset({S.RESOLVED}), S.CLOSED),
    Action.MERGE: (frozenset({S.SUBMITTED, S.ACCEPTED}), S.MERGED),
    Action.WITHDRAW: (frozenset({S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS}), S.WITHDRAWN),
    Action.SUPERVISE: (OPEN - {S.RESOLVED}, None),
    Action.NOTE: (ALL, None),
    # Exclusions change the figures, never the status.
    Action.REQUEST_EXCLUSION: (EXCLUDABLE, None),
    Action.EXCLUDE: (EXCLUDABLE, None),
    Action.REFUSE_EXCLUSION: (EXCLUDABLE, None),
}

C = Capacity
# action -> capacities that may take it
PERMISSIONS: dict[Action, frozenset[Capacity]] = {
    Action.ACCEPT: frozenset({C.CENTRE, C.GRID_WORKER}),
    Action.REJECT: frozenset({C.CENTRE}),
    Action.DISPATCH: frozenset({C.CENTRE}),
    Action.ACKNOWLEDGE: frozenset({C.ASSIGNEE}),
    Action.RETURN: frozenset({C.LEAD_HANDLER}),
    Action.REQUEST_EXTENSION: frozenset({C.LEAD_HANDLER}),
    Action.APPROVE_EXTENSION: frozenset({C.SUPERVISOR}),
    Action.DENY_EXTENSION: frozenset({C.SUPERVISOR}),
    Action.ESCALATE: frozenset({C.LEAD_HANDLER, C.SUPERVISOR}),
    Action.SUMMON: frozenset({C.LEAD_HANDLER}),
    Action.RESOLVE: frozenset({C.LEAD_HANDLER, C.GRID_WORKER}),
    Action.EVALUATE: frozenset({C.CENTRE, C.CREATOR}),
    Action.REOPEN: frozenset({C.SUPERVISOR, C.CENTRE}),
    Action.CLOSE: frozenset({C.CENTRE, C.SUPERVISOR}),
    Action.MERGE: frozenset({C.CENTRE}),
    Action.WITHDRAW: frozenset({C.CENTRE, C.CREATOR}),
    Action.SUPERVISE: frozenset({C.SUPERVISOR, C.LEADER}),
    Action.NOTE: frozenset({C.VIEWER}),
    Action.REQUEST_EXCLUSION: frozenset({C.ASSESSED}),
    Action.EXCLUDE: frozenset({C.SUPERVISOR}),
    Action.REFUSE_EXCLUSION: frozenset({C.SUPERVISOR}),
}

# Narrower grants for one (action, status): resolving an accepted case is the grid worker's
# on-the-spot handling; resolving one in progress belongs to the lead unit.
PERMISSIONS_IN: dict[tuple[Action, Status], frozenset[Capacity]] = {
    (Action.RESOLVE, S.ACCEPTED): frozenset({C.GRID_WORKER}),
    (Action.RESOLVE, S.IN_PROGRESS): frozenset({C.LEAD_HANDLER}),
}

USER_ACTIONS: tuple[Action, ...] = tuple(TRANSITIONS)
# Written only by the system (the intake itself and the clock); no user may request them.
SYSTEM_ACTIONS: frozenset[Action] = frozenset(Action) - frozenset(TRANSITIONS)


class TransitionNotAllowed(Exception):
    """The action cannot be taken from the case's current state (HTTP 409)."""

    def __init__(self, action: Action, detail: str) -> None:
        super().__init__(f"{action}: {detail}")
        self.action = action
        self.detail = detail


def can_start(action: Action, current: Status | str) -> bool:
    """Whether `action` may be taken on a case in `current` (ignoring who asks)."""
    return current in TRANSITIONS[action][0]


def next_status(action: Action, current: Status | str) -> Status:
    """Where `action` takes a case in `current`, or raise TransitionNotAllowed."""
    starts, target = TRANSITIONS[action]
    if current not in starts:
        raise TransitionNotAllowed(action, f"not allowed from {current}")
    return target if target is not None else Status(current)


def acknowledge_target(current: Status | str, *, lead: bool) -> Status:
    """An assisting unit's 报到 does not start the case's work; the lead's does."""
    target = next_status(Action.ACKNOWLEDGE, current)
    return target if lead else Status(current)


def evaluate_target(*, dissatisfied: bool) -> Status:
    """A dissatisfied rating keeps the case resolved, waiting for a supervisor's reopen review."""
    return Status.RESOLVED if dissatisfied else Status.CLOSED


def may(action: Action, capacities: frozenset[Capacity]) -> bool:
    """Whether any of the user's capacities grants `action` in some state."""
    return bool(PERMISSIONS[action] & capacities)


def may_in(action: Action, current: Status | str, capacities: frozenset[Capacity]) -> bool:
    """Whether the user's capacities grant `action` in the `current` state."""
    granted = PERMISSIONS_IN.get((action, Status(current)), PERMISSIONS[action])
    return bool(granted & capacities)
