import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { importPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, startTestCore, type StandIn } from '../nodes/core/test-support.ts';
import { systemClock } from '../shared/clock.ts';
import { initPki, issuePartyCertificates, partyPaths } from '../trust/pki/index.ts';
import { verifyNetworkRecords } from './records.ts';

/**
 * The check of signed heads as `renkei records verify` runs it: a core that signs with the identity key
 * the network's PKI issued it, its database where a network keeps it, its certificate where the PKI
 * keeps it. (The demo network will sign once main.ts hands its nodes their keys.)
 */
let dataDir: string;
const standIns: StandIn[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'renkei-records-signed-'));
  const pki = join(dataDir, 'pki');
  await initPki({ dir: pki, clock: systemClock });
  for (const [partyId, role] of [
    ['core', 'core'],
    ['131016', 'institution'],
  ] as const) {
    await issuePartyCertificates({ dir: pki, partyId, role, clock: systemClock });
  }
  const key = await importPKCS8(readFileSync(partyPaths(pki, 'core').identityKey, 'utf8'), 'ES256');
  const core = await startTestCore({
    recordLog: { signer: { key, kid: 'core' }, everyAppends: 2, everyMs: 0 },
  });
  const [x, a] = [await startStandIn(), await startStandIn()];
  standIns.push(x, a);
  await core.register('131016', 'municipality', x.url);
  await core.register('132012', 'municipality', a.url);
  const personCode = await core.issue({ id: '131016', standIn: x }, '12345678901');
  for (const clauseNo of ['74', '999']) {
    await core.call('POST', '/v1/inquiries', {
      requesterId: '131016',
      providerId: '132012',
      personCode,
      clauseNo,
      procedureId: '074-01',
      itemNos: [2],
      nonDisclosure: false,
    });
    await core.core.whenIdle();
  }
  await core.close();
  mkdirSync(join(dataDir, 'core'));
  copyFileSync(join(core.dir, 'core.sqlite'), join(dataDir, 'core', 'core.sqlite'));
  rmSync(core.dir, { recursive: true, force: true });
});

afterAll(async () => {
  for (const s of standIns) await s.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('verifying signed tree heads with the party certificate', () => {
  it('checks the core heads with the public key of its identity certificate', async () => {
    const report = await verifyNetworkRecords({ dataDir });
    const [core] = report.parties;
    expect(core).toMatchObject({ party: 'core', findings: [], heads: { status: 'signed' } });
    expect(core?.heads.verified).toBeGreaterThanOrEqual(2);
    expect(core?.key).toContain('identity-cert.pem');
  });

  it("refuses another party's certificate put in the core's place, and checks no head with it", async () => {
    const copy = mkdtempSync(join(tmpdir(), 'renkei-records-forged-'));
    try {
      cpSync(dataDir, copy, { recursive: true });
      copyFileSync(
        partyPaths(join(copy, 'pki'), '131016').identityCert,
        partyPaths(join(copy, 'pki'), 'core').identityCert,
      );
      const report = await verifyNetworkRecords({ dataDir: copy });
      expect(report.parties[0]?.findings.map((f) => f.kind)).toEqual(['certificate-untrusted']);
      expect(report.parties[0]?.heads.status).toBe('unchecked');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('names a tree head row forged without the key', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'renkei-records-forged-'));
    try {
      cpSync(dataDir, copy, { recursive: true });
      const db = new Database(join(copy, 'core', 'core.sqlite'));
      const head = db.prepare('SELECT * FROM tree_heads ORDER BY tree_size DESC LIMIT 1').get() as {
        jws: string;
      };
      const [h, p, sig] = head.jws.split('.') as [string, string, string];
      const forgedSig = sig.slice(0, -4) + (sig.endsWith('AAAA') ? 'BBBB' : 'AAAA');
      db.prepare('INSERT INTO tree_heads VALUES (99, ?, 1, ?, ?)').run(
        '00'.repeat(32),
        'core',
        `${h}.${p}.${forgedSig}`,
      );
      db.close();
      const report = await verifyNetworkRecords({ dataDir: copy });
      expect(report.parties[0]?.findings.map((f) => f.kind)).toEqual(['head-signature-invalid']);
      expect(report.parties[0]?.findings[0]?.message).toContain('size 99');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
