// Entry point of the single executable (`npm run package`, scripts/build-sea.ts): Node's
// single executable application support runs one CommonJS script, so this is main.ts without
// its top-level await. No version check (the executable carries its own Node 24) and no
// re-exec for `serve`: the young-generation flag (src/service/young-generation.ts) is in the executable's
// own execArgv, set at build time.
import { main } from './program.ts';

void main(process.argv).then((code) => {
  process.exitCode = code;
});
