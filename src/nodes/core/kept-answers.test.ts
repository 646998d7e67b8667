/**
 * Answers kept for their requester: the core keeps a provided answer's sealed items (ciphertext the
 * provider made for the requester) until the requester has them or they expire, and never keeps
 * items in clear. Stand-ins play the institutions; the "sealed items" are an opaque compact-JWE-shaped
 * string, which is all the core ever sees of them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AnswerDelivery, InquiryRequest } from '../../protocol/messages.ts';
import {
  ITEM_MARKER,
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

/** Five base64url segments, as a compact JWE; the marker is the "ciphertext". */
const SEALED = `eyJhbGciOiJFQ0RILUVTIn0..aXY.${Buffer.from('SEALED-MARKER-4b1d').toString('base64url')}.dGFn`;

let net: TwoMunicipalities<'stranger'>;
let core: TestCore;
let requester: StandIn;
let provider: StandIn;

beforeEach(async () => {
  net = await startTwoMunicipalities({
    codes: 'both',
    others: { stranger: { id: '152048', kind: 'municipality' } },
  });
  ({ core, x: requester, a: provider } = net);
  provider.onProvision = (request) => ({
    processingNumber: request.processingNumber,
    outcome: 'provided',
    items: [],
    sealedItems: SEALED,
    answeredAt: new Date().toISOString(),
  });
});

afterEach(() => net.dispose());

const inquiry = (): InquiryRequest => net.inquiry();

/**
 * An inquiry whose answer the requester could not take (it refused three pushes): the core has
 * kept it, and goes on pushing it for as long as the requester refuses.
 */
async function undelivered(): Promise<string> {
  const refusals = 1_000_000;
  requester.failNextAnswers = refusals;
  const { body } = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
  while (refusals - requester.failNextAnswers < 3) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(requester.answers).toHaveLength(0);
  return body.processingNumber;
}

const fetchAnswer = (processingNumber: string, requesterId = '131016') =>
  core.call<AnswerDelivery & { error?: { code: string } }>('POST', '/v1/answer-fetches', {
    requesterId,
    processingNumber,
  });

const acknowledge = (processingNumber: string, requesterId = '131016') =>
  core.call<{ error?: { code: string } }>('POST', '/v1/answer-acknowledgements', {
    requesterId,
    processingNumber,
  });

/** The record's `delivery` events, as its leaves say them. */
const deliveryEvents = async (processingNumber: string) =>
  (await core.core.recordLog.show(processingNumber)).events
    .map((e) => JSON.parse(e.body) as { event: string })
    .filter((e) => e.event === 'delivery');

const status = async (processingNumber: string) =>
  (await core.call<{ delivery: string }>('GET', `/v1/inquiries/${processingNumber}`)).body;

const filesHold = (marker: string): string[] =>
  readdirSync(core.dir).filter((file) =>
    readFileSync(join(core.dir, file)).toString('latin1').includes(marker),
  );

