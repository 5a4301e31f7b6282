"""What every wing stands on: the table models and states, errors, settings, the database,
security, local time, workspaces with their keys and roles, the shared clock, safe
fetching and process identity."""
