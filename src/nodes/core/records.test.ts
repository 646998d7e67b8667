import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InquiryRequest } from '../../protocol/messages.ts';
import type { Statistics } from '../../protocol/admin.ts';
import type { ProvisionRecord } from './model.ts';
import {
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

let net: TwoMunicipalities;
let core: TestCore;
let a: StandIn;

beforeEach(async () => {
  net = await startTwoMunicipalities();
  ({ core, a } = net);
});

afterEach(() => net.dispose());

async function inquireAt(at: string, overrides: Partial<InquiryRequest> = {}): Promise<string> {
  core.clock.set(at);
  return net.inquireSettled(overrides);
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
    const stats = await core.call<Statistics>('GET', '/admin/v1/statistics?by=item');
    expect(stats.body.total).toBe(2);
    expect(stats.body.breakdowns[0]?.rows.map((r) => [r.key, r.total])).toEqual([['2', 2]]);

    // The service method takes the instant to purge at.
    expect(await core.core.services.records.purgeExpiredRecords(new Date('2030-01-01T00:00:00.000Z'))).toBe(
      1,
    );
    expect((await records()).map((r) => r.processingNumber)).toEqual([recent]);
  });

  it('applies a shorter retention policy given to the core', async () => {
    const short = await startTwoMunicipalities({ retentionYears: 1 });
    try {
      short.core.clock.set('2024-01-01T00:00:00.000Z');
      await short.core.call('POST', '/v1/inquiries', short.inquiry({ clauseNo: '999' }));
      short.core.clock.set('2025-06-01T00:00:00.000Z');
      expect(await short.core.core.services.records.purgeExpiredRecords(short.core.clock.now())).toBe(1);
    } finally {
      await short.dispose();
    }
  });
});

