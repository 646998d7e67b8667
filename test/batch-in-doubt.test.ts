/**
 * A batch the core took while the requester never learnt it: the core's 202 to a coalesced batch is
 * lost (the connection dropped after the core had recorded it), so the requester keeps every member
 * in doubt and sends each again alone under its request id. The core's answer to the batch can then
 * reach the requester when only some members are recorded there again. Taking it then had the core
 * count the batch delivered and drop the answer it kept, and the members recorded after stayed
 * pending for ever at the requester while the core said provided and delivered: what `npm run chaos`
 * found after a requester was killed mid-send. Real nodes over mutual TLS; only the calls' order is
 * forced, by holding messages in the two nodes' transports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCore } from '../src/nodes/core/main.ts';
import { startInstitution } from '../src/nodes/institution/main.ts';
import type { InquiryBatchRequest, InquiryRequest } from '../src/protocol/messages.ts';
import type { Transport, TransportRequest } from '../src/protocol/transport.ts';
import { verifyNetworkRecords } from '../src/network/records.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import { clause74Inquiry, startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const REQUESTER = '152048'; // 三条市
const MEMBERS = 6;

let demo: DemoNetwork | undefined;

/** A promise and the function that settles it. */
function signal<T = void>(): { promise: Promise<T>; settle: (value: T) => void } {
  let settle: (value: T) => void = () => undefined;
  const promise = new Promise<T>((resolve) => (settle = resolve));
  return { promise, settle };
}

/** The batch whose 202 the requester lost: its id and its members' request ids. */
let lost: { batchId: string; requestIds: string[] } | undefined;
/** The processing numbers the core gave the lost batch's members, as each was sent again alone. */
const resent = new Map<string, string>();
/** How many of the lost batch's members have started to go again. */
let resending = 0;
/** The first member sent again is recorded at the requester: the core may now push the batch's answer. */
const firstRecorded = signal();
/** The core's first push of the lost batch's answer has been answered: the other members go again. */
const firstPushAnswered = signal();
/** What the requester answered to each push of the lost batch's answer (`ok` or an error code). */
const pushes: string[] = [];

/** The requester's transport to the core: the first batch reaches the core, its answer is lost. */
function losesTheFirstBatchAnswer(transport: Transport): Transport {
  return {
    async send(request: TransportRequest) {
      const name = request.route.name;
      if (name === 'submitInquiry' && lost === undefined) {
        // The first inquiry goes alone; held a moment, the others arrive meanwhile and go as a batch.
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      if (name === 'submitInquiryBatch' && lost === undefined) {
        const batch = request.body as InquiryBatchRequest;
        lost = { batchId: batch.batchId, requestIds: [...(batch.requestIds ?? [])] };
        await transport.send(request); // the core records the batch and goes on with it
        throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'The connection dropped before the answer.', {
          peer: 'core',
        });
      }
      if (name === 'submitInquiry' && lost !== undefined) {
        const { requestId } = request.body as InquiryRequest;
        if (requestId !== undefined && lost.requestIds.includes(requestId)) {
          // The first to go again goes at once; the others (sent side by side) wait for the push.
          if (resending++ > 0) await firstPushAnswered.promise;
          const response = await transport.send(request);
          resent.set(requestId, (response.body as { processingNumber: string }).processingNumber);
          return response;
        }
      }
      return transport.send(request);
    },
    close: () => transport.close(),
  };
}

/** The core's transport: its first push of the lost batch's answer waits for one member recorded again. */
function holdsTheFirstPush(transport: Transport): Transport {
  return {
    async send(request: TransportRequest) {
      const body = request.body as { batchId?: string } | undefined;
      if (
        request.route.name !== 'deliverAnswerBatch' ||
        lost === undefined ||
        body?.batchId !== lost.batchId
      ) {
        return transport.send(request);
      }
      if (pushes.length === 0) await firstRecorded.promise;
      try {
        const response = await transport.send(request);
        const code = (response.body as { error?: { code?: unknown } } | undefined)?.error?.code;
        pushes.push(
          response.status < 300 ? 'ok' : typeof code === 'string' ? code : `HTTP ${response.status}`,
        );
        return response;
      } catch (error) {
        pushes.push(error instanceof RenkeiError ? error.code : 'ERR_INTERNAL');
        throw error;
      } finally {
        firstPushAnswered.settle();
      }
    },
    close: () => transport.close(),
  };
}

