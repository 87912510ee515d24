"""The errors services raise; the API maps each to one HTTP status and a translated message."""

from __future__ import annotations

from civicgrid.cases.states import Action, TransitionNotAllowed

__all__ = ["CaseChangedMeanwhile", "InvalidInput", "NotPermitted", "TransitionNotAllowed"]


class NotPermitted(Exception):
    """The user may see the case but may not take this action (HTTP 403)."""

    def __init__(self, action: Action) -> None:
        super().__init__(f"{action}: not permitted")
        self.action = action


class CaseChangedMeanwhile(Exception):
    """Someone else changed the case since it was read; nothing was written (HTTP 409)."""

    def __init__(self, number: str) -> None:
        super().__init__(f"case {number} changed meanwhile")
        self.number = number


class InvalidInput(Exception):
    """A value the caller sent is wrong; `field` names it (HTTP 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
