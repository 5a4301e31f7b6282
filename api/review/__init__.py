"""The review wing's views: the committee's queue and votes, policies, the review page."""
