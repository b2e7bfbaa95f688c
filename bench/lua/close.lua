-- (c) a new TLS connection per request: `Connection: close` makes the server end the connection
-- after each answer and wrk opens (and handshakes) a fresh one for the next request.
wrk.method = "GET"
wrk.path = "/api/tags"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.headers["Connection"] = "close"
