import { readLog } from '../../shared/logger.ts';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RECORD_CHECK_LIMIT, RecordCheckAnswer } from '../../protocol/record-checks.ts';
import { generateIndividualNumber } from '../../domain/identifiers/index.ts';
import type { ProvisionAnswer } from '../../protocol/messages.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { sampleOf } from '../../../test/support/metrics.ts';
import {
  INSTITUTION_ID,
  harnessInquiry,
  newPersonCode,
  provisionRequest,
  registered,
  startClockedHarness,
  TAX_2025,
  type Harness,
} from './test-support.ts';

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
});

async function harness(options: { start?: string; retentionYears?: number; coreUrl?: string } = {}) {
  const started = await startClockedHarness(options);
  harnesses.push(started);
  return started;
}

async function failure(promise: Promise<unknown>): Promise<RenkeiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RenkeiError)) throw new Error(`expected a RenkeiError, got ${String(error)}`);
  return error;
}

interface RecordsBody {
  records: {
    role: string;
    processingNumber: string;
    outcome: string;
    reason?: string;
    [key: string]: unknown;
  }[];
}

describe('code acquisition (符号取得)', () => {
  it('acquires a code through J-LIS without the intermediate server seeing the Individual Number', async () => {
    const h = await harness();
    const resident = h.newResident();
    const response = await fetch(`${h.node.url}/business/v1/persons`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ individualNumber: resident.individualNumber }),
    });
    expect(response.status).toBe(201);
    const body = (await response.json()) as { addresseeNumber: string; codeStatus: string };
    expect(body.codeStatus).toBe('acquired');
    expect(body.addresseeNumber).toMatch(/^[0-9]{15}$/);
    expect(h.jlis.received).toHaveLength(1);
    expect(h.jlis.received[0]?.individualNumber).toBe(resident.individualNumber);
    expect(h.jlis.received[0]?.institutionId).toBe(INSTITUTION_ID);

    // The code is usable by the network side at once, and the acquisition number is gone.
    const answer = await h.client.post<ProvisionAnswer>(
      '/network/v1/provision-requests',
      provisionRequest(resident.personCode),
    );
    expect(answer.outcome).toBe('not_held');
    const replay = await failure(
      h.client.post('/network/v1/code-deliveries', {
        acquisitionNumber: h.jlis.received[0]?.acquisitionNumber,
        personCode: newPersonCode(),
      }),
    );
    expect(replay.code).toBe('ERR_UNKNOWN_ACQUISITION_NUMBER');

    await h.stopNode();
    const intermediate = join(h.dir, 'institutions', INSTITUTION_ID);
    for (const file of readdirSync(intermediate).filter((f) => f.startsWith('intermediate'))) {
      expect(readFileSync(join(intermediate, file)).toString('latin1')).not.toContain(
        resident.individualNumber,
      );
    }
  });

  it('registers a known person idempotently and acquires only once', async () => {
    const h = await harness();
    const person = await registered(h);
    const response = await fetch(`${h.node.url}/business/v1/persons`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ individualNumber: person.individualNumber }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { addresseeNumber: string }).addresseeNumber).toBe(
      person.addresseeNumber,
    );
    expect(h.jlis.received).toHaveLength(1);
  });

  it('keeps the person when acquisition fails, and acquires the code on a retry', async () => {
    const h = await harness();
    const individualNumber = generateIndividualNumber(); // J-LIS does not know this resident yet
    const error = await failure(h.client.post('/business/v1/persons', { individualNumber }));
    expect(error.code).toBe('ERR_UNKNOWN_RESIDENT');
    const addresseeNumber = error.details.addresseeNumber as string;
    expect(addresseeNumber).toMatch(/^[0-9]{15}$/);
    expect(JSON.stringify(error)).not.toContain(individualNumber);
    // The acquisition number lived no longer than the request.
    const late = await failure(
      h.client.post('/network/v1/code-deliveries', {
        acquisitionNumber: h.jlis.received[0]?.acquisitionNumber,
        personCode: newPersonCode(),
      }),
    );
    expect(late.code).toBe('ERR_UNKNOWN_ACQUISITION_NUMBER');

    const noCode = await failure(
      h.client.put('/business/v1/copies', { addresseeNumber, itemNo: 2, data: TAX_2025 }),
    );
    expect(noCode.code).toBe('ERR_NO_PERSON_CODE');

    h.jlis.residents.set(individualNumber, newPersonCode());
    const retried = await h.client.post<{ addresseeNumber: string; codeStatus: string }>(
      '/business/v1/persons',
      {
        individualNumber,
      },
    );
    expect(retried).toEqual({ addresseeNumber, codeStatus: 'acquired' });
    await h.client.put('/business/v1/copies', { addresseeNumber, itemNo: 2, data: TAX_2025 });
  });

  it('answers ERR_UPSTREAM_UNAVAILABLE when J-LIS cannot be reached, keeping the person', async () => {
    const h = await harness();
    const resident = h.newResident();
    await h.jlis.close();
    const error = await failure(
      h.client.post('/business/v1/persons', { individualNumber: resident.individualNumber }),
    );
    expect(error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(error.details.addresseeNumber).toMatch(/^[0-9]{15}$/);
  });

  it('refuses a mistyped Individual Number without echoing it', async () => {
    const h = await harness();
    const valid = generateIndividualNumber();
    const mistyped = `${valid.slice(0, 11)}${(Number(valid[11]) + 1) % 10}`;
    const response = await fetch(`${h.node.url}/business/v1/persons`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ individualNumber: mistyped }),
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text).toContain('ERR_INVALID_CHECK_DIGIT');
    expect(text).not.toContain(mistyped);
    expect(h.jlis.received).toHaveLength(0);
  });

  it('keeps one addressee number per Individual Number', async () => {
    const h = await harness();
    const a = h.newResident();
    const b = h.newResident();
    const own = await h.client.post<{ addresseeNumber: string }>('/business/v1/persons', {
      individualNumber: a.individualNumber,
      addresseeNumber: 'TAX-000123',
    });
    expect(own.addresseeNumber).toBe('TAX-000123');
    const taken = await failure(
      h.client.post('/business/v1/persons', {
        individualNumber: b.individualNumber,
        addresseeNumber: 'TAX-000123',
      }),
    );
    expect(taken.code).toBe('ERR_DUPLICATE');
    const other = await failure(
      h.client.post('/business/v1/persons', {
        individualNumber: a.individualNumber,
        addresseeNumber: 'TAX-999',
      }),
    );
    expect(other.code).toBe('ERR_DUPLICATE');
  });

  it('refuses a code delivery for an unknown acquisition number', async () => {
    const h = await harness();
    const error = await failure(
      h.client.post('/network/v1/code-deliveries', {
        acquisitionNumber: 'ab'.repeat(16),
        personCode: newPersonCode(),
      }),
    );
    expect(error.code).toBe('ERR_UNKNOWN_ACQUISITION_NUMBER');
  });
});

