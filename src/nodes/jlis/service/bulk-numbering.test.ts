/**
 * Bulk numbering's fast path (uniqueness in memory, the index of numbers dropped while loading, the
 * first history entry kept on the row), on a real database: SQLite, and PostgreSQL when the run is
 * PostgreSQL's. The CLI's file handling is tested in src/cli/jlis-command.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  residentRecordCodeCheckDigit,
  type ResidentRecordCode,
} from '../../../domain/identifiers/resident-record-code.ts';
import { fixedClock } from '../../../shared/clock.ts';
import { migrateToLatest, nodeDatabase, openDatabase, type PostgresOption } from '../../../shared/db.ts';
import { silentLogger } from '../../../shared/logger.ts';
import { dropTestSchemas, testPostgres } from '../../../shared/test-databases.ts';
import { createKyselyBulkNumberingStore } from '../kysely-bulk-numbering-store.ts';
import { createKyselyJlisStore, type JlisDatabase } from '../kysely-store.ts';
import { JLIS_MIGRATIONS, migrateJlisDatabase } from '../migrations.ts';
import { deriveIndividualNumber } from '../numbering.ts';
import type { JlisStore } from '../store.ts';
import { BulkNumbering, codeBytes, type BulkResident } from './bulk-numbering.ts';
import { ResidentService } from './residents.ts';

const KEY = new Uint8Array(32).fill(9);
const clock = fixedClock('2024-06-01T00:00:00Z');
const NATIONWIDE = { change: 'first_registration', effectiveDate: '2015-10-05' };

function codeOf(i: number): ResidentRecordCode {
  const base = String(5_000_000_000 + i);
  return `${base}${residentRecordCodeCheckDigit(base)}` as ResidentRecordCode;
}

function resident(i: number): BulkResident {
  return {
    residentRecordCode: codeOf(i),
    name: `試験 花子${i}`,
    nameKana: i % 2 === 0 ? 'シケン ハナコ' : undefined,
    address: '新潟県三条市旭町二丁目3番1号',
    dateOfBirth: '1980-02-03',
    sex: 'female',
  };
}

function batchesOf(from: number, to: number, size: number): BulkResident[][] {
  const batches: BulkResident[][] = [];
  for (let i = from; i < to; i += size) {
    batches.push(Array.from({ length: Math.min(size, to - i) }, (_, j) => resident(i + j)));
  }
  return batches;
}

let dir: string;
let postgres: PostgresOption | undefined;
let db: Kysely<JlisDatabase>;
let store: JlisStore;

async function open(): Promise<void> {
  db = await openDatabase<JlisDatabase>(nodeDatabase(postgres, join(dir, 'jlis.sqlite'), 'jlis'));
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-bulk-numbering-'));
  postgres = testPostgres();
  await open();
  await migrateJlisDatabase(db);
  store = createKyselyJlisStore(db);
});

afterEach(async () => {
  await db.destroy();
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

function bulk(): BulkNumbering {
  return new BulkNumbering({
    store: createKyselyBulkNumberingStore(db, join(dir, 'jlis.sqlite')),
    clock,
    logger: silentLogger(),
    numberingKey: KEY,
  });
}

function residents(): ResidentService {
  return new ResidentService({ store, clock, logger: silentLogger(), numberingKey: KEY });
}

/** Whether the database itself refuses a second resident on `individualNumber` (the unique index). */
async function indexRefusesDuplicateOf(individualNumber: string): Promise<boolean> {
  try {
    await db
      .insertInto('residents')
      .values({
        resident_record_code: codeOf(999_999),
        individual_number: individualNumber,
        numbering_counter: 0,
        name: '重複 試験',
        name_kana: null,
        address: '東京都',
        date_of_birth: '1970-01-01',
        sex: 'male',
        created_at: clock.now().toISOString(),
        updated_at: clock.now().toISOString(),
        registered_change: null,
        registered_on: null,
      })
      .execute();
  } catch {
    return true;
  }
  await db.deleteFrom('residents').where('resident_record_code', '=', codeOf(999_999)).execute();
  return false;
}

