/**
 * `npm run bench -- --numbering N`: J-LIS's bulk numbering of N synthetic residents from a file, as
 * `renkei jlis number` runs it (check the whole file, then derive and write in batches), and then the
 * raw insert of the same rows into twin tables of the same database (same columns, same keys and
 * unique indexes, same multi-row statements and batches, no checks, no derivation): the bare limit of
 * the storage, printed beside the numbering's figures. A script that prints figures, not a test.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
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

  let started = performance.now();
  await checkFile(file, today);
  const checkMs = performance.now() - started;

  started = performance.now();
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

  const db = await openDatabase<unknown>(
    nodeDatabase(options.postgres, join(dir, 'jlis', 'jlis.sqlite'), 'jlis'),
  );
  let rawMs: number;
  try {
    started = performance.now();
    await rawInsert(db, file);
    rawMs = performance.now() - started;
  } finally {
    await db.destroy();
  }
  const perSecond = (ms: number) => Math.round((total / ms) * 1000).toLocaleString('en');
  console.log(
    table(
      ['step', 'seconds', 'residents/s'],
      [
        ['check the file (every line, duplicates)', (checkMs / 1000).toFixed(1), perSecond(checkMs)],
        ['number (derive, check, write)', (numberMs / 1000).toFixed(1), perSecond(numberMs)],
        ['check + number', ((checkMs + numberMs) / 1000).toFixed(1), perSecond(checkMs + numberMs)],
        ['raw insert of the same rows', (rawMs / 1000).toFixed(1), perSecond(rawMs)],
      ],
    ),
  );
  console.log(
    `${result.numbered.toLocaleString('en')} numbered, ${result.recounted} derived again after a collision; ` +
      `numbering took ${(numberMs / rawMs).toFixed(2)}× the raw insert.`,
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

/** The same rows, straight into twin tables: the multi-row statements of the numbering, nothing else. */
async function rawInsert(db: Kysely<unknown>, file: string): Promise<void> {
  await sql`drop table if exists bench_raw_history`.execute(db);
  await sql`drop table if exists bench_raw_residents`.execute(db);
  await sql`create table bench_raw_residents (resident_record_code varchar(11) primary key, individual_number varchar(12) not null unique, numbering_counter integer not null, name text not null, name_kana text, address text not null, date_of_birth varchar(10) not null, sex varchar(8) not null, status varchar(16) not null, created_at varchar(32) not null, updated_at varchar(32) not null)`.execute(
    db,
  );
  await sql`create table bench_raw_history (resident_record_code varchar(11) not null, changed_at varchar(32) not null, change varchar(32) not null, effective_date varchar(10), status varchar(16), changed_fields varchar(64), name text not null, name_kana text, address text not null, date_of_birth varchar(10) not null, sex varchar(8) not null)`.execute(
    db,
  );
  await sql`create index bench_raw_history_by_resident on bench_raw_history (resident_record_code)`.execute(
    db,
  );
  const now = new Date().toISOString();
  const ROWS = 1_000;
  const COLUMNS = 11;
  const isPostgres = dialectOf(db) === 'postgres';
  /** `insert into T values (…),(…)` for `rows` rows, with the dialect's placeholders. */
  const statement = (tableName: string, rows: number) => {
    let n = 0;
    const row = () => `(${Array.from({ length: COLUMNS }, () => (isPostgres ? `$${++n}` : '?')).join(',')})`;
    return `insert into ${tableName} values ${Array.from({ length: rows }, row).join(',')}`;
  };
  const full = {
    residents: statement('bench_raw_residents', ROWS),
    history: statement('bench_raw_history', ROWS),
  };
  let residents: unknown[] = [];
  let history: unknown[] = [];
  let batch: [unknown[], unknown[]][] = [];
  const flush = async () => {
    await db.transaction().execute(async (trx) => {
      for (const [r, h] of batch) {
        const rows = r.length / COLUMNS;
        const texts =
          rows === ROWS
            ? full
            : {
                residents: statement('bench_raw_residents', rows),
                history: statement('bench_raw_history', rows),
              };
        await trx.executeQuery(CompiledQuery.raw(texts.residents, r));
        await trx.executeQuery(CompiledQuery.raw(texts.history, h));
      }
    });
    batch = [];
  };
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    if (line++ === 0 || text.length === 0) continue;
    const [code = '', name = '', kana = '', address = '', born = '', sex = ''] = splitCsvLine(text) ?? [];
    residents.push(
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
    );
    history.push(
      code,
      now,
      'first_registration',
      now.slice(0, 10),
      'resident',
      'name,nameKana,address,dateOfBirth,sex,status',
      name,
      kana,
      address,
      born,
      sex,
    );
    if (residents.length === ROWS * COLUMNS) {
      batch.push([residents, history]);
      residents = [];
      history = [];
      if (batch.length * ROWS >= BULK_BATCH) await flush();
    }
  }
  if (residents.length > 0) batch.push([residents, history]);
  if (batch.length > 0) await flush();
}
