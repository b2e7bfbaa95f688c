// node:http for the serve process, without Node's bundled copy of undici.
//
// An ESM `import { createServer } from 'node:http'` builds the module's namespace, which reads
// every export, and node:http's lazy `WebSocket`, `CloseEvent` and `MessageEvent` getters then
// load Node's internal undici (a 760 KB script and its objects): 2.3 MB more live heap and ~13 MB
// more RSS than getBuiltinModule, measured after a full GC, in a process that never uses them.
// `getBuiltinModule` hands over the module object without building a namespace. Type-only
// imports of 'node:http' are free; eslint.config.js refuses value imports.
export const http = process.getBuiltinModule('node:http');
