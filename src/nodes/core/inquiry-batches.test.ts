/**
 * Batches of inquiries at the core (bulk inquiries): each member an inquiry of its own, numbered and
 * recorded, refused alone when its code is not the requester's; one request to the provider and one
 * push to the requester per batch; a resend answered as the first time; a batch whose provider never
 * answered settled by a restart's resume. Stand-ins play the institutions over real HTTP.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InquiryBatchAccepted, InquiryBatchRequest } from '../../protocol/messages.ts';
import {
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

let net: TwoMunicipalities;
let core: TestCore;
let requester: StandIn;
let provider: StandIn;
let codes: string[];

beforeEach(async () => {
  net = await startTwoMunicipalities({ providerTimeoutMs: 5_000, codes: 'both' });
  ({ core, x: requester, a: provider } = net);
  codes = [net.code]; // resident 12345678901's
  for (const rrc of ['23456789012', '34567890123']) {
    codes.push(await core.issue({ id: '131016', standIn: requester }, rrc));
    await core.issue({ id: '132012', standIn: provider }, rrc);
  }
});

afterEach(() => net.dispose());

const batch = (personCodes: string[]): InquiryBatchRequest => ({
  batchId: '01930000-0000-7000-8000-00000000b001',
  requesterId: '131016',
  providerId: '132012',
  clauseNo: '74',
  procedureId: '074-01',
  itemNos: [2],
  nonDisclosure: false,
  personCodes,
});

/** A well-formed code the core never issued to the requester (its first one, one character changed). */
const forged = () => `${codes[0]!.slice(0, 10)}${codes[0]![10] === 'A' ? 'B' : 'A'}${codes[0]!.slice(11)}`;

const submit = (request: InquiryBatchRequest) =>
  core.call<InquiryBatchAccepted>('POST', '/v1/inquiry-batches', request);

const status = async (processingNumber: string) =>
  (
    await core.call<{ outcome: string; reason: string | null; delivery: string }>(
      'GET',
      `/v1/inquiries/${processingNumber}`,
    )
  ).body;

