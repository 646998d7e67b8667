/**
 * The corporate-number service over real HTTP, on a real database (a SQLite file, or PostgreSQL
 * when RENKEI_TEST_POSTGRES is set): designation, changes with history, closure, the public
 * lookups and the CSV download, and the refusals a person can run into.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Designation } from '../../domain/corporations/corporation.ts';
import { CORPORATION_CSV_COLUMNS } from '../../domain/corporations/csv.ts';
import { isCorporateNumber } from '../../domain/identifiers/corporate-number.ts';
import { createClient, type Client } from '../../protocol/api.ts';
import { httpTransport } from '../../protocol/http-transport.ts';
import { corporateApi } from '../../protocol/routes.ts';
import { fixedClock } from '../../shared/clock.ts';
import { nodeDatabase, openDatabase } from '../../shared/db.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { listen } from '../../shared/http.ts';
import { silentLogger } from '../../shared/logger.ts';
import { dropTestSchemas, testPostgres } from '../../shared/test-databases.ts';
import { createCorporate, type CorporateNode } from './corporate.ts';
import { createKyselyCorporateStore, type CorporateDatabase } from './kysely-store.ts';
import { migrateCorporateDatabase } from './migrations.ts';

const TOYOTA: Designation = {
  kind: '301',
  name: 'トヨタ自動車株式会社',
  furigana: 'トヨタジドウシャ',
  enName: 'TOYOTA MOTOR CORPORATION',
  location: {
    prefecture: '愛知県',
    city: '豊田市',
    street: 'トヨタ町1番地',
    prefectureCode: '23',
    cityCode: '211',
    postCode: '4718571',
  },
  base: '180301018771',
  changeDate: '1937-08-28',
};

const TOKYO: Designation = {
  kind: '201',
  name: '東京都',
  furigana: 'トウキョウト',
  location: {
    prefecture: '東京都',
    city: '新宿区',
    street: '西新宿2丁目8番1号',
    prefectureCode: '13',
    cityCode: '104',
  },
  localGovernmentCode: '130001',
};

const postgres = testPostgres();
const dir = mkdtempSync(join(tmpdir(), 'renkei-corporate-'));
const clock = fixedClock('2026-04-01T01:00:00Z');
let db: Kysely<CorporateDatabase>;
let node: CorporateNode;
let api: Client<typeof corporateApi>;
let baseUrl: string;

beforeAll(async () => {
  const option = postgres ? { ...postgres, schemaPrefix: `t${process.pid}_` } : undefined;
  await dropTestSchemas(option);
  db = await openDatabase<CorporateDatabase>(
    nodeDatabase(option, join(dir, 'corporate.sqlite'), 'corporate'),
  );
  await migrateCorporateDatabase(db);
  node = createCorporate({ store: createKyselyCorporateStore(db), clock, logger: silentLogger() });
  baseUrl = await listen(node.app, 0);
  api = createClient(corporateApi, {
    transport: httpTransport(),
    baseUrl,
    peer: 'the corporate-number service',
  });
});

afterAll(async () => {
  await node.app.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(call: Promise<unknown>): Promise<RenkeiError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(RenkeiError);
  return error as RenkeiError;
}

describe('the corporate-number service', () => {
  it('designates numbers as the NTA does: registry number or local-government code, check digit first', async () => {
    const toyota = await api.designateCorporation({ body: TOYOTA });
    expect(toyota.corporateNumber).toBe('1180301018771'); // as published on the NTA's site
    expect(toyota).toMatchObject({
      process: '01',
      latest: true,
      assignmentDate: '2026-04-01',
      changeDate: '1937-08-28',
    });
    const tokyo = await api.designateCorporation({ body: TOKYO });
    expect(tokyo.corporateNumber).toBe('8000020130001'); // 東京都, as published
    // A body with neither gets the next of the service's own series, each valid and distinct.
    const own = await Promise.all(
      ['町内会A', '町内会B', '町内会C'].map((name) =>
        api.designateCorporation({ body: { ...TOKYO, kind: '499', name, localGovernmentCode: undefined } }),
      ),
    );
    const numbers = own.map((c) => c.corporateNumber);
    expect(new Set(numbers).size).toBe(3);
    for (const n of numbers) {
      expect(isCorporateNumber(n)).toBe(true);
      expect(n.slice(1, 2)).toBe('7');
    }
  });

  it('refuses a second designation of the same body, and writes nothing', async () => {
    const before = await node.service.count();
    const error = await refusal(api.designateCorporation({ body: { ...TOYOTA, name: '別の名前' } }));
    expect(error.code).toBe('ERR_DUPLICATE');
    expect(await node.service.count()).toBe(before);
    expect(
      (await api.showCorporation({ params: { corporateNumber: '1180301018771' }, query: {} })).name,
    ).toBe('トヨタ自動車株式会社');
  });

  it('refuses what does not fit: a local government without its code, a future date', async () => {
    const noCode = await refusal(
      api.designateCorporation({ body: { ...TOKYO, localGovernmentCode: undefined, name: '何とか市' } }),
    );
    expect(noCode.code).toBe('ERR_VALIDATION');
    const future = await refusal(
      api.designateCorporation({ body: { ...TOYOTA, base: '010001999999', changeDate: '2027-01-01' } }),
    );
    expect(future.code).toBe('ERR_VALIDATION');
  });

  it('looks a number up as typed, and refuses a wrong check digit or an unknown number', async () => {
    const typed = await api.showCorporation({ params: { corporateNumber: '１ 1803 0101 8771' }, query: {} });
    expect(typed.corporateNumber).toBe('1180301018771');
    expect(
      (await refusal(api.showCorporation({ params: { corporateNumber: '2180301018771' }, query: {} }))).code,
    ).toBe('ERR_INVALID_CHECK_DIGIT');
    const unknown = await refusal(
      api.showCorporation({ params: { corporateNumber: '7000012050002' }, query: {} }),
    );
    expect(unknown.code).toBe('ERR_UNKNOWN_CORPORATION');
    expect(unknown.status).toBe(404);
  });

  it('keeps every change as history, the latest flagged, and searches kana-insensitively', async () => {
    clock.set('2026-05-01T01:00:00Z');
    await api.changeCorporation({
      params: { corporateNumber: '1180301018771' },
      body: {
        process: '12',
        changeDate: '2026-04-30',
        location: { ...TOYOTA.location, street: 'トヨタ町2番地' },
      },
    });
    const shown = await api.showCorporation({
      params: { corporateNumber: '1180301018771' },
      query: { history: 'true' },
    });
    expect(shown.location.street).toBe('トヨタ町2番地');
    expect(shown.history?.map((e) => [e.process, e.latest, e.location.street])).toEqual([
      ['01', false, 'トヨタ町1番地'],
      ['12', true, 'トヨタ町2番地'],
    ]);
    for (const name of ['ﾄﾖﾀ', 'とよた', 'トヨタ', 'toyota motor', 'ＴＯＹＯＴＡ', 'じどうしゃ', '自動車']) {
      const found = await api.searchCorporations({ query: { name } });
      expect(
        found.corporations.map((c) => c.corporateNumber),
        name,
      ).toEqual(['1180301018771']);
    }
    // A wildcard typed is a letter to find, not "anything".
    expect((await api.searchCorporations({ query: { name: '%' } })).corporations).toEqual([]);
  });

  it('closes and reopens, and refuses changes that do not fit the state', async () => {
    const tokyo = '8000020130001';
    const closed = await api.changeCorporation({
      params: { corporateNumber: tokyo },
      body: { process: '21', changeDate: '2026-05-01', closeCause: '01' },
    });
    expect(closed.closeDate).toBe('2026-05-01');
    expect((await api.searchCorporations({ query: { name: '東京都' } })).corporations).toEqual([]);
    expect(
      (await api.searchCorporations({ query: { name: '東京都', includeClosed: 'true' } })).corporations,
    ).toHaveLength(1);
    const rename = await refusal(
      api.changeCorporation({
        params: { corporateNumber: tokyo },
        body: { process: '11', changeDate: '2026-05-01', name: '東京府' },
      }),
    );
    expect(rename.code).toBe('ERR_CORPORATION_STATE');
    const reopened = await api.changeCorporation({
      params: { corporateNumber: tokyo },
      body: { process: '22', changeDate: '2026-05-01' },
    });
    expect(reopened.closeDate).toBeUndefined();
    const again = await refusal(
      api.changeCorporation({
        params: { corporateNumber: tokyo },
        body: { process: '22', changeDate: '2026-05-01' },
      }),
    );
    expect(again.code).toBe('ERR_CORPORATION_STATE');
    const early = await refusal(
      api.changeCorporation({
        params: { corporateNumber: tokyo },
        body: { process: '11', changeDate: '2020-01-01', name: '東京府' },
      }),
    );
    expect(early.code).toBe('ERR_VALIDATION');
  });

  it('lists the changes of a period in order, and pages through them', async () => {
    const all = await api.listChanges({ query: { from: '2026-04-30', to: '2026-05-01' } });
    expect(all.entries.map((e) => [e.corporateNumber, e.process])).toEqual([
      ['1180301018771', '12'],
      ['8000020130001', '21'],
      ['8000020130001', '22'],
    ]);
    const first = await api.listChanges({ query: { from: '2026-04-30', to: '2026-05-01', limit: 2 } });
    expect(first.entries).toHaveLength(2);
    const rest = await api.listChanges({
      query: { from: '2026-04-30', to: '2026-05-01', after: first.next },
    });
    expect(rest.entries.map((e) => e.process)).toEqual(['22']);
    expect((await refusal(api.listChanges({ query: { from: '2026-05-02', to: '2026-05-01' } }))).code).toBe(
      'ERR_VALIDATION',
    );
  });

  it('downloads every corporation as CSV, quoted where a name needs it', async () => {
    await api.designateCorporation({
      body: {
        ...TOYOTA,
        base: '010001000001',
        name: '株式会社"引用", と読点',
        enName: undefined,
        furigana: undefined,
      },
    });
    const response = await fetch(`${baseUrl}/corporate/v1/corporations.csv`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await response.text()).split('\r\n').filter((line) => line.length > 0);
    expect(lines[0]).toBe(CORPORATION_CSV_COLUMNS.map(([name]) => name).join(','));
    expect(lines).toHaveLength(1 + (await node.service.count()));
    const quoted = lines.find((line) => line.includes('引用'));
    expect(quoted).toContain('"株式会社""引用"", と読点"');
    const byPrefecture = await fetch(`${baseUrl}/corporate/v1/corporations.csv?prefectureCode=13`);
    const tokyoLines = (await byPrefecture.text()).split('\r\n').filter((line) => line.length > 0);
    expect(tokyoLines.slice(1).every((line) => line.split(',')[11] === '13')).toBe(true);
    expect(tokyoLines.length).toBeGreaterThan(1);
  });
});
