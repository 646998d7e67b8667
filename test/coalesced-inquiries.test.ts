/**
 * Single inquiries sent together: a requester's intermediate server sends the clerks' inquiries that
 * arrive while a send to the core is in flight as one signed batch (Nagle's rule, no fixed delay),
 * and a clerk may wait for the answer in the request that makes the inquiry. Every person is still an
 * exchange of its own, with its processing number and its records at the three parties. A business
 * system may also send many inquiries in one request (`inquiries:batch`): they go to the core together.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyNetworkRecords } from '../src/network/records.ts';
import { MAX_INQUIRIES_PER_REQUEST, type InquiryReply } from '../src/protocol/business.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import { clause74Inquiry, startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const REQUESTER = '152048'; // 三条市
const PROVIDER = '131041'; // 新宿区
const INSURER = 'kyokai-kenpo'; // 協会けんぽ: clause 74 does not allow it

let demo: DemoNetwork;

beforeAll(async () => {
  demo = await startDemoNetwork('coalesced');
});

afterAll(async () => {
  await demo.dispose();
});

const asked = (addresseeNumber: string, waitMs?: number) =>
  clause74Inquiry(addresseeNumber, waitMs === undefined ? {} : { waitMs });

/** How many of these inquiries the core recorded as members of a batch. */
function inBatches(numbers: readonly string[]): number {
  const core = new Database(join(demo.dir, 'core', 'core.sqlite'), { readonly: true });
  try {
    return core
      .prepare(
        `SELECT count(*) FROM inquiries WHERE batch_id IS NOT NULL AND processing_number IN (${numbers.map(() => '?').join(',')})`,
      )
      .pluck()
      .get(...numbers) as number;
  } finally {
    core.close();
  }
}

/** How many requester records the clerks' institution holds: what a refused set must not change. */
async function requesterRecords(): Promise<number> {
  const { records } = await demo.network
    .institution(REQUESTER)
    .listProvisionRecords({ query: { role: 'requester', limit: 10_000 } });
  return records.length;
}

