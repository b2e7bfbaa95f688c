-- (a) small GET /api/tags on a keep-alive connection: the per-request cost of TLS records,
-- HTTP parsing, the bearer check and proxying a ~1.5 kB JSON answer.
wrk.method = "GET"
wrk.path = "/api/tags"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
