/**
 * Single inquiries sent together: a requester's intermediate server sends the clerks' inquiries that
 * arrive while a send to the core is in flight as one signed batch (Nagle's rule, no fixed delay),
 * and a clerk may wait for the answer in the request that makes the inquiry. Every person is still an
 * exchange of its own, with its processing number and its records at the three parties.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyNetworkRecords } from '../src/network/records.ts';
import type { InquiryReply } from '../src/protocol/business.ts';
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
