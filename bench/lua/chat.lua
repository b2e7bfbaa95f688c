-- (b) POST /api/chat streaming 50 NDJSON lines (plus the final done line) as fast as the
-- upstream can write them: the per-chunk cost of passing a stream through.
wrk.method = "POST"
wrk.path = "/api/chat"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Fake-Chunks"] = "50"
wrk.body = '{"model":"llama3.2","messages":[{"role":"user","content":"Why is the sky blue?"}]}'
