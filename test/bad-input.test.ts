/**
 * Bad input gets a clear error and changes nothing. One real network (core, J-LIS, twelve institutions)
 * on real SQLite files and real HTTP; every request is raw `fetch`, so broken bodies reach the nodes
 * as a careless or hostile client would send them. For each case: the status, the stable code, a
 * message a person can act on that never echoes the Individual Number or code sent, and the state of
 * every node before and after (records through the nodes' GET endpoints; persons and copies, which
 * no endpoint lists, read from the databases' files without writing).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIndividualNumber } from '../src/domain/identifiers/index.ts';
import type { Network } from '../src/network/launch.ts';
import type { SeededWorld } from '../src/network/seed.ts';
import { startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const REQUESTER = '152048'; // X市 (三条市)
const PROVIDER = '131041'; // A市 (新宿区)
/** Scenario (a), which the core allows: every case below breaks one part of it. */
const ALLOWED = { clauseNo: '74', procedureId: '074-01', itemNos: [2] };

let demo: DemoNetwork | undefined;
let dir: string;
let network: Network;
let world: SeededWorld;
/** Every Individual Number and code sent in a bad request: none may reach a log. */
const sent = new Set<string>();

/** Request logging on, so that the log search below also covers the URLs of bad requests. */
const requestLogBefore = process.env.RENKEI_REQUEST_LOG;

beforeAll(async () => {
  process.env.RENKEI_REQUEST_LOG = '1';
  // Input validation, below the trust layer: on a network without it, so that each broken body reaches
  // the parser it is meant for. test/trust.test.ts sends hostile input through the trust layer.
  demo = await startDemoNetwork('bad-input', { secure: false });
  ({ dir, network, world } = demo);
});

afterAll(async () => {
  if (requestLogBefore === undefined) delete process.env.RENKEI_REQUEST_LOG;
  else process.env.RENKEI_REQUEST_LOG = requestLogBefore;
  await demo?.dispose();
});

// ── Raw HTTP ────────────────────────────────────────────────────────────────────────────────

interface Answer {
  status: number;
  text: string;
  body: unknown;
}

interface Send {
  json?: unknown;
  raw?: string;
  contentType?: string;
}

async function call(baseUrl: string, method: string, path: string, send: Send = {}): Promise<Answer> {
  const body = send.raw ?? (send.json === undefined ? undefined : JSON.stringify(send.json));
  const contentType = send.contentType ?? (body === undefined ? undefined : 'application/json');
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, text, body: parsed };
}

const coreUrl = () => network.core.url;
const jlisUrl = () => network.jlis.url;
const institutionUrl = (id: string) => {
  const node = network.institutions.get(id);
  if (!node) throw new TypeError(`no institution ${id}`);
  return node.url;
};

interface Refusal {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The one error shape, with the status and code expected; a message that is a sentence; and none of
 * `secrets` anywhere in the answer (message, details or otherwise).
 */
function expectRefusal(answer: Answer, status: number, code: string, secrets: string[] = []): Refusal {
  expect(answer.body, answer.text).toMatchObject({ error: { code } });
  expect(answer.status, answer.text).toBe(status);
  const { error } = answer.body as { error: Refusal };
  expect(Object.keys(error).sort()).toEqual(['code', 'details', 'message']);
  expect(typeof error.details).toBe('object');
  expect(error.message).toMatch(/^[A-Z][^\n]{9,}[.?!]$/);
  for (const secret of secrets) {
    expect(answer.text.includes(secret), `the answer echoes ${secret}: ${answer.text}`).toBe(false);
  }
  return error;
}

// ── State of the network ────────────────────────────────────────────────────────────────────

interface State {
  residents: number;
  institutions: number;
  /** `processingNumber outcome reason` at the core. */
  core: string[];
  /** `role processingNumber outcome reason` at each institution. */
  records: Record<string, string[]>;
  /** Addressee system rows (never the Individual Number itself) and intermediate persons and copies. */
  persons: Record<string, string[]>;
  copies: Record<string, string[]>;
}

interface RecordRow {
  processingNumber: string;
  outcome: string;
  reason?: string | null;
  role?: string;
}

const recordLine = (r: RecordRow) =>
  [r.role, r.processingNumber, r.outcome, r.reason ?? ''].filter((x) => x !== undefined).join(' ');

async function getJson<T>(baseUrl: string, path: string): Promise<T> {
  const answer = await call(baseUrl, 'GET', path);
  expect(answer.status, answer.text).toBe(200);
  return answer.body as T;
}

function rowsOf(file: string, sql: string): string[] {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(sql).all() as Record<string, unknown>[]).map((row) => JSON.stringify(row));
  } finally {
    db.close();
  }
}