describe('statistics', () => {
  type Rows = Statistics['breakdowns'][number]['rows'];
  async function statistics(query = ''): Promise<Statistics> {
    const { status, body } = await core.call<Statistics>('GET', `/admin/v1/statistics${query}`);
    expect(status).toBe(200);
    return body;
  }
  const rowsOf = (stats: Statistics, by: string): Rows =>
    stats.breakdowns.find((b) => b.by === by)?.rows ?? [];
  const counts = (row: Rows[number] | undefined) =>
    row && [row.provisions, row.notHeld, row.refused, row.failed, row.pending, row.total];

  it('counts provisions apart from not-held answers, refusals and failures, by outcome and by item', async () => {
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
    a.onProvision = () => {
      throw new Error('the provider fails');
    };
    await inquireAt('2025-05-05T00:00:00.000Z');

    const stats = await statistics('?by=item');
    expect(stats.total).toBe(5);
    expect(stats.provisions).toBe(2);
    expect(stats.byOutcome).toEqual({ pending: 0, provided: 2, not_held: 1, refused: 1, failed: 1 });
    // provisions, not held, refused, failed, pending, total: item 31 was only ever asked, and refused.
    const items = rowsOf(stats, 'item');
    expect(items.map((r) => [r.key, r.name, ...(counts(r) ?? [])])).toEqual([
      ['2', 'item 2', 2, 1, 1, 1, 0, 5],
      ['31', 'item 31', 0, 0, 1, 0, 0, 1],
    ]);
    expect(stats.breakdowns.map((b) => b.by)).toEqual(['item']);
  });

  it('orders clauses by number, names procedures from the legal table and institutions by kind', async () => {
    await core.register('000005', 'pension_service', a.url);
    for (const clauseNo of ['108', '48', '9']) await inquireAt('2025-05-01T00:00:00.000Z', { clauseNo });
    await inquireAt('2025-05-01T00:00:00.000Z');
    await inquireAt('2025-05-01T00:00:00.000Z', { providerId: '000005' });

    const stats = await statistics('?by=clause,procedure&by=provider-kind');
    expect(rowsOf(stats, 'clause').map((r) => r.key)).toEqual(['9', '48', '74', '108']);
    expect(rowsOf(stats, 'procedure').map((r) => [r.key, r.name, r.provisions, r.total])).toEqual([
      ['074-01', '児童手当の認定請求', 1, 5],
    ]);
    expect(rowsOf(stats, 'provider-kind').map((r) => [r.key, r.name, r.provisions, r.refused])).toEqual([
      ['municipality', '市区町村', 1, 3],
      ['pension_service', '日本年金機構', 0, 1],
    ]);
  });

  it('counts weeks Monday to Sunday in JST, across a month end and a JST midnight, gaps included', async () => {
    await inquireAt('2025-05-25T14:59:00.000Z'); // Sun 25 May 23:59 JST: week of 19 May
    await inquireAt('2025-05-25T15:00:00.000Z'); // Mon 26 May 00:00 JST (still Sunday in UTC)
    await inquireAt('2025-06-01T14:59:59.999Z'); // Sun 1 June 23:59 JST: week of 26 May, across the month end
    await inquireAt('2025-06-01T15:00:00.000Z'); // Mon 2 June 00:00 JST
    await inquireAt('2025-06-01T15:00:00.000Z', { clauseNo: '999' }); // refused: not a provision

    const stats = await statistics('?by=week&from=2025-05-19&to=2025-06-15');
    expect(rowsOf(stats, 'week').map((r) => [r.key, r.name, r.provisions, r.total])).toEqual([
      ['2025-05-19', '2025-05-19〜2025-05-25', 1, 1],
      ['2025-05-26', '2025-05-26〜2025-06-01', 2, 2],
      ['2025-06-02', '2025-06-02〜2025-06-08', 1, 2],
      ['2025-06-09', '2025-06-09〜2025-06-15', 0, 0],
    ]);
    // A period is JST days, both ends inclusive: 2 June (JST) is 1 June 15:00 UTC onwards.
    const june2 = await statistics('?from=2025-06-02&to=2025-06-02&by=week');
    expect([june2.total, june2.provisions]).toEqual([2, 1]);
    expect(june2.period).toEqual({ from: '2025-06-02', to: '2025-06-02', timeZone: 'Asia/Tokyo' });
    const may = await statistics('?from=2025-05-01&to=2025-05-31&by=week');
    expect(may.total).toBe(2);
  });

  it('refuses an unknown breakdown, an unknown parameter and a day that does not exist, naming them', async () => {
    for (const [query, named] of [
      ['?by=week,outcome', '"outcome"'],
      ['?groupBy=clause', '"groupBy"'],
      ['?from=2025-02-30', '2025-02-30'],
      ['?from=2025-05-02&to=2025-05-01', 'from must be on or before to'],
    ] as const) {
      const { status, body } = await core.call<{ error: { code: string; message: string } }>(
        'GET',
        `/admin/v1/statistics${query}`,
      );
      expect(status, query).toBe(400);
      expect(body.error.code).toBe('ERR_VALIDATION');
      expect(body.error.message).toContain(named);
    }
  });

  it('answers CSV with a byte-order mark for Excel, on format=csv or Accept: text/csv', async () => {
    await inquireAt('2025-05-01T00:00:00.000Z');
    await inquireAt('2025-05-01T00:00:00.000Z', { clauseNo: '999' });
    for (const [query, headers] of [
      ['?by=procedure&format=csv', {}],
      ['?by=procedure', { accept: 'text/csv' }],
    ] as const) {
      const response = await fetch(new URL(`/admin/v1/statistics${query}`, core.url), { headers });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
      const bytes = new Uint8Array(await response.arrayBuffer());
      expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      expect(new TextDecoder().decode(bytes.subarray(3)).split('\r\n')).toEqual([
        'breakdown,key,name,provisions,not_held,refused,failed,pending,total,from,to',
        'total,,,1,0,1,0,0,2,,',
        'procedure,074-01,児童手当の認定請求,1,0,1,0,0,2,,',
        '',
      ]);
    }
  });
});
