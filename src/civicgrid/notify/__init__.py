"""Notifications: an outbox written with each change, delivered by the worker through transports."""
