"""Signals sent after a case change is committed (never inside the transaction)."""

from django.dispatch import Signal

# Sent on commit of every recorded event, with `case_id` and `event_id`.
case_changed = Signal()
