"""Delivery: the worker that turns outbox rows into notifications, e-mails and webhook calls."""
