/**
 * The core took an inquiry, but its answer said its database failed: a COMMIT whose connection
 * dropped after the commit had landed answers ERR_DATABASE_UNAVAILABLE, and an error escaping a
 * handler after its commit answers ERR_INTERNAL. The requester must not take such an answer as a
 * refusal: it keeps the inquiry in doubt and sends it again under its request id, so that it records
 * the processing number the core gave and the exchange ends at all three parties. Before, it recorded
 * the inquiry failed under a number of its own, while the core went on with it under another.
 *
 * Real nodes over mutual TLS; only the core's answers to the requester's first single inquiry and
 * first batch are replaced, after the core has taken them, by what a core whose store failed answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInstitution } from '../src/nodes/institution/main.ts';
import type { InquiryBatchAccepted, InquiryAccepted, InquiryBatchRequest } from '../src/protocol/messages.ts';
import type { Transport, TransportRequest, TransportResponse } from '../src/protocol/transport.ts';
import { verifyNetworkRecords } from '../src/network/records.ts';
import { RenkeiError, type ErrorCode } from '../src/shared/errors.ts';
import { clause74Inquiry, startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const REQUESTER = '152048'; // 三条市
const MEMBERS = 5;

let demo: DemoNetwork | undefined;

/** What the core answers when its store fails under a request. */
function storeFailure(code: ErrorCode): TransportResponse {
  return {
    status: code === 'ERR_INTERNAL' ? 500 : 503,
    body: { error: { code, message: 'The database failed under the request.', details: {} } },
  };
}

/** Which answers to replace: set by each test before its clerk inquires. */
let replace: { single?: ErrorCode; batch?: ErrorCode; holdFirstSingleMs?: number } = {};
/** The processing numbers the core gave the inquiries whose answers were replaced. */
const hidden: string[] = [];
/** The request ids of the batch whose answer was replaced. */
let hiddenBatch: string[] = [];

/** The requester's transport to the core: each answer named in `replace` reaches the core, then is lost. */
function losesAnswers(transport: Transport): Transport {
  return {
    async send(request: TransportRequest) {
      const name = request.route.name;
      if (name === 'submitInquiry' && replace.holdFirstSingleMs !== undefined) {
        // Held a moment, the inquiries sent meanwhile go as one batch.
        const ms = replace.holdFirstSingleMs;
        delete replace.holdFirstSingleMs;
        await new Promise((resolve) => setTimeout(resolve, ms));
      }
      const response = await transport.send(request);
      if (name === 'submitInquiry' && replace.single !== undefined && response.status === 202) {
        hidden.push((response.body as InquiryAccepted).processingNumber);
        const code = replace.single;
        delete replace.single;
        return storeFailure(code);
      }
      if (name === 'submitInquiryBatch' && replace.batch !== undefined && response.status === 202) {
        hiddenBatch = [...((request.body as InquiryBatchRequest).requestIds ?? [])];
        hidden.push(...(response.body as InquiryBatchAccepted).members.map((m) => m.processingNumber));
        const code = replace.batch;
        delete replace.batch;
        return storeFailure(code);
      }
      return response;
    },
    close: () => transport.close(),
  };
}

beforeAll(async () => {
  demo = await startDemoNetwork('core-store-in-doubt', {
    startInstitution: (options) =>
      startInstitution(
        options.institutionId === REQUESTER ? { ...options, wrapTransport: losesAnswers } : options,
      ),
  });
});

afterAll(async () => {
  await demo?.dispose();
});

/** The requester's records of these processing numbers, once every one is provided (or the last read). */
async function requesterOutcomes(numbers: string[]): Promise<string[]> {
  if (!demo) throw new Error('no network');
  const clerk = demo.network.institution(REQUESTER);
  let outcomes: string[] = [];
  for (let i = 0; i < 400; i++) {
    const { records } = await clerk.listProvisionRecords({ query: { role: 'requester', limit: 100 } });
    outcomes = numbers.map((pn) => records.find((r) => r.processingNumber === pn)?.outcome ?? 'none');
    if (outcomes.every((o) => o === 'provided')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return outcomes;
}

describe("the core's answer that its store failed, after it took the inquiry", () => {
  // A core whose storage is full kept nothing in truth; answered after the inquiry was taken here, it
  // shows that the requester keeps the inquiry and sends it again rather than failing it.
  it.each(['ERR_DATABASE_UNAVAILABLE', 'ERR_STORAGE_FULL'] as const)(
    'keeps a single inquiry in doubt on %s, sends it again, and records the number the core gave',
    async (code) => {
      if (!demo) throw new Error('no network');
      hidden.length = 0;
      const clerk = demo.network.institution(REQUESTER);
      const addresseeNumber = demo.world.addresseeNumber('yamada-taro', REQUESTER);
      replace = { single: code };
      const error = await clerk.inquire(clause74Inquiry(addresseeNumber)).then(
        () => undefined,
        (e: unknown) => e,
      );
      // The clerk is told the inquiry is kept, not that it failed, nor that the institution's own
      // database is unavailable.
      expect(error).toBeInstanceOf(RenkeiError);
      expect((error as RenkeiError).code).toBe('ERR_UPSTREAM_UNAVAILABLE');
      expect((error as RenkeiError).details).toMatchObject({ queued: true });
      const requestId = (error as RenkeiError).details.requestId;
      expect(typeof requestId).toBe('string');
      expect(hidden).toHaveLength(1);

      expect(await requesterOutcomes(hidden)).toEqual(['provided']);
      // Asked again under its request id, the clerk learns the same number.
      const again = await clerk.inquire(clause74Inquiry(addresseeNumber, { requestId: requestId as string }));
      expect(again.processingNumber).toBe(hidden[0]);
      // Nothing was recorded failed for it under a number of the requester's own.
      const { records } = await clerk.listProvisionRecords({ query: { role: 'requester', limit: 100 } });
      expect(records.filter((r) => r.outcome === 'failed')).toEqual([]);
    },
  );

  it('keeps every member of a batch in doubt, sends each again alone, and records the numbers the core gave', async () => {
    if (!demo) throw new Error('no network');
    const clerk = demo.network.institution(REQUESTER);
    const addresseeNumber = demo.world.addresseeNumber('yamada-taro', REQUESTER);
    hidden.length = 0;
    replace = { batch: 'ERR_INTERNAL', holdFirstSingleMs: 300 };
    const results = await Promise.allSettled(
      Array.from({ length: MEMBERS }, () => clerk.inquire(clause74Inquiry(addresseeNumber))),
    );
    expect(hiddenBatch.length).toBeGreaterThanOrEqual(2);
    const doubted = results.filter((r) => r.status === 'rejected').map((r) => r.reason as RenkeiError);
    expect(doubted.map((e) => e.code)).toEqual(hiddenBatch.map(() => 'ERR_UPSTREAM_UNAVAILABLE'));
    expect(doubted.map((e) => e.details.requestId).sort()).toEqual([...hiddenBatch].sort());

    expect(await requesterOutcomes(hidden)).toEqual(hidden.map(() => 'provided'));
    const { records } = await clerk.listProvisionRecords({ query: { role: 'requester', limit: 100 } });
    expect(records.filter((r) => r.outcome === 'failed')).toEqual([]);
    const core = (await demo.network.admin().listProvisionRecords({ query: { limit: 100 } })).records;
    for (const processingNumber of hidden) {
      expect(core.find((r) => r.processingNumber === processingNumber)).toMatchObject({
        outcome: 'provided',
      });
    }
    await demo.network.close();
    const report = await verifyNetworkRecords({ dataDir: demo.dir });
    expect(report.ok).toBe(true);
  });
});
