/**
 * Versions of the legal table at the core (SQLite and PostgreSQL): the start files stored as the base
 * version; a new version validated whole before it is stored, refused otherwise with the loader's
 * error; a day in the past refused; and each inquiry decided under the version in force on its JST
 * day, its record carrying that version's digest. Who may call the admin routes is checked for every
 * route by test/trust.test.ts ("every route refuses other callers") over the trust layer.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { legalTableFromFiles } from '../../domain/legal-table/load.ts';
import type { LegalVersionFiles, LegalVersionList } from '../../protocol/admin.ts';
import type { ProvisionRecord } from './model.ts';
import type { CoreStore } from './store.ts';
import {
  startTwoMunicipalities,
  testLegalFiles,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

const BASE = testLegalFiles();
/** Version B: clause 74 (児童手当) asked by prefectures only, so a municipality's inquiry is refused. */
const B = testLegalFiles(({ clauses }) => {
  const clause = (clauses as { clauseNo: string; requester: unknown }[]).find((c) => c.clauseNo === '74');
  if (clause) clause.requester = { kinds: ['prefecture'], institutions: [] };
});

let net: TwoMunicipalities;
let core: TestCore;

beforeEach(async () => {
  net = await startTwoMunicipalities({ legalTable: legalTableFromFiles(BASE) });
  ({ core } = net);
  await core.core.services.legalVersions.open();
});

afterEach(() => net.dispose());

async function inquireAt(at: string): Promise<ProvisionRecord> {
  core.clock.set(at);
  const pn = await net.inquireSettled();
  const { body: list } = await core.call<{ records: ProvisionRecord[] }>(
    'GET',
    '/admin/v1/provision-records',
  );
  const record = list.records.find((r) => r.processingNumber === pn);
  if (!record) throw new Error('no record');
  return record;
}

const versions = async () =>
  (await core.call<LegalVersionList>('GET', '/admin/v1/legal-versions')).body.versions;

describe('legal table versions', () => {
  it('stores the files the core started with as the base version, in force from its first clause', async () => {
    const [base, ...others] = await versions();
    expect(others).toEqual([]);
    expect(base).toMatchObject({
      digest: legalTableFromFiles(BASE).digest,
      effectiveFrom: '2015-01-01',
      loadedBy: 'start',
      status: 'in_force',
      counts: { clauses: 2, procedures: 2, items: 3 },
    });
    const { status, body } = await core.call<LegalVersionFiles>(
      'GET',
      `/admin/v1/legal-versions/${base?.digest}`,
    );
    expect(status).toBe(200);
    expect(body.files).toEqual(BASE);
  });

  it('refuses a version that breaks a rule with the loader’s error, and stores nothing', async () => {
    const broken = testLegalFiles(({ procedures }) => {
      (procedures[0] as { itemNos: number[] }).itemNos.push(999);
    });
    const { status, body } = await core.call<{ error: { code: string; message: string } }>(
      'POST',
      '/admin/v1/legal-versions',
      { effectiveFrom: '2025-07-01', files: broken },
    );
    expect(status).toBe(422);
    expect(body.error.code).toBe('ERR_LEGAL_TABLE_INVALID');
    expect(body.error.message).toContain('item 999 is not defined in legal/items.yaml');
    const notYaml = await core.call<{ error: { code: string } }>('POST', '/admin/v1/legal-versions', {
      effectiveFrom: '2025-07-01',
      files: { ...BASE, items: 'items: [unclosed' },
    });
    expect(notYaml.body.error.code).toBe('ERR_LEGAL_TABLE_INVALID');
    expect(await versions()).toHaveLength(1);
  });

  it('refuses a day in the past (JST), and takes today at once', async () => {
    // 2025-06-01T01:00Z is 2025-06-01 10:00 in Japan.
    const past = await core.call<{ error: { code: string; message: string } }>(
      'POST',
      '/admin/v1/legal-versions',
      {
        effectiveFrom: '2025-05-31',
        files: B,
      },
    );
    expect(past.status).toBe(400);
    expect(past.body.error.message).toContain('in the past');
    expect(await versions()).toHaveLength(1);
    const today = await core.call<{ version: { status: string } }>('POST', '/admin/v1/legal-versions', {
      effectiveFrom: '2025-06-01',
      files: B,
    });
    expect(today.status).toBe(201);
    expect(today.body.version.status).toBe('in_force');
    expect((await inquireAt('2025-06-01T02:00:00.000Z')).reason).toBe('requester_not_allowed');
  });

  it('decides each inquiry under the version in force on its JST day, and records that digest', async () => {
    const loaded = await core.call<{ version: { digest: string; status: string }; stored: boolean }>(
      'POST',
      '/admin/v1/legal-versions',
      { effectiveFrom: '2025-06-10', files: B },
    );
    expect(loaded.status).toBe(201);
    expect(loaded.body).toMatchObject({ stored: true, version: { status: 'scheduled' } });
    const again = await core.call<{ stored: boolean }>('POST', '/admin/v1/legal-versions', {
      effectiveFrom: '2025-06-10',
      files: B,
    });
    expect(again.body.stored).toBe(false);

    const base = legalTableFromFiles(BASE).digest;
    const b = loaded.body.version.digest;
    expect(b).toBe(legalTableFromFiles(B).digest);
    // 2025-06-09 23:59 JST: still the base version.
    const before = await inquireAt('2025-06-09T14:59:00.000Z');
    expect(before).toMatchObject({ outcome: 'provided', legalTableDigest: base });
    // 2025-06-10 00:00 JST: version B, which refuses a municipality under clause 74.
    const after = await inquireAt('2025-06-09T15:00:00.000Z');
    expect(after).toMatchObject({ outcome: 'refused', reason: 'requester_not_allowed', legalTableDigest: b });
    expect((await versions()).map((v) => v.status)).toEqual(['superseded', 'in_force']);
  });

  it('reads versions stored by another core process (refresh)', async () => {
    const { legalVersions } = core.core.services;
    // As another process would: straight into the shared store, then the periodic read.
    const store = (legalVersions as unknown as { options: { store: CoreStore } }).options.store;
    await store.insertLegalVersion({
      digest: legalTableFromFiles(B).digest,
      effectiveFrom: '2025-06-05',
      loadedAt: '2025-06-01T01:00:00.000Z',
      loadedBy: 'operator:legal:elsewhere',
      files: B,
    });
    expect(legalVersions.tableOn(new Date('2025-06-06T00:00:00Z')).digest).toBe(
      legalTableFromFiles(BASE).digest,
    );
    await legalVersions.refresh();
    expect(legalVersions.tableOn(new Date('2025-06-06T00:00:00Z')).digest).toBe(
      legalTableFromFiles(B).digest,
    );
    expect(legalVersions.tableOn(new Date('2025-06-04T00:00:00Z')).digest).toBe(
      legalTableFromFiles(BASE).digest,
    );
  });
});
