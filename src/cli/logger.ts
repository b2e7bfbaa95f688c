// Logs: pino, one JSON object per line on stdout. Keys never reach a log line: the request
// path logs key ids only, and pino redacts the credential headers in case a request is logged.
import { pino, type Logger } from 'pino';

export function createLogger(level = process.env.WARDEN_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]', 'key'], censor: '[redacted]' },
  });
}
