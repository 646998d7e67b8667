/**
 * J-LIS's bulk numbering from a file (`renkei jlis number`), on a real SQLite file: every line checked
 * before anything is written, numbers derived exactly as one at a time, a collision resolved with the
 * next counter, a run stopped half-way finished by running it again.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { residentRecordCodeCheckDigit } from '../domain/identifiers/resident-record-code.ts';
import { createKyselyJlisStore, type JlisDatabase } from '../nodes/jlis/kysely-store.ts';
import { deriveIndividualNumber } from '../nodes/jlis/numbering.ts';
import { openDatabase } from '../shared/db.ts';
import { BULK_BATCH } from '../nodes/jlis/service/bulk-numbering.ts';
import { RenkeiError } from '../shared/errors.ts';
import { BULK_NUMBERING_COLUMNS, checkFile, numberFile } from './jlis-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'renkei-bulk-numbering-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TODAY = '2026-04-01';

function codeOf(i: number): string {
  const base = String(3_000_000_000 + i);
  return `${base}${residentRecordCodeCheckDigit(base)}`;
}

/**
 * How many of residents `from`…`from + count - 1` numbering one at a time, in order, must derive
 * again (counter 1, 2…) because their number is taken: by `taken`, or by an earlier one of them. Two
 * of 10^11 numbers meet by chance (about one pair in 1,400 files of 12,000), so the expected count
 * is worked out, not assumed 0. `taken` gains the numbers given.
 */
function recountsOneAtATime(key: Uint8Array, from: number, count: number, taken: Set<string>): number {
  let recounts = 0;
  for (let i = from; i < from + count; i++) {
    let counter = 0;
    while (taken.has(deriveIndividualNumber(key, codeOf(i), counter))) counter++;
    taken.add(deriveIndividualNumber(key, codeOf(i), counter));
    recounts += counter;
  }
  return recounts;
}

