/**
 * J-LIS over real HTTP, on a real SQLite file. The core is a tiny Fastify stand-in for its
 * code-issuance endpoint only: it records what J-LIS sends and answers as the core would. The scenario
 * tests (test/scenarios.test.ts) run J-LIS against the real core.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  generateIndividualNumber,
  isIndividualNumber,
  parseIndividualNumber,
} from '../../domain/identifiers/individual-number.ts';
import { seededRandom } from '../../domain/identifiers/random-source.ts';
import {
  generateResidentRecordCode,
  isResidentRecordCode,
} from '../../domain/identifiers/resident-record-code.ts';
import { createClient } from '../../protocol/api.ts';
import { httpTransport } from '../../protocol/http-transport.ts';
import { coreApi } from '../../protocol/routes.ts';
import type { CodeAcquisitionRequest } from '../../protocol/messages.ts';
import { fixedClock } from '../../shared/clock.ts';
import { nodeDatabase, openDatabase, type PostgresOption } from '../../shared/db.ts';
import { dropTestSchemas, testPostgres } from '../../shared/test-databases.ts';
import type { ErrorBody } from '../../shared/errors.ts';
import { listen } from '../../shared/http.ts';
import { silentLogger } from '../../shared/logger.ts';
import { createJlis } from './jlis.ts';
import { migrateJlisDatabase } from './migrations.ts';
import { deriveIndividualNumber } from './numbering.ts';
import { createKyselyJlisStore, type JlisDatabase } from './kysely-store.ts';
import type { JlisStore } from './store.ts';

const KEY = new Uint8Array(32).fill(7);
const YAMADA = {
  name: '山田 太郎',
  nameKana: 'ヤマダ タロウ',
  address: '新潟県三条市旭町二丁目3番1号',
  dateOfBirth: '1988-05-14',
  sex: 'male',
} as const;

interface CoreStandIn {
  app: FastifyInstance;
  url: string;
  received: unknown[];
  /** What the stand-in answers next: 200 by default. */
  answer: { status: number; body: unknown };
}

async function startCoreStandIn(): Promise<CoreStandIn> {
  const app = Fastify();
  const standIn = {
    app,
    url: '',
    received: [] as unknown[],
    answer: { status: 200, body: { acquisitionNumber: '0'.repeat(32), status: 'delivered' } },
  };
  app.post('/v1/code-issuances', async (request, reply) => {
    standIn.received.push(request.body);
    return reply.status(standIn.answer.status).send(standIn.answer.body);
  });
  standIn.url = await listen(app, 0);
  return standIn;
}

let dir: string;
let db: Kysely<JlisDatabase>;
let store: JlisStore;
let core: CoreStandIn;
let jlis: ReturnType<typeof createJlis>;
let url: string;
const transport = httpTransport();
afterAll(() => transport.close());

async function startJlisUnderTest(random = seededRandom(1)): Promise<void> {
  jlis = createJlis({
    store,
    clock: fixedClock('2024-06-01T00:00:00Z'),
    logger: silentLogger(),
    core: createClient(coreApi, { transport, baseUrl: core.url, peer: 'core' }),
    numberingKey: KEY,
    random,
  });
  url = await listen(jlis.app, 0);
}

let postgres: PostgresOption | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-jlis-'));
  postgres = testPostgres();
  db = await openDatabase<JlisDatabase>(nodeDatabase(postgres, join(dir, 'jlis.sqlite'), 'jlis'));
  await migrateJlisDatabase(db);
  store = createKyselyJlisStore(db);
  core = await startCoreStandIn();
  await startJlisUnderTest();
});

