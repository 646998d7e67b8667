/**
 * `listNumbered`: a party's own processing numbers of a period, as the core's cross-check asks for
 * them (`RecordCheckRequest.numbered`), paged through its exchanges by processing number.
 */
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import { listNumbered, numberedAt, type ProviderExchange, type RequesterExchange } from './record-checks.ts';

const at = (iso: string) => uuidv7({ msecs: Date.parse(iso) });

/** Exchanges kept in processing-number order, paged as the stores page them (after, limit). */
function pagesOf(requester: RequesterExchange[], provider: ProviderExchange[]) {
  const calls: number[] = [];
  const page =
    <T extends { processingNumber: string }>(rows: T[]) =>
    (after: string | undefined, limit: number): Promise<T[]> => {
      calls.push(limit);
      const sorted = [...rows].sort((a, b) => a.processingNumber.localeCompare(b.processingNumber));
      return Promise.resolve(
        sorted.filter((r) => after === undefined || r.processingNumber > after).slice(0, limit),
      );
    };
  return { requesterExchanges: page(requester), providerExchanges: page(provider), calls };
}

const inquiry = (processingNumber: string, opened: RequesterExchange['opened']): RequesterExchange => ({
  processingNumber,
  opened,
  outcome: 'provided',
  recordedAt: new Date(numberedAt(processingNumber)).toISOString(),
});
const provision = (processingNumber: string): ProviderExchange => ({
  processingNumber,
  requesterId: '131016',
  clauseNo: '74',
  procedureId: '074-01',
  itemNos: [2],
  outcome: 'provided',
  recordedAt: new Date(numberedAt(processingNumber)).toISOString(),
  answers: 1,
});

describe('listNumbered', () => {
  it('lists the numbers given in the period, both ends included, leaving out failed inquiries', async () => {
    const before = at('2025-05-31T23:59:59.999Z');
    const first = at('2025-06-01T00:00:00.000Z');
    const failed = at('2025-06-01T08:00:00.000Z');
    const last = at('2025-06-01T23:59:59.999Z');
    const after = at('2025-06-02T00:00:00.000Z');
    const pages = pagesOf(
      [before, first, failed, last, after].map((n) =>
        inquiry(n, n === failed ? 'inquiry_failed' : 'inquiry_sent'),
      ),
      [provision(before), provision(last), provision(after)],
    );
    const listed = await listNumbered(pages, {
      from: '2025-06-01T00:00:00.000Z',
      to: '2025-06-01T23:59:59.999Z',
    });
    expect(listed).toEqual({ requester: [first, last], provider: [last], truncated: false });
  });

  it('pages through more than one page, and says when it listed only the first `limit`', async () => {
    const numbers = Array.from({ length: 7 }, (_, i) => at(`2025-06-01T0${i}:00:00.000Z`));
    const pages = pagesOf(
      numbers.map((n) => inquiry(n, 'inquiry_sent')),
      numbers.slice(0, 2).map(provision),
    );
    const period = { from: '2025-06-01T00:00:00.000Z', to: '2025-06-01T23:59:59.999Z' };
    expect(await listNumbered(pages, period, 3)).toEqual({
      requester: numbers.slice(0, 3),
      provider: numbers.slice(0, 2),
      truncated: true,
    });
    expect(await listNumbered(pages, period, 7)).toEqual({
      requester: numbers,
      provider: numbers.slice(0, 2),
      truncated: false,
    });
    // A page whose exchanges are all failed inquiries does not end the listing.
    const failedFirst = pagesOf(
      [
        ...numbers.slice(0, 4).map((n) => inquiry(n, 'inquiry_failed')),
        ...numbers.slice(4).map((n) => inquiry(n, 'inquiry_sent')),
      ],
      [],
    );
    expect((await listNumbered(failedFirst, period, 2)).requester).toEqual(numbers.slice(4, 6));
  });

  it('lists the next page of one role only, after the last number listed, never before the period', async () => {
    const numbers = Array.from({ length: 7 }, (_, i) => at(`2025-06-01T0${i}:00:00.000Z`));
    const earlier = at('2025-05-31T12:00:00.000Z');
    const pages = pagesOf(
      [earlier, ...numbers].map((n) => inquiry(n, 'inquiry_sent')),
      [earlier, ...numbers].map(provision),
    );
    const period = { from: '2025-06-01T00:00:00.000Z', to: '2025-06-01T23:59:59.999Z' };
    const first = await listNumbered(pages, period, 3);
    expect(first).toEqual({ requester: numbers.slice(0, 3), provider: numbers.slice(0, 3), truncated: true });
    const next = (role: 'requester' | 'provider', after: string) =>
      listNumbered(pages, { ...period, page: { role, after } }, 3);
    expect(await next('requester', numbers[2] ?? '')).toEqual({
      requester: numbers.slice(3, 6),
      provider: [],
      truncated: true,
    });
    expect(await next('provider', numbers[5] ?? '')).toEqual({
      requester: [],
      provider: numbers.slice(6),
      truncated: false,
    });
    // A cursor from before the period starts at the period, not at the cursor.
    expect((await next('provider', earlier)).provider).toEqual(numbers.slice(0, 3));
  });
});
