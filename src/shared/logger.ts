import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that must never reach a log line, whatever a careless caller passes in. Logging personal data,
 * codes or keys is forbidden by design; redaction is the second line of defence, not the first.
 */
const REDACT = [
  'individualNumber',
  'personCode',
  'residentRecordCode',
  'linkingCode',
  'data',
  'items',
  'basicFourInfo',
  'name',
  'address',
  'dateOfBirth',
  '*.individualNumber',
  '*.personCode',
  '*.residentRecordCode',
  '*.data',
  'req.body',
  'req.headers.authorization',
];

export interface LoggerOptions {
  /** Node name, e.g. `core` or `institution:131016`. */
  node: string;
  /** Write JSON lines here (asynchronously); without it, log to stdout. */
  file?: string;
  level?: string;
}

/** A pino logger that writes asynchronously: logging must never sit on an exchange's hot path. */
export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? process.env.RENKEI_LOG_LEVEL ?? 'info';
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    const destination = pino.destination({ dest: options.file, sync: false, mkdir: true });
    return pino({ level, base: { node: options.node }, redact: REDACT }, destination);
  }
  return pino({ level, base: { node: options.node }, redact: REDACT });
}

/** A logger that discards everything, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
