import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InquiryRequest } from '../../protocol/messages.ts';
import type { ProvisionRecord } from './model.ts';
import {
  ITEM_MARKER,
  providerError,
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

interface ErrorResponse {
  error: { code: string; message: string; details: { processingNumber?: string; rule?: string } };
}

let net: TwoMunicipalities<'insurer'>;
let core: TestCore;
let requester: StandIn; // X市 (131016)
let provider: StandIn; // A市 (132012)
let insurer: StandIn; // 協会けんぽ
let requesterCode: string;
let providerCode: string;
let inquiry: (overrides?: Partial<InquiryRequest>) => InquiryRequest;

beforeEach(async () => {
  net = await startTwoMunicipalities({
    codes: 'both',
    others: { insurer: { id: 'kyokai-kenpo', kind: 'health_insurer' } },
  });
  ({ core, x: requester, a: provider, code: requesterCode, providerCode, inquiry } = net);
  insurer = net.others.insurer;
});

afterEach(() => net.dispose());

async function records(query = ''): Promise<ProvisionRecord[]> {
  const { body } = await core.call<{ records: ProvisionRecord[] }>(
    'GET',
    `/admin/v1/provision-records${query}`,
  );
  return body.records;
}

async function refusal(request: InquiryRequest, status: number, code: string): Promise<ErrorResponse> {
  const response = await core.call<ErrorResponse>('POST', '/v1/inquiries', request);
  expect(response.status).toBe(status);
  expect(response.body.error.code).toBe(code);
  return response.body;
}

/** Flip one bit of a code's ciphertext, keeping it a well-formed 44-character code. */
function tamper(code: string): string {
  const bytes = Buffer.from(code, 'base64url');
  bytes[10] = (bytes[10] ?? 0) ^ 0x01;
  return bytes.toString('base64url');
}

describe('an accepted inquiry', () => {
  it("converts the requester's code into the provider's code for the same person", async () => {
    const { status, body } = await core.call<{ processingNumber: string; requestedAt: string }>(
      'POST',
      '/v1/inquiries',
      inquiry(),
    );
    expect(status).toBe(202);
    expect(body.requestedAt).toBe('2025-06-01T01:00:00.000Z');
    await core.core.whenIdle();
    expect(provider.provisionRequests).toHaveLength(1);
    const forwarded = provider.provisionRequests[0];
    expect(forwarded?.personCode).toBe(providerCode);
    expect(forwarded?.personCode).not.toBe(requesterCode);
    expect(forwarded).toMatchObject({
      processingNumber: body.processingNumber,
      requesterId: '131016',
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      nonDisclosure: false,
    });
  });

  it("delivers the provider's answer to the requester and records it as provided", async () => {
    const { body } = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle();
    expect(requester.answers).toEqual([
      expect.objectContaining({ processingNumber: body.processingNumber, outcome: 'provided' }),
    ]);
    expect(requester.answers[0]?.items[0]?.data).toEqual({ marker: ITEM_MARKER });
    const [record] = await records();
    expect(record).toMatchObject({
      processingNumber: body.processingNumber,
      requesterId: '131016',
      providerId: '132012',
      outcome: 'provided',
      reason: null,
      nonDisclosure: false,
      legalTableDigest: 'test-legal-table-digest',
    });
    expect(record?.personKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const status = await core.call('GET', `/v1/inquiries/${body.processingNumber}?requesterId=131016`);
    expect(status.body).toMatchObject({ outcome: 'provided', delivery: 'delivered' });
    expect(status.body).not.toHaveProperty('items');
  });

  it('records not held when the provider holds no copy', async () => {
    provider.onProvision = (request) => ({
      processingNumber: request.processingNumber,
      outcome: 'not_held',
      items: [],
      answeredAt: new Date().toISOString(),
    });
    await core.call('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle();
    expect((await records())[0]?.outcome).toBe('not_held');
    expect(requester.answers[0]).toMatchObject({ outcome: 'not_held', items: [] });
  });

  it('gives the same person the same person key in records whoever asks', async () => {
    await core.call('POST', '/v1/inquiries', inquiry());
    await core.call(
      'POST',
      '/v1/inquiries',
      inquiry({ requesterId: '132012', providerId: '131016', personCode: providerCode }),
    );
    await core.core.whenIdle();
    const keys = (await records()).map((r) => r.personKey);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it("never stores the answer's items", async () => {
    await core.call('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle();
    expect(JSON.stringify(requester.answers)).toContain(ITEM_MARKER); // relayed…
    await core.close();
    for (const file of readdirSync(core.dir)) {
      const bytes = readFileSync(join(core.dir, file)).toString('latin1');
      expect(bytes.includes(ITEM_MARKER), `${file} holds an item`).toBe(false); // …never stored
    }
  });

  it('retries delivering the answer to a requester that is briefly unavailable', async () => {
    requester.failNextAnswers = 1;
    const { body } = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle();
    expect(requester.answers).toHaveLength(1);
    const status = await core.call('GET', `/v1/inquiries/${body.processingNumber}`);
    expect(status.body).toMatchObject({ delivery: 'delivered' });
  });

  it('records a delivery that failed after its retries', async () => {
    requester.failNextAnswers = 10;
    const { body } = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle();
    expect(requester.answers).toHaveLength(0);
    const status = await core.call('GET', `/v1/inquiries/${body.processingNumber}`);
    expect(status.body).toMatchObject({ outcome: 'provided', delivery: 'failed' });
  });
});

describe('a failed inquiry', () => {
  it('records a provider that cannot be reached as failed', async () => {
    await provider.close();
    const { status, body } = await core.call<{ processingNumber: string }>(
      'POST',
      '/v1/inquiries',
      inquiry(),
    );
    expect(status).toBe(202);
    await core.core.whenIdle();
    const [record] = await records();
    expect(record).toMatchObject({ outcome: 'failed', reason: 'provider_unavailable' });
    expect(requester.answers).toEqual([
      expect.objectContaining({
        processingNumber: body.processingNumber,
        outcome: 'failed',
        reason: 'provider_unavailable',
        items: [],
      }),
    ]);
  });

  it("records the provider's error code when the provider refuses", async () => {
    provider.onProvision = providerError('ERR_LAYOUT_VIOLATION');
    await core.call('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle();
    expect((await records())[0]).toMatchObject({ outcome: 'failed', reason: 'ERR_LAYOUT_VIOLATION' });
  });

  it('records a provider that answers nonsense as failed', async () => {
    provider.onProvision = () => ({ hello: 'world', items: [{ data: ITEM_MARKER }] });
    await core.call('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle();
    expect((await records())[0]).toMatchObject({ outcome: 'failed', reason: 'provider_unavailable' });
    expect(requester.answers[0]).toMatchObject({ outcome: 'failed', items: [] });
  });
});

describe('a refused inquiry', () => {
  it('refuses an inquiry no clause allows and records the refusal', async () => {
    const body = await refusal(inquiry({ clauseNo: '999' }), 422, 'ERR_UNKNOWN_CLAUSE');
    expect(body.error.details.rule).toBe('unknown_clause');
    const pn = body.error.details.processingNumber;
    expect(pn).toMatch(/^[0-9a-f-]{36}$/);

    // The insurer asking for item 2 under clause 74 (a municipality's business): no clause allows it.
    const insurerCode = await core.issue({ id: 'kyokai-kenpo', standIn: insurer }, '12345678901');
    const notAllowed = await refusal(
      inquiry({ requesterId: 'kyokai-kenpo', personCode: insurerCode }),
      403,
      'ERR_INQUIRY_NOT_AUTHORIZED',
    );
    expect(notAllowed.error.details.rule).toBe('requester_not_allowed');

    const refused = await records('?outcome=refused');
    expect(refused.map((r) => [r.processingNumber, r.reason]).sort()).toEqual(
      [
        [pn, 'unknown_clause'],
        [notAllowed.error.details.processingNumber, 'requester_not_allowed'],
      ].sort(),
    );
    expect(refused.every((r) => r.answeredAt !== null && r.personKey !== null)).toBe(true);
    const status = await core.call('GET', `/v1/inquiries/${pn}`);
    expect(status.body).toMatchObject({ outcome: 'refused', reason: 'unknown_clause', delivery: 'none' });
  });

  it('names unknown procedures and items with their own codes', async () => {
    expect(
      (await refusal(inquiry({ procedureId: 'nope' }), 422, 'ERR_UNKNOWN_PROCEDURE')).error.details.rule,
    ).toBe('unknown_procedure');
    expect((await refusal(inquiry({ itemNos: [777] }), 422, 'ERR_UNKNOWN_ITEM')).error.details.rule).toBe(
      'unknown_item',
    );
    expect(
      (await refusal(inquiry({ itemNos: [31] }), 403, 'ERR_INQUIRY_NOT_AUTHORIZED')).error.details.rule,
    ).toBe('item_not_allowed');
  });

  it('never forwards a refused inquiry to the provider', async () => {
    await refusal(inquiry({ clauseNo: '999' }), 422, 'ERR_UNKNOWN_CLAUSE');
    await refusal(inquiry({ itemNos: [31] }), 403, 'ERR_INQUIRY_NOT_AUTHORIZED');
    await refusal(inquiry({ personCode: tamper(requesterCode) }), 422, 'ERR_UNKNOWN_PERSON_CODE');
    await refusal(inquiry({ providerId: 'nowhere' }), 422, 'ERR_UNKNOWN_INSTITUTION');
    await core.core.whenIdle();
    expect(provider.provisionRequests).toHaveLength(0);
    expect(requester.answers).toHaveLength(0);
    expect(await records('?outcome=refused')).toHaveLength(4);
  });

  it('detects a forged code instead of converting it into another person', async () => {
    // Another person's codes exist: a forgery must not land on them either.
    await core.issue({ id: '131016', standIn: requester }, '98765432109');
    const forged = tamper(requesterCode);
    const random = Buffer.alloc(33, 1).toString('base64url');
    for (const personCode of [forged, random]) {
      const body = await refusal(inquiry({ personCode }), 422, 'ERR_UNKNOWN_PERSON_CODE');
      expect(JSON.stringify(body)).not.toContain(personCode);
    }
    await core.core.whenIdle();
    expect(provider.provisionRequests).toHaveLength(0);
    const refused = await records('?outcome=refused');
    expect(refused).toHaveLength(2);
    expect(refused.every((r) => r.reason === 'ERR_UNKNOWN_PERSON_CODE' && r.personKey === null)).toBe(true);
  });

  it('detects a code presented by an institution it was not issued to', async () => {
    // A市 presents X市's code for the person as if it were its own.
    await refusal(
      inquiry({ requesterId: '132012', providerId: '131016', personCode: requesterCode }),
      422,
      'ERR_UNKNOWN_PERSON_CODE',
    );
    await core.core.whenIdle();
    expect(requester.provisionRequests).toHaveLength(0);
  });

  it('refuses an unknown requester without a record, and records an unknown provider', async () => {
    const unknownRequester = await refusal(
      inquiry({ requesterId: 'nobody' }),
      422,
      'ERR_UNKNOWN_INSTITUTION',
    );
    expect(unknownRequester.error.details.processingNumber).toBeDefined();
    await refusal(inquiry({ providerId: 'nowhere' }), 422, 'ERR_UNKNOWN_INSTITUTION');
    const all = await records();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      providerId: 'nowhere',
      outcome: 'refused',
      reason: 'ERR_UNKNOWN_INSTITUTION',
    });
  });

  it('refuses a malformed inquiry as a validation error', async () => {
    await refusal(inquiry({ personCode: 'short' }), 400, 'ERR_VALIDATION');
    expect(await records()).toHaveLength(0);
  });
});

describe('inquiry status', () => {
  it('answers ERR_UNKNOWN_PROCESSING_NUMBER for an unknown number or another requester', async () => {
    const unknown = await core.call<ErrorResponse>(
      'GET',
      '/v1/inquiries/01970000-0000-7000-8000-000000000000',
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    const { body } = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
    await core.core.whenIdle();
    const other = await core.call<ErrorResponse>(
      'GET',
      `/v1/inquiries/${body.processingNumber}?requesterId=132012`,
    );
    expect(other.body.error.code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
  });
});