async function state(): Promise<State> {
  const { count: residents } = await getJson<{ count: number }>(jlisUrl(), '/admin/v1/residents/count');
  const { institutions } = await getJson<{ institutions: unknown[] }>(coreUrl(), '/admin/v1/institutions');
  const { records: core } = await getJson<{ records: RecordRow[] }>(
    coreUrl(),
    '/admin/v1/provision-records?limit=1000',
  );
  const records: Record<string, string[]> = {};
  const persons: Record<string, string[]> = {};
  const copies: Record<string, string[]> = {};
  for (const id of network.institutions.keys()) {
    const at = await getJson<{ records: RecordRow[] }>(
      institutionUrl(id),
      '/business/v1/provision-records?limit=10000',
    );
    records[id] = at.records.map(recordLine).sort();
    const files = join(dir, 'institutions', id);
    persons[id] = [
      ...rowsOf(
        join(files, 'addressee.sqlite'),
        'SELECT addressee_number, registered_at FROM addressees ORDER BY addressee_number',
      ),
      ...rowsOf(join(files, 'intermediate.sqlite'), 'SELECT * FROM persons ORDER BY addressee_number'),
    ];
    copies[id] = rowsOf(
      join(files, 'intermediate.sqlite'),
      'SELECT * FROM copies ORDER BY addressee_number, item_no',
    );
  }
  return {
    residents,
    institutions: institutions.length,
    core: core.map(recordLine).sort(),
    records,
    persons,
    copies,
  };
}

/** `before` with the given records added: what the state must be after a recorded refusal. */
function withRecords(before: State, added: { core?: string[]; at?: Record<string, string[]> }): State {
  const records = { ...before.records };
  for (const [id, lines] of Object.entries(added.at ?? {})) {
    records[id] = [...(records[id] ?? []), ...lines].sort();
  }
  return { ...before, core: [...before.core, ...(added.core ?? [])].sort(), records };
}

function residentNumber(key: string): string {
  const resident = world.residents.get(key);
  if (!resident) throw new TypeError(`no resident ${key}`);
  return resident.individualNumber;
}

/** The same digits with the check digit changed: well-formed, and wrong. */
function withWrongCheckDigit(number: string): string {
  const check = Number(number.slice(11));
  return `${number.slice(0, 11)}${(check + 1) % 10}`;
}

function toFullWidth(digits: string): string {
  return [...digits].map((d) => String.fromCodePoint(0xff10 + Number(d))).join('');
}

/** A valid Individual Number that J-LIS never issued. */
function unissuedNumber(): string {
  const issued = new Set([...world.residents.values()].map((r) => r.individualNumber));
  for (;;) {
    const number = generateIndividualNumber();
    if (!issued.has(number)) return number;
  }
}

// ── Cases ───────────────────────────────────────────────────────────────────────────────────

