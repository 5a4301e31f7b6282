"""The engage wing's views: inbound platform webhooks and the interactions they bring."""
