import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InquiryRequest } from '../../protocol/messages.ts';
import type { ProvisionRecord } from './model.ts';
import { metricsOf } from '../../shared/metrics.ts';
import { sampleOf } from '../../../test/support/metrics.ts';
import {
  providerError,
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

const DEADLINE_MS = 3_000;

let net: TwoMunicipalities<'otherRequester' | 'other'>;
let core: TestCore;
let slowRequester: StandIn; // 131016, asking a provider that never answers
let slow: StandIn; // 132012
let otherRequester: StandIn; // 152048 (asking 131041)
const codes = new Map<string, string>();

/** Start the core and the four institutions; the slow provider's network side at `slowUrl` if given. */
async function setup(slowUrl?: string) {
  // A small shared pool (16) and 4 calls per institution: without the per-institution bound, the
  // slow provider's calls would fill the pool and the other pair would wait out the deadline.
  net = await startTwoMunicipalities({
    providerTimeoutMs: DEADLINE_MS,
    maxCallsPerInstitution: 4,
    maxOutboundCalls: 16,
    deliveryRetryDelaysMs: [10],
    codes: 'both',
    others: {
      otherRequester: { id: '152048', kind: 'municipality' },
      other: { id: '131041', kind: 'municipality' },
    },
  });
  ({ core, x: slowRequester, a: slow } = net);
  ({ otherRequester } = net.others);
  // Never answers: the core's deadline must end each call.
  slow.onProvision = () => new Promise(() => undefined);
  codes.set('131016', net.code);
  codes.set('132012', net.providerCode);
  for (const [id, standIn] of [
    ['152048', otherRequester],
    ['131041', net.others.other],
  ] as const) {
    codes.set(id, await core.issue({ id, standIn }, '12345678901'));
  }
  if (slowUrl !== undefined) await core.register('132012', 'municipality', slowUrl);
}

afterEach(() => net.dispose());

function inquiry(requesterId: string, providerId: string): InquiryRequest {
  return net.inquiry({ requesterId, providerId, personCode: codes.get(requesterId) ?? '' });
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('a provider that never answers', () => {
  beforeEach(() => setup());

  it('holds up no other pair: 300 inquiries queued for it, the other pair’s exchanges end at once', async () => {
    // Submitted 30 at a time, as busy requesters send them: one after another, each waits for its
    // own commit, and on a loaded machine's PostgreSQL 300 of those took 15-20 s of the test's 30 s
    // (3 s of CPU); side by side the core's group commit writes many in one.
    const slowNumbers: string[] = [];
    for (let i = 0; i < 300; i += 30) {
      const sent = await Promise.all(
        Array.from({ length: 30 }, () =>
          core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry('131016', '132012')),
        ),
      );
      for (const { status, body } of sent) {
        expect(status).toBe(202);
        slowNumbers.push(body.processingNumber);
      }
    }
    await until(() => slow.provisionRequests.length >= 4, 2_000);
    // What the operator's monitoring reads meanwhile (GET /metrics): the slow provider's four slots
    // taken and its other calls waiting, nothing of the other pair's.
    const metrics = (await metricsOf(core.core.app.server)?.text()) ?? '';
    const calls = (peer: string, state: string) =>
      sampleOf(metrics, `renkei_core_outbound_calls{peer="${peer}",state="${state}"}`);
    expect(calls('132012', 'active')).toBe(4);
    expect(calls('132012', 'waiting')).toBeGreaterThan(0);
    expect(calls('(all)', 'active')).toBe(4);
    expect(metrics).not.toContain('peer="131041"');

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

/**
 * A provider's network side as a raw HTTP server: it answers provision requests as `answer` says,
 * and acknowledges failure notices, keeping their processing numbers.
 */
async function rawProvider(answer: (response: ServerResponse) => void) {
  const notices: string[] = [];
  const server: Server = createServer((request, response) => {
    if (request.url === '/network/v1/provision-failures') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        notices.push((JSON.parse(body) as { processingNumber: string }).processingNumber);
        response.writeHead(204).end();
      });
      return;
    }
    request.resume();
    answer(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    notices,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function oneInquiryEnds(): Promise<{ processingNumber: string; record: ProvisionRecord | undefined }> {
  const { body } = await core.call<{ processingNumber: string }>(
    'POST',
    '/v1/inquiries',
    inquiry('131016', '132012'),
  );
  await core.core.whenIdle();
  const { body: records } = await core.call<{ records: ProvisionRecord[] }>(
    'GET',
    '/admin/v1/provision-records?providerId=132012',
  );
  return {
    processingNumber: body.processingNumber,
    record: records.records.find((r) => r.processingNumber === body.processingNumber),
  };
}

describe('a provider that trickles its answer', () => {
  it('is cut at the deadline, not held by every byte: failed at all three parties', async () => {
    let dribbled = 0;
    const trickler = await rawProvider((response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{');
      const timer = setInterval(() => {
        dribbled++;
        response.write(' ');
      }, 250);
      response.on('close', () => clearInterval(timer));
    });
    try {
      await setup(trickler.url);
      const started = Date.now();
      const { processingNumber, record } = await oneInquiryEnds();
      const took = Date.now() - started;
      expect(dribbled).toBeGreaterThan(4); // it kept sending, well inside any per-gap timeout
      expect(took).toBeLessThan(DEADLINE_MS + 1_500);
      expect(record).toMatchObject({ outcome: 'failed', reason: 'provider_unavailable' });
      expect(slowRequester.answers).toEqual([
        expect.objectContaining({ processingNumber, outcome: 'failed', reason: 'provider_unavailable' }),
      ]);
      await core.core.services.inquiries.whenProvidersTold();
      expect(trickler.notices).toEqual([processingNumber]);
    } finally {
      await trickler.close();
    }
  });
});

describe('a provider that answers more than any answer can be', () => {
  it('is cut at the size limit, without the core holding the answer', async () => {
    const HUGE = 200 * 1024 * 1024;
    const flood = await rawProvider((response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      let closed = false;
      response.on('close', () => (closed = true));
      const pump = () => {
        while (!closed && sent < HUGE) {
          sent += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (!closed) response.end('{}');
      };
      pump();
    });
    try {
      await setup(flood.url);
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const { processingNumber, record } = await oneInquiryEnds();
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      expect(record).toMatchObject({ outcome: 'failed', reason: 'ERR_ANSWER_TOO_LARGE' });
      expect(slowRequester.answers).toEqual([
        expect.objectContaining({ processingNumber, outcome: 'failed', reason: 'ERR_ANSWER_TOO_LARGE' }),
      ]);
      // 200 MB were on offer; the core read at most its 12 MiB bound of them.
      expect(peak - before).toBeLessThan(80 * 1024 * 1024);
      await core.core.services.inquiries.whenProvidersTold();
      expect(flood.notices).toEqual([processingNumber]);
    } finally {
      await flood.close();
    }
  });
});

describe('telling a provider that an inquiry failed', () => {
  beforeEach(() => setup());

  it('goes on until the provider acknowledges, and is kept across a restart', async () => {
    // The provider failed on its side (nothing it would not know), but it also stands for one whose
    // answer the core could not take: the notice is sent whenever a forwarded inquiry ends failed.
    slow.onProvision = providerError('ERR_INTERNAL');
    const refusals = 1_000_000;
    slow.failNextNotices = refusals;
    const { body } = await core.call<{ processingNumber: string }>(
      'POST',
      '/v1/inquiries',
      inquiry('131016', '132012'),
    );
    await core.core.whenIdle();
    await until(() => refusals - slow.failNextNotices >= 3, 5_000);
    expect(slow.failureNotices).toEqual([]);
    // What a restart does: resume from the store, which still holds the notice.
    slow.failNextNotices = 0;
    await core.core.resumeInFlight();
    await core.core.services.inquiries.whenProvidersTold();
    expect(slow.failureNotices.map((n) => n.processingNumber)).toContain(body.processingNumber);
    expect(slow.failureNotices[0]).toMatchObject({ reason: 'ERR_INTERNAL' });
    // Acknowledged: no longer kept, so a later restart sends nothing.
    const told = slow.failureNotices.length;
    await core.core.resumeInFlight();
    await core.core.services.inquiries.whenProvidersTold();
    expect(slow.failureNotices).toHaveLength(told);
  });
});