describe('registering a person at an institution', () => {
  const register = (individualNumber: unknown) =>
    call(institutionUrl(REQUESTER), 'POST', '/business/v1/persons', { json: { individualNumber } });

  it('refuses a wrong check digit without echoing the number', async () => {
    const wrong = withWrongCheckDigit(residentNumber('suzuki-ichiro'));
    sent.add(wrong);
    const before = await state();
    const refusal = expectRefusal(await register(wrong), 400, 'ERR_INVALID_CHECK_DIGIT', [wrong]);
    expect(refusal.message).toMatch(/check digit/);
    expect(await state()).toEqual(before);
  });

  it('refuses eleven digits, naming the length, without echoing them', async () => {
    const short = residentNumber('suzuki-ichiro').slice(0, 11);
    sent.add(short);
    const before = await state();
    const refusal = expectRefusal(await register(short), 400, 'ERR_INVALID_LENGTH', [short]);
    expect(refusal.details).toMatchObject({ expected: 12, actual: 11 });
    expect(await state()).toEqual(before);
  });

  it('refuses a letter, naming its position, without echoing the number', async () => {
    const number = residentNumber('suzuki-ichiro');
    const lettered = `${number.slice(0, 5)}X${number.slice(6)}`;
    sent.add(lettered);
    const before = await state();
    const refusal = expectRefusal(await register(lettered), 400, 'ERR_INVALID_CHARACTER', [
      lettered,
      number.slice(0, 5),
      number.slice(6),
    ]);
    expect(refusal.details).toEqual({ position: 6 });
    expect(await state()).toEqual(before);
  });

  it('refuses an Individual Number that is not a string with ERR_VALIDATION', async () => {
    const number = residentNumber('suzuki-ichiro');
    const before = await state();
    const refusal = expectRefusal(await register(Number(number)), 400, 'ERR_VALIDATION', [number]);
    expect(refusal.message).toMatch(/individualNumber/);
    expect(await state()).toEqual(before);
  });

  it('accepts the full-width digits of a valid number as the same person', async () => {
    const number = residentNumber('suzuki-ichiro'); // not yet known at X市
    const fullWidth = `${toFullWidth(number.slice(0, 4))} ${toFullWidth(number.slice(4, 8))}－${toFullWidth(number.slice(8))}`;
    sent.add(fullWidth);
    const first = await register(fullWidth);
    expect(first.status, first.text).toBe(201);
    const { addresseeNumber } = first.body as { addresseeNumber: string };
    expect(first.body).toEqual({ addresseeNumber, codeStatus: 'acquired' });
    const again = await register(number);
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual({ addresseeNumber, codeStatus: 'acquired' });
  });
});

describe('code acquisition at J-LIS', () => {
  const acquire = (institutionId: string, individualNumber: string) =>
    call(jlisUrl(), 'POST', '/v1/code-acquisitions', {
      json: { institutionId, acquisitionNumber: randomBytes(16).toString('hex'), individualNumber },
    });

  it("passes on the core's refusal of an unknown institution without echoing the number", async () => {
    const number = residentNumber('yamada-taro');
    const before = await state();
    const refusal = expectRefusal(await acquire('nowhere-99', number), 422, 'ERR_UNKNOWN_INSTITUTION', [
      number,
    ]);
    expect(refusal.message).toMatch(/nowhere-99/);
    expect(await state()).toEqual(before);
  });

  it('refuses an Individual Number of no resident without echoing it', async () => {
    const unknown = unissuedNumber();
    sent.add(unknown);
    const before = await state();
    expectRefusal(await acquire(REQUESTER, unknown), 404, 'ERR_UNKNOWN_RESIDENT', [unknown]);
    expect(await state()).toEqual(before);
  });

  it('refuses a wrong check digit without echoing the number', async () => {
    const wrong = withWrongCheckDigit(residentNumber('yamada-taro'));
    sent.add(wrong);
    const before = await state();
    expectRefusal(await acquire(REQUESTER, wrong), 400, 'ERR_INVALID_CHECK_DIGIT', [wrong]);
    expect(await state()).toEqual(before);
  });
});

