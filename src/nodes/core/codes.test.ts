import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  newAcquisitionNumber,
  startStandIn,
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

let net: TwoMunicipalities;
let core: TestCore;
let a: StandIn; // 131016 (the network's x)
let b: StandIn; // 132012 (the network's a)

beforeEach(async () => {
  net = await startTwoMunicipalities({ codes: 'none' });
  ({ core, x: a, a: b } = net);
});

afterEach(() => net.dispose());

const city = (id: string, standIn: StandIn) => ({ id, standIn });

describe('code issuance', () => {
  it('delivers the code to the institution and only the acquisition number to J-LIS', async () => {
    const acquisitionNumber = newAcquisitionNumber();
    const { status, body } = await core.call('POST', '/v1/code-issuances', {
      institutionId: '131016',
      acquisitionNumber,
      residentRecordCode: '12345678901',
    });
    expect(status).toBe(200);
    expect(body).toEqual({ acquisitionNumber, status: 'delivered' });
    expect(a.deliveries).toHaveLength(1);
    expect(a.deliveries[0]?.personCode).toMatch(/^[A-Za-z0-9_-]{44}$/);
  });

  it('gives each institution a different code for the same person', async () => {
    const atA = await core.issue(city('131016', a), '12345678901');
    const atB = await core.issue(city('132012', b), '12345678901');
    expect(atA).not.toBe(atB);
  });

  it('gives an institution the same code for the same person every time', async () => {
    const first = await core.issue(city('131016', a), '12345678901');
    const second = await core.issue(city('131016', a), '12345678901');
    const other = await core.issue(city('131016', a), '98765432109');
    expect(second).toBe(first);
    expect(other).not.toBe(first);
  });

  it('creates one linking code when issuances for a new person race', async () => {
    const issued = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        core.issue(city(i % 2 ? '131016' : '132012', i % 2 ? a : b), '55555555555'),
      ),
    );
    expect(new Set(issued.filter((_, i) => i % 2 === 1)).size).toBe(1);
    expect(new Set(issued.filter((_, i) => i % 2 === 0)).size).toBe(1);
  });

  it('refuses an issuance for an unregistered institution', async () => {
    const { status, body } = await core.call<{ error: { code: string } }>('POST', '/v1/code-issuances', {
      institutionId: '999999',
      acquisitionNumber: newAcquisitionNumber(),
      residentRecordCode: '12345678901',
    });
    expect(status).toBe(422);
    expect(body.error.code).toBe('ERR_UNKNOWN_INSTITUTION');
  });

  it('answers ERR_UPSTREAM_UNAVAILABLE when the institution cannot be reached', async () => {
    const gone = await startStandIn();
    await core.register('011002', 'municipality', gone.url);
    await gone.close();
    const { status, body } = await core.call<{ error: { code: string; message: string } }>(
      'POST',
      '/v1/code-issuances',
      {
        institutionId: '011002',
        acquisitionNumber: newAcquisitionNumber(),
        residentRecordCode: '12345678901',
      },
    );
    expect(status).toBe(502);
    expect(body.error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(JSON.stringify(body)).not.toContain('12345678901');
  });

  it('stores no resident record code in clear', async () => {
    const residentRecordCodes = ['12345678901', '23456789012', '34567890123'];
    for (const code of residentRecordCodes) await core.issue(city('131016', a), code);
    await core.close(); // checkpoint the WAL into the database file
    const bytes = await core.databaseText();
    expect(bytes.length).toBeGreaterThan(0);
    for (const code of residentRecordCodes) expect(bytes.includes(code)).toBe(false);
    // Nor the codes derived from them: the core stores no persons × institutions table.
    for (const delivery of a.deliveries) expect(bytes.includes(delivery.personCode)).toBe(false);
  });
});

describe('code reissue', () => {
  it('refuses more than 1000 codes in one reissue', async () => {
    const code = await core.issue(city('131016', a), '12345678901');
    const { status, body } = await core.call<{ error: { code: string } }>('POST', '/v1/code-reissues', {
      institutionId: '131016',
      personCodes: Array.from({ length: 1001 }, () => code),
    });
    expect(status).toBe(400);
    expect(body.error.code).toBe('ERR_VALIDATION');
  });

  it("answers null for a code that is not the institution's", async () => {
    const own = await core.issue(city('131016', a), '12345678901');
    const foreign = await core.issue(city('132012', b), '12345678901');
    const { status, body } = await core.call<{ keyVersion: number; personCodes: (string | null)[] }>(
      'POST',
      '/v1/code-reissues',
      { institutionId: '131016', personCodes: [own, foreign] },
    );
    expect(status).toBe(200);
    expect(body.keyVersion).toBe(1);
    expect(body.personCodes).toEqual([own, null]);
  });
});
