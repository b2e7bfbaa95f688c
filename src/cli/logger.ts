// Logs: pino, one JSON object per line on stdout, the server's one log format; on a terminal the
// same records are written as readable lines (log-pretty.ts). Keys never reach a log line: the
// request path logs key ids only, and pino redacts the credential headers in case a request is logged.
import { pino, type Logger } from 'pino';
import { prettyDestination } from './log-pretty.ts';

export function createLogger(level = process.env.WARDEN_LOG_LEVEL ?? 'info'): Logger {
  const options = {
    level,
    base: { pid: process.pid },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]', 'key'], censor: '[redacted]' },
  };
  return process.stdout.isTTY === true ? pino(options, prettyDestination(process.stdout)) : pino(options);
}