describe("a clerk's inquiry at the requester's institution", () => {
  const inquire = (changes: Record<string, unknown>) =>
    call(institutionUrl(REQUESTER), 'POST', '/business/v1/inquiries', {
      json: {
        addresseeNumber: world.addresseeNumber('yamada-taro', REQUESTER),
        providerId: PROVIDER,
        ...ALLOWED,
        ...changes,
      },
    });

  const refusedAtCore = [
    {
      what: 'an unknown provider',
      changes: { providerId: 'nowhere-99' },
      code: 'ERR_UNKNOWN_INSTITUTION',
      reason: 'ERR_UNKNOWN_INSTITUTION',
      names: 'nowhere-99',
    },
    {
      what: 'an unknown clause',
      changes: { clauseNo: '999' },
      code: 'ERR_UNKNOWN_CLAUSE',
      reason: 'unknown_clause',
      names: '999',
    },
    {
      what: 'an unknown item',
      changes: { itemNos: [998] },
      code: 'ERR_UNKNOWN_ITEM',
      reason: 'unknown_item',
      names: '998',
    },
    {
      what: 'an unknown procedure',
      changes: { procedureId: '074-99' },
      code: 'ERR_UNKNOWN_PROCEDURE',
      reason: 'unknown_procedure',
      names: '074-99',
    },
  ];

  for (const c of refusedAtCore) {
    it(`refuses ${c.what}, records the refusal at the core and the requester, and sends nothing to the provider`, async () => {
      const before = await state();
      const refusal = expectRefusal(await inquire(c.changes), 422, c.code, [residentNumber('yamada-taro')]);
      expect(refusal.message).toContain(c.names);
      const pn = refusal.details.processingNumber;
      expect(typeof pn).toBe('string');
      expect(await state()).toEqual(
        withRecords(before, {
          core: [`${String(pn)} refused ${c.reason}`],
          at: { [REQUESTER]: [`requester ${String(pn)} refused ${c.reason}`] },
        }),
      );
      // The clerk can look the refusal up by its processing number.
      const status = await call(institutionUrl(REQUESTER), 'GET', `/business/v1/inquiries/${String(pn)}`);
      expect(status.status, status.text).toBe(200);
      expect(status.body).toMatchObject({ status: 'answered', outcome: 'refused' });
    });
  }

  it('refuses an unknown addressee number without asking the core', async () => {
    const before = await state();
    const refusal = expectRefusal(
      await inquire({ addresseeNumber: '999999999999999' }),
      404,
      'ERR_UNKNOWN_ADDRESSEE_NUMBER',
    );
    expect(refusal.details.processingNumber).toBeUndefined();
    expect(await state()).toEqual(before);
  });

  it('refuses a malformed clause number with ERR_VALIDATION naming the field', async () => {
    const before = await state();
    const refusal = expectRefusal(await inquire({ clauseNo: 'seventy-four' }), 400, 'ERR_VALIDATION', [
      'seventy-four',
    ]);
    expect(refusal.message).toMatch(/clauseNo/);
    expect(await state()).toEqual(before);
  });
});

describe('an inquiry sent straight to the core', () => {
  const inquire = (personCode: string) =>
    call(coreUrl(), 'POST', '/v1/inquiries', {
      json: { requesterId: REQUESTER, providerId: PROVIDER, personCode, ...ALLOWED },
    });

  it('refuses a malformed person code with ERR_VALIDATION naming personCode, without echoing it', async () => {
    const malformed = 'MALFORMED.person.code.0123456789';
    sent.add(malformed);
    const before = await state();
    const refusal = expectRefusal(await inquire(malformed), 400, 'ERR_VALIDATION', [malformed]);
    expect(refusal.message).toMatch(/personCode/);
    expect(refusal.details.issues).toEqual([{ path: 'personCode', message: expect.any(String) as string }]);
    expect(await state()).toEqual(before); // malformed input is not numbered, so not recorded
  });

  it('refuses a forged person code as unknown and records the refusal, sending nothing to the provider', async () => {
    const forged = randomBytes(33).toString('base64url');
    expect(forged).toHaveLength(44);
    sent.add(forged);
    const before = await state();
    const refusal = expectRefusal(await inquire(forged), 422, 'ERR_UNKNOWN_PERSON_CODE', [forged]);
    const pn = String(refusal.details.processingNumber);
    expect(await state()).toEqual(withRecords(before, { core: [`${pn} refused ERR_UNKNOWN_PERSON_CODE`] }));
  });
});

