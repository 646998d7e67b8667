/**
 * The operator's suspension of an institution (SQLite, and PostgreSQL in the suite's PostgreSQL run):
 * kept as a flag with its history (who, when, why); while it lasts every inquiry the institution
 * sends, and every inquiry addressed to it, is refused with ERR_INSTITUTION_SUSPENDED and recorded
 * (nothing reaches the provider), batches too; code issuances to it and its notices to residents are
 * refused; notices of change to it are held and delivered once it is reinstated. Who may call the
 * admin routes is checked for every route by test/trust.test.ts over the trust layer.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SuspensionHistory } from '../../protocol/admin.ts';
import type { InquiryBatchAccepted, InquiryRequest } from '../../protocol/messages.ts';
import type { z } from 'zod';
import type { ProvisionRecord } from './model.ts';
import {
  newAcquisitionNumber,
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

type History = z.infer<typeof SuspensionHistory>;
type Failure = { error: { code: string; details: Record<string, unknown> } };

let net: TwoMunicipalities;
let core: TestCore;
let x: StandIn;
let a: StandIn;
let code: string;
let inquiry: () => InquiryRequest;

beforeEach(async () => {
  net = await startTwoMunicipalities({ codes: 'both' });
  ({ core, x, a, code, inquiry } = net);
});

afterEach(() => net.dispose());

const change = (id: string, what: 'suspensions' | 'reinstatements', reason: string) =>
  core.call<History>('POST', `/admin/v1/institutions/${id}/${what}`, { reason });

async function record(processingNumber: string): Promise<ProvisionRecord | undefined> {
  const { body } = await core.call<{ records: ProvisionRecord[] }>('GET', '/admin/v1/provision-records');
  return body.records.find((r) => r.processingNumber === processingNumber);
}

describe('suspending an institution', () => {
  it('keeps the flag and who, when and why; a second suspension adds nothing', async () => {
    core.clock.set('2025-06-02T00:00:00.000Z');
    const suspended = await change('132012', 'suspensions', '情報漏えいの調査中');
    expect(suspended.status).toBe(200);
    expect(suspended.body.institution).toMatchObject({ id: '132012', suspended: true });
    expect(suspended.body.history).toEqual([
      {
        institutionId: '132012',
        action: 'suspended',
        reason: '情報漏えいの調査中',
        by: 'operator',
        at: '2025-06-02T00:00:00.000Z',
      },
    ]);
    core.clock.set('2025-06-02T00:01:00.000Z');
    expect((await change('132012', 'suspensions', 'again')).body.history).toHaveLength(1);
    const listed = await core.call<{ institutions: { id: string; suspended: boolean }[] }>(
      'GET',
      '/admin/v1/institutions',
    );
    expect(listed.body.institutions.map((i) => [i.id, i.suspended])).toEqual([
      ['131016', false],
      ['132012', true],
    ]);

    core.clock.set('2025-06-03T00:00:00.000Z');
    const reinstated = await change('132012', 'reinstatements', '調査完了');
    expect(reinstated.body.institution.suspended).toBe(false);
    expect(reinstated.body.history.map((e) => [e.action, e.reason, e.at])).toEqual([
      ['suspended', '情報漏えいの調査中', '2025-06-02T00:00:00.000Z'],
      ['reinstated', '調査完了', '2025-06-03T00:00:00.000Z'],
    ]);
    const read = await core.call<History>('GET', '/admin/v1/institutions/132012/suspensions');
    expect(read.body).toEqual(reinstated.body);
  });

  it('refuses an unknown institution and a missing reason', async () => {
    const unknown = await core.call<Failure>('POST', '/admin/v1/institutions/999999/suspensions', {
      reason: 'x',
    });
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'ERR_UNKNOWN_INSTITUTION']);
    const noReason = await core.call<Failure>('POST', '/admin/v1/institutions/132012/suspensions', {
      reason: '  ',
    });
    expect([noReason.status, noReason.body.error.code]).toEqual([400, 'ERR_VALIDATION']);
    expect((await core.call<History>('GET', '/admin/v1/institutions/132012/suspensions')).body).toMatchObject(
      {
        institution: { suspended: false },
        history: [],
      },
    );
  });

  for (const side of ['provider', 'requester'] as const) {
    it(`refuses and records every inquiry while the ${side} is suspended, and accepts it once reinstated`, async () => {
      const id = side === 'provider' ? '132012' : '131016';
      await change(id, 'suspensions', 'suspended for the test');
      const refused = await core.call<Failure>('POST', '/v1/inquiries', inquiry());
      expect([refused.status, refused.body.error.code]).toEqual([403, 'ERR_INSTITUTION_SUSPENDED']);
      expect(refused.body.error.details).toMatchObject({ institutionId: id, role: side });
      await core.core.whenIdle();
      expect(a.provisionRequests).toHaveLength(0);
      const pn = refused.body.error.details.processingNumber as string;
      expect(await record(pn)).toMatchObject({ outcome: 'refused', reason: 'ERR_INSTITUTION_SUSPENDED' });

      // A batch: every member refused and recorded, nothing forwarded.
      const batch = await core.call<InquiryBatchAccepted>('POST', '/v1/inquiry-batches', {
        ...inquiry(),
        personCode: undefined,
        batchId: '01930000-0000-7000-8000-00000000b0a1',
        personCodes: [code, code],
      });
      expect(batch.status).toBe(202);
      expect(batch.body.members.map((m) => [m.outcome, m.reason])).toEqual([
        ['refused', 'ERR_INSTITUTION_SUSPENDED'],
        ['refused', 'ERR_INSTITUTION_SUSPENDED'],
      ]);
      await core.core.whenIdle();
      expect(a.provisionBatches).toHaveLength(0);

      await change(id, 'reinstatements', 'done');
      const accepted = await core.call<{ processingNumber: string }>('POST', '/v1/inquiries', inquiry());
      expect(accepted.status).toBe(202);
      await core.core.whenIdle();
      expect(a.provisionRequests).toHaveLength(1);
      expect(await record(accepted.body.processingNumber)).toMatchObject({ outcome: 'provided' });
    });
  }

  it('holds notices of change to a suspended institution and delivers them once it is reinstated', async () => {
    await change('131016', 'suspensions', 'suspended for the test');
    const noticeId = randomUUID();
    const submitted = await core.call('POST', '/v1/resident-notices', {
      noticeId,
      residentRecordCode: '12345678901',
      kind: 'number_change',
      sealed: { '131016': 'aGVhZGVy..aXY.c2VhbGVk.dGFn', '132012': 'aGVhZGVy..aXY.c2VhbGVk.dGFn' },
    });
    expect(submitted.status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 400)); // several retries (test waits: 10–100 ms)
    expect(x.residentNotices).toHaveLength(0);
    expect(a.residentNotices).toHaveLength(1);
    await change('131016', 'reinstatements', 'done');
    await core.core.services.residentNotices.whenDelivered();
    expect(x.residentNotices.map((n) => n.noticeId)).toEqual([noticeId]);
  });

  it('refuses code issuances to a suspended institution and its notices to residents', async () => {
    await change('131016', 'suspensions', 'suspended for the test');
    const issued = await core.call<Failure>('POST', '/v1/code-issuances', {
      institutionId: '131016',
      acquisitionNumber: newAcquisitionNumber(),
      residentRecordCode: '23456789012',
    });
    expect([issued.status, issued.body.error.code]).toEqual([403, 'ERR_INSTITUTION_SUSPENDED']);
    expect(x.deliveries).toHaveLength(1); // the one code of beforeEach
    const notice = await core.call<Failure>('POST', '/v1/portal-notices', {
      senderId: '131016',
      noticeId: randomUUID(),
      personCode: code,
      sealed: 'aGVhZGVy..aXY.c2VhbGVk.dGFn',
    });
    expect([notice.status, notice.body.error.code]).toEqual([403, 'ERR_INSTITUTION_SUSPENDED']);
    await change('131016', 'reinstatements', 'done');
    expect(await core.issue({ id: '131016', standIn: x }, '23456789012')).toBeTruthy();
  });
});