describe('many inquiries in one request', () => {
  const set = (addresseeNumbers: string[], extra: { waitMs?: number; requestIds?: string[] } = {}) => ({
    body: {
      inquiries: addresseeNumbers.map((n, i) => {
        const { body } = clause74Inquiry(n);
        const requestId = extra.requestIds?.[i];
        return requestId === undefined ? body : { ...body, requestId };
      }),
      ...(extra.waitMs === undefined ? {} : { waitMs: extra.waitMs }),
    },
  });

  it('answers each inquiry of a household in the order sent, one it cannot make with its error, and sends the rest to the core as one batch', async () => {
    const clerk = demo.network.institution(REQUESTER);
    const { results } = await clerk.inquireMany(
      set(
        [
          demo.world.addresseeNumber('yamada-taro', REQUESTER),
          'no-such-person-0002',
          demo.world.addresseeNumber('ito-sakura', REQUESTER),
        ],
        { waitMs: 20_000 },
      ),
    );
    expect(results.map((r) => ('outcome' in r ? r.outcome : r.status))).toEqual([
      'provided',
      'error',
      'not_held',
    ]);
    expect(results[1]).toMatchObject({ status: 'error', error: { code: 'ERR_UNKNOWN_ADDRESSEE_NUMBER' } });
    const made = results.flatMap((r) => ('processingNumber' in r ? [r.processingNumber] : []));
    expect(made).toHaveLength(2);
    expect(inBatches(made)).toBe(2);
    // Each answered as a later read of its inquiry answers it, items included.
    for (const [i, processingNumber] of made.entries()) {
      const read = await clerk.getInquiry({ params: { processingNumber }, query: { waitMs: 0 } });
      expect(results[i === 0 ? 0 : 2]).toEqual(read);
    }
  });

  it('answers pending at once without a wait, and the same keys sent again get the same inquiries, not new ones', async () => {
    const clerk = demo.network.institution(REQUESTER);
    const persons = ['yamada-taro', 'ito-sakura'].map((r) => demo.world.addresseeNumber(r, REQUESTER));
    const requestIds = [crypto.randomUUID(), crypto.randomUUID()];
    const first = await clerk.inquireMany(set(persons, { requestIds }));
    expect(first.results.map((r) => r.status)).toEqual(['pending', 'pending']);
    const before = await requesterRecords();
    const again = await clerk.inquireMany(set(persons, { requestIds, waitMs: 20_000 }));
    const numbers = (r: typeof first) =>
      r.results.map((x) => ('processingNumber' in x ? x.processingNumber : 'none'));
    expect(numbers(again)).toEqual(numbers(first));
    expect(await requesterRecords()).toBe(before);
  });

  it('refuses each member of a set the legal table does not allow, with its processing number and rule, recorded', async () => {
    const clerk = demo.network.institution(INSURER);
    const addresseeNumber = demo.world.addresseeNumber('yamada-taro', INSURER);
    const { results } = await clerk.inquireMany({
      body: { inquiries: [clause74Inquiry(addresseeNumber).body, clause74Inquiry(addresseeNumber).body] },
    });
    for (const result of results) {
      expect(result).toMatchObject({
        status: 'error',
        error: { code: 'ERR_INQUIRY_NOT_AUTHORIZED', details: { rule: expect.any(String) as unknown } },
      });
      const processingNumber = 'error' in result ? String(result.error.details.processingNumber) : '';
      const status = await clerk.getInquiry({ params: { processingNumber }, query: { waitMs: 0 } });
      expect(status).toMatchObject({ status: 'answered', outcome: 'refused' });
    }
  });

  it('refuses a whole set that is empty, too large or repeats a key, making none of its inquiries', async () => {
    const clerk = demo.network.institution(REQUESTER);
    const person = demo.world.addresseeNumber('yamada-taro', REQUESTER);
    const before = await requesterRecords();
    const key = crypto.randomUUID();
    for (const body of [
      { inquiries: [] },
      set(Array.from({ length: MAX_INQUIRIES_PER_REQUEST + 1 }, () => person)).body,
      set([person, person], { requestIds: [key, key] }).body,
    ]) {
      const error = await clerk.inquireMany({ body }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(RenkeiError);
      expect((error as RenkeiError).code).toBe('ERR_VALIDATION');
    }
    expect(await requesterRecords()).toBe(before);
  });
});

describe('single inquiries sent together', () => {
  it('answers a clerk who asks to wait with the outcome and items in the one request', async () => {
    const clerk = demo.network.institution(REQUESTER);
    const reply: InquiryReply = await clerk.inquire(
      asked(demo.world.addresseeNumber('yamada-taro', REQUESTER), 20_000),
    );
    expect(reply).toMatchObject({ status: 'answered', outcome: 'provided', providerId: PROVIDER });
    expect('items' in reply && reply.items?.[0]?.itemNo).toBe(2);
  });

  it('sends what arrives during a send as one batch, each person an exchange of its own', async () => {
    const clerk = demo.network.institution(REQUESTER);
    const residents = ['yamada-taro', 'ito-sakura'];
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        clerk.inquire(asked(demo.world.addresseeNumber(residents[i % 2]!, REQUESTER), 20_000)),
      ),
    );
    const numbers = replies.map((r) => r.processingNumber);
    expect(new Set(numbers).size).toBe(40);
    expect(replies.map((r) => ('outcome' in r ? r.outcome : 'pending'))).toEqual(
      replies.map((_, i) => (i % 2 === 0 ? 'provided' : 'not_held')),
    );

    // Most went in batches (the first alone, the rest while it was in flight): the core says so.
    expect(inBatches(numbers)).toBeGreaterThanOrEqual(20);
  });

  it('gives each clerk who waited in a batch exactly the status a later read of the inquiry gives', async () => {
    const clerk = demo.network.institution(REQUESTER);
    const residents = ['yamada-taro', 'ito-sakura'];
    const replies = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        clerk.inquire(asked(demo.world.addresseeNumber(residents[i % 2]!, REQUESTER), 20_000)),
      ),
    );
    expect(inBatches(replies.map((r) => r.processingNumber))).toBeGreaterThanOrEqual(12);
    for (const reply of replies) {
      expect(reply.status).toBe('answered');
      const read = await clerk.getInquiry({
        params: { processingNumber: reply.processingNumber },
        query: { waitMs: 0 },
      });
      expect(reply).toEqual(read);
    }
  });

  it('refuses a person it does not know to that clerk alone, and sends the others of the batch', async () => {
    const clerk = demo.network.institution(REQUESTER);
    const known = demo.world.addresseeNumber('yamada-taro', REQUESTER);
    const unknown = 'no-such-person-0001';
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        clerk.inquire(asked(i % 3 === 2 ? unknown : known, 20_000)).then(
          (reply) => reply,
          (error: unknown) => error,
        ),
      ),
    );
    results.forEach((result, i) => {
      if (i % 3 === 2) {
        expect(result).toBeInstanceOf(RenkeiError);
        expect((result as RenkeiError).code).toBe('ERR_UNKNOWN_ADDRESSEE_NUMBER');
      } else {
        expect(result).toMatchObject({ status: 'answered', outcome: 'provided' });
      }
    });
  });

  it('refuses every member of a batch the legal table does not allow, each with its processing number and rule', async () => {
    const clerk = demo.network.institution(INSURER);
    const addresseeNumber = demo.world.addresseeNumber('yamada-taro', INSURER);
    const errors = await Promise.all(
      Array.from({ length: 12 }, () =>
        clerk.inquire(asked(addresseeNumber)).then(
          () => undefined,
          (error: unknown) => error,
        ),
      ),
    );
    for (const error of errors) {
      expect(error).toBeInstanceOf(RenkeiError);
      expect((error as RenkeiError).code).toBe('ERR_INQUIRY_NOT_AUTHORIZED');
      expect((error as RenkeiError).details.rule).toEqual(expect.any(String));
    }
    const numbers = errors.map((e) => (e as RenkeiError).details.processingNumber as string);
    expect(new Set(numbers).size).toBe(12);
    expect(inBatches(numbers)).toBeGreaterThanOrEqual(6);
    for (const processingNumber of numbers) {
      const status = await clerk.getInquiry({ params: { processingNumber }, query: { waitMs: 0 } });
      expect(status).toMatchObject({ status: 'answered', outcome: 'refused' });
    }
  });

  it('leaves the record logs of the three parties whole, as records verify checks them', async () => {
    await demo.network.close();
    const report = await verifyNetworkRecords({
      dataDir: demo.dir,
      ...(demo.postgres ? { postgres: demo.postgres } : {}),
    });
    expect([...report.parties.flatMap((p) => p.findings), ...report.exchanges.findings]).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.exchanges.checked).toBeGreaterThanOrEqual(53);
  });
});
