"""Online scoring: an HTTP service that scores one transaction at a time with the champion.

``config`` (environment), ``schemas`` (request and response), ``features`` (Feast online
lookup, request-time features, defaults), ``models`` (champion/challenger, registry polling),
``request_log`` (batched Delta writer), ``telemetry`` (Prometheus), ``scorer`` (one request
end to end), ``app`` (FastAPI routes) and ``server`` (uvicorn entry point).
"""