beforeAll(async () => {
  demo = await startDemoNetwork('batch-in-doubt', {
    startCore: (options) => startCore({ ...options, wrapTransport: holdsTheFirstPush }),
    startInstitution: (options) =>
      startInstitution(
        options.institutionId === REQUESTER
          ? { ...options, wrapTransport: losesTheFirstBatchAnswer }
          : options,
      ),
  });
});

afterAll(async () => {
  await demo?.dispose();
});

describe('a coalesced batch whose 202 the requester lost', () => {
  it('is answered to every member once all are recorded again: none stays pending, records verify clean', async () => {
    if (!demo) throw new Error('no network');
    const clerk = demo.network.institution(REQUESTER);
    const addresseeNumber = demo.world.addresseeNumber('yamada-taro', REQUESTER);
    const results = await Promise.allSettled(
      Array.from({ length: MEMBERS }, () => clerk.inquire(clause74Inquiry(addresseeNumber))),
    );
    if (!lost) throw new Error('no inquiries went as a batch');
    const inBatch = lost.requestIds.length;
    expect(inBatch).toBeGreaterThanOrEqual(2);
    // Each member of the lost batch is in doubt to its clerk, with its request id to ask again.
    const doubted = results.filter((r) => r.status === 'rejected').map((r) => r.reason as RenkeiError);
    expect(doubted).toHaveLength(inBatch);
    for (const error of doubted) {
      expect(error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
      expect(lost.requestIds).toContain(error.details.requestId);
    }

    // The requester sends the members again alone (a second after the loss); the first is recorded.
    for (let i = 0; i < 200 && resent.size === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const [firstNumber] = [...resent.values()];
    if (firstNumber === undefined) throw new Error('no member was sent again');
    for (let i = 0; ; i++) {
      const recorded = await clerk
        .getInquiry({ params: { processingNumber: firstNumber }, query: { waitMs: 0 } })
        .then(
          () => true,
          () => false,
        );
      if (recorded) break;
      if (i === 200) throw new Error('the member sent again was never recorded');
      await new Promise((r) => setTimeout(r, 50));
    }
    firstRecorded.settle();

    // The core's first push found the others not yet recorded: refused, to be pushed again.
    await firstPushAnswered.promise;
    expect(pushes[0]).toBe('ERR_BATCH_NOT_READY');

    // Every member is answered at the requester, as at the core, without a clerk asking for it (a
    // clerk's read of an overdue inquiry would fetch it from the core: the records must not need one).
    for (let i = 0; i < 200 && resent.size < inBatch; i++) await new Promise((r) => setTimeout(r, 50));
    expect(resent.size).toBe(inBatch);
    const numbers = [...resent.values()];
    let outcomes: string[] = [];
    for (let i = 0; i < 300; i++) {
      const records = (await clerk.listProvisionRecords({ query: { role: 'requester', limit: 100 } }))
        .records;
      outcomes = numbers.map((pn) => records.find((r) => r.processingNumber === pn)?.outcome ?? 'none');
      if (outcomes.every((o) => o === 'provided')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(outcomes).toEqual(numbers.map(() => 'provided'));
    expect(pushes.at(-1)).toBe('ok');
    const core = (await demo.network.admin().listProvisionRecords({ query: { limit: 100 } })).records;
    for (const processingNumber of resent.values()) {
      expect(core.find((r) => r.processingNumber === processingNumber)).toMatchObject({
        outcome: 'provided',
      });
    }
    await demo.network.close();
    const report = await verifyNetworkRecords({ dataDir: demo.dir });
    expect(report.ok).toBe(true);
  });
});
