"""Online scoring: an HTTP service scoring transactions with the champion, singly or in batches.

``config`` (environment), ``schemas`` (request and response), ``features`` (Feast online
lookup, request-time features, defaults), ``models`` (champion/challenger, registry polling),
``request_log`` (batched Delta writer), ``telemetry`` (Prometheus), ``scorer`` (a request end to
end), ``app`` (FastAPI routes) and ``server`` (uvicorn entry point).
"""
