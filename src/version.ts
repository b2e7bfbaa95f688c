// Warden's version: package.json's, the one source of truth. Imported (not read from disk at run
// time) so the build carries it: tsc copies package.json beside dist/src, and the single-executable
// bundle inlines it.
import pkg from '../package.json' with { type: 'json' };

export const WARDEN_VERSION: string = pkg.version;
