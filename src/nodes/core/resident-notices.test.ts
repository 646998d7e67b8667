/**
 * Notices of change at the core (service/resident-notices.ts): the core remembers which institutions
 * it issued a person's code to, tells J-LIS only those, and delivers each sealed notice to its holder
 * under the holder's own code until the holder acknowledges it. Stand-ins play the institutions.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

const RESIDENT = '12345678901';
/** A compact JWE's shape: the core cannot open it, and does not try. */
const sealedFor = (id: string) => `aGVhZGVy..aXY.c2VhbGVkLWZvci0${id}.dGFn`;

let net: TwoMunicipalities<'c'>;
let core: TestCore;
let a: StandIn; // 131016 (the network's x)
let b: StandIn; // 132012 (the network's a)
let c: StandIn; // 141003

beforeEach(async () => {
  net = await startTwoMunicipalities({
    deliveryRetryDelaysMs: [20, 40, 80],
    maxRetryDelayMs: 200,
    codes: 'none',
    others: { c: { id: '141003', kind: 'municipality' } },
  });
  ({ core, x: a, a: b } = net);
  c = net.others.c;
});

afterEach(() => net.dispose());

function submit(noticeId: string, sealed: Record<string, string>) {
  return core.call('POST', '/v1/resident-notices', {
    noticeId,
    residentRecordCode: RESIDENT,
    kind: 'number_change',
    sealed,
  });
}

describe('notices of change', () => {
  it('names as holders only the institutions issued a code for the person', async () => {
    expect(
      (await core.call('POST', '/v1/code-holder-lookups', { residentRecordCode: RESIDENT })).body,
    ).toEqual({
      institutionIds: [],
    });
    await core.issue({ id: '132012', standIn: b }, RESIDENT);
    await core.issue({ id: '131016', standIn: a }, RESIDENT);
    await core.issue({ id: '131016', standIn: a }, RESIDENT);
    await core.issue({ id: '141003', standIn: c }, '98765432109');
    const { status, body } = await core.call('POST', '/v1/code-holder-lookups', {
      residentRecordCode: RESIDENT,
    });
    expect(status).toBe(200);
    expect(body).toEqual({ institutionIds: ['131016', '132012'] });
  });

  it('delivers each holder its notice under its own code, skips an institution that holds none, and takes a resend once', async () => {
    const codeAtA = await core.issue({ id: '131016', standIn: a }, RESIDENT);
    const codeAtB = await core.issue({ id: '132012', standIn: b }, RESIDENT);
    const noticeId = randomUUID();
    const sealed = { '131016': sealedFor('a'), '132012': sealedFor('b'), '141003': sealedFor('c') };
    const first = await submit(noticeId, sealed);
    expect(first).toEqual({
      status: 202,
      body: { noticeId, institutionIds: ['131016', '132012'], skipped: ['141003'] },
    });
    await core.core.services.residentNotices.whenDelivered();
    expect(a.residentNotices).toEqual([
      { noticeId, kind: 'number_change', personCode: codeAtA, sealed: sealedFor('a') },
    ]);
    expect(b.residentNotices).toEqual([
      { noticeId, kind: 'number_change', personCode: codeAtB, sealed: sealedFor('b') },
    ]);
    expect(c.residentNotices).toEqual([]);

    expect(await submit(noticeId, sealed)).toEqual(first);
    await core.core.services.residentNotices.whenDelivered();
    expect([a.residentNotices.length, b.residentNotices.length]).toEqual([1, 1]);
    // The resident record code is never stored: the notices name the person by resident key.
    expect(await core.databaseText()).not.toContain(RESIDENT);
  });

  it('retries a holder that is down until it acknowledges, and records failed one that refuses for good', async () => {
    await core.issue({ id: '131016', standIn: a }, RESIDENT);
    await core.issue({ id: '132012', standIn: b }, RESIDENT);
    a.failNextResidentNotices = 3;
    b.refuseResidentNotices = true;
    const noticeId = randomUUID();
    await submit(noticeId, { '131016': sealedFor('a'), '132012': sealedFor('b') });
    await core.core.services.residentNotices.whenDelivered();
    expect(a.residentNotices.map((n) => n.noticeId)).toEqual([noticeId]);
    expect(b.residentNotices).toEqual([]);
    const stored = await core.databaseText();
    expect(stored).toContain('ERR_DECRYPTION_FAILED');
  });
});
