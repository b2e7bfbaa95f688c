// The two undici classes the gateway uses, loaded without the rest of undici.
//
// `import 'undici'` loads all of it: fetch, WebSocket, EventSource, the HTTP cache, the mock
// agent. Its cookie module also reads `globalThis.Headers`, and that getter makes Node load its own
// bundled copy of undici (a 760 KB script) as well. Together that is ~3.3 MB more live heap and
// ~13 MB more RSS in every serve process (measured with `process.memoryUsage()` after a full GC),
// for code Warden never runs. The live heap matters twice: V8 lets the old generation grow to a
// multiple of it before collecting (bench/README.md, "What (d)'s RSS is made of").
//
// This does what undici's own index.js does for these classes: load them, and give every
// dispatcher the `request()`/`stream()` API methods. undici has no "exports" map, so these paths
// can be loaded, but they are not its documented API: package.json pins undici exactly, and
// test/proxy/undici-core.test.ts fails on an upgrade that moves them (serve-footprint.test.ts
// checks that Node's bundled copy stays unloaded).
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as typeof Undici.Dispatcher;
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js'));

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof Undici.Pool;
export type Pool = Undici.Pool;
export const Client = require('undici/lib/dispatcher/client.js') as typeof Undici.Client;
export type Client = Undici.Client;