afterEach(async () => {
  await jlis.app.close();
  await core.app.close();
  await db.destroy();
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown): Promise<{ status: number; text: string; json: unknown }> {
  const response = await fetch(new URL(path, url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) as unknown };
}

async function registerResident(): Promise<{ residentRecordCode: string; individualNumber: string }> {
  const response = await post('/admin/v1/residents', YAMADA);
  expect(response.status).toBe(201);
  return response.json as { residentRecordCode: string; individualNumber: string };
}

function acquisition(individualNumber: string): CodeAcquisitionRequest {
  return { institutionId: '152048', acquisitionNumber: 'a'.repeat(32), individualNumber };
}

describe('numbering', () => {
  it('derives a valid Individual Number from the resident record code', async () => {
    const numbered = await registerResident();
    expect(isResidentRecordCode(numbered.residentRecordCode)).toBe(true);
    expect(isIndividualNumber(numbered.individualNumber)).toBe(true);
    expect(numbered.individualNumber).toBe(deriveIndividualNumber(KEY, numbered.residentRecordCode, 0));
    // Under another key the same code gives another number: the key, not the code, decides.
    expect(deriveIndividualNumber(new Uint8Array(32).fill(8), numbered.residentRecordCode, 0)).not.toBe(
      numbered.individualNumber,
    );
  });

  it('keeps the identity record with its first history row', async () => {
    const numbered = await registerResident();
    const record = await store.findResident(numbered.residentRecordCode);
    expect(record).toMatchObject({
      ...YAMADA,
      individualNumber: numbered.individualNumber,
      numberingCounter: 0,
    });
    const history = await store.listHistory(numbered.residentRecordCode);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({
      change: 'first_registration',
      effectiveDate: '2024-06-01',
      ...YAMADA,
    });
    expect(history[0]?.changedAt.toISOString()).toBe('2024-06-01T00:00:00.000Z');
  });

  it('retries with the next counter when the derived number is already taken', async () => {
    // The code the seeded source will draw next, and the number it would derive first, taken by someone else.
    const nextCode = generateResidentRecordCode(seededRandom(1));
    const taken = deriveIndividualNumber(KEY, nextCode, 0);
    const other = generateResidentRecordCode(seededRandom(99));
    await store.insertResident(
      {
        residentRecordCode: other,
        individualNumber: taken,
        numberingCounter: 0,
        status: 'resident',
        ...YAMADA,
      },
      new Date(),
    );
    const numbered = await registerResident();
    expect(numbered.residentRecordCode).toBe(nextCode);
    expect(numbered.individualNumber).toBe(deriveIndividualNumber(KEY, nextCode, 1));
    expect((await store.findResident(nextCode))?.numberingCounter).toBe(1);
  });

  it('draws a new resident record code when the drawn one is already assigned', async () => {
    const first = await registerResident();
    await jlis.app.close();
    await startJlisUnderTest(seededRandom(1)); // draws the same code again first
    const second = await registerResident();
    expect(second.residentRecordCode).not.toBe(first.residentRecordCode);
    expect(await store.countResidents()).toBe(2);
  });

  it('counts residents', async () => {
    await registerResident();
    await registerResident();
    const response = await fetch(new URL('/admin/v1/residents/count', url));
    expect(await response.json()).toEqual({ count: 2 });
  });

  it('refuses an incomplete resident without echoing what was sent', async () => {
    const response = await post('/admin/v1/residents', { ...YAMADA, dateOfBirth: '1988-02-30', sex: 'x' });
    expect(response.status).toBe(400);
    expect((response.json as ErrorBody).error.code).toBe('ERR_VALIDATION');
    expect(response.text).not.toContain('山田');
    expect(response.text).not.toContain('1988-02-30');
  });
});

describe('code acquisition relay', () => {
  it('relays the resident record code, never the Individual Number, to the core', async () => {
    const numbered = await registerResident();
    const response = await post('/v1/code-acquisitions', acquisition(numbered.individualNumber));
    expect(response.status).toBe(202);
    expect(response.json).toEqual({ acquisitionNumber: 'a'.repeat(32), status: 'relayed' });
    expect(core.received).toEqual([
      {
        institutionId: '152048',
        acquisitionNumber: 'a'.repeat(32),
        residentRecordCode: numbered.residentRecordCode,
      },
    ]);
    expect(JSON.stringify(core.received)).not.toContain(numbered.individualNumber);
  });

  it('records each relay without the Individual Number or the resident record code', async () => {
    const numbered = await registerResident();
    await post('/v1/code-acquisitions', acquisition(numbered.individualNumber));
    const relays = await store.listRelays(10);
    expect(relays).toEqual([
      {
        relayedAt: new Date('2024-06-01T00:00:00Z'),
        institutionId: '152048',
        acquisitionNumber: 'a'.repeat(32),
        outcome: 'relayed',
        errorCode: undefined,
      },
    ]);
    const rows = await db.selectFrom('code_acquisition_relays').selectAll().execute();
    const text = JSON.stringify(rows);
    expect(text).not.toContain(numbered.individualNumber);
    expect(text).not.toContain(numbered.residentRecordCode);
  });

  it('refuses an unknown Individual Number without echoing it', async () => {
    const unknown = generateIndividualNumber(seededRandom(12345));
    const response = await post('/v1/code-acquisitions', acquisition(unknown));
    expect(response.status).toBe(404);
    expect((response.json as ErrorBody).error.code).toBe('ERR_UNKNOWN_RESIDENT');
    expect(response.text).not.toContain(unknown);
    expect(core.received).toEqual([]);
    expect((await store.listRelays(1))[0]).toMatchObject({
      outcome: 'refused',
      errorCode: 'ERR_UNKNOWN_RESIDENT',
    });
  });

  it('refuses a mistyped Individual Number by its check digit, before any look-up', async () => {
    const numbered = await registerResident();
    const valid = parseIndividualNumber(numbered.individualNumber);
    const mistyped = `${valid.slice(0, 11)}${(Number(valid[11]) + 1) % 10}`;
    const response = await post('/v1/code-acquisitions', acquisition(mistyped));
    expect(response.status).toBe(400);
    expect((response.json as ErrorBody).error.code).toBe('ERR_INVALID_CHECK_DIGIT');
    expect(response.text).not.toContain(valid.slice(0, 11));
    expect(core.received).toEqual([]);
  });

  it('refuses a malformed request without echoing it', async () => {
    const response = await post('/v1/code-acquisitions', acquisition('12345678901'));
    expect(response.status).toBe(400);
    expect((response.json as ErrorBody).error.code).toBe('ERR_VALIDATION');
    expect(response.text).not.toContain('12345678901');
  });

  it("passes the core's refusal through and records the failure", async () => {
    const numbered = await registerResident();
    core.answer = {
      status: 422,
      body: { error: { code: 'ERR_UNKNOWN_INSTITUTION', message: 'No institution 152048.', details: {} } },
    };
    const response = await post('/v1/code-acquisitions', acquisition(numbered.individualNumber));
    expect(response.status).toBe(422);
    expect((response.json as ErrorBody).error.code).toBe('ERR_UNKNOWN_INSTITUTION');
    expect((await store.listRelays(1))[0]).toMatchObject({
      outcome: 'failed',
      errorCode: 'ERR_UNKNOWN_INSTITUTION',
    });
  });

  it('answers ERR_UPSTREAM_UNAVAILABLE when the core cannot be reached', async () => {
    const numbered = await registerResident();
    await core.app.close();
    const response = await post('/v1/code-acquisitions', acquisition(numbered.individualNumber));
    expect(response.status).toBe(502);
    expect((response.json as ErrorBody).error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(response.text).not.toContain(numbered.individualNumber);
  });
});

describe('identity records with history (本人確認情報)', () => {
  // The clock of J-LIS under test reads 2024-06-01 (UTC), so "today" in Japan is 2024-06-01.
  const code = generateResidentRecordCode(seededRandom(42));

  async function lookup(asOf?: string, history = false) {
    const response = await post('/admin/v1/resident-lookups', {
      residentRecordCode: code,
      ...(asOf === undefined ? {} : { asOf }),
      ...(history ? { history: true } : {}),
    });
    return response;
  }

  async function change(body: Record<string, unknown>) {
    return post('/admin/v1/resident-changes', { residentRecordCode: code, ...body });
  }

  it('numbers a birth under the municipality’s resident record code, and refuses it twice', async () => {
    const born = await post('/admin/v1/residents', {
      ...YAMADA,
      residentRecordCode: code,
      event: 'birth',
      effectiveDate: YAMADA.dateOfBirth,
    });
    expect(born.status).toBe(201);
    expect(born.json).toEqual({
      residentRecordCode: code,
      individualNumber: deriveIndividualNumber(KEY, code, 0),
    });
    const again = await post('/admin/v1/residents', { ...YAMADA, residentRecordCode: code });
    expect(again.status).toBe(409);
    expect((again.json as ErrorBody).error.code).toBe('ERR_DUPLICATE');
    expect(await store.countResidents()).toBe(1);
    const mistyped = `${code.slice(0, 10)}${(Number(code[10]) + 1) % 10}`;
    const refused = await post('/admin/v1/residents', { ...YAMADA, residentRecordCode: mistyped });
    expect(refused.status).toBe(400);
    expect(refused.text).not.toContain(mistyped);
  });

  it('answers "as of a day" from dated changes, a late correction included', async () => {
    await post('/admin/v1/residents', { ...YAMADA, residentRecordCode: code, effectiveDate: '2010-04-01' });
    expect((await change({ change: 'move_out', effectiveDate: '2015-03-31' })).status).toBe(201);
    expect(
      (
        await change({
          change: 'move_in',
          effectiveDate: '2015-04-01',
          address: '東京都新宿区歌舞伎町1丁目4番1号',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await change({
          change: 'name_change',
          effectiveDate: '2020-10-10',
          name: '佐藤 太郎',
          nameKana: 'サトウ タロウ',
        })
      ).status,
    ).toBe(201);
    // Recorded last, dated first: the registered address was mistyped from the start.
    expect(
      (
        await change({
          change: 'correction',
          effectiveDate: '2010-04-01',
          address: '新潟県三条市旭町二丁目3番2号',
        })
      ).status,
    ).toBe(201);

    const at = async (day: string) => (await lookup(day)).json as Record<string, unknown>;
    expect(await at('2012-01-01')).toMatchObject({
      name: '山田 太郎',
      address: '新潟県三条市旭町二丁目3番2号',
      status: 'resident',
    });
    expect(await at('2015-03-31')).toMatchObject({
      address: '新潟県三条市旭町二丁目3番2号',
      status: 'moved_out',
    });
    expect(await at('2015-04-01')).toMatchObject({
      address: '東京都新宿区歌舞伎町1丁目4番1号',
      status: 'resident',
    });
    expect(await at('2020-10-09')).toMatchObject({ name: '山田 太郎' });
    expect(await at('2024-06-01')).toMatchObject({
      name: '佐藤 太郎',
      nameKana: 'サトウ タロウ',
      asOf: '2024-06-01',
    });
    // Before the registration, there is no record to show.
    const before = await lookup('2009-12-31');
    expect((before.json as ErrorBody).error.code).toBe('ERR_UNKNOWN_RESIDENT');
    // The record as it stands now is the history folded to today, kept in the residents table.
    expect(await store.findResident(code)).toMatchObject({
      name: '佐藤 太郎',
      address: '東京都新宿区歌舞伎町1丁目4番1号',
    });
    const history = (await lookup(undefined, true)).json as {
      history: { change: string; effectiveDate: string }[];
    };
    expect(history.history.map((h) => [h.change, h.effectiveDate])).toEqual([
      ['first_registration', '2010-04-01'],
      ['move_out', '2015-03-31'],
      ['move_in', '2015-04-01'],
      ['name_change', '2020-10-10'],
      ['correction', '2010-04-01'],
    ]);
  });

  it('refuses changes that do not fit the day, and changes nothing', async () => {
    await post('/admin/v1/residents', { ...YAMADA, residentRecordCode: code, effectiveDate: '2010-04-01' });
    expect((await change({ change: 'death', effectiveDate: '2023-01-05' })).status).toBe(201);
    const before = await store.listHistory(code);
    for (const [body, expected] of [
      [{ change: 'move_in', effectiveDate: '2023-02-01', address: '大阪府大阪市北区' }, 'ERR_RESIDENT_STATE'],
      [{ change: 'move_out', effectiveDate: '2024-07-01' }, 'ERR_VALIDATION'], // in the future
      [{ change: 'move_in', effectiveDate: '2009-01-01', address: 'x' }, 'ERR_VALIDATION'], // before registration
      [{ change: 'name_change', effectiveDate: '2020-01-01' }, 'ERR_VALIDATION'], // no new name
      [{ change: 'move_out', effectiveDate: '2020-01-01', sex: 'female' }, 'ERR_VALIDATION'], // sex only by correction
    ] as const) {
      const refused = await change(body);
      expect((refused.json as ErrorBody).error.code, JSON.stringify(body)).toBe(expected);
    }
    const other = await post('/admin/v1/resident-changes', {
      residentRecordCode: generateResidentRecordCode(seededRandom(7)),
      change: 'death',
      effectiveDate: '2020-01-01',
    });
    expect((other.json as ErrorBody).error.code).toBe('ERR_UNKNOWN_RESIDENT');
    expect(await store.listHistory(code)).toEqual(before);
    // A correction after death is still possible (the date of birth was wrong).
    expect(
      (await change({ change: 'correction', effectiveDate: '2010-04-01', dateOfBirth: '1988-05-15' })).status,
    ).toBe(201);
  });

  it('changes a leaked number: the new one derived anew, the old one refused for any new use', async () => {
    const numbered = await registerResident();
    const changed = await post('/admin/v1/number-changes', {
      residentRecordCode: numbered.residentRecordCode,
      reason: 'leaked',
    });
    expect(changed.status).toBe(201);
    const renumbered = changed.json as { individualNumber: string };
    expect(renumbered.individualNumber).not.toBe(numbered.individualNumber);
    expect(renumbered.individualNumber).toBe(deriveIndividualNumber(KEY, numbered.residentRecordCode, 1));
    expect(isIndividualNumber(renumbered.individualNumber)).toBe(true);
    // The old number is refused, and says why; the refusal is recorded like any other.
    const old = await post('/v1/code-acquisitions', acquisition(numbered.individualNumber));
    expect((old.json as ErrorBody).error.code).toBe('ERR_INDIVIDUAL_NUMBER_REPLACED');
    expect(old.text).not.toContain(numbered.individualNumber);
    expect((await store.listRelays(1))[0]).toMatchObject({
      outcome: 'refused',
      errorCode: 'ERR_INDIVIDUAL_NUMBER_REPLACED',
    });
    // The new one works, and no one is ever given the old one again.
    expect((await post('/v1/code-acquisitions', acquisition(renumbered.individualNumber))).status).toBe(202);
    expect(await store.isReplacedNumber(numbered.individualNumber)).toBe(true);
    const stranger = await store.insertResident(
      {
        residentRecordCode: generateResidentRecordCode(seededRandom(5)),
        individualNumber: parseIndividualNumber(numbered.individualNumber),
        numberingCounter: 0,
        status: 'resident',
        ...YAMADA,
      },
      new Date(),
    );
    expect(stranger).toBe('number_taken');
  });
});
