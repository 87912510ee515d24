"""Signals of the case engine: one inside the transaction of each event, one after its commit."""

from django.dispatch import Signal

# Sent inside the transaction of every recorded event, with `case` and `event`: receivers write rows
# that must commit or roll back with the change itself (the notification outbox).
event_recorded = Signal()

# Sent on commit of every recorded event, with `case_id` and `event_id`.
case_changed = Signal()
