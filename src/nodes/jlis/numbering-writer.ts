/**
 * Bulk numbering's SQLite writes in a thread of their own, fed while the file is still being checked:
 * the main thread reads and checks the file and decides the numbers (the numbering worker derives
 * them), and this thread decodes and writes each batch as soon as its numbers are decided, so the
 * check of batch k+1 and the writing of batch k overlap on the two cores (issue 8).
 *
 * What crosses: each batch's lines as the file's bytes (copied once on the main thread into a buffer
 * that is transferred, not cloned) with, for each line, where it starts, its five commas and where it
 * ends (an Int32Array, transferred), and the plan (codes, numbers, counters: typed arrays,
 * transferred). A line the main thread could only read by decoding it (a quoted cell) crosses as its
 * cells (cloned; rare). This thread decodes the cells it binds. An earlier writing thread (commit
 * b03e71a) was handed decoded columns, and their structured clone cost more than the overlap gave back.
 *
 * All or nothing until the file has passed its check: everything written before then is one
 * transaction, begun with the drop of the index of numbers, rolled back if a line is refused (or by
 * the next opening, from its hot journal, if the process is killed). Once the whole file has passed
 * (`checked`), that transaction commits and each later batch commits by itself: a run killed after
 * that keeps whole batches and the same command finishes it.
 *
 * The code is a string (run with `eval`) for the reason `numbering-worker.ts` gives: the CLI ships as
 * one bundle. better-sqlite3 is resolved here, from this module, and the worker is told where.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { RenkeiError } from '../../shared/errors.ts';
import type { BulkWriter } from './store.ts';

const WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
// A failure here (another process holding the file locked past the wait, SQLITE_BUSY) is answered
// to the first request, as a failure later would be: its code only.
let broken;
let db;
let statement;
let checked = false;
try {
  db = new Database(workerData.file);
  for (const pragma of workerData.pragmas) {
    try {
      db.pragma(pragma);
    } catch (error) {
      // Leaving WAL needs the only connection: with another process's open, WAL stays (slower, as safe).
      if (!(pragma.startsWith('journal_mode') && error && error.code === 'SQLITE_BUSY')) throw error;
    }
  }
  statement = db.prepare(workerData.insert);
  db.exec('begin');
  db.exec(workerData.before);
} catch (error) {
  try {
    if (db && db.inTransaction) db.exec('rollback');
    if (db) db.close();
  } catch {}
  broken = String((error && error.code) || 'error');
}
function write(m) {
  const b = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  const { bounds, codes, numbers, counters, cells } = m;
  const n = codes.length;
  // The primary key's index takes its entries in order: a batch in code order (the usual) as it is.
  let order;
  for (let i = 1; i < n; i++) {
    if (codes[i] < codes[i - 1]) {
      order = Array.from({ length: n }, (_, k) => k).sort((x, y) => codes[x] - codes[y]);
      break;
    }
  }
  let written = 0;
  for (let k = 0; k < n; k++) {
    const i = order === undefined ? k : order[k];
    if (numbers[i] < 0) continue;
    const number = String(numbers[i]).padStart(12, '0');
    const own = cells[i];
    if (own !== undefined) {
      statement.run(own[0], number, counters[i], own[1], own[2] === '' ? null : own[2], own[3], own[4], own[5]);
    } else {
      const o = i * 7;
      const s = bounds[o], c1 = bounds[o + 1], c2 = bounds[o + 2], c3 = bounds[o + 3], c4 = bounds[o + 4], c5 = bounds[o + 5];
      const sex = bounds[o + 6] - c5 - 1;
      statement.run(
        b.latin1Slice(s, c1), number, counters[i], b.utf8Slice(c1 + 1, c2),
        c3 === c2 + 1 ? null : b.utf8Slice(c2 + 1, c3), b.utf8Slice(c3 + 1, c4), b.latin1Slice(c4 + 1, c5),
        sex === 4 ? 'male' : sex === 6 ? 'female' : 'other');
    }
    written++;
  }
  return written;
}
// The first failure's code, given again to every later request (the connection is closed by then).
parentPort.on('message', (m) => {
  if (broken !== undefined) {
    parentPort.postMessage({ failed: broken });
    return;
  }
  try {
    if (m.kind === 'batch') {
      const written = write(m);
      if (checked) {
        db.exec('commit');
        db.exec('begin');
      }
      parentPort.postMessage({ written });
    } else if (m.kind === 'checked') {
      checked = true;
      db.exec('commit');
      db.exec('begin');
      parentPort.postMessage({});
    } else if (m.kind === 'end') {
      db.exec(m.commit ? 'commit' : 'rollback');
      db.close();
      parentPort.postMessage({});
    }
  } catch (error) {
    // What was not committed goes; the connection closes here, not left open in a thread that ends.
    try {
      if (db.inTransaction) db.exec('rollback');
      db.close();
    } catch {}
    // The driver's error code only (SQLITE_FULL, …): never a value of a row.
    broken = String((error && error.code) || 'error');
    parentPort.postMessage({ failed: broken });
  }
});
`;

export function createBulkWriter(options: {
  file: string;
  pragmas: string[];
  /** The single-row INSERT, eight parameters (code, number, counter, name, kana, address, birth, sex). */
  insert: string;
  /** SQL run first inside the run's transaction (the drop of the index of numbers). */
  before: string;
}): BulkWriter {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WRITER_SOURCE, { eval: true, workerData: { driver, ...options } });
  // The worker answers in the order it was asked.
  const waiting: { resolve: (written: number) => void; reject: (error: Error) => void }[] = [];
  let stopped: Error | undefined;
  const fail = (error: Error) => {
    stopped ??= error;
    for (const w of waiting.splice(0)) w.reject(error);
  };
  worker.on('message', (answer: { written?: number; failed?: string }) => {
    const next = waiting.shift();
    if (answer.failed === undefined) next?.resolve(answer.written ?? 0);
    else {
      const error = writerError(answer.failed, options.file);
      stopped ??= error;
      next?.reject(error);
    }
  });
  // An error thrown in the thread arrives cloned (a SqliteError as a plain `{ code }`): made an Error again.
  worker.on('error', (error: unknown) =>
    fail(error instanceof Error ? error : writerError(codeOf(error) ?? 'error', options.file)),
  );
  worker.on('exit', () => fail(new Error('the bulk writer stopped')));
  const ask = (message: unknown, transfer: ArrayBuffer[] = []) =>
    stopped
      ? Promise.reject(stopped)
      : new Promise<number>((resolve, reject) => {
          waiting.push({ resolve, reject });
          worker.postMessage(message, transfer);
        });
  return {
    write: (lines, plan) =>
      ask({ kind: 'batch', ...lines, ...plan }, [
        lines.bytes.buffer as ArrayBuffer,
        lines.bounds.buffer as ArrayBuffer,
        plan.codes.buffer as ArrayBuffer,
        plan.numbers.buffer as ArrayBuffer,
        plan.counters.buffer as ArrayBuffer,
      ]),
    checked: async () => {
      await ask({ kind: 'checked' });
    },
    async end(commit) {
      try {
        if (!stopped) await ask({ kind: 'end', commit });
      } finally {
        await worker.terminate();
      }
    },
  };
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * What the thread's failure code means to the operator: a file held by another process is
 * ERR_DATABASE_BUSY, naming what to do; anything else the driver's code (never a row's value).
 */
export function writerError(code: string, file: string): Error {
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new RenkeiError(
      'ERR_DATABASE_BUSY',
      `Another process holds ${file} locked (a running J-LIS node, or a tool reading it): stop it and run the command again. What was not committed was undone.`,
      { cause: code },
    );
  }
  return new Error(`the bulk writer could not write (${code})`);
}
