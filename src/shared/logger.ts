import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that must never reach a log line, whatever a careless caller passes in. Logging personal data,
 * codes or keys is forbidden by design; redaction is the second line of defence, not the first. The
 * addressee number counts as personal: it names a person inside the institution.
 */
const REDACT = [
  'individualNumber',
  'personCode',
  'residentRecordCode',
  'addresseeNumber',
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
  '*.addresseeNumber',
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

/**
 * Flush and close the log file of a logger made by `createLogger`. `logger.flush()` alone is not
 * enough: the file opens asynchronously, and a node closed soon after starting would return before it
 * is open, then open it (and keep its descriptor) after the caller has moved on or removed the
 * directory. So wait for the file to be open, then end the stream and wait for it to close.
 */
export async function closeLogger(logger: Logger): Promise<void> {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    (NodeJS.EventEmitter & { fd?: number; end?: () => void }) | undefined;
  if (typeof stream?.fd !== 'number' || typeof stream.end !== 'function') {
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    return;
  }
  if (stream.fd < 0) await once(stream, 'ready');
  const closed = once(stream, 'close');
  stream.end();
  await closed;
}
