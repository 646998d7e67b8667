import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProvisionRequest } from '../../protocol/messages.ts';
import type { Institution } from './model.ts';
import {
  startStandIn,
  startTestCore,
  startTwoMunicipalities,
  type StandIn,
  type TestCore,
  type TwoMunicipalities,
} from './test-support.ts';

let core: TestCore;
let x: StandIn;
let a: StandIn;

describe('institution registry', () => {
  beforeEach(async () => {
    core = await startTestCore();
    x = await startStandIn();
    a = await startStandIn();
  });

  afterEach(async () => {
    await core.dispose();
    await Promise.all([x.close(), a.close()]);
  });

  it('registers, updates and lists institutions, keeping the key version', async () => {
    const registration = {
      name: '千代田区',
      nameEn: 'Chiyoda City',
      kind: 'municipality',
      networkUrl: x.url,
    };
    const created = await core.call<Institution>('PUT', '/admin/v1/institutions/131016', registration);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: '131016', name: '千代田区', keyVersion: 1 });

    await core.call('POST', '/admin/v1/institutions/131016/key-rotations');
    const updated = await core.call<Institution>('PUT', '/admin/v1/institutions/131016', {
      ...registration,
      networkUrl: a.url,
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      networkUrl: a.url,
      keyVersion: 2,
      createdAt: created.body.createdAt,
    });

    const list = await core.call<{ institutions: Institution[] }>('GET', '/admin/v1/institutions');
    expect(list.body.institutions.map((i) => i.id)).toEqual(['131016']);
    const one = await core.call<Institution>('GET', '/admin/v1/institutions/131016');
    expect(one.body.networkUrl).toBe(a.url);
  });

  it('refuses unknown and malformed institutions', async () => {
    const unknown = await core.call<{ error: { code: string } }>('GET', '/admin/v1/institutions/999999');
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'ERR_UNKNOWN_INSTITUTION']);
    const rotation = await core.call<{ error: { code: string } }>(
      'POST',
      '/admin/v1/institutions/999999/key-rotations',
    );
    expect(rotation.body.error.code).toBe('ERR_UNKNOWN_INSTITUTION');
    const badId = await core.call<{ error: { code: string } }>('PUT', '/admin/v1/institutions/Bad_Id', {
      name: 'x',
      nameEn: 'x',
      kind: 'municipality',
      networkUrl: x.url,
    });
    expect([badId.status, badId.body.error.code]).toEqual([400, 'ERR_VALIDATION']);
    const badBody = await core.call<{ error: { code: string } }>('PUT', '/admin/v1/institutions/131016', {
      name: 'x',
      kind: 'castle',
    });
    expect([badBody.status, badBody.body.error.code]).toEqual([400, 'ERR_VALIDATION']);
  });
});

describe('key rotation', () => {
  let net: TwoMunicipalities;

  beforeEach(async () => {
    net = await startTwoMunicipalities({ codes: 'both' });
    ({ core, x, a } = net);
  });

  afterEach(() => net.dispose());

  /** The provision request the provider received for an inquiry under `requesterCode`. */
  async function forwarded(requesterCode: string): Promise<ProvisionRequest | undefined> {
    const before = a.provisionRequests.length;
    const { status } = await core.call('POST', '/v1/inquiries', net.inquiry({ personCode: requesterCode }));
    if (status !== 202) return undefined;
    await core.core.whenIdle();
    expect(a.provisionRequests).toHaveLength(before + 1);
    return a.provisionRequests.at(-1);
  }

  async function forwardedCode(requesterCode: string): Promise<string | undefined> {
    return (await forwarded(requesterCode))?.personCode;
  }

  async function reissue(institutionId: string, codes: string[]): Promise<(string | null)[]> {
    const { status, body } = await core.call<{ personCodes: (string | null)[] }>(
      'POST',
      '/v1/code-reissues',
      {
        institutionId,
        personCodes: codes,
      },
    );
    expect(status).toBe(200);
    return body.personCodes;
  }

  async function complete(institutionId: string, keyVersion: number) {
    return core.call<{ rekeyedVersion: number; error?: { code: string } }>(
      'POST',
      '/v1/code-reissues/completions',
      { institutionId, keyVersion },
    );
  }

  async function rotate(institutionId: string) {
    return core.call<{ keyVersion: number; error?: { code: string } }>(
      'POST',
      `/admin/v1/institutions/${institutionId}/key-rotations`,
    );
  }

  it('keeps working after key rotation', async () => {
    const { code: oldCode, providerCode } = net;

    const rotated = await rotate('131016');
    expect(rotated.body).toEqual({ institutionId: '131016', keyVersion: 2 });

    // The previous version still works while the institution re-keys its table…
    expect(await forwardedCode(oldCode)).toBe(providerCode);
    // …which it does through reissue: old code → new code, for the same person.
    const [newCode] = await reissue('131016', [oldCode]);
    expect(newCode).toBeTruthy();
    expect(newCode).not.toBe(oldCode);
    expect(Buffer.from(newCode ?? '', 'base64url')[0]).toBe(2);
    expect(await forwardedCode(newCode ?? '')).toBe(providerCode);
    // New issuances are under the new version.
    expect(await core.issue({ id: '131016', standIn: x }, '12345678901')).toBe(newCode);

    // Until the institution says it has re-keyed, its key cannot rotate again…
    const early = await rotate('131016');
    expect([early.status, early.body.error?.code]).toEqual([409, 'ERR_REKEY_PENDING']);
    // …and a completion under a version it is not at is refused.
    const stale = await complete('131016', 1);
    expect([stale.status, stale.body.error?.code]).toEqual([409, 'ERR_KEY_VERSION_CHANGED']);
    expect((await complete('131016', 2)).body.rekeyedVersion).toBe(2);

    // A second rotation ends the old version's grace for inquiries; reissue still rescues it.
    expect((await rotate('131016')).body.keyVersion).toBe(3);
    const refused = await core.call<{ error: { code: string } }>(
      'POST',
      '/v1/inquiries',
      net.inquiry({ personCode: oldCode }),
    );
    expect(refused.body.error.code).toBe('ERR_UNKNOWN_PERSON_CODE');
    const [third] = await reissue('131016', [oldCode]);
    expect(await forwardedCode(third ?? '')).toBe(providerCode);
  });

  it('sends a rotated provider both versions of the code until it has re-keyed', async () => {
    const { code: requesterCode, providerCode } = net;

    const before = await forwarded(requesterCode);
    expect(before?.personCode).toBe(providerCode);
    expect(before?.previousPersonCode).toBeUndefined();

    await rotate('132012');
    // The provider still holds the version-1 code: the core sends it beside the current one.
    const [current] = await reissue('132012', [providerCode]);
    const during = await forwarded(requesterCode);
    expect(during?.personCode).toBe(current);
    expect(during?.previousPersonCode).toBe(providerCode);

    expect((await complete('132012', 2)).status).toBe(200);
    const after = await forwarded(requesterCode);
    expect(after?.personCode).toBe(current);
    expect(after?.previousPersonCode).toBeUndefined();
  });
});