function residentsFile(name: string, from: number, count: number, extra = ''): string {
  const lines = [BULK_NUMBERING_COLUMNS.join(',')];
  for (let i = from; i < from + count; i++) {
    lines.push(
      `${codeOf(i)},"試験, 花子${i}",シケン ハナコ,東京都新宿区西新宿2丁目8番1号,1990-01-0${(i % 9) + 1},female`,
    );
  }
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n${extra}`);
  return file;
}

async function refusal(call: Promise<unknown>): Promise<RenkeiError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RenkeiError);
  return error as RenkeiError;
}

describe('bulk numbering (一括付番)', () => {
  it('refuses a file with a bad line, naming the line and never its values', async () => {
    const bad = residentsFile('bad.csv', 0, 20, `${codeOf(5)},重複 太郎,,東京都,1990-01-01,male\n`);
    const duplicate = await refusal(checkFile(bad, TODAY));
    expect(duplicate.code).toBe('ERR_IMPORT_INVALID');
    expect(duplicate.details.line).toBe(22);
    expect(duplicate.message).not.toContain(codeOf(5));
    const mistyped = residentsFile(
      'mistyped.csv',
      0,
      3,
      `${codeOf(9).slice(0, 10)}${(Number(codeOf(9)[10]) + 1) % 10},x,,y,1990-01-01,male\n`,
    );
    expect((await refusal(checkFile(mistyped, TODAY))).message).toContain('check digit');
    const future = residentsFile('future.csv', 0, 3, `${codeOf(9)},x,,y,2030-01-01,male\n`);
    expect((await refusal(checkFile(future, TODAY))).message).toContain('future');
  });

  it('accepts and refuses a line on its bytes exactly as on its decoded text', async () => {
    const header = BULK_NUMBERING_COLUMNS.join(',');
    const check = (line: string) => {
      const file = join(dir, 'one-line.csv');
      writeFileSync(file, `${header}\n${line}\n`);
      return checkFile(file, TODAY).then(
        () => 'accepted',
        (error: RenkeiError) =>
          error.message.replace(/^.*line 2: /, '').replace('. Nothing was numbered.', ''),
      );
    };
    const code = codeOf(1);
    // Each line: what `checkBulkResident` on the decoded line says.
    const cases: [string, string][] = [
      [`${code},\u3000太郎,,東京都,1990-01-01,male`, 'accepted'], // ideographic space first, then a name
      [`${code},\u3000\u3000,,東京都,1990-01-01,male`, 'name is empty or longer than 100'],
      [`${code},${'漢'.repeat(100)},,東京都,1990-01-01,male`, 'accepted'], // 300 bytes, 100 characters
      [`${code},${'漢'.repeat(101)},,東京都,1990-01-01,male`, 'name is empty or longer than 100'],
      [`${code},太郎,${'カ'.repeat(101)},東京都,1990-01-01,male`, 'nameKana is longer than 100'],
      [`${code},太郎,,${'東'.repeat(200)},1990-01-01,male`, 'accepted'],
      [`${code},太郎,, ,1990-01-01,male`, 'address is empty or longer than 200'],
      [`${code},太郎,,東京都,1990-13-01,male`, 'dateOfBirth is not a date YYYY-MM-DD'],
      [`${code},太郎,,東京都,1990-1-01,male`, 'dateOfBirth is not a date YYYY-MM-DD'],
      [`${code},太郎,,東京都,2026-04-02,male`, 'dateOfBirth is in the future'],
      [`${code},太郎,,東京都,2026-04-01,other`, 'accepted'],
      [`${code},太郎,,東京都,1990-01-01,Male`, 'sex is not male, female or other'],
      [
        `${code.slice(0, 10)},太郎,,東京都,1990-01-01,male`,
        'residentRecordCode is not 11 digits with a valid check digit',
      ],
      [`${code},"太郎",,東京都,1990-01-01,female`, 'accepted'],
      [`${code},太郎,,東京都,1990-01-01`, 'it must have 6 columns'],
      [`${code},太郎,,東京都,1990-01-01,male,`, 'it must have 6 columns'],
    ];
    for (const [line, expected] of cases) expect(await check(line), line).toBe(expected);
  });

  it('writes nothing when the last line of a file is bad, though every number was decided before it', async () => {
    const dataDir = join(dir, 'refused');
    const file = residentsFile(
      'refused.csv',
      0,
      BULK_BATCH + 10,
      `${codeOf(7)},重複 太郎,,東京都,1990-01-01,male\n`,
    );
    expect((await refusal(numberFile({ dataDir, file, effectiveDate: TODAY }))).details.line).toBe(
      BULK_BATCH + 12,
    );
    const db = await openDatabase<JlisDatabase>({
      dialect: 'sqlite',
      file: join(dataDir, 'jlis', 'jlis.sqlite'),
    });
    try {
      expect(await createKyselyJlisStore(db).countResidents()).toBe(0);
      // The index of numbers, dropped inside the run's transaction, is back with its rollback.
      const index = await db
        .selectFrom('sqlite_master' as never)
        .select('name' as never)
        .where('name' as never, '=', 'residents_by_individual_number' as never)
        .execute();
      expect(index).toHaveLength(1);
    } finally {
      await db.destroy();
    }
  });

  it('writes each cell as the file holds it, from the bytes of a plain line as from a quoted one', async () => {
    const dataDir = join(dir, 'cells');
    // Unquoted lines (read by the writer on their bytes, a CRLF one among them) and a quoted one
    // (handed over as its decoded cells), with and without a kana, each sex; and a blank line.
    const lines = [
      BULK_NUMBERING_COLUMNS.join(','),
      `${codeOf(1)},山田 太郎,ヤマダ タロウ,北海道札幌市中央区北1条西2丁目1番地,1950-12-31,male`,
      `${codeOf(2)},Smith John,,東京都千代田区霞が関1-2-3 ビル5F,2001-02-03,female\r`,
      '',
      `${codeOf(3)},"佐藤, 花子","サトウ ハナコ","大阪府大阪市北区梅田1丁目",1980-07-07,other`,
      `${codeOf(4)},𠮷野 一,,沖縄県那覇市泉崎1丁目2番2号,2020-01-01,other`,
    ];
    const file = join(dir, 'cells.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect(await numberFile({ dataDir, file, effectiveDate: TODAY })).toEqual({
      numbered: 4,
      skipped: 0,
      recounted: 0,
    });
    const db = await openDatabase<JlisDatabase>({
      dialect: 'sqlite',
      file: join(dataDir, 'jlis', 'jlis.sqlite'),
    });
    try {
      const store = createKyselyJlisStore(db);
      const expected = [
        [1, '山田 太郎', 'ヤマダ タロウ', '北海道札幌市中央区北1条西2丁目1番地', '1950-12-31', 'male'],
        [2, 'Smith John', undefined, '東京都千代田区霞が関1-2-3 ビル5F', '2001-02-03', 'female'],
        [3, '佐藤, 花子', 'サトウ ハナコ', '大阪府大阪市北区梅田1丁目', '1980-07-07', 'other'],
        [4, '𠮷野 一', undefined, '沖縄県那覇市泉崎1丁目2番2号', '2020-01-01', 'other'],
      ] as const;
      for (const [i, name, nameKana, address, dateOfBirth, sex] of expected) {
        const found = await store.findResident(codeOf(i));
        expect(found).toMatchObject({ name, address, dateOfBirth, sex, numberingCounter: 0 });
        expect(found?.nameKana).toBe(nameKana);
        expect(found?.individualNumber).toBe(
          deriveIndividualNumber(
            new Uint8Array(
              Buffer.from(readFileSync(join(dataDir, 'jlis', 'numbering-key'), 'utf8').trim(), 'hex'),
            ),
            codeOf(i),
            0,
          ),
        );
      }
    } finally {
      await db.destroy();
    }
  });

  it('writes nothing and keeps the index of numbers when a write fails before the end of the check is committed', async () => {
    const dataDir = join(dir, 'writer-fails');
    const database = join(dataDir, 'jlis', 'jlis.sqlite');
    await numberFile({ dataDir, file: residentsFile('one.csv', 900_000, 1), effectiveDate: TODAY });
    // The database refuses one resident of the second batch (as a full disk would refuse a page).
    const admin = new Database(database);
    admin.exec(
      `create trigger refuse_one before insert on residents when new.resident_record_code = '${codeOf(
        BULK_BATCH + 5,
      )}' begin select raise(abort, 'refused'); end`,
    );
    admin.close();
    const failed = await numberFile({
      dataDir,
      file: residentsFile('fails.csv', 0, BULK_BATCH + 10),
      effectiveDate: TODAY,
    }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failed?.message).toContain('SQLITE_CONSTRAINT_TRIGGER');
    expect(failed?.message).not.toContain(codeOf(BULK_BATCH + 5));
    const reader = new Database(database, { readonly: true });
    try {
      expect(reader.prepare('select count(*) as n from residents').get()).toEqual({ n: 1 });
      expect(
        reader.prepare(`select name from sqlite_master where name = 'residents_by_individual_number'`).all(),
      ).toHaveLength(1);
    } finally {
      reader.close();
    }
  });

  it('numbers with another process’s connection open on the file, and refuses with ERR_DATABASE_BUSY while one holds it locked', async () => {
    const dataDir = join(dir, 'held');
    const database = join(dataDir, 'jlis', 'jlis.sqlite');
    await numberFile({ dataDir, file: residentsFile('held-one.csv', 700_000, 1), effectiveDate: TODAY });
    // A reader open the whole run (an operator's query tool): the run keeps WAL and goes on.
    const reader = new Database(database, { readonly: true });
    try {
      reader.prepare('select count(*) as n from residents').get();
      await numberFile({ dataDir, file: residentsFile('held-two.csv', 710_000, 20), effectiveDate: TODAY });
      expect(reader.prepare('select count(*) as n from residents').get()).toEqual({ n: 21 });
    } finally {
      reader.close();
    }
    // A writer holding the file locked past the wait: a clear refusal, nothing written.
    const holder = new Database(database);
    holder.exec('begin immediate');
    try {
      const refused = await refusal(
        numberFile({ dataDir, file: residentsFile('held-three.csv', 720_000, 20), effectiveDate: TODAY }),
      );
      expect(refused.code).toBe('ERR_DATABASE_BUSY');
      expect(refused.message).toContain('stop it and run the command again');
    } finally {
      holder.exec('rollback');
      holder.close();
    }
    const after = new Database(database, { readonly: true });
    try {
      expect(after.prepare('select count(*) as n from residents').get()).toEqual({ n: 21 });
    } finally {
      after.close();
    }
  }, 30_000);

  it('numbers every resident as one at a time would, resolves a collision, and finishes a stopped run', async () => {
    const dataDir = join(dir, 'network');
    const key = () =>
      new Uint8Array(Buffer.from(readFileSync(join(dataDir, 'jlis', 'numbering-key'), 'utf8').trim(), 'hex'));
    // A first run, stopped after the first 12,000 residents (a file of those), …
    const first = residentsFile('first.csv', 0, 12_000);
    expect(await checkFile(first, TODAY)).toBe(12_000);
    const firstRun = await numberFile({ dataDir, file: first, effectiveDate: TODAY });
    const given = new Set<string>();
    expect(firstRun).toEqual({
      numbered: 12_000,
      skipped: 0,
      recounted: recountsOneAtATime(key(), 0, 12_000, given),
    });
    // … and someone numbered in between holds the number resident 15,000 would be given first.
    // (J-LIS's node stopped while `renkei jlis number` runs: its connection is closed before.)
    let db = await openDatabase<JlisDatabase>({
      dialect: 'sqlite',
      file: join(dataDir, 'jlis', 'jlis.sqlite'),
    });
    let store = createKyselyJlisStore(db);
    const taken = deriveIndividualNumber(key(), codeOf(15_000), 0);
    expect(
      await store.insertResident(
        {
          residentRecordCode: codeOf(999_999),
          individualNumber: taken,
          numberingCounter: 0,
          status: 'resident',
          name: '先客 一郎',
          address: '東京都',
          dateOfBirth: '1970-01-01',
          sex: 'male',
        },
        new Date(),
      ),
    ).toBe('inserted');
    await db.destroy();
    given.add(taken);
    const whole = residentsFile('whole.csv', 0, 25_000);
    const progress: number[] = [];
    const secondRun = await numberFile({
      dataDir,
      file: whole,
      effectiveDate: TODAY,
      onProgress: (handled) => progress.push(handled),
    });
    // At least 1: resident 15,000's first number is taken.
    const expected = recountsOneAtATime(key(), 12_000, 13_000, given);
    expect(expected).toBeGreaterThanOrEqual(1);
    expect(secondRun).toEqual({ numbered: 13_000, skipped: 12_000, recounted: expected });
    expect(progress).toEqual([25_000]);
    db = await openDatabase<JlisDatabase>({ dialect: 'sqlite', file: join(dataDir, 'jlis', 'jlis.sqlite') });
    store = createKyselyJlisStore(db);
    expect(await store.countResidents()).toBe(25_001);
    for (const i of [0, 11_999, 12_000, 24_999]) {
      const record = await store.findResident(codeOf(i));
      expect(record?.individualNumber).toBe(deriveIndividualNumber(key(), codeOf(i), 0));
      expect(record?.name).toBe(`試験, 花子${i}`);
      expect((await store.listHistory(codeOf(i)))[0]).toMatchObject({
        change: 'first_registration',
        effectiveDate: TODAY,
      });
    }
    const recounted = await store.findResident(codeOf(15_000));
    expect(recounted).toMatchObject({
      numberingCounter: 1,
      individualNumber: deriveIndividualNumber(key(), codeOf(15_000), 1),
    });
    await db.destroy();
  });

  it('leaves whole batches only when the process is killed mid-run, and the same command finishes it', async () => {
    const dataDir = join(dir, 'killed');
    const database = join(dataDir, 'jlis', 'jlis.sqlite');
    // Everything written before the whole file has passed its check is one transaction; the check
    // runs at most four batches ahead of the writing, so the last batches of a file of eight are
    // written after it, each committed alone.
    const total = 8 * BULK_BATCH;
    const file = residentsFile('killed.csv', 100_000, total);
    const bin = fileURLToPath(new URL('../../bin/renkei.js', import.meta.url));
    const run = () =>
      spawn(process.execPath, [bin, '--data-dir', dataDir, 'jlis', 'number', '--file', file], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    /** Residents committed, read once the run is dead (none while the file is absent). */
    const committed = () => {
      try {
        const reader = new Database(database, { readonly: true, fileMustExist: true, timeout: 5_000 });
        try {
          return (reader.prepare('select count(*) as n from residents').get() as { n: number }).n;
        } finally {
          reader.close();
        }
      } catch {
        return 0;
      }
    };
    const first = run();
    let firstErr = '';
    first.stderr.on('data', (chunk: Buffer) => (firstErr += String(chunk)));
    const exited = once(first, 'exit');
    // Killed while a write transaction is open: its rollback journal then has content. Watched by
    // the file's size, not by reading the database: a reader's lock made the run fail with
    // SQLITE_BUSY (see the J-LIS README, "Numbering": the node must be stopped, and so must readers).
    const writing = () => {
      try {
        return statSync(`${database}-journal`).size > 0;
      } catch {
        return false;
      }
    };
    while (!writing() && first.exitCode === null) await sleep(5);
    first.kill('SIGKILL');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal, firstErr: code === null ? '' : firstErr }).toEqual({
      code: null,
      signal: 'SIGKILL',
      firstErr: '',
    });
    // The batch being written when it died is rolled back by the next opening (its journal is hot).
    // How many batches were committed depends on where the kill landed: none inside the check's
    // transaction (everything written before the whole file has passed its check), some among the
    // batches committed one by one after it. Either way whole batches only.
    const kept = committed();
    expect(kept % BULK_BATCH).toBe(0);
    expect(kept).toBeLessThanOrEqual(total);

    const second = run();
    let out = '';
    second.stdout.on('data', (chunk: Buffer) => (out += String(chunk)));
    const [again] = (await once(second, 'exit')) as [number | null];
    expect(again).toBe(0);
    expect(out).toContain(`${total - kept} residents numbered, `);
    expect(out).toContain(`${kept} residents numbered before (skipped)`);
    const db = await openDatabase<JlisDatabase>({ dialect: 'sqlite', file: database });
    try {
      const store = createKyselyJlisStore(db);
      expect(await store.countResidents()).toBe(total);
      const key = new Uint8Array(
        Buffer.from(readFileSync(join(dataDir, 'jlis', 'numbering-key'), 'utf8').trim(), 'hex'),
      );
      for (const i of [100_000, 100_000 + kept - 1, 100_000 + kept, 100_000 + total - 1].filter(
        (i) => i >= 100_000 && i < 100_000 + total,
      )) {
        expect((await store.findResident(codeOf(i)))?.individualNumber).toBe(
          deriveIndividualNumber(key, codeOf(i), 0),
        );
      }
      const index = await db
        .selectFrom('sqlite_master' as never)
        .select('name' as never)
        .where('name' as never, '=', 'residents_by_individual_number' as never)
        .execute();
      expect(index).toHaveLength(1);
    } finally {
      await db.destroy();
    }
  }, 120_000);
});