describe('processing numbers', () => {
  it('answers an unknown processing number at the institution with ERR_UNKNOWN_PROCESSING_NUMBER', async () => {
    const unknown = uuidv7();
    expectRefusal(
      await call(institutionUrl(REQUESTER), 'GET', `/business/v1/inquiries/${unknown}`),
      404,
      'ERR_UNKNOWN_PROCESSING_NUMBER',
    );
  });

  it('refuses a malformed processing number at the institution with ERR_VALIDATION', async () => {
    const refusal = expectRefusal(
      await call(institutionUrl(REQUESTER), 'GET', '/business/v1/inquiries/not-a-processing-number'),
      400,
      'ERR_VALIDATION',
      ['not-a-processing-number'],
    );
    expect(refusal.message).toMatch(/processingNumber/);
  });

  it('answers an unknown processing number at the core with ERR_UNKNOWN_PROCESSING_NUMBER', async () => {
    expectRefusal(
      await call(coreUrl(), 'GET', `/v1/inquiries/${uuidv7()}`),
      404,
      'ERR_UNKNOWN_PROCESSING_NUMBER',
    );
  });

  it('refuses a malformed processing number at the core with ERR_VALIDATION', async () => {
    const refusal = expectRefusal(
      await call(coreUrl(), 'GET', '/v1/inquiries/not-a-processing-number'),
      400,
      'ERR_VALIDATION',
      ['not-a-processing-number'],
    );
    expect(refusal.message).toMatch(/processingNumber/);
  });
});

describe('copies', () => {
  it('refuses data that breaks the layout, with problems that do not echo the value, and keeps the copy', async () => {
    const distinctive = 'DISTINCTIVE-VALUE-7f3a9c';
    const before = await state();
    const answer = await call(institutionUrl(PROVIDER), 'PUT', '/business/v1/copies', {
      json: {
        addresseeNumber: world.addresseeNumber('yamada-taro', PROVIDER),
        itemNo: 2,
        data: { taxYear: distinctive, totalIncome: -1, nonTaxable: distinctive },
      },
    });
    const refusal = expectRefusal(answer, 422, 'ERR_LAYOUT_VIOLATION', [distinctive]);
    const problems = refusal.details.problems as string[];
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => p.startsWith('taxYear'))).toBe(true);
    expect(await state()).toEqual(before);
  });

  it('refuses a copy of an unknown item with ERR_UNKNOWN_ITEM', async () => {
    const before = await state();
    const answer = await call(institutionUrl(PROVIDER), 'PUT', '/business/v1/copies', {
      json: { addresseeNumber: world.addresseeNumber('yamada-taro', PROVIDER), itemNo: 998, data: {} },
    });
    expect(expectRefusal(answer, 422, 'ERR_UNKNOWN_ITEM').message).toContain('998');
    expect(await state()).toEqual(before);
  });

  it('refuses a copy for an unknown addressee number with ERR_UNKNOWN_ADDRESSEE_NUMBER', async () => {
    const before = await state();
    const answer = await call(institutionUrl(PROVIDER), 'PUT', '/business/v1/copies', {
      json: { addresseeNumber: '999999999999999', itemNo: 2, data: {} },
    });
    expectRefusal(answer, 404, 'ERR_UNKNOWN_ADDRESSEE_NUMBER');
    expect(await state()).toEqual(before);
  });
});

