// The V8 flag `warden serve` runs with (why: src/cli/main.ts). Here, below the CLI, so the
// Windows service, where Node cannot re-execute itself, can put it on node.exe's command line.
export const YOUNG_GEN_FLAG = '--max-semi-space-size';
/** Semi-space size in MB: the young generation is capped at twice this. */
export const YOUNG_GEN_SEMI_SPACE_MB = 4;
export const YOUNG_GEN_ARG = `${YOUNG_GEN_FLAG}=${YOUNG_GEN_SEMI_SPACE_MB}`;
