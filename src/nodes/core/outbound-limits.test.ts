import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InquiryRequest } from '../../protocol/messages.ts';
import type { ProvisionRecord } from './model.ts';
import { startStandIn, startTestCore, type StandIn, type TestCore } from './test-support.ts';

const DEADLINE_MS = 3_000;

let core: TestCore;
let slowRequester: StandIn; // 131016, asking a provider that never answers
let slow: StandIn; // 132012
let otherRequester: StandIn; // 152048
let other: StandIn; // 131041
const codes = new Map<string, string>();

beforeEach(async () => {
  // A small shared pool (16) and 4 calls per institution: without the per-institution bound, the
  // slow provider's calls would fill the pool and the other pair would wait out the deadline.
  core = await startTestCore({
    providerTimeoutMs: DEADLINE_MS,
    maxCallsPerInstitution: 4,
    maxOutboundCalls: 16,
    deliveryRetryDelaysMs: [10],
  });
  [slowRequester, slow, otherRequester, other] = await Promise.all([
    startStandIn(),
    startStandIn(),
    startStandIn(),
    startStandIn(),
  ]);
  // Never answers: the core's deadline must end each call.
  slow.onProvision = () => new Promise(() => undefined);
  for (const [id, standIn] of [
    ['131016', slowRequester],
    ['132012', slow],
    ['152048', otherRequester],
    ['131041', other],
  ] as const) {
    await core.register(id, 'municipality', standIn.url);
    codes.set(id, await core.issue({ id, standIn }, '12345678901'));
  }
});

afterEach(async () => {
  await core.dispose();
  for (const standIn of [slowRequester, slow, otherRequester, other]) await standIn.close();
});

function inquiry(requesterId: string, providerId: string): InquiryRequest {
  return {
    requesterId,
    providerId,
    personCode: codes.get(requesterId) ?? '',
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
    nonDisclosure: false,
  };
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('a provider that never answers', () => {
  it('holds up no other pair: 300 inquiries queued for it, the other pair’s exchanges end at once', async () => {
    const slowNumbers: string[] = [];
    for (let i = 0; i < 300; i++) {
      const { status, body } = await core.call<{ processingNumber: string }>(
        'POST',
        '/v1/inquiries',
        inquiry('131016', '132012'),
      );
      expect(status).toBe(202);
      slowNumbers.push(body.processingNumber);
    }
    await until(() => slow.provisionRequests.length >= 4, 2_000);

    const took: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = Date.now();
      const { body } = await core.call<{ processingNumber: string }>(
        'POST',
        '/v1/inquiries',
        inquiry('152048', '131041'),
      );
      await until(
        () => otherRequester.answers.some((a) => a.processingNumber === body.processingNumber),
        5_000,
      );
      took.push(Date.now() - started);
    }
    expect(otherRequester.answers).toHaveLength(10);
    // Each of the other pair's exchanges, end to end, in well under the slow provider's deadline.
    expect(Math.max(...took)).toBeLessThan(DEADLINE_MS / 6);

    // And every inquiry to the slow provider ends, failed, at the deadline (queued ones without a call).
    await core.core.whenIdle();
    const { body } = await core.call<{ records: ProvisionRecord[] }>(
      'GET',
      '/admin/v1/provision-records?providerId=132012&limit=500',
    );
    expect(body.records).toHaveLength(300);
    expect(body.records.every((r) => r.outcome === 'failed' && r.reason === 'provider_unavailable')).toBe(
      true,
    );
    expect(slowRequester.answers).toHaveLength(300);
    // The provider is told of each failure of a request that may have reached it (every one it got).
    await core.core.services.inquiries.whenProvidersTold();
    const told = new Set(slow.failureNotices.map((n) => n.processingNumber));
    expect(slow.provisionRequests.every((r) => told.has(r.processingNumber))).toBe(true);
    expect(slow.provisionRequests.every((r) => r.answerBy !== undefined)).toBe(true);
  });
});
