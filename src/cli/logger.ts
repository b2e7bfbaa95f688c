// Logs: pino, one JSON object per line on stdout, the server's one log format; on a terminal the
// same records are written as readable lines (log-pretty.ts). Keys never reach a log line: the
// request path logs key ids only, and pino redacts the credential headers in case a request is logged.
// A log line can carry text a client or an upstream chose (an error message, a path): pino
// escapes C0 controls like JSON, and safeJsonText escapes the rest a terminal would act on
// (C1, DEL, line separators, bidi overrides), keeping the same JSON value.
import { pino, type Logger } from 'pino';
import { safeJsonText } from '../inert-text.ts';
import { prettyDestination } from './log-pretty.ts';

export function createLogger(level = process.env.WARDEN_LOG_LEVEL ?? 'info'): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]', 'key'], censor: '[redacted]' },
  };
  return process.stdout.isTTY === true
    ? pino(options, prettyDestination(process.stdout))
    : pino(options, { write: (line: string) => void process.stdout.write(safeJsonText(line)) });
}
