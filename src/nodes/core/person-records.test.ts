/**
 * The exchanges about a person for the Myna Portal (service/person-records.ts), on a real core over a
 * real SQLite file (and PostgreSQL in the suite's PostgreSQL run), over real HTTP: the portal reads
 * with its own code; records under non-disclosure stay out until their requester lifts it; every row's
 * proof checks with the browser's verifier against the head the core signed.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { InquiryRequest } from '../../protocol/messages.ts';
import type { PersonRecordPage } from '../../protocol/person-records.ts';
import { verifyRecordEvidence, type PublicJwk, type TreeHeadKey } from '../../trust/merkle/index.ts';
import { startTwoMunicipalities, type TestCore, type TwoMunicipalities } from './test-support.ts';

const ALICE = '12345678901';
const BOB = '98765432109';

let keys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };
let jwk: PublicJwk;
beforeAll(async () => {
  keys = await generateKeyPair('ES256', { extractable: true });
  jwk = (await exportJWK(keys.publicKey)) as PublicJwk;
});

let net: TwoMunicipalities<'portal'>;
let core: TestCore;
/** Codes: X市's and the portal's, for Alice and for Bob. */
let xAlice: string;
let xBob: string;
let aAlice: string;
let portalAlice: string;
let portalBob: string;

beforeEach(async () => {
  // everyAppends high and no timer: a head is signed only when a lookup needs one (or at close).
  net = await startTwoMunicipalities({
    recordLog: { signer: { key: keys.privateKey, kid: 'core-1' }, everyAppends: 10_000, everyMs: 0 },
    others: { portal: { id: 'portal', kind: 'portal' } },
  });
  const {
    x,
    a,
    others: { portal },
  } = net;
  ({ core, code: xAlice } = net); // ALICE is the network's resident
  xBob = await core.issue({ id: '131016', standIn: x }, BOB);
  aAlice = await core.issue({ id: '132012', standIn: a }, ALICE);
  portalAlice = await core.issue({ id: 'portal', standIn: portal }, ALICE);
  portalBob = await core.issue({ id: 'portal', standIn: portal }, BOB);
});

afterEach(() => net.dispose());

/** An inquiry by 131016 (or `requesterId`) to 132012, a minute after the last; its processing number. */
async function inquire(personCode: string, overrides: Partial<InquiryRequest> = {}): Promise<string> {
  core.clock.advance(60_000);
  return net.inquireSettled({ personCode, ...overrides });
}

async function lookup(personCode: string, more: { cursor?: string; limit?: number; portalId?: string } = {}) {
  return core.call<PersonRecordPage & { error?: { code: string } }>('POST', '/v1/person-record-lookups', {
    portalId: more.portalId ?? 'portal',
    personCode,
    ...(more.cursor === undefined ? {} : { cursor: more.cursor }),
    ...(more.limit === undefined ? {} : { limit: more.limit }),
  });
}

