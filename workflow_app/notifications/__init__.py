"""Notifications: in-app rows and emails, created from outbox messages by workers."""
