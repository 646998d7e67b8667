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
    expect(history[0]).toMatchObject({ change: 'created', ...YAMADA });
    expect(history[0]?.changedAt.toISOString()).toBe('2024-06-01T00:00:00.000Z');
  });

  it('retries with the next counter when the derived number is already taken', async () => {
    // The code the seeded source will draw next, and the number it would derive first, taken by someone else.
    const nextCode = generateResidentRecordCode(seededRandom(1));
    const taken = deriveIndividualNumber(KEY, nextCode, 0);
    const other = generateResidentRecordCode(seededRandom(99));
    await store.insertResident(
      { residentRecordCode: other, individualNumber: taken, numberingCounter: 0, ...YAMADA },
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
