/**
 * `npm run bench -- --numbering N`: J-LIS's bulk numbering of N synthetic residents from a file, as
 * `renkei jlis number` runs it (check the whole file, then derive and write in batches), and then the
 * raw insert of the same rows into a twin table of the same database (same columns, same keys and
 * unique index, same statements and batches, no checks, no derivation): the bare limit of the
 * storage, printed beside the numbering's figures. A script that prints figures, not a test.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import { completeIndividualNumber } from '../domain/identifiers/individual-number.ts';
import { residentRecordCodeCheckDigit } from '../domain/identifiers/resident-record-code.ts';
import { BULK_BATCH } from '../nodes/jlis/service/bulk-numbering.ts';
import { jstDate } from '../shared/clock.ts';
import { splitCsvLine } from '../shared/csv.ts';
import { dialectOf, nodeDatabase, openDatabase, type PostgresOption } from '../shared/db.ts';
import { BULK_NUMBERING_COLUMNS, checkFile, numberFile } from './jlis-command.ts';
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
  let started = performance.now();
  let cpu = process.cpuUsage();
  await checkFile(file, today);
  const checkMs = performance.now() - started;
  const checkCpu = cpuSeconds(cpu);

  started = performance.now();
  cpu = process.cpuUsage();
  let lastShown = 0;
  const result = await numberFile({
    dataDir: dir,
    file,
    total,
    effectiveDate: today,
    ...(options.postgres ? { postgres: options.postgres } : {}),
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
    await rawInsert(db, file);
    rawMs = performance.now() - started;
    rawCpu = cpuSeconds(cpu);
  } finally {
    await db.destroy();
  }
  const perSecond = (ms: number) => Math.round((total / ms) * 1000).toLocaleString('en');
  console.log(
    table(
      ['step', 'seconds', 'residents/s', 'CPU seconds (both threads)'],
      [
        [
          'check the file (every line, duplicates)',
          (checkMs / 1000).toFixed(1),
          perSecond(checkMs),
          checkCpu.toFixed(1),
        ],
        [
          'number (derive, check, write)',
          (numberMs / 1000).toFixed(1),
          perSecond(numberMs),
          numberCpu.toFixed(1),
        ],
        [
          'check + number',
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
      `numbering took ${(numberMs / rawMs).toFixed(2)}× the raw insert (load average ${loadavg()[0]!.toFixed(1)}); ` +
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
 * The same rows, straight into a twin table: the same columns and primary key, the same multi-row
 * statements and transactions, the unique index of numbers built after the load as the numbering
 * builds it; no checks, no derivation (the numbers are made up), no sets, no worker.
 */
async function rawInsert(db: Kysely<unknown>, file: string): Promise<void> {
  await sql`drop table if exists bench_raw_residents`.execute(db);
  await sql`create table bench_raw_residents (resident_record_code varchar(11) primary key, individual_number varchar(12) not null, numbering_counter integer not null, name text not null, name_kana text, address text not null, date_of_birth varchar(10) not null, sex varchar(8) not null, status varchar(16) not null, created_at varchar(32) not null, updated_at varchar(32) not null, registered_change varchar(32), registered_on varchar(10))`.execute(
    db,
  );
  const now = new Date().toISOString();
  const ROWS = 500;
  const COLUMNS = 13;
  const isPostgres = dialectOf(db) === 'postgres';
  if (!isPostgres) {
    await sql`pragma cache_size = -262144`.execute(db);
    await sql`pragma journal_mode = truncate`.execute(db);
  }
  /** `insert into T values (…),(…)` for `rows` rows (SQLite, its constants written in), or one `unnest` per batch (PostgreSQL). */
  const row = `(?,?,?,?,?,?,?,?,'resident','${now}','${now}','first_registration','${now.slice(0, 10)}')`;
  const statement = (rows: number) =>
    `insert into bench_raw_residents values ${Array.from({ length: rows }, () => row).join(',')}`;
  const full = statement(ROWS);
  const unnest = `insert into bench_raw_residents select * from unnest(${['varchar', 'varchar', 'integer', 'text', 'text', 'text', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar', 'varchar'].map((t, i) => `$${i + 1}::${t}[]`).join(',')})`;
  let rows: unknown[][] = [];
  const flush = async () => {
    if (isPostgres) {
      const columns = Array.from({ length: COLUMNS }, (_, c) => rows.map((row) => row[c]));
      await db.executeQuery(CompiledQuery.raw(unnest, columns));
    } else {
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < rows.length; i += ROWS) {
          const part = rows.slice(i, i + ROWS);
          await trx.executeQuery(
            CompiledQuery.raw(
              part.length === ROWS ? full : statement(part.length),
              part.flatMap((r) => r.slice(0, 8)),
            ),
          );
        }
      });
    }
    rows = [];
  };
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    if (line++ === 0 || text.length === 0) continue;
    const [code = '', name = '', kana = '', address = '', born = '', sex = ''] = splitCsvLine(text) ?? [];
    rows.push([
      code,
      completeIndividualNumber(`0${code.slice(0, 10)}`),
      0,
      name,
      kana,
      address,
      born,
      sex,
      'resident',
      now,
      now,
      'first_registration',
      now.slice(0, 10),
    ]);
    if (rows.length === BULK_BATCH) await flush();
  }
  if (rows.length > 0) await flush();
  await sql`create unique index bench_raw_residents_by_number on bench_raw_residents (individual_number)`.execute(
    db,
  );
  if (!isPostgres) await sql`pragma journal_mode = wal`.execute(db);
}
