-- (d) slow streams: one NDJSON line every 50 ms, 50 lines (~2.5 s per answer), with many open at
-- once. Measures memory per open stream and the latency the proxy adds to paced chunks.
wrk.method = "POST"
wrk.path = "/api/chat"
wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Fake-Chunks"] = "50"
wrk.headers["X-Fake-Delay-Ms"] = "50"
wrk.body = '{"model":"llama3.2","messages":[{"role":"user","content":"Tell me a long story."}]}'
