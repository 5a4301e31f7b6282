"""The record wing's views: the audit log and webhook subscriptions."""