describe('a sealed answer the requester could not take', () => {
  it('is pushed again and again, waits capped, until the requester takes it', async () => {
    requester.failNextAnswers = 30;
    const started = Date.now();
    const { body } = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle();
    expect(requester.answers).toEqual([
      expect.objectContaining({ processingNumber: body.processingNumber, sealedItems: SEALED }),
    ]);
    expect(await status(body.processingNumber)).toMatchObject({ delivery: 'delivered' });
    // 30 refusals with waits of 10, 20, then doubling up to the test core's cap of 100 ms.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('is kept, still pending delivery, instead of being recorded failed', async () => {
    const processingNumber = await undelivered();
    expect(await status(processingNumber)).toMatchObject({ outcome: 'provided', delivery: 'pending' });
  });

  it('is handed to its requester on a fetch, sealed as it came, and again on every fetch until acknowledged', async () => {
    const processingNumber = await undelivered();
    const fetched = await fetchAnswer(processingNumber);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toMatchObject({
      processingNumber,
      outcome: 'provided',
      items: [],
      sealedItems: SEALED,
    });
    // The first fetch's answer may be lost in transit: nothing has changed, the next gets the same.
    expect(await status(processingNumber)).toMatchObject({ delivery: 'pending' });
    const again = await fetchAnswer(processingNumber);
    expect(again.status).toBe(200);
    expect(again.body.sealedItems).toBe(fetched.body.sealedItems);
    expect(again.body.answeredAt).toBe(fetched.body.answeredAt);
  });

  it('is recorded delivered and dropped once its requester acknowledges it, and stays so', async () => {
    const processingNumber = await undelivered();
    await fetchAnswer(processingNumber);
    expect((await acknowledge(processingNumber)).status).toBe(204);
    expect(await status(processingNumber)).toMatchObject({ delivery: 'delivered' });
    // A second acknowledgement (the first's reply lost) changes nothing.
    expect((await acknowledge(processingNumber)).status).toBe(204);
    expect((await fetchAnswer(processingNumber)).body.error?.code).toBe('ERR_ANSWER_GONE');
    // The push stops: the requester, taking answers again, is sent nothing more.
    requester.failNextAnswers = 0;
    await core.core.whenIdle();
    expect(requester.answers).toEqual([]);
    expect(await deliveryEvents(processingNumber)).toEqual([
      expect.objectContaining({ delivery: 'delivered' }),
    ]);
    await core.close();
    expect(filesHold('SEALED-MARKER')).toEqual([]);
  });

  it('is pushed again when the core restarts on the same database', async () => {
    const processingNumber = await undelivered();
    requester.failNextAnswers = 0;
    // What a restart does first: resume what was in flight (the first push may land first).
    const summary = await core.core.resumeInFlight();
    await core.core.whenIdle();
    expect(summary).toMatchObject({ redelivered: 1, undeliverable: 0 });
    expect(requester.answers).toContainEqual(
      expect.objectContaining({ processingNumber, sealedItems: SEALED }),
    );
    expect(await status(processingNumber)).toMatchObject({ delivery: 'delivered' });
  });

  it('is not handed to another institution: the same answer as an unknown processing number', async () => {
    const processingNumber = await undelivered();
    const theirs = await fetchAnswer(processingNumber, '152048');
    const unknown = await fetchAnswer('01930000-0000-7000-8000-000000000000', '152048');
    expect(theirs.status).toBe(404);
    expect(theirs.body.error?.code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    expect(Object.keys(theirs.body).sort()).toEqual(Object.keys(unknown.body).sort());
    expect(await status(processingNumber)).toMatchObject({ delivery: 'pending' });
  });

  it('cannot be acknowledged by another institution: the same answer as an unknown processing number', async () => {
    const processingNumber = await undelivered();
    const theirs = await acknowledge(processingNumber, '152048');
    const unknown = await acknowledge('01930000-0000-7000-8000-000000000000', '152048');
    expect(theirs.status).toBe(404);
    expect(theirs.body.error?.code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    expect(Object.keys(theirs.body).sort()).toEqual(Object.keys(unknown.body).sort());
    expect(await status(processingNumber)).toMatchObject({ delivery: 'pending' });
    expect((await fetchAnswer(processingNumber)).body.sealedItems).toBe(SEALED);
  });

  it('expires after the retention even if fetched: dropped, its delivery recorded failed (ERR_ANSWER_GONE)', async () => {
    const processingNumber = await undelivered();
    await fetchAnswer(processingNumber); // fetched, never acknowledged
    core.clock.advance(7 * 24 * 3600_000 - 1_000);
    expect(await core.core.services.inquiries.expireKeptAnswers()).toBe(0);
    core.clock.advance(1_000);
    expect(await core.core.services.inquiries.expireKeptAnswers()).toBe(1);
    expect(await status(processingNumber)).toMatchObject({ outcome: 'provided', delivery: 'failed' });
    expect((await fetchAnswer(processingNumber)).body.error?.code).toBe('ERR_ANSWER_GONE');
    expect(await deliveryEvents(processingNumber)).toEqual([
      expect.objectContaining({ delivery: 'failed', reason: 'ERR_ANSWER_GONE' }),
    ]);
    await core.close();
    expect(filesHold('SEALED-MARKER')).toEqual([]);
  });
});

describe('fetching an answer', () => {
  it('says not ready while the provider has not answered', async () => {
    let answer: () => void = () => undefined;
    provider.onProvision = (request) =>
      new Promise((resolve) => {
        answer = () =>
          resolve({
            processingNumber: request.processingNumber,
            outcome: 'not_held',
            items: [],
            answeredAt: new Date().toISOString(),
          });
      });
    requester.failNextAnswers = 3;
    const { body } = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await fetchAnswer(body.processingNumber)).body.error?.code).toBe('ERR_ANSWER_NOT_READY');
    answer();
    await core.core.whenIdle();
    // Nothing to lose in a not-held answer: it is there to fetch, pushed or not.
    expect((await fetchAnswer(body.processingNumber)).body).toMatchObject({ outcome: 'not_held', items: [] });
  });

  it('says not ready, not gone, while items in clear are still being pushed', async () => {
    await net.dispose();
    net = await startTwoMunicipalities({ deliveryRetryDelaysMs: [5_000], codes: 'both' });
    ({ core, x: requester, a: provider } = net);
    provider.onProvision = (request) => ({
      processingNumber: request.processingNumber,
      outcome: 'provided',
      items: [{ itemNo: 2, layoutVersion: '1', data: { marker: ITEM_MARKER } }],
      answeredAt: new Date().toISOString(),
    });
    requester.failNextAnswers = 1;
    const { body } = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
    for (let i = 0; i < 100 && requester.failNextAnswers > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The first push failed; the retry waits. A fetch must not make the requester give up on it.
    expect((await fetchAnswer(body.processingNumber)).body.error?.code).toBe('ERR_ANSWER_NOT_READY');
  });

  it('never keeps items in clear: an undelivered plain answer is failed and gone', async () => {
    provider.onProvision = (request) => ({
      processingNumber: request.processingNumber,
      outcome: 'provided',
      items: [{ itemNo: 2, layoutVersion: '1', data: { marker: ITEM_MARKER } }],
      answeredAt: new Date().toISOString(),
    });
    requester.failNextAnswers = 100;
    const { body } = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle(); // items in clear are not kept: the push gives up after its waits
    const { processingNumber } = body;
    expect(await status(processingNumber)).toMatchObject({ delivery: 'failed' });
    expect((await fetchAnswer(processingNumber)).body.error?.code).toBe('ERR_ANSWER_GONE');
    await core.close();
    expect(filesHold(ITEM_MARKER)).toEqual([]);
  });
});