async function everyPage(personCode: string, limit: number): Promise<PersonRecordPage[]> {
  const pages: PersonRecordPage[] = [];
  let cursor: string | undefined;
  do {
    const { status, body } = await lookup(personCode, { limit, ...(cursor === undefined ? {} : { cursor }) });
    expect(status).toBe(200);
    pages.push(body);
    cursor = body.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return pages;
}

async function expectProven(page: PersonRecordPage) {
  expect(page.treeHead).not.toBeNull();
  for (const record of page.records) {
    const verdict = await verifyRecordEvidence(
      { treeHead: page.treeHead?.jws ?? '', leaves: record.evidence },
      jwk,
      record.processingNumber,
    );
    expect(verdict, record.processingNumber).toMatchObject({ ok: true });
  }
}

describe('the exchanges about a person, for the Myna Portal', () => {
  it("shows the portal exactly its person's records, newest first, each proven in the log the core signed", async () => {
    const first = await inquire(xAlice);
    const bobs = await inquire(xBob);
    const second = await inquire(aAlice, { requesterId: '132012', providerId: '131016' });
    const refused = await inquire(xAlice, { procedureId: '001-01' });

    const { status, body } = await lookup(portalAlice);
    expect(status).toBe(200);
    expect(body.records.map((r) => r.processingNumber)).toEqual([refused, second, first]);
    expect(JSON.stringify(body)).not.toContain(bobs);
    expect(body.records[2]).toMatchObject({
      requesterId: '131016',
      providerId: '132012',
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      outcome: 'provided',
      reason: null,
    });
    expect(body.records[2]?.answeredAt).not.toBeNull();
    expect(body.records[0]).toMatchObject({ outcome: 'refused' });
    // Opened, answered, delivered: each event of the provided one is in the log, in order.
    expect(body.records[2]?.evidence.map((e) => (JSON.parse(e.leaf) as { event: string }).event)).toEqual([
      'accepted',
      'answered',
      'delivery',
    ]);
    expect(body.nextCursor).toBeNull();
    await expectProven(body);

    const bob = await lookup(portalBob);
    expect(bob.body.records.map((r) => r.processingNumber)).toEqual([bobs]);
    await expectProven(bob.body);
  });

  it('pages through the records with a cursor: each once, in order, no page short but the last', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push(await inquire(xAlice));
    const pages = await everyPage(portalAlice, 2);
    expect(pages.map((p) => p.records.length)).toEqual([2, 2, 1]);
    expect(pages.flatMap((p) => p.records.map((r) => r.processingNumber))).toEqual(made.reverse());
    for (const page of pages) await expectProven(page);
    expect((await lookup(portalAlice, { cursor: 'bm90LWEtY3Vyc29y' })).body.error?.code).toBe(
      'ERR_VALIDATION',
    );
  });

  it('leaves out a record under non-disclosure, with no count, gap or cursor to betray it, until its requester lifts it', async () => {
    const older = await inquire(xAlice);
    const hidden = await inquire(xAlice, { nonDisclosure: true });
    const newer = await inquire(xAlice);

    const before = await everyPage(portalAlice, 2);
    // Two records fill one page exactly, and nothing says a third exists.
    expect(before).toHaveLength(1);
    expect(before[0]?.records.map((r) => r.processingNumber)).toEqual([newer, older]);
    expect(before[0]?.nextCursor).toBeNull();
    expect(JSON.stringify(before)).not.toContain(hidden);
    expect(Object.keys(before[0] ?? {}).sort()).toEqual(['nextCursor', 'records', 'treeHead']);

    // Only the requester may lift it: the provider is told there is no such inquiry of its own.
    const byProvider = await core.call<{ error?: { code: string } }>('POST', '/v1/non-disclosure-lifts', {
      requesterId: '132012',
      processingNumber: hidden,
    });
    expect(byProvider.body.error?.code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    expect(JSON.stringify(await everyPage(portalAlice, 2))).not.toContain(hidden);

    const lifted = await core.call('POST', '/v1/non-disclosure-lifts', {
      requesterId: '131016',
      processingNumber: hidden,
    });
    expect(lifted).toEqual({ status: 200, body: { processingNumber: hidden, lifted: true } });
    const after = await everyPage(portalAlice, 10);
    expect(after[0]?.records.map((r) => r.processingNumber)).toEqual([newer, hidden, older]);
    const shown = after[0]?.records[1];
    expect(shown?.evidence.map((e) => (JSON.parse(e.leaf) as { event: string }).event)).toEqual([
      'accepted',
      'answered',
      'delivery',
      'disclosed',
    ]);
    await expectProven(after[0] as PersonRecordPage);

    // Once lifted, lifting again changes nothing and logs nothing.
    const again = await core.call('POST', '/v1/non-disclosure-lifts', {
      requesterId: '131016',
      processingNumber: hidden,
    });
    expect(again.body).toEqual({ processingNumber: hidden, lifted: false });
    const shownAgain = (await lookup(portalAlice)).body.records[1];
    expect(shownAgain?.evidence).toHaveLength(4);

    // The record row and its events agree (the lift is a logged event, not a quiet edit).
    await core.core.recordLog.signHead();
    const audit = await core.core.recordLog.verify({ publicKey: keys.publicKey });
    expect(audit.findings).toEqual([]);
  });

  it("refuses a code that is not the portal's: the requester's code for the same person, or a forged one", async () => {
    await inquire(xAlice);
    for (const code of [xAlice, 'A'.repeat(44)]) {
      const { status, body } = await lookup(code);
      expect(status).toBe(422);
      expect(body.error?.code).toBe('ERR_UNKNOWN_PERSON_CODE');
      expect(JSON.stringify(body)).not.toContain(code);
    }
  });

  it('refuses a party the registry does not list as the portal, even with a code of its own', async () => {
    await inquire(xAlice);
    const { status, body } = await lookup(xAlice, { portalId: '131016' });
    expect(status).toBe(403);
    expect(body.error?.code).toBe('ERR_CALLER_NOT_ALLOWED');
  });
});