describe('copies (副本) and automatic answers (自動応答)', () => {
  it('answers automatically from a copy', async () => {
    const h = await harness();
    const person = await registered(h);
    const stored = await h.client.put<{ layoutVersion: string }>('/business/v1/copies', {
      addresseeNumber: person.addresseeNumber,
      itemNo: 2,
      data: TAX_2025,
    });
    expect(stored.layoutVersion).toBe('2025.1');
    const request = provisionRequest(person.personCode, { itemNos: [1, 2], nonDisclosure: true });
    const answer = await h.client.post<ProvisionAnswer>('/network/v1/provision-requests', request);
    expect(answer).toEqual({
      processingNumber: request.processingNumber,
      outcome: 'provided',
      items: [{ itemNo: 2, layoutVersion: '2025.1', data: TAX_2025 }],
      answeredAt: '2025-06-02T01:00:00.000Z',
    });
    const { records } = await h.client.get<RecordsBody>('/business/v1/provision-records?role=provider');
    expect(records).toEqual([
      expect.objectContaining({
        role: 'provider',
        processingNumber: request.processingNumber,
        requesterId: '152048',
        addresseeNumber: person.addresseeNumber,
        itemNos: [1, 2],
        providedItemNos: [2],
        outcome: 'provided',
        nonDisclosure: true,
      }),
    ]);
    expect(JSON.stringify(records)).not.toContain(person.personCode);
  });

  it('answers not held when no copy exists', async () => {
    const h = await harness();
    const person = await registered(h);
    const known = await h.client.post<ProvisionAnswer>(
      '/network/v1/provision-requests',
      provisionRequest(person.personCode),
    );
    expect(known.outcome).toBe('not_held');
    expect(known.items).toEqual([]);
    const stranger = await h.client.post<ProvisionAnswer>(
      '/network/v1/provision-requests',
      provisionRequest(newPersonCode()),
    );
    expect(stranger.outcome).toBe('not_held');
    const { records } = await h.client.get<RecordsBody>('/business/v1/provision-records?role=provider');
    expect(records.map((r) => r.outcome)).toEqual(['not_held', 'not_held']);
  });

  it('does not provide past the core’s deadline: records failed (provider_unavailable) and says so', async () => {
    const h = await harness();
    const person = await registered(h);
    await h.client.put('/business/v1/copies', {
      addresseeNumber: person.addresseeNumber,
      itemNo: 2,
      data: TAX_2025,
    });
    // The harness's clock stands at 01:00:00; the core stopped waiting a second before.
    const late = provisionRequest(person.personCode, { answerBy: '2025-06-02T00:59:59.000Z' });
    const error = await failure(h.client.post('/network/v1/provision-requests', late));
    expect(error.code).toBe('ERR_PROVIDER_UNAVAILABLE');
    const onTime = provisionRequest(person.personCode, { answerBy: '2025-06-02T01:00:30.000Z' });
    expect((await h.client.post<ProvisionAnswer>('/network/v1/provision-requests', onTime)).outcome).toBe(
      'provided',
    );
    const { records } = await h.client.get<RecordsBody>('/business/v1/provision-records?role=provider');
    const byNumber = new Map(records.map((r) => [r.processingNumber, r]));
    expect(byNumber.get(late.processingNumber)).toMatchObject({
      outcome: 'failed',
      reason: 'provider_unavailable',
      providedItemNos: [],
    });
    expect(byNumber.get(onTime.processingNumber)).toMatchObject({ outcome: 'provided' });
  });

  it('records failed, as a new event, a provision the core tells it failed; a second notice changes nothing', async () => {
    const h = await harness();
    const person = await registered(h);
    await h.client.put('/business/v1/copies', {
      addresseeNumber: person.addresseeNumber,
      itemNo: 2,
      data: TAX_2025,
    });
    const request = provisionRequest(person.personCode);
    expect((await h.client.post<ProvisionAnswer>('/network/v1/provision-requests', request)).outcome).toBe(
      'provided',
    );
    const notice = {
      processingNumber: request.processingNumber,
      reason: 'provider_unavailable',
      failedAt: '2025-06-02T01:00:30.000Z',
    };
    await h.client.post('/network/v1/provision-failures', notice);
    await h.client.post('/network/v1/provision-failures', notice);
    // A notice for a request that never arrived is acknowledged and records nothing.
    await h.client.post('/network/v1/provision-failures', { ...notice, processingNumber: uuidv7() });
    const { records } = await h.client.get<RecordsBody>('/business/v1/provision-records?role=provider');
    expect(records).toEqual([
      expect.objectContaining({
        processingNumber: request.processingNumber,
        outcome: 'failed',
        reason: 'provider_unavailable',
        providedItemNos: [],
        answeredAt: notice.failedAt,
      }),
    ]);
    await h.stopNode();
    const events = (await h.databaseText('intermediate')).match(/"event":"(provided|failed)"/g) ?? [];
    // Both answers stay in the log (the database's bytes hold them in no particular order).
    expect(events.sort()).toEqual(['"event":"failed"', '"event":"provided"']);
  });

  it('validates an answer against the layout in force on the request date', async () => {
    const h = await harness({ start: '2025-02-03T01:00:00Z' });
    const person = await registered(h);
    // Valid under layout 2020.1, in force until 2025-03-31; 2025.1 adds a required field.
    const old = { fiscalYear: 2024, taxableIncome: 2_000_000 };
    await h.client.put('/business/v1/copies', {
      addresseeNumber: person.addresseeNumber,
      itemNo: 2,
      data: old,
    });

    const before = provisionRequest(person.personCode, { requestedAt: '2025-03-31T14:59:59.000Z' }); // 23:59 JST
    const answer = await h.client.post<ProvisionAnswer>('/network/v1/provision-requests', before);
    expect(answer.items).toEqual([{ itemNo: 2, layoutVersion: '2020.1', data: old }]);

    const after = provisionRequest(person.personCode, { requestedAt: '2025-03-31T15:00:00.000Z' }); // 04-01 JST
    const error = await failure(h.client.post('/network/v1/provision-requests', after));
    expect(error.code).toBe('ERR_LAYOUT_VIOLATION');
    expect(error.details).toMatchObject({
      processingNumber: after.processingNumber,
      itemNo: 2,
      layoutVersion: '2025.1',
    });

    const { records } = await h.client.get<RecordsBody>('/business/v1/provision-records?role=provider');
    const failed = records.find((r) => r.processingNumber === after.processingNumber);
    expect(failed).toMatchObject({ outcome: 'failed', reason: 'ERR_LAYOUT_VIOLATION' });
  });

  it('refuses a copy for an unknown person, a person without a code, an unknown item or a broken layout', async () => {
    const h = await harness();
    const person = await registered(h);
    const unknown = await failure(
      h.client.put('/business/v1/copies', { addresseeNumber: '999', itemNo: 2, data: TAX_2025 }),
    );
    expect(unknown.code).toBe('ERR_UNKNOWN_ADDRESSEE_NUMBER');
    const item = await failure(
      h.client.put('/business/v1/copies', { addresseeNumber: person.addresseeNumber, itemNo: 77, data: {} }),
    );
    expect(item.code).toBe('ERR_UNKNOWN_ITEM');
    const layout = await failure(
      h.client.put('/business/v1/copies', {
        addresseeNumber: person.addresseeNumber,
        itemNo: 2,
        data: { fiscalYear: 2025, taxableIncome: -1 },
      }),
    );
    expect(layout.code).toBe('ERR_LAYOUT_VIOLATION');
    expect(layout.details.problems).toEqual([
      'taxableIncome: Too small: expected number to be >=0',
      'dependants: is required (number)',
    ]);
  });

  it('rejects a whole batch when one copy is invalid', async () => {
    const h = await harness();
    const a = await registered(h);
    const b = await registered(h);
    const bad = await failure(
      h.client.post('/business/v1/copies:batch', {
        copies: [
          { addresseeNumber: a.addresseeNumber, itemNo: 2, data: TAX_2025 },
          { addresseeNumber: b.addresseeNumber, itemNo: 2, data: { fiscalYear: 'x' } },
          { addresseeNumber: b.addresseeNumber, itemNo: 1, data: { householdHead: true } },
          { addresseeNumber: 'nobody', itemNo: 1, data: { householdHead: true } },
          'not a copy',
        ],
      }),
    );
    expect(bad.code).toBe('ERR_IMPORT_INVALID');
    const rows = bad.details.rows as { index: number; code: string }[];
    expect(rows.map((r) => [r.index, r.code])).toEqual([
      [1, 'ERR_LAYOUT_VIOLATION'],
      [3, 'ERR_UNKNOWN_ADDRESSEE_NUMBER'],
      [4, 'ERR_VALIDATION'],
    ]);
    // Nothing was written, not even the valid rows.
    const none = await h.client.post<ProvisionAnswer>(
      '/network/v1/provision-requests',
      provisionRequest(a.personCode),
    );
    expect(none.outcome).toBe('not_held');

    const ok = await h.client.post<{ written: number }>('/business/v1/copies:batch', {
      copies: [
        { addresseeNumber: a.addresseeNumber, itemNo: 2, data: TAX_2025 },
        { addresseeNumber: b.addresseeNumber, itemNo: 1, data: { householdHead: true } },
      ],
    });
    expect(ok.written).toBe(2);
    const some = await h.client.post<ProvisionAnswer>(
      '/network/v1/provision-requests',
      provisionRequest(a.personCode),
    );
    expect(some.outcome).toBe('provided');
  });

  it('removes a copy', async () => {
    const h = await harness();
    const person = await registered(h);
    await h.client.put('/business/v1/copies', {
      addresseeNumber: person.addresseeNumber,
      itemNo: 2,
      data: TAX_2025,
    });
    const response = await fetch(`${h.node.url}/business/v1/copies/${person.addresseeNumber}/2`, {
      method: 'DELETE',
    });
    expect(response.status).toBe(204);
    const answer = await h.client.post<ProvisionAnswer>(
      '/network/v1/provision-requests',
      provisionRequest(person.personCode),
    );
    expect(answer.outcome).toBe('not_held');
  });
});

