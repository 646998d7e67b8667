import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InquiryRequest } from '../../network/messages.ts';
import type { Institution } from './model.ts';
import { startStandIn, startTestCore, type StandIn, type TestCore } from './test-support.ts';

let core: TestCore;
let x: StandIn;
let a: StandIn;

beforeEach(async () => {
  core = await startTestCore();
  x = await startStandIn();
  a = await startStandIn();
});

afterEach(async () => {
  await core.dispose();
  await Promise.all([x.close(), a.close()]);
});

describe('institution registry', () => {
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
  function inquiry(requesterCode: string): InquiryRequest {
    return {
      requesterId: '131016',
      providerId: '132012',
      personCode: requesterCode,
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      nonDisclosure: false,
    };
  }

  async function forwardedCode(requesterCode: string): Promise<string | undefined> {
    const before = a.provisionRequests.length;
    const { status } = await core.call('POST', '/v1/inquiries', inquiry(requesterCode));
    if (status !== 202) return undefined;
    await core.core.whenIdle();
    expect(a.provisionRequests).toHaveLength(before + 1);
    return a.provisionRequests.at(-1)?.personCode;
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

  it('keeps working after key rotation', async () => {
    await core.register('131016', 'municipality', x.url);
    await core.register('132012', 'municipality', a.url);
    const oldCode = await core.issue({ id: '131016', standIn: x }, '12345678901');
    const providerCode = await core.issue({ id: '132012', standIn: a }, '12345678901');

    const rotated = await core.call<{ keyVersion: number }>(
      'POST',
      '/admin/v1/institutions/131016/key-rotations',
    );
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

    // The provider rotates too: it is now sent its new code, the one its own reissue gives it.
    await core.core.services.registry.rotateInstitutionKey('132012');
    const [newProviderCode] = await reissue('132012', [providerCode]);
    expect(await forwardedCode(newCode ?? '')).toBe(newProviderCode);

    // A second rotation ends the old version's grace for inquiries; reissue still rescues it.
    await core.core.services.registry.rotateInstitutionKey('131016');
    const refused = await core.call<{ error: { code: string } }>('POST', '/v1/inquiries', inquiry(oldCode));
    expect(refused.body.error.code).toBe('ERR_UNKNOWN_PERSON_CODE');
    const [third] = await reissue('131016', [oldCode]);
    expect(await forwardedCode(third ?? '')).toBe(newProviderCode);
  });
});