describe('a batch of inquiries', () => {
  it('keeps a batch answer its requester fetched, the same on every fetch, until the requester acknowledges it', async () => {
    requester.failNextAnswerBatches = 1_000_000;
    const { body } = await submit(batch([codes[0]!, codes[1]!]));
    const { batchId } = body;
    const fetch = (requesterId = '131016') =>
      core.call<{ members?: unknown[]; error?: { code: string } }>('POST', '/v1/answer-batch-fetches', {
        requesterId,
        batchId,
      });
    const acknowledge = (requesterId = '131016') =>
      core.call<{ error?: { code: string } }>('POST', '/v1/answer-batch-acknowledgements', {
        requesterId,
        batchId,
      });
    await vi.waitFor(async () => expect((await fetch()).status).toBe(200));
    const first = await fetch();
    const second = await fetch();
    expect(second.body).toEqual(first.body);
    const members = body.members.map((m) => m.processingNumber);
    for (const pn of members) expect(await status(pn)).toMatchObject({ delivery: 'pending' });

    // Not another institution's to fetch or acknowledge: to it the batch does not exist.
    expect((await fetch('132012')).body.error?.code).toBe('ERR_UNKNOWN_BATCH');
    expect((await acknowledge('132012')).body.error?.code).toBe('ERR_UNKNOWN_BATCH');
    for (const pn of members) expect(await status(pn)).toMatchObject({ delivery: 'pending' });

    expect((await acknowledge()).status).toBe(204);
    for (const pn of members) expect(await status(pn)).toMatchObject({ delivery: 'delivered' });
    expect((await acknowledge()).status).toBe(204);
    expect((await fetch()).body.error?.code).toBe('ERR_ANSWER_GONE');
    // The push stops once acknowledged.
    requester.failNextAnswerBatches = 0;
    await core.core.whenIdle();
    expect(requester.answerBatches).toEqual([]);
  });

  it('numbers and records every member, refuses alone the one whose code is not the requester’s, and forwards and delivers the rest in one call each', async () => {
    const { status: code, body } = await submit(batch([codes[0]!, forged(), codes[1]!, codes[2]!]));
    expect(code).toBe(202);
    expect(body.members.map((m) => m.outcome)).toEqual(['accepted', 'refused', 'accepted', 'accepted']);
    expect(body.members[1]?.reason).toBe('ERR_UNKNOWN_PERSON_CODE');
    expect(new Set(body.members.map((m) => m.processingNumber)).size).toBe(4);
    await core.core.whenIdle();

    expect(provider.provisionBatches).toHaveLength(1);
    const forwarded = provider.provisionBatches[0]!;
    expect(forwarded.members.map((m) => m.processingNumber)).toEqual(
      [0, 2, 3].map((i) => body.members[i]?.processingNumber),
    );
    // The provider's codes, not the requester's: converted by the core.
    for (const m of forwarded.members) expect(codes).not.toContain(m.personCode);
    expect(requester.answerBatches).toHaveLength(1);
    expect(requester.answerBatches[0]?.members.map((m) => m.outcome)).toEqual([
      'not_held',
      'not_held',
      'not_held',
    ]);

    const pns = body.members.map((m) => m.processingNumber);
    expect(await status(pns[0]!)).toMatchObject({ outcome: 'not_held', delivery: 'delivered' });
    expect(await status(pns[1]!)).toMatchObject({
      outcome: 'refused',
      reason: 'ERR_UNKNOWN_PERSON_CODE',
      delivery: 'none',
    });
    const records = (
      await core.call<{ records: { processingNumber: string }[] }>(
        'GET',
        '/admin/v1/provision-records?limit=100',
      )
    ).body.records;
    expect(records.map((r) => r.processingNumber).sort()).toEqual([...pns].sort());

    // Sent again under the same id: the same answer, nothing recorded or forwarded twice.
    const again = await submit(batch([codes[0]!, forged(), codes[1]!, codes[2]!]));
    expect(again.body).toEqual(body);
    await core.core.whenIdle();
    expect(provider.provisionBatches).toHaveLength(1);
    const after = (await core.call<{ records: unknown[] }>('GET', '/admin/v1/provision-records?limit=100'))
      .body.records;
    expect(after).toHaveLength(4);
  });

  it('answers a member sent again alone under its request id with its processing number, never a second inquiry', async () => {
    const requestIds = ['0b4c7d2e-1111-4a5b-8c6d-000000000001', '0b4c7d2e-1111-4a5b-8c6d-000000000002'];
    const { body } = await submit({ ...batch([codes[0]!, codes[1]!]), requestIds });
    await core.core.whenIdle();
    const single = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', {
      requesterId: '131016',
      providerId: '132012',
      personCode: codes[1]!,
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      requestId: requestIds[1],
    });
    expect(single.status).toBe(202);
    expect(single.body.processingNumber).toBe(body.members[1]?.processingNumber);
    const records = (await core.call<{ records: unknown[] }>('GET', '/admin/v1/provision-records?limit=100'))
      .body.records;
    expect(records).toHaveLength(2);
    expect(provider.provisionRequests).toHaveLength(0);
  });

  it('refuses a batch whose request ids do not match its person codes one to one', async () => {
    const { status: code } = await submit({
      ...batch([codes[0]!, codes[1]!]),
      requestIds: ['0b4c7d2e-1111-4a5b-8c6d-000000000003'],
    });
    expect(code).toBe(400);
    await core.core.whenIdle();
    expect(provider.provisionBatches).toHaveLength(0);
  });

  it('records every member refused when the legal table does not allow the batch', async () => {
    const { body } = await submit({ ...batch([codes[0]!, codes[1]!]), clauseNo: '999' });
    expect(body.members.map((m) => m.outcome)).toEqual(['refused', 'refused']);
    await core.core.whenIdle();
    expect(provider.provisionBatches).toHaveLength(0);
    for (const m of body.members)
      expect(await status(m.processingNumber)).toMatchObject({ outcome: 'refused' });
  });

  it('settles on resume a batch whose provider never answered: members failed, the failure delivered, the provider told', async () => {
    let release: () => void = () => undefined;
    provider.onProvisionBatch = () => new Promise((resolve) => (release = () => resolve({})));
    const { body } = await submit(batch([codes[0]!, codes[1]!]));
    while (provider.provisionBatches.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    // What a restart does first, while the provider still holds the batch.
    await core.core.resumeInFlight();
    release();
    await core.core.whenIdle();
    for (const m of body.members) {
      expect(await status(m.processingNumber)).toMatchObject({
        outcome: 'failed',
        reason: 'provider_unavailable',
        delivery: 'delivered',
      });
    }
    expect(requester.answerBatches).toHaveLength(1);
    expect(requester.answerBatches[0]?.members.map((m) => m.reason)).toEqual([
      'provider_unavailable',
      'provider_unavailable',
    ]);
    await core.core.services.inquiries.whenProvidersTold();
    expect(provider.failureNotices.map((n) => n.processingNumber).sort()).toEqual(
      body.members.map((m) => m.processingNumber).sort(),
    );
  });
});
