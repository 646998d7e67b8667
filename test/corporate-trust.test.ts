/**
 * The corporate-number service on the trust layer, as an attacker and as a member of the public try
 * it: lookups answer anyone (no certificate needed: the Corporate Number is public by law), while
 * designations and changes answer only the NTA's business credential, every other party of the
 * network is refused, and each refusal is recorded in the service's security log.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../src/domain/legal-table/index.ts';
import { launchNetwork, type Network } from '../src/network/launch.ts';
import { DEMO_INSTITUTIONS } from '../src/network/world.ts';
import { corporateApi } from '../src/protocol/routes.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { attemptWith, credentialOf, type Attempt } from './support/attacker.ts';

const dir = mkdtempSync(join(tmpdir(), 'renkei-corporate-trust-'));
let network: Network;
let ca: string;
let base: string;
const attempt = (path: string, options: Attempt = {}) => attemptWith(ca, `${base}${path}`, options);

const DESIGNATION = {
  kind: '305',
  name: '合同会社ためし',
  location: {
    prefecture: '東京都',
    city: '新宿区',
    street: '西新宿1丁目1番1号',
    prefectureCode: '13',
    cityCode: '104',
  },
};

beforeAll(async () => {
  network = await launchNetwork({
    dataDir: dir,
    legalTable: loadLegalTable(),
    institutions: DEMO_INSTITUTIONS.filter((i) => i.id === '131041' || i.id === '152048'),
    basePort: 0,
    corporate: { demoCorporations: 0 },
  });
  ca = readFileSync(pkiPaths(network.pkiDir ?? '').caBundle, 'utf8');
  base = network.corporate?.url ?? '';
});

afterAll(async () => {
  await network.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The service dates changes by the Japanese calendar day. */
function todayInJapan(): string {
  return new Date(Date.now() + 9 * 3600_000).toISOString().slice(0, 10);
}

function refusals(): string[] {
  const db = new SQLite(join(dir, 'corporate', 'security.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('select code from security_events order by rowid').all() as { code: string }[]).map(
      (r) => r.code,
    );
  } finally {
    db.close();
  }
}

describe('the corporate-number service on the trust layer', () => {
  it('answers lookups to anyone, with no certificate', async () => {
    const shown = await attempt('/corporate/v1/corporations/7000012050002');
    expect(shown.status).toBe(200);
    expect(JSON.parse(shown.text)).toMatchObject({ name: '国税庁' });
    const found = await attempt(`/corporate/v1/corporations?name=${encodeURIComponent('とよた')}`);
    const page = JSON.parse(found.text) as { corporations: { corporateNumber: string }[] };
    expect(page.corporations.map((c) => c.corporateNumber)).toEqual(['1180301018771']);
  });

  it('takes designations and changes from the NTA’s business credential only, and records every refusal', async () => {
    const writes = Object.values(corporateApi).filter((route) => route.method === 'POST');
    expect(writes.map((r) => r.name).sort()).toEqual(['changeCorporation', 'designateCorporation']);
    const paths = {
      designateCorporation: '/corporate/v1/corporations',
      changeCorporation: '/corporate/v1/corporations/7000012050002/changes',
    } as const;
    const others = [
      'core',
      'jlis',
      '131041',
      '131041:business',
      '152048:business',
      'operator:registry:demo',
      'operator:audit:demo',
    ];
    for (const route of writes) {
      const path = paths[route.name as keyof typeof paths];
      const before = refusals().length;
      expect((await attempt(path, { json: DESIGNATION })).code).toBe('ERR_CLIENT_CERT_REQUIRED');
      for (const party of others) {
        const result = await attempt(path, {
          json: DESIGNATION,
          as: credentialOf(network.pkiDir ?? '', party),
        });
        expect(result.code, `${route.name} as ${party}`).toBe('ERR_CALLER_NOT_ALLOWED');
      }
      expect(refusals().length).toBe(before + 1 + others.length);
    }
    const nta = credentialOf(network.pkiDir ?? '', 'nta:business');
    const designated = await attempt(paths.designateCorporation, { json: DESIGNATION, as: nta });
    expect(designated.status).toBe(201);
    const number = (JSON.parse(designated.text) as { corporateNumber: string }).corporateNumber;
    const renamed = await attempt(`/corporate/v1/corporations/${number}/changes`, {
      json: { process: '11', changeDate: todayInJapan(), name: '合同会社ためし二' },
      as: nta,
    });
    expect(renamed.status).toBe(201);
    const after = JSON.parse((await attempt(`/corporate/v1/corporations/${number}`)).text) as {
      name: string;
    };
    expect(after.name).toBe('合同会社ためし二');
  });
});