describe('bodies and routes, on every node', () => {
  const nodes = [
    { node: 'the core', url: coreUrl, path: '/v1/inquiries' },
    { node: 'J-LIS', url: jlisUrl, path: '/v1/code-acquisitions' },
    { node: 'an institution', url: () => institutionUrl(REQUESTER), path: '/business/v1/persons' },
  ];

  for (const { node, url, path } of nodes) {
    it(`refuses a body that is not JSON at ${node} without echoing it`, async () => {
      const number = residentNumber('sato-misaki');
      const before = await state();
      const answer = await call(url(), 'POST', path, { raw: `{"individualNumber": "${number}",` });
      expectRefusal(answer, 400, 'ERR_BODY_NOT_JSON', [number]);
      expect(await state()).toEqual(before);
    });

    it(`refuses JSON that is not an object at ${node} with ERR_VALIDATION, without echoing it`, async () => {
      const number = residentNumber('sato-misaki');
      const before = await state();
      expectRefusal(await call(url(), 'POST', path, { json: number }), 400, 'ERR_VALIDATION', [number]);
      expect(await state()).toEqual(before);
    });

    it(`refuses a prototype-poisoning key at ${node} with ERR_VALIDATION naming it`, async () => {
      const before = await state();
      for (const raw of [
        '{"__proto__": {"admin": true}}',
        '{"constructor": {"prototype": {"admin": true}}}',
      ]) {
        const answer = await call(url(), 'POST', path, { raw });
        expectRefusal(answer, 400, 'ERR_VALIDATION');
        expect(JSON.stringify(answer.body)).toContain('__proto__');
      }
      expect(await state()).toEqual(before);
    });

    it(`refuses an empty JSON body at ${node}`, async () => {
      expectRefusal(await call(url(), 'POST', path, { raw: '' }), 400, 'ERR_BODY_NOT_JSON');
    });

    it(`refuses a body over 1 MiB at ${node} with ERR_BODY_TOO_LARGE`, async () => {
      const number = residentNumber('sato-misaki');
      const before = await state();
      const raw = JSON.stringify({ individualNumber: number, padding: 'x'.repeat(1024 * 1024) });
      expectRefusal(await call(url(), 'POST', path, { raw }), 413, 'ERR_BODY_TOO_LARGE', [number]);
      expect(await state()).toEqual(before);
    });

    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
      it(`refuses a ${contentType} body at ${node} with ERR_UNSUPPORTED_MEDIA_TYPE`, async () => {
        const number = residentNumber('sato-misaki');
        const before = await state();
        const raw =
          contentType === 'text/plain'
            ? JSON.stringify({ individualNumber: number })
            : `individualNumber=${number}`;
        expectRefusal(
          await call(url(), 'POST', path, { raw, contentType }),
          415,
          'ERR_UNSUPPORTED_MEDIA_TYPE',
          [number],
        );
        expect(await state()).toEqual(before);
      });
    }

    it(`answers an unknown route at ${node} with ERR_ROUTE_NOT_FOUND, not echoing a number in the path`, async () => {
      const number = residentNumber('sato-misaki');
      const refusal = expectRefusal(
        await call(url(), 'GET', `/v1/residents/${number}?individualNumber=${number}`),
        404,
        'ERR_ROUTE_NOT_FOUND',
        [number],
      );
      expect(refusal.message).toMatch(/GET/);
    });
  }
});

describe('privacy', () => {
  function filesUnder(root: string): string[] {
    return readdirSync(root, { recursive: true, encoding: 'utf8' })
      .map((name) => join(root, name))
      .filter((path) => statSync(path).isFile());
  }

  it('never writes an Individual Number or a code sent in a bad request to a log', async () => {
    await network.close(); // flush the logs before reading them
    const numbers = [...world.residents.values()].map((r) => r.individualNumber);
    const secrets = [...numbers, ...sent];
    expect(sent.size).toBeGreaterThan(5);
    const logs = filesUnder(dir).filter((f) => f.endsWith('.log'));
    expect(logs.length).toBeGreaterThanOrEqual(3);
    // The search itself works: the refusals were logged, by their codes and routes.
    const all = logs.map((f) => readFileSync(f, 'utf8')).join('');
    for (const logged of ['ERR_INVALID_CHECK_DIGIT', 'ERR_UNKNOWN_PERSON_CODE', '/business/v1/persons']) {
      expect(all).toContain(logged);
    }
    for (const file of logs) {
      const text = readFileSync(file, 'utf8');
      for (const secret of secrets) {
        expect(text.includes(secret), `${file} holds ${secret}`).toBe(false);
      }
    }
  });
});