describe('inquiries (情報照会)', () => {
  interface Status {
    processingNumber: string;
    status: string;
    outcome: string;
    reason?: string;
    items?: unknown[];
    providerId?: string;
  }

  it('sends an inquiry under its code and hands the answer to a long-polling clerk', async () => {
    const h = await harness();
    const person = await registered(h);
    const accepted = await h.client.post<{ processingNumber: string; status: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );
    expect(accepted.status).toBe('pending');
    expect(h.core.inquiries[0]).toMatchObject({
      requesterId: INSTITUTION_ID,
      personCode: person.personCode,
      nonDisclosure: false,
    });

    const waiting = h.client.get<Status>(`/business/v1/inquiries/${accepted.processingNumber}?waitMs=10000`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const items = [{ itemNo: 2, layoutVersion: '2025.1', data: TAX_2025 }];
    await h.client.post('/network/v1/answers', {
      processingNumber: accepted.processingNumber,
      outcome: 'provided',
      items,
      answeredAt: '2025-06-02T01:00:01.000Z',
    });
    const status = await waiting;
    expect(status).toMatchObject({ status: 'answered', outcome: 'provided', items, providerId: '152048' });

    const { records } = await h.client.get<RecordsBody>('/business/v1/provision-records?role=requester');
    expect(records).toEqual([
      expect.objectContaining({ processingNumber: accepted.processingNumber, outcome: 'provided' }),
    ]);
  });

  it('lifts the non-disclosure of its own inquiry at the core, then in its own record; one it never sent is refused without asking the core', async () => {
    const h = await harness();
    const person = await registered(h);
    const accepted = await h.client.post<{ processingNumber: string }>('/business/v1/inquiries', {
      ...harnessInquiry(person.addresseeNumber),
      nonDisclosure: true,
    });
    const own = async () =>
      (await h.business.listProvisionRecords({ query: { role: 'requester' } })).records.find(
        (r) => r.processingNumber === accepted.processingNumber,
      );
    expect((await own())?.nonDisclosure).toBe(true);

    const unknown = await failure(h.business.liftNonDisclosure({ body: { processingNumber: uuidv7() } }));
    expect(unknown.code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    expect(h.core.lifts).toEqual([]);

    const lifted = await h.business.liftNonDisclosure({
      body: { processingNumber: accepted.processingNumber },
    });
    expect(lifted).toEqual({ processingNumber: accepted.processingNumber, lifted: true });
    expect(h.core.lifts).toEqual([
      { requesterId: INSTITUTION_ID, processingNumber: accepted.processingNumber },
    ]);
    expect((await own())?.nonDisclosure).toBe(false);

    const again = await h.business.liftNonDisclosure({
      body: { processingNumber: accepted.processingNumber },
    });
    expect(again.lifted).toBe(false);
  });

  it('records an answer whose data breaks the layout as failed, and never shows the clerk its items', async () => {
    const h = await harness();
    const person = await registered(h);
    const accepted = await h.client.post<{ processingNumber: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );
    await h.client.post('/network/v1/answers', {
      processingNumber: accepted.processingNumber,
      outcome: 'provided',
      items: [{ itemNo: 2, layoutVersion: '2025.1', data: { forged: 'a figure no layout has' } }],
      answeredAt: '2025-06-02T01:00:01.000Z',
    });
    const status = await h.client.get<Status>(`/business/v1/inquiries/${accepted.processingNumber}`);
    expect(status).toMatchObject({ status: 'answered', outcome: 'failed', reason: 'ERR_LAYOUT_VIOLATION' });
    expect(status.items).toBeUndefined();
  });

  it('records an answer carrying an item the inquiry did not ask for as failed', async () => {
    const h = await harness();
    const person = await registered(h);
    const accepted = await h.client.post<{ processingNumber: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );
    await h.client.post('/network/v1/answers', {
      processingNumber: accepted.processingNumber,
      outcome: 'provided',
      items: [
        { itemNo: 2, layoutVersion: '2025.1', data: TAX_2025 },
        { itemNo: 1, layoutVersion: '1', data: {} },
      ],
      answeredAt: '2025-06-02T01:00:01.000Z',
    });
    const status = await h.client.get<Status>(`/business/v1/inquiries/${accepted.processingNumber}`);
    expect(status).toMatchObject({ outcome: 'failed', reason: 'ERR_ANSWER_MISMATCH' });
    expect(status.items).toBeUndefined();
  });

  it('stops waiting when waitMs runs out', async () => {
    const h = await harness();
    const person = await registered(h);
    const accepted = await h.client.post<{ processingNumber: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );
    const status = await h.client.get<Status>(
      `/business/v1/inquiries/${accepted.processingNumber}?waitMs=100`,
    );
    expect(status).toMatchObject({ status: 'pending', outcome: 'pending' });
  });

  it('ends right when the answer arrives before the acceptance is stored', async () => {
    const h = await harness();
    const person = await registered(h);
    h.core.behaviour = {
      kind: 'answer-first',
      answer: () => ({ outcome: 'not_held', items: [], answeredAt: '2025-06-02T01:00:00.500Z' }),
    };
    const accepted = await h.client.post<{ processingNumber: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );
    const status = await h.client.get<Status>(`/business/v1/inquiries/${accepted.processingNumber}`);
    expect(status).toMatchObject({ status: 'answered', outcome: 'not_held', providerId: '152048' });
  });

  it('records a refused inquiry', async () => {
    const h = await harness();
    const person = await registered(h);
    h.core.behaviour = { kind: 'refuse', code: 'ERR_INQUIRY_NOT_AUTHORIZED', rule: 'requester_not_allowed' };
    const error = await failure(
      h.client.post('/business/v1/inquiries', harnessInquiry(person.addresseeNumber)),
    );
    expect(error.code).toBe('ERR_INQUIRY_NOT_AUTHORIZED');
    const processingNumber = error.details.processingNumber as string;
    expect(error.details.rule).toBe('requester_not_allowed');
    const status = await h.client.get<Status>(`/business/v1/inquiries/${processingNumber}`);
    expect(status).toMatchObject({ outcome: 'refused', reason: 'requester_not_allowed' });
    const { records } = await h.client.get<RecordsBody>('/business/v1/provision-records?role=requester');
    expect(records).toEqual([
      expect.objectContaining({ processingNumber, outcome: 'refused', reason: 'requester_not_allowed' }),
    ]);
  });

  it('records a failed inquiry under a local processing number when the core is unreachable', async () => {
    const h = await harness({ coreUrl: 'http://127.0.0.1:1' });
    const person = await registered(h);
    const error = await failure(
      h.client.post('/business/v1/inquiries', harnessInquiry(person.addresseeNumber)),
    );
    expect(error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    const processingNumber = error.details.processingNumber as string;
    const status = await h.client.get<Status>(`/business/v1/inquiries/${processingNumber}`);
    expect(status).toMatchObject({ outcome: 'failed', reason: 'ERR_UPSTREAM_UNAVAILABLE' });
  });

  it('counts an inquiry the core did not answer in doubt in its metrics, until a resend is taken', async () => {
    const h = await harness();
    const person = await registered(h);
    const unnumbered = async () => {
      const text = await (await fetch(`${h.node.url}/metrics`)).text();
      return {
        inDoubt: sampleOf(text, 'renkei_requester_inquiries{state="in_doubt"}'),
        sending: sampleOf(text, 'renkei_requester_inquiries{state="sending"}'),
      };
    };
    expect(await unnumbered()).toEqual({ inDoubt: 0, sending: 0 });
    h.core.behaviour = { kind: 'drop' };
    const error = await failure(
      h.client.post('/business/v1/inquiries', harnessInquiry(person.addresseeNumber)),
    );
    expect(error.details.queued).toBe(true);
    // In doubt, or already being sent again (the first resend is a second later, and the core still
    // drops it): on a loaded machine the scrape can come after it (a full run once read sending 1).
    const kept = await unnumbered();
    expect((kept.inDoubt ?? 0) + (kept.sending ?? 0)).toBe(1);
    h.core.behaviour = { kind: 'accept' };
    const settled = async () => {
      const { inDoubt, sending } = await unnumbered();
      return inDoubt === 0 && sending === 0;
    };
    const until = Date.now() + 10_000;
    while (!(await settled()) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(await unnumbered()).toEqual({ inDoubt: 0, sending: 0 });
    expect(h.core.inquiries.length).toBeGreaterThanOrEqual(2);
  });

  it('fetches an answer the core kept when a clerk reads an inquiry pending longer than a push takes', async () => {
    const h = await harness();
    const person = await registered(h);
    const { processingNumber } = await h.client.post<{ processingNumber: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );
    h.core.keptAnswers.set(processingNumber, {
      outcome: 'provided',
      items: [{ itemNo: 2, layoutVersion: '2025.1', data: TAX_2025 }],
      answeredAt: '2025-06-02T01:00:00.500Z',
    });
    // Just asked: the push is still the way; no fetch yet.
    const early = await h.client.get<Status>(`/business/v1/inquiries/${processingNumber}`);
    expect(early.status).toBe('pending');
    expect(h.core.fetched).toEqual([]);
    h.clock.advance(11_000);
    const status = await h.client.get<Status>(`/business/v1/inquiries/${processingNumber}?waitMs=5000`);
    expect(status).toMatchObject({ status: 'answered', outcome: 'provided', items: [{ itemNo: 2 }] });
    expect(h.core.fetched).toEqual([processingNumber]);
    // Acknowledged once recorded, so the core can stop keeping it.
    await vi.waitFor(() => expect(h.core.acknowledged).toEqual([processingNumber]));
  });

  it('records an inquiry failed when the core no longer holds its answer, so the clerk stops waiting', async () => {
    const h = await harness();
    const person = await registered(h);
    const { processingNumber } = await h.client.post<{ processingNumber: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );
    h.core.keptAnswers.set(processingNumber, 'ERR_ANSWER_GONE');
    h.clock.advance(11_000);
    const status = await h.client.get<Status>(`/business/v1/inquiries/${processingNumber}?waitMs=5000`);
    expect(status).toMatchObject({ status: 'answered', outcome: 'failed', reason: 'ERR_ANSWER_GONE' });
  });

  it('refuses an inquiry about an unknown person or an unknown processing number', async () => {
    const h = await harness();
    const error = await failure(h.client.post('/business/v1/inquiries', harnessInquiry('nobody')));
    expect(error.code).toBe('ERR_UNKNOWN_ADDRESSEE_NUMBER');
    const unknown = await failure(h.client.get(`/business/v1/inquiries/${uuidv7()}?waitMs=10`));
    expect(unknown.code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    expect(h.core.inquiries).toHaveLength(0);
  });
});

describe('records and privacy', () => {
  it('purges provision records older than the retention policy', async () => {
    const h = await harness({ start: '2018-04-01T00:00:00Z', retentionYears: 7 });
    const person = await registered(h);
    const old = provisionRequest(person.personCode, { requestedAt: '2018-04-01T00:00:00.000Z' });
    await h.client.post('/network/v1/provision-requests', old);
    const oldInquiry = await h.client.post<{ processingNumber: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );

    h.clock.set('2025-03-31T23:59:59Z'); // not yet 7 years
    expect(await h.client.post('/business/v1/provision-records/purge', {})).toMatchObject({
      requester: 0,
      provider: 0,
    });

    h.clock.set('2025-04-01T00:00:01Z');
    const recent = provisionRequest(person.personCode, { requestedAt: '2025-04-01T00:00:01.000Z' });
    await h.client.post('/network/v1/provision-requests', recent);
    const purged = await h.client.post('/business/v1/provision-records/purge', {});
    expect(purged).toEqual({ before: '2018-04-01T00:00:01.000Z', requester: 1, provider: 1 });

    const { records } = await h.client.get<RecordsBody>('/business/v1/provision-records');
    expect(records.map((r) => r.processingNumber)).toEqual([recent.processingNumber]);
    const gone = await failure(h.client.get(`/business/v1/inquiries/${oldInquiry.processingNumber}`));
    expect(gone.code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
  });

  it('keeps the Individual Number only in the addressee database', async () => {
    const h = await harness();
    const people = [await registered(h), await registered(h), await registered(h)];
    for (const person of people) {
      await h.client.put('/business/v1/copies', {
        addresseeNumber: person.addresseeNumber,
        itemNo: 2,
        data: TAX_2025,
      });
      await h.client.post('/business/v1/inquiries', harnessInquiry(person.addresseeNumber));
      await h.client.post('/network/v1/provision-requests', provisionRequest(person.personCode));
    }
    // A failed acquisition logs too: make sure that path does not leak either.
    const stranger = generateIndividualNumber();
    await failure(h.client.post('/business/v1/persons', { individualNumber: stranger }));
    await h.stopNode(); // checkpoint the databases and flush the log

    const addressee = await h.databaseText('addressee');
    const intermediate = await h.databaseText('intermediate');
    const log = readLog(join(h.dir, 'logs', `institution-${INSTITUTION_ID}.log`));
    expect(intermediate.length).toBeGreaterThan(0);
    expect(log.length).toBeGreaterThan(0);
    for (const number of [...people.map((p) => p.individualNumber), stranger]) {
      expect(addressee).toContain(number);
      expect(intermediate).not.toContain(number);
      expect(log).not.toContain(number);
    }
    for (const person of people) {
      expect(intermediate).toContain(person.personCode); // the search works: the codes are there
      expect(log).not.toContain(person.personCode);
    }
  });
});

describe('the three-party cross-check (三者照合)', () => {
  it("answers the core's record check with its records of those exchanges in both roles, never a code", async () => {
    const h = await harness();
    const person = await registered(h);
    await h.client.put('/business/v1/copies', {
      addresseeNumber: person.addresseeNumber,
      itemNo: 2,
      data: TAX_2025,
    });
    const provided = provisionRequest(person.personCode);
    await h.client.post('/network/v1/provision-requests', provided);
    const asked = await h.client.post<{ processingNumber: string }>(
      '/business/v1/inquiries',
      harnessInquiry(person.addresseeNumber),
    );
    const unknown = uuidv7();
    const answer = await h.client.post<RecordCheckAnswer>('/network/v1/record-checks', {
      processingNumbers: [provided.processingNumber, asked.processingNumber, unknown],
    });
    expect(RecordCheckAnswer.parse(answer)).toEqual(answer);
    expect(answer.provider).toEqual([
      expect.objectContaining({
        processingNumber: provided.processingNumber,
        requesterId: '152048',
        clauseNo: '74',
        procedureId: '074-01',
        itemNos: [2],
        outcome: 'provided',
        answers: 1,
      }),
    ]);
    expect(answer.requester).toEqual([
      expect.objectContaining({
        processingNumber: asked.processingNumber,
        opened: 'inquiry_sent',
        providerId: '152048',
        outcome: 'pending',
      }),
    ]);
    // Neither role knows the third: absent from both lists, which is how the core tells "missing".
    expect(JSON.stringify(answer)).not.toContain(unknown);
    expect(JSON.stringify(answer)).not.toContain(person.personCode);
    expect(JSON.stringify(answer)).not.toContain(person.addresseeNumber);
    // Asked for its own numbers of a period, it lists both exchanges, by role; of another period, none.
    const hour = 3_600_000;
    const around = (ms: number) => ({
      from: new Date(ms - hour).toISOString(),
      to: new Date(ms + hour).toISOString(),
    });
    const listed = await h.client.post<RecordCheckAnswer>('/network/v1/record-checks', {
      processingNumbers: [],
      numbered: around(Date.now()),
    });
    expect(listed.numbered).toEqual({
      requester: [asked.processingNumber],
      provider: [provided.processingNumber],
      truncated: false,
    });
    expect(listed.requester).toEqual([]);
    const earlier = await h.client.post<RecordCheckAnswer>('/network/v1/record-checks', {
      processingNumbers: [],
      numbered: around(Date.parse('2020-01-01T00:00:00Z')),
    });
    expect(earlier.numbered).toEqual({ requester: [], provider: [], truncated: false });
    expect(
      (
        await failure(
          h.client.post('/network/v1/record-checks', {
            processingNumbers: [],
            numbered: { from: '2025-06-01', to: 'tomorrow' },
          }),
        )
      ).code,
    ).toBe('ERR_VALIDATION');
    // More than one page's numbers at once is refused, as is anything but processing numbers.
    const tooMany = Array.from({ length: RECORD_CHECK_LIMIT + 1 }, () => uuidv7());
    expect(
      (await failure(h.client.post('/network/v1/record-checks', { processingNumbers: tooMany }))).code,
    ).toBe('ERR_VALIDATION');
    expect(
      (await failure(h.client.post('/network/v1/record-checks', { processingNumbers: [person.personCode] })))
        .code,
    ).toBe('ERR_VALIDATION');
  });
});
