import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InquiryRequest } from '../../protocol/messages.ts';
import type { ProvisionRecord, Statistics } from './model.ts';
import { startStandIn, startTestCore, type StandIn, type TestCore } from './test-support.ts';

let core: TestCore;
let x: StandIn;
let a: StandIn;
let code: string;

beforeEach(async () => {
  core = await startTestCore();
  x = await startStandIn();
  a = await startStandIn();
  await core.register('131016', 'municipality', x.url);
  await core.register('132012', 'municipality', a.url);
  code = await core.issue({ id: '131016', standIn: x }, '12345678901');
});

afterEach(async () => {
  await core.dispose();
  await Promise.all([x.close(), a.close()]);
});

function inquiry(overrides: Partial<InquiryRequest> = {}): InquiryRequest {
  return {
    requesterId: '131016',
    providerId: '132012',
    personCode: code,
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
    nonDisclosure: false,
    ...overrides,
  };
}

async function inquireAt(at: string, overrides: Partial<InquiryRequest> = {}): Promise<string> {
  core.clock.set(at);
  const { body } = await core.call<{
    processingNumber?: string;
    error?: { details: { processingNumber: string } };
  }>('POST', '/v1/inquiries', inquiry(overrides));
  await core.core.whenIdle();
  const pn = body.processingNumber ?? body.error?.details.processingNumber;
  if (!pn) throw new Error('no processing number');
  return pn;
}

async function records(query = ''): Promise<ProvisionRecord[]> {
  const { status, body } = await core.call<{ records: ProvisionRecord[] }>(
    'GET',
    `/admin/v1/provision-records${query}`,
  );
  expect(status).toBe(200);
  return body.records;
}

describe('provision records', () => {
  it('lists records newest first, filtered by time, party and outcome', async () => {
    const first = await inquireAt('2025-01-10T00:00:00.000Z');
    const refused = await inquireAt('2025-02-10T00:00:00.000Z', { clauseNo: '999' });
    const third = await inquireAt('2025-03-10T00:00:00.000Z', { nonDisclosure: true });

    expect((await records()).map((r) => r.processingNumber)).toEqual([third, refused, first]);
    expect(
      (await records('?from=2025-02-01&to=2025-03-10T00:00:00Z')).map((r) => r.processingNumber),
    ).toEqual([refused]);
    expect((await records('?outcome=refused')).map((r) => r.processingNumber)).toEqual([refused]);
    expect(await records('?providerId=131016')).toEqual([]);
    expect(await records('?requesterId=131016&limit=2')).toHaveLength(2);
    expect(
      (await records('?outcome=provided')).find((r) => r.processingNumber === third)?.nonDisclosure,
    ).toBe(true);

    const bad = await core.call<{ error: { code: string } }>('GET', '/admin/v1/provision-records?limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('ERR_VALIDATION');
  });

  it('purges provision records older than the retention policy', async () => {
    const old = await inquireAt('2018-01-01T00:00:00.000Z');
    const oldRefused = await inquireAt('2018-05-31T23:59:59.999Z', { clauseNo: '999' });
    const young = await inquireAt('2018-06-01T00:00:00.000Z');
    const recent = await inquireAt('2024-01-01T00:00:00.000Z');

    // Seven years before 2025-06-01 is 2018-06-01: older records go, that day's and younger stay.
    core.clock.set('2025-06-01T00:00:00.000Z');
    expect(core.core.services.records.retentionYears).toBe(7);
    const { status, body } = await core.call<{ purged: number }>('POST', '/admin/v1/provision-records/purge');
    expect(status).toBe(200);
    expect(body.purged).toBe(2);
    const left = (await records()).map((r) => r.processingNumber);
    expect(left).toEqual([recent, young]);
    expect(left).not.toContain(old);
    expect(left).not.toContain(oldRefused);
    // Their inquiry state and items went with them.
    const gone = await core.call<{ error: { code: string } }>('GET', `/v1/inquiries/${old}`);
    expect(gone.body.error.code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    const stats = await core.call<Statistics>('GET', '/admin/v1/statistics');
    expect(stats.body.total).toBe(2);
    expect(stats.body.byItem).toEqual([{ itemNo: 2, count: 2 }]);

    // The service method takes the instant to purge at.
    expect(await core.core.services.records.purgeExpiredRecords(new Date('2030-01-01T00:00:00.000Z'))).toBe(
      1,
    );
    expect((await records()).map((r) => r.processingNumber)).toEqual([recent]);
  });

  it('applies a shorter retention policy given to the core', async () => {
    const shortCore = await startTestCore({ retentionYears: 1 });
    try {
      const x2 = await startStandIn();
      await shortCore.register('131016', 'municipality', x2.url);
      const personCode = await shortCore.issue({ id: '131016', standIn: x2 }, '12345678901');
      shortCore.clock.set('2024-01-01T00:00:00.000Z');
      await shortCore.call('POST', '/v1/inquiries', inquiry({ personCode, clauseNo: '999' }));
      shortCore.clock.set('2025-06-01T00:00:00.000Z');
      expect(await shortCore.core.services.records.purgeExpiredRecords(shortCore.clock.now())).toBe(1);
      await x2.close();
    } finally {
      await shortCore.dispose();
    }
  });
});

describe('statistics', () => {
  it('counts exchanges by outcome, clause and item', async () => {
    await inquireAt('2025-05-01T00:00:00.000Z');
    await inquireAt('2025-05-02T00:00:00.000Z');
    await inquireAt('2025-05-03T00:00:00.000Z', { clauseNo: '999', itemNos: [2, 31] });
    a.onProvision = (request) => ({
      processingNumber: request.processingNumber,
      outcome: 'not_held',
      items: [],
      answeredAt: new Date().toISOString(),
    });
    await inquireAt('2025-05-04T00:00:00.000Z');

    const { status, body } = await core.call<Statistics>('GET', '/admin/v1/statistics');
    expect(status).toBe(200);
    expect(body).toEqual({
      total: 4,
      byOutcome: { pending: 0, provided: 2, not_held: 1, refused: 1, failed: 0 },
      byClause: [
        { clauseNo: '74', count: 3 },
        { clauseNo: '999', count: 1 },
      ],
      byItem: [
        { itemNo: 2, count: 4 },
        { itemNo: 31, count: 1 },
      ],
    });
    const may3 = await core.call<Statistics>('GET', '/admin/v1/statistics?from=2025-05-03&to=2025-05-04');
    expect(may3.body.total).toBe(1);
    expect(may3.body.byOutcome.refused).toBe(1);
  });
});
