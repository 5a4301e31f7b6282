"""The committee: votes, the review queue, policies, deadlines, review links and the
discussion of a post."""
