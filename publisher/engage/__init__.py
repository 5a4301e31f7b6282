"""Engagement: what comes back from the networks after a post goes out (metrics pulled
over time, and later interactions, clicks, conversions, members and reports)."""