describe('bulk numbering, the fast path', () => {
  it('gives the next counter to a number someone holds or once held, as one at a time would', async () => {
    // Two residents numbered one at a time before the run: one holds the number resident 3 would
    // be given; the other held resident 7's, since replaced (番号の変更), and it is never given again.
    const now = clock.now();
    const holder = { status: 'resident', name: '先客 一郎', address: '東京都', dateOfBirth: '1970-01-01' };
    expect(
      await store.insertResident(
        {
          ...holder,
          sex: 'male',
          status: 'resident',
          residentRecordCode: codeOf(1_000),
          individualNumber: deriveIndividualNumber(KEY, codeOf(3), 0),
          numberingCounter: 0,
        },
        now,
      ),
    ).toBe('inserted');
    expect(
      await store.insertResident(
        {
          ...holder,
          sex: 'male',
          status: 'resident',
          residentRecordCode: codeOf(1_001),
          individualNumber: deriveIndividualNumber(KEY, codeOf(7), 0),
          numberingCounter: 0,
        },
        now,
      ),
    ).toBe('inserted');
    expect(
      await store.replaceNumber(
        codeOf(1_001),
        deriveIndividualNumber(KEY, codeOf(1_001), 1),
        1,
        'leaked',
        now,
      ),
    ).toBe('replaced');

    const result = await bulk().number(batchesOf(0, 250, 100), NATIONWIDE);
    expect(result).toEqual({ numbered: 250, skipped: 0, recounted: 2 });
    for (const [i, counter] of [
      [0, 0],
      [3, 1],
      [7, 1],
      [249, 0],
    ] as const) {
      expect(await store.findResident(codeOf(i))).toMatchObject({
        numberingCounter: counter,
        individualNumber: deriveIndividualNumber(KEY, codeOf(i), counter),
        name: `試験 花子${i}`,
        nameKana: i % 2 === 0 ? 'シケン ハナコ' : undefined,
      });
    }
    expect(await store.countResidents()).toBe(252);
    // The index of numbers is back at the end, and holds.
    expect(await indexRefusesDuplicateOf(deriveIndividualNumber(KEY, codeOf(249), 0))).toBe(true);
  });

  it('finishes a run stopped half-way, whether it failed or was killed before rebuilding the index', async () => {
    // The file's reader fails after two batches: those two are written, whole; the index is rebuilt.
    async function* failing(): AsyncGenerator<BulkResident[]> {
      for (const batch of batchesOf(0, 200, 100)) yield await Promise.resolve(batch);
      throw new Error('the file went away');
    }
    const run = await bulk().begin();
    for (const batch of batchesOf(0, 450, 100)) run.assign(codeBytes(batch.map((r) => r.residentRecordCode)));
    await expect(run.write(failing(), NATIONWIDE)).rejects.toThrow('the file went away');
    expect(await store.countResidents()).toBe(200);
    expect(await indexRefusesDuplicateOf(deriveIndividualNumber(KEY, codeOf(0), 0))).toBe(true);

    // Killed while loading (no chance to rebuild): the next start of the node builds the index again.
    await createKyselyBulkNumberingStore(db, join(dir, 'jlis.sqlite')).start();
    expect(await indexRefusesDuplicateOf(deriveIndividualNumber(KEY, codeOf(0), 0))).toBe(false);
    await db.destroy();
    await open();
    await migrateJlisDatabase(db);
    store = createKyselyJlisStore(db);
    expect(await indexRefusesDuplicateOf(deriveIndividualNumber(KEY, codeOf(0), 0))).toBe(true);

    // The same file again: the first 200 are skipped, the rest numbered, each number derived alike.
    const progress: number[] = [];
    const result = await bulk().number(batchesOf(0, 450, 100), NATIONWIDE, (n) => progress.push(n));
    expect(result).toEqual({ numbered: 250, skipped: 200, recounted: 0 });
    expect(progress).toEqual([100, 200, 300, 400, 450]);
    expect(await store.countResidents()).toBe(450);
    expect((await store.findResident(codeOf(449)))?.individualNumber).toBe(
      deriveIndividualNumber(KEY, codeOf(449), 0),
    );
  });

  it('refuses residents other than those planned (a file changed since its check): no row of the changed batch is written', async () => {
    const run = await bulk().begin();
    for (const batch of batchesOf(0, 200, 100)) run.assign(codeBytes(batch.map((r) => r.residentRecordCode)));
    // The second batch is not the one whose codes were checked and numbered.
    const changedFile = [batchesOf(0, 100, 100)[0]!, batchesOf(100, 199, 99)[0]!.concat(resident(500))];
    await expect(run.write(changedFile, NATIONWIDE)).rejects.toMatchObject({ code: 'ERR_IMPORT_INVALID' });
    expect(await store.countResidents()).toBe(100);
    expect(await store.findResident(codeOf(500))).toBeUndefined();
  });

  it('answers as-of queries and keeps history for a resident numbered in bulk as for one numbered alone', async () => {
    const bulkCode = codeOf(1);
    await bulk().number([[resident(1)]], NATIONWIDE);
    // Numbered alone: the same information, registered the same day.
    const aloneCode = codeOf(2);
    const { residentRecordCode: _c, ...info } = resident(1);
    await residents().registerResident({
      ...info,
      residentRecordCode: aloneCode,
      ...NATIONWIDE,
      event: 'first_registration',
    });

    // No history row written for the bulk one: the first entry is read from its row.
    const rows = await db.selectFrom('resident_history').select('resident_record_code').execute();
    expect(rows.map((r) => r.resident_record_code)).toEqual([aloneCode]);

    const service = residents();
    const changes = [
      { change: 'move_out', effectiveDate: '2018-03-31' },
      { change: 'move_in', effectiveDate: '2018-04-01', address: '東京都新宿区歌舞伎町1丁目4番1号' },
      { change: 'correction', effectiveDate: '2015-10-05', address: '新潟県三条市旭町二丁目3番2号' },
    ] as const;
    const compare = async () => {
      for (const asOf of ['2015-10-04', '2015-10-05', '2018-03-31', '2018-04-01', '2024-06-01']) {
        const both = await Promise.all(
          [bulkCode, aloneCode].map((residentRecordCode) =>
            service.lookup({ residentRecordCode, asOf, history: true }).then(
              ({ residentRecordCode: _r, individualNumber: _n, ...view }) => view,
              (error: { code: string }) => error.code,
            ),
          ),
        );
        expect(both[0], asOf).toEqual(both[1]);
      }
    };
    await compare();
    expect(await service.lookup({ residentRecordCode: bulkCode, asOf: '2015-10-05' })).toMatchObject({
      name: '試験 花子1',
      status: 'resident',
    });
    for (const change of changes) {
      await service.recordChange({ residentRecordCode: bulkCode, ...change });
      await service.recordChange({ residentRecordCode: aloneCode, ...change });
      await compare();
    }
    // The first entry moved into the history with the first change, recorded when it was numbered.
    const history = await store.listHistory(bulkCode);
    expect(history.map((h) => [h.change, h.effectiveDate])).toEqual([
      ['first_registration', '2015-10-05'],
      ['move_out', '2018-03-31'],
      ['move_in', '2018-04-01'],
      ['correction', '2015-10-05'],
    ]);
    expect(history[0]).toMatchObject({ address: '新潟県三条市旭町二丁目3番1号', changedAt: clock.now() });
    // A number change first keeps the first entry too.
    const other = codeOf(3);
    await bulk().number([[resident(3)]], NATIONWIDE);
    await service.changeNumber({ residentRecordCode: other, reason: 'leaked' });
    expect((await store.listHistory(other)).map((h) => h.change)).toEqual([
      'first_registration',
      'number_change',
    ]);
  });

  it('keeps the residents, their history and the references to them through migration 0007', async () => {
    await db.destroy();
    await dropTestSchemas(postgres);
    rmSync(join(dir, 'jlis.sqlite'), { force: true });
    postgres = testPostgres();
    await open();
    const before = Object.fromEntries(Object.entries(JLIS_MIGRATIONS).filter(([name]) => name < '0007'));
    await migrateToLatest(db as unknown as Kysely<unknown>, before);
    store = createKyselyJlisStore(db);
    const { residentRecordCode: _c, ...info } = resident(4);
    // A resident as 0006 left them: a row (no first-entry columns) and its first history row.
    await db
      .insertInto('residents')
      .values({
        resident_record_code: codeOf(4),
        individual_number: deriveIndividualNumber(KEY, codeOf(4), 0),
        numbering_counter: 0,
        name: info.name,
        name_kana: info.nameKana ?? null,
        address: info.address,
        date_of_birth: info.dateOfBirth,
        sex: info.sex,
        created_at: clock.now().toISOString(),
        updated_at: clock.now().toISOString(),
      })
      .execute();
    await db
      .insertInto('resident_history')
      .values({
        resident_record_code: codeOf(4),
        changed_at: clock.now().toISOString(),
        change: 'first_registration',
        effective_date: '2015-10-05',
        status: 'resident',
        changed_fields: 'name,nameKana,address,dateOfBirth,sex,status',
        name: info.name,
        name_kana: info.nameKana ?? null,
        address: info.address,
        date_of_birth: info.dateOfBirth,
        sex: info.sex,
      })
      .execute();
    await migrateJlisDatabase(db);
    expect(await store.findResident(codeOf(4))).toMatchObject({ name: info.name, numberingCounter: 0 });
    expect((await store.listHistory(codeOf(4))).map((h) => h.change)).toEqual(['first_registration']);
    expect(await indexRefusesDuplicateOf(deriveIndividualNumber(KEY, codeOf(4), 0))).toBe(true);
    // The history still refers to residents: a row for nobody is refused.
    await expect(
      db
        .insertInto('resident_history')
        .values({
          resident_record_code: codeOf(77),
          changed_at: clock.now().toISOString(),
          change: 'move_out',
          effective_date: '2020-01-01',
          status: 'moved_out',
          changed_fields: 'status',
          name: 'x',
          name_kana: null,
          address: 'y',
          date_of_birth: '1970-01-01',
          sex: 'male',
        })
        .execute(),
    ).rejects.toThrow();
  });
});
