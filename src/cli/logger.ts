// Logs: pino, one JSON object per line on stdout. Keys never reach a log line: the request
// path logs key ids only, and pino redacts the credential headers in case a request is logged.
// A log line can carry text a client or an upstream chose (an error message, a path): pino
// escapes C0 controls like JSON, and safeJsonText escapes the rest a terminal would act on
// (C1, DEL, line separators, bidi overrides), keeping the same JSON value.
import { pino, type Logger } from 'pino';
import { safeJsonText } from '../inert-text.ts';

export function createLogger(level = process.env.WARDEN_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]', 'key'], censor: '[redacted]' },
    },
    { write: (line: string) => void process.stdout.write(safeJsonText(line)) },
  );
}
