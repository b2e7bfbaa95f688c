// The benchmark's stand-in Ollama, in its own process so it can be pinned to a core with the
// load generator and its CPU never counts as the proxy's. Prints one JSON line {"port":N} when it
// listens; exits when its stdin closes (the parent went away) or on SIGTERM.
//
// delayMs 0 with `fast` off behaves like fast mode (no pauses) but still honours the per-request
// `x-fake-delay-ms` header, which workload (d) uses for its slow streams.
import { startFakeOllama } from '../test/helpers/fake-ollama.ts';

const chunks = Number(process.argv[2] ?? '50');
const fake = await startFakeOllama({ chunks, delayMs: 0 });

// The fake records every request for tests; a benchmark sends millions. Forget them often so the
// upstream's heap (and its GC time on the load generator's core) stays flat.
setInterval(() => {
  fake.requests.length = 0;
}, 250).unref();

const stop = (): void => {
  void fake.close().then(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
process.stdout.write(JSON.stringify({ port: fake.port }) + '\n');
