"""Publisher: the domain core (models, state machine, services, dispatch, jobs)."""
