#!/usr/bin/env node
// Entry point of the `warden` command. It checks the Node.js version before anything else is
// loaded (bar two small files of built-ins and constants): see node-version.ts.
import { checkNodeVersion } from './node-version.ts';
import { YOUNG_GEN_ARG, YOUNG_GEN_FLAG } from '../service/young-generation.ts';

checkNodeVersion();
// `serve` runs with V8's young generation capped at 2 × 4 MB. Left alone, V8 grows it to 64 MB
// under load; every scavenge then copies the state of all open streams at once, pausing the
// event loop 5–14 ms, and that pause set the p99 of every streamed chunk (bench workload d:
// 10.5 ms added per chunk, against 1.1 ms capped), with ~100–150 MB more resident memory.
// Measured side by side, the cap costs ~25 % more CPU per small request at full load and 0–8 %
// per stream (bench/README.md): streams were chosen over peak throughput. The flag only works at
// start-up, so the process replaces itself (same PID, same stdio) with one that has it. Skipped
// when the flag is given already (an operator's own choice wins) and where execve does not
// exist (Node < 22.15; on Windows the service passes the flag to node.exe itself).
// ('serve' anywhere in the arguments, even as a key's name, only costs that command the re-exec.)
if (
  process.argv.includes('serve') &&
  typeof process.execve === 'function' &&
  process.platform !== 'win32' &&
  !process.execArgv.some((a) => a.startsWith(YOUNG_GEN_FLAG)) &&
  !(process.env.NODE_OPTIONS ?? '').includes(YOUNG_GEN_FLAG)
) {
  process.execve(process.execPath, [process.execPath, YOUNG_GEN_ARG, ...process.execArgv, ...process.argv.slice(1)], process.env);
}
const { main } = await import('./program.ts');
process.exitCode = await main(process.argv);
