import { once } from 'node:events';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import pino, { type Logger } from 'pino';
import pinoRoll from 'pino-roll';

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

/** When a node's log file is rotated, and how many old ones are kept (README: Logs). */
export interface LogRotation {
  /** Rotate when the file reaches this size: bytes, or pino-roll's `'100m'`, `'1g'` (default 100 MB). */
  size?: number | string;
  /** Rotate also every day, every hour, or every so many ms (default `daily`). */
  frequency?: 'daily' | 'hourly' | number;
  /** Old files kept besides the current one; older ones are deleted (default 14). */
  keep?: number;
}

export const DEFAULT_LOG_ROTATION = { size: '100m', frequency: 'daily', keep: 14 } as const;

export interface LoggerOptions {
  /** Node name, e.g. `core` or `institution:131016`. */
  node: string;
  /**
   * Write JSON lines (asynchronously) to files named after this one and numbered, rotated by
   * `rotation`: `logs/core.log` is written as `logs/core.1.log`, then `logs/core.2.log`…
   * (`logFiles` lists them). Without it, log to stdout.
   */
  file?: string;
  level?: string;
  rotation?: LogRotation;
}

/**
 * A pino logger that writes asynchronously: logging must never sit on an exchange's hot path. A file
 * is rotated with pino-roll in this thread (a SonicBoom stream, as before), not through a pino
 * transport's worker thread: one thread per node would be a dozen in the demo, for a stream that is
 * already asynchronous.
 */
export async function createLogger(options: LoggerOptions): Promise<Logger> {
  const level = options.level ?? process.env.RENKEI_LOG_LEVEL ?? 'info';
  if (options.file) {
    mkdirSync(dirname(options.file), { recursive: true });
    const rotation = { ...DEFAULT_LOG_ROTATION, ...options.rotation };
    const destination = await pinoRoll({
      file: options.file,
      size:
        typeof rotation.size === 'number'
          ? `${Math.max(1, Math.ceil(rotation.size / 1024))}k`
          : rotation.size,
      frequency: rotation.frequency,
      limit: { count: rotation.keep, removeOtherLogFiles: true },
      mkdir: true,
      sync: false,
    });
    return pino({ level, base: { node: options.node }, redact: REDACT }, destination);
  }
  return pino({ level, base: { node: options.node }, redact: REDACT });
}

/** The files a logger made with `file` has written, oldest first (`core.log` → `core.1.log`, `core.2.log`…). */
export function logFiles(file: string): string[] {
  const extension = extname(file) || '.log';
  const stem = basename(file, extname(file));
  const dir = dirname(file);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const numbered = names
    .map((name) => {
      if (!name.startsWith(`${stem}.`) || !name.endsWith(extension)) return undefined;
      const middle = name.slice(stem.length + 1, name.length - extension.length);
      return /^[0-9]+$/.test(middle) ? { name, n: Number(middle) } : undefined;
    })
    .filter((entry) => entry !== undefined)
    .sort((a, b) => a.n - b.n);
  return numbered.map(({ name }) => join(dir, name));
}

/** Everything a logger made with `file` has written and still keeps, oldest first, as text. */
export function readLog(file: string): string {
  return logFiles(file)
    .map((path) => readFileSync(path, 'utf8'))
    .join('');
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
