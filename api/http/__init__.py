"""What every blueprint shares: the request's context (actor, session, runtime), problem
bodies and their pages, paging, the OpenAPI description and its reference, the server."""
