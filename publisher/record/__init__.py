"""What happened: the audit log (events), post revisions and outgoing webhooks."""
