/**
 * `npm run bench -- --numbering N`: J-LIS's bulk numbering of N synthetic residents from a file, as
 * `renkei jlis number` runs it (on SQLite, one pass: the file checked and the numbers derived and
 * decided while a writer thread writes the batches already decided; then the index of numbers), and
 * then the raw insert of the same rows into a twin table of the same database (same columns, same
 * keys and unique index built after the load, the same one-row statement and batches and connection
 * settings, numbers as scattered as derived ones; no checks, no derivation, no second thread): the
 * bare limit of the storage, printed beside the numbering's figures. A script that prints figures,
 * not a test.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import SQLite from 'better-sqlite3';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { completeIndividualNumber } from '../domain/identifiers/individual-number.ts';
import { residentRecordCodeCheckDigit } from '../domain/identifiers/resident-record-code.ts';
import type { BulkResident } from '../nodes/jlis/service/bulk-numbering.ts';
import { jstDate } from '../shared/clock.ts';
import { dialectOf, nodeDatabase, openDatabase, type PostgresOption } from '../shared/db.ts';
import { SORT_THREADS } from '../nodes/jlis/kysely-bulk-numbering-store.ts';
import { BULK_NUMBERING_COLUMNS, numberFile, residentBatches } from './jlis-command.ts';
import { table } from './output.ts';

export async function benchNumbering(options: { dir: string; total: number; postgres?: PostgresOption }) {
  const { dir, total } = options;
  const file = join(dir, 'residents.csv');
  process.stderr.write(`Writing ${total.toLocaleString('en')} synthetic residents to ${file}…\n`);
  await writeResidents(file, total);
  const today = jstDate(new Date());

  const cpuSeconds = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1e6;
  };
  // Until the end of the check (the numbers derived and decided meanwhile, and on SQLite the batches
  // already decided written meanwhile), and from there to the end (the rest written, the index built).
  let started = performance.now();
  let cpu = process.cpuUsage();
  let checkMs = 0;
  let checkCpu = 0;
  let lastShown = 0;
  const result = await numberFile({
    dataDir: dir,
    file,
    effectiveDate: today,
    ...(options.postgres ? { postgres: options.postgres } : {}),
    onChecked: () => {
      checkMs = performance.now() - started;
      checkCpu = cpuSeconds(cpu);
      started = performance.now();
      cpu = process.cpuUsage();
    },
    onProgress: (handled) => {
      if (handled - lastShown >= total / 10 || handled === total) {
        lastShown = handled;
        process.stderr.write(`  numbered ${handled.toLocaleString('en')} of ${total.toLocaleString('en')}\n`);
      }
    },
  });
  const numberMs = performance.now() - started;
  const numberCpu = cpuSeconds(cpu);

  const db = await openDatabase<unknown>(
    nodeDatabase(options.postgres, join(dir, 'jlis', 'jlis.sqlite'), 'jlis'),
  );
  let rawMs: number;
  let rawCpu: number;
  try {
    started = performance.now();
    cpu = process.cpuUsage();
    await rawInsert(db, file, join(dir, 'jlis', 'jlis.sqlite'));
    rawMs = performance.now() - started;
    rawCpu = cpuSeconds(cpu);
  } finally {
    await db.destroy();
  }
  const perSecond = (ms: number) => Math.round((total / ms) * 1000).toLocaleString('en');
  console.log(
    table(
      ['step', 'seconds', 'residents/s', 'CPU seconds (all threads)'],
      [
        [
          'check the file, derive and decide the numbers (SQLite: writing meanwhile)',
          (checkMs / 1000).toFixed(1),
          perSecond(checkMs),
          checkCpu.toFixed(1),
        ],
        [
          'finish writing the residents, build the index of numbers',
          (numberMs / 1000).toFixed(1),
          perSecond(numberMs),
          numberCpu.toFixed(1),
        ],
        [
          'check + number (issue 8: under 60 s for 10 million)',
          ((checkMs + numberMs) / 1000).toFixed(1),
          perSecond(checkMs + numberMs),
          (checkCpu + numberCpu).toFixed(1),
        ],
        ['raw insert of the same rows', (rawMs / 1000).toFixed(1), perSecond(rawMs), rawCpu.toFixed(1)],
      ],
    ),
  );
  console.log(
    `${result.numbered.toLocaleString('en')} numbered, ${result.recounted} derived again after a collision; ` +
      `check + number took ${((checkMs + numberMs) / rawMs).toFixed(2)}× the raw insert's wall time and ` +
      `${((checkCpu + numberCpu) / rawCpu).toFixed(2)}× its CPU (load average ${loadavg()[0]!.toFixed(1)}); ` +
      `peak resident memory ${Math.round(process.resourceUsage().maxRSS / 1024).toLocaleString('en')} MiB.`,
  );
}

/** N residents with valid resident record codes, as a municipality's file would hold them. */
async function writeResidents(file: string, total: number): Promise<void> {
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write(`${BULK_NUMBERING_COLUMNS.join(',')}\n`);
  let chunk = '';
  for (let i = 0; i < total; i++) {
    const base = String(1_000_000_000 + i);
    const code = `${base}${residentRecordCodeCheckDigit(base)}`;
    const sex = i % 2 === 0 ? 'male' : 'female';
    const born = `${1930 + (i % 90)}-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;
    chunk += `${code},試験 太郎${i},シケン タロウ,新潟県三条市旭町二丁目${(i % 30) + 1}番${(i % 9) + 1}号,${born},${sex}\n`;
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');
}

/**
 * The same rows, straight into a twin table, the same way: the same columns and primary key, the file
 * read by the same reader in the same batches, the same statement (one row, eight values bound, the
 * rest written in) on a connection of its own with the same settings (SQLite), or the same `unnest`
 * (PostgreSQL), a transaction per batch, the unique index of numbers built after the load as the
 * numbering builds it; no checks, no derivation (the numbers are made up), no sets, no worker.
 */
async function rawInsert(db: Kysely<unknown>, file: string, sqliteFile: string): Promise<void> {
  await sql`drop table if exists bench_raw_residents`.execute(db);
  await sql`create table bench_raw_residents (resident_record_code varchar(11) primary key, individual_number varchar(12) not null, numbering_counter integer not null, name text not null, name_kana text, address text not null, date_of_birth varchar(10) not null, sex varchar(8) not null, status varchar(16) not null, created_at varchar(32) not null, updated_at varchar(32) not null, registered_change varchar(32), registered_on varchar(10))`.execute(
    db,
  );
  const now = new Date().toISOString();
  const isPostgres = dialectOf(db) === 'postgres';
  const constants = `'resident','${now}','${now}','first_registration','${now.slice(0, 10)}'`;
  const unnest = `insert into bench_raw_residents select * from unnest(${['varchar', 'varchar', 'integer', 'text', 'text', 'text', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar'].map((t, i) => `$${i + 1}::${t}[]`).join(',')})`;
  let writer: SQLite.Database | undefined;
  let insert: ((batch: BulkResident[]) => void) | undefined;
  if (!isPostgres) {
    await sql`pragma journal_mode = truncate`.execute(db);
    await sql`pragma cache_size = -262144`.execute(db);
    writer = new SQLite(sqliteFile);
    writer.pragma('synchronous = NORMAL');
    writer.pragma('journal_mode = truncate');
    writer.pragma('cache_size = -262144');
    const statement = writer.prepare(`insert into bench_raw_residents values (?,?,?,?,?,?,?,?,${constants})`);
    insert = writer.transaction((batch: BulkResident[]) => {
      for (const r of batch) {
        statement.run(
          r.residentRecordCode,
          madeUpNumber(r.residentRecordCode),
          0,
          r.name,
          r.nameKana ?? null,
          r.address,
          r.dateOfBirth,
          r.sex,
        );
      }
    });
  }
  try {
    for await (const batch of residentBatches(file)) {
      if (insert !== undefined) {
        insert(batch);
        continue;
      }
      const n = batch.length;
      const constant = (value: string) => new Array<string>(n).fill(value);
      await db.executeQuery(
        CompiledQuery.raw(unnest, [
          batch.map((r) => r.residentRecordCode),
          batch.map((r) => madeUpNumber(r.residentRecordCode)),
          new Array<number>(n).fill(0),
          batch.map((r) => r.name),
          batch.map((r) => r.nameKana ?? null),
          batch.map((r) => r.address),
          batch.map((r) => r.dateOfBirth),
          batch.map((r) => r.sex),
          constant('resident'),
          constant(now),
          constant(now),
          constant('first_registration'),
          constant(now.slice(0, 10)),
        ]),
      );
    }
  } finally {
    writer?.close();
  }
  // Sorted in temporary files, as the numbering's index is (`kysely-bulk-numbering-store.ts`).
  if (!isPostgres) {
    await sql`pragma temp_store = file`.execute(db);
    await sql.raw(`pragma threads = ${SORT_THREADS}`).execute(db);
  }
  await sql`create unique index bench_raw_residents_by_number on bench_raw_residents (individual_number)`.execute(
    db,
  );
  if (!isPostgres) {
    await sql`pragma journal_mode = wal`.execute(db);
    await sql`pragma temp_store = memory`.execute(db);
    await sql`pragma threads = 0`.execute(db);
  }
}

/**
 * A distinct, valid number for each code, without the key: the raw insert derives nothing. The code's
 * digits reversed, so that consecutive codes get scattered numbers, as derived ones are: the index of
 * numbers is then sorted from as random an order as the numbering's (numbers in code order made that
 * sort a third of its cost).
 */
function madeUpNumber(code: string): string {
  return completeIndividualNumber(`0${[...code.slice(0, 10)].reverse().join('')}`);
}
