/**
 * Bulk numbering's SQLite writes in a worker thread of their own, on a dedicated better-sqlite3
 * connection to the same file: the main thread reads, parses and checks the file, the numbering worker
 * derives, and this one writes, so the three overlap across both cores (the writes were the bound when
 * they shared the main thread). Each batch is one transaction on this connection, whole or absent, as
 * before; batches are written in the order they were sent, and `write` resolves when its batch is
 * committed.
 *
 * The worker's code is a string (run with `eval`) for the reason `numbering-worker.ts` gives: the CLI
 * ships as one bundle. better-sqlite3 is resolved here, from this module, and the worker is told where.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { BulkRows } from './store.ts';

const WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = NORMAL');
db.pragma('journal_mode = ' + workerData.journalMode);
db.pragma('cache_size = -' + workerData.cacheKib);
let statement;
let text;
const insert = db.transaction((rows) => {
  const c = rows.residentRecordCodes;
  for (let i = 0; i < c.length; i++) {
    statement.run(c[i], rows.individualNumbers[i], rows.numberingCounters[i], rows.names[i],
      rows.nameKanas[i], rows.addresses[i], rows.datesOfBirth[i], rows.sexes[i]);
  }
});
parentPort.on('message', (message) => {
  if (message.close) {
    db.close();
    parentPort.postMessage({ closed: true });
    return;
  }
  try {
    if (message.sql !== text) {
      statement = db.prepare(message.sql);
      text = message.sql;
    }
    insert(message.rows);
    parentPort.postMessage({ written: message.rows.residentRecordCodes.length });
  } catch (error) {
    parentPort.postMessage({ failed: String(error && error.code || 'error') });
  }
});
`;

export interface BulkWriter {
  /** Write `rows` with `sql` (one row's INSERT, eight parameters) in one transaction. */
  write(sql: string, rows: BulkRows): Promise<void>;
  /** Wait for every batch sent, close the connection, end the thread. */
  close(): Promise<void>;
}

export function createBulkWriter(options: {
  file: string;
  journalMode: string;
  cacheKib: number;
}): BulkWriter {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WRITER_SOURCE, { eval: true, workerData: { driver, ...options } });
  // The worker answers in the order it was asked.
  const waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let stopped: Error | undefined;
  const fail = (error: Error) => {
    stopped ??= error;
    for (const w of waiting.splice(0)) w.reject(error);
  };
  worker.on('message', (answer: { written?: number; failed?: string; closed?: boolean }) => {
    const next = waiting.shift();
    if (answer.failed === undefined) next?.resolve();
    // The driver's error code only (SQLITE_FULL, …): never a value of a row.
    else next?.reject(new Error(`the bulk writer could not write a batch (${answer.failed})`));
  });
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('the bulk writer stopped')));
  const ask = (message: unknown) =>
    stopped
      ? Promise.reject(stopped)
      : new Promise<void>((resolve, reject) => {
          waiting.push({ resolve, reject });
          worker.postMessage(message);
        });
  return {
    write: (sql, rows) => ask({ sql, rows }),
    async close() {
      try {
        if (!stopped) await ask({ close: true });
      } finally {
        await worker.terminate();
      }
    },
  };
}
