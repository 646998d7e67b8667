import { generateKeyPairSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { RenkeiError } from '../../shared/errors.ts';
import { decryptForRecipient, encryptForRecipient } from './item-encryption.ts';
import { importPrivateKeyPem, importPublicKeyPem } from './keys.ts';
import { b64json, fromB64json, makeParty } from './test-support.ts';

/** The requester's encryption key pair (apart from its signing key) and a provider's answer. */
const requester = makeParty('jps', 'jps-enc-01');
const PN = '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e';
const OTHER_PN = '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0f';
const ITEMS = [{ itemNo: 2, layoutVersion: '2026.1', data: { taxableIncome: 4_210_000, name: '渡辺 花子' } }];

const seal = (options: { kid?: string; processingNumber?: string } = {}) =>
  encryptForRecipient(ITEMS, requester.publicKey, { kid: requester.kid, processingNumber: PN, ...options });

async function refusal(promise: Promise<unknown>): Promise<RenkeiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RenkeiError)) throw new Error(`expected a RenkeiError, got ${String(error)}`);
  expect(error.code).toBe('ERR_DECRYPTION_FAILED');
  return error;
}

/** Replaces part `index` (0 header, 1 key, 2 IV, 3 ciphertext, 4 tag) of a compact JWE. */
function withPart(jwe: string, index: number, change: (bytes: Buffer) => Buffer | string): string {
  const parts = jwe.split('.');
  const changed = change(Buffer.from(parts[index] ?? '', 'base64url'));
  parts[index] = typeof changed === 'string' ? changed : changed.toString('base64url');
  return parts.join('.');
}

const flipFirstBit = (bytes: Buffer) => {
  bytes[0] = (bytes[0] ?? 0) ^ 0x01;
  return bytes;
};

describe('items encrypted for the requester', () => {
  it('decrypts to the items the provider encrypted', async () => {
    const jwe = await seal();
    expect(
      await decryptForRecipient(jwe, requester.privateKey, {
        expectedKid: 'jps-enc-01',
        processingNumber: PN,
      }),
    ).toEqual(ITEMS);
  });

  it('works with keys imported from PEM for encryption', async () => {
    const publicKey = await importPublicKeyPem(requester.publicKeyPem, 'encrypt');
    const privateKey = await importPrivateKeyPem(requester.privateKeyPem, 'encrypt');
    const jwe = await encryptForRecipient(ITEMS, publicKey, { kid: requester.kid });
    expect(await decryptForRecipient(jwe, privateKey)).toEqual(ITEMS);
  });

  it('writes the documented header: ECDH-ES, A256GCM, the recipient’s kid, an ephemeral P-256 key, the processing number', async () => {
    const header = fromB64json((await seal()).split('.')[0] ?? '');
    expect(Object.keys(header).sort()).toEqual(['alg', 'enc', 'epk', 'kid', 'pn']);
    expect(header).toMatchObject({ alg: 'ECDH-ES', enc: 'A256GCM', kid: 'jps-enc-01', pn: PN });
    expect(header.epk).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect((await seal()).split('.')[1]).toBe(''); // direct key agreement: no encrypted key
  });

  it('gives a relay nothing of the items: no value appears in the JWE or in any of its decoded parts', async () => {
    const jwe = await seal();
    const decoded = jwe.split('.').map((part) => Buffer.from(part, 'base64url').toString('latin1'));
    for (const text of [jwe, ...decoded]) {
      expect(text).not.toContain('4210000');
      expect(text).not.toContain('taxableIncome');
      expect(text).not.toContain(Buffer.from('渡辺').toString('latin1'));
    }
  });
});

describe('items encrypted with node:crypto, checked against jose', () => {
  it('is opened by jose, and opens what jose seals, for keys of either kind', async () => {
    const imported = {
      publicKey: await importPublicKeyPem(
        requester.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        'encrypt',
      ),
      privateKey: await importPrivateKeyPem(
        requester.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        'encrypt',
      ),
    };
    for (const keys of [requester, imported]) {
      const ours = await encryptForRecipient(ITEMS, keys.publicKey, {
        kid: requester.kid,
        processingNumber: PN,
      });
      const { plaintext } = await compactDecrypt(ours, keys.privateKey);
      expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(ITEMS);

      const theirs = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(ITEMS)))
        .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid: requester.kid, pn: PN })
        .encrypt(keys.publicKey);
      expect(await decryptForRecipient(theirs, keys.privateKey, { processingNumber: PN })).toEqual(ITEMS);
    }
  });

  it('refuses a tag cut short, which GCM would otherwise check on fewer bits (ERR_DECRYPTION_FAILED)', async () => {
    const jwe = await seal();
    await refusal(
      decryptForRecipient(
        withPart(jwe, 4, (tag) => tag.subarray(0, 12)),
        requester.privateKey,
        { processingNumber: PN },
      ),
    );
    await refusal(
      decryptForRecipient(
        withPart(jwe, 2, (iv) => iv.subarray(0, 8)),
        requester.privateKey,
        { processingNumber: PN },
      ),
    );
  });
});

describe('decryption fails closed', () => {
  it('refuses another recipient’s key (ERR_DECRYPTION_FAILED)', async () => {
    const other = makeParty('131016', 'jps-enc-01');
    expect(
      (await refusal(decryptForRecipient(await seal(), other.privateKey, { processingNumber: PN }))).details,
    ).toEqual({
      reason: 'decryption',
    });
  });

  it.each([
    ['the ciphertext', 3],
    ['the authentication tag', 4],
    ['the IV', 2],
  ])('refuses a JWE whose %s was altered by one bit (ERR_DECRYPTION_FAILED)', async (_, index) => {
    const altered = withPart(await seal(), index, flipFirstBit);
    await refusal(decryptForRecipient(altered, requester.privateKey, { processingNumber: PN }));
  });

  it('refuses a ciphertext a relay moved to another inquiry by rewriting its header (ERR_DECRYPTION_FAILED)', async () => {
    const moved = withPart(await seal(), 0, (bytes) =>
      b64json({ ...(JSON.parse(bytes.toString()) as object), pn: OTHER_PN }),
    );
    const error = await refusal(
      decryptForRecipient(moved, requester.privateKey, { processingNumber: OTHER_PN }),
    );
    expect(error.details).toEqual({ reason: 'decryption' });
  });

  it('refuses a ciphertext presented under another processing number, or with none (ERR_DECRYPTION_FAILED)', async () => {
    const jwe = await seal();
    const error = await refusal(
      decryptForRecipient(jwe, requester.privateKey, { processingNumber: OTHER_PN }),
    );
    expect(error.details).toEqual({ reason: 'other_processing_number' });
    await refusal(decryptForRecipient(jwe, requester.privateKey));
    const unbound = await seal({ processingNumber: undefined });
    await refusal(decryptForRecipient(unbound, requester.privateKey, { processingNumber: PN }));
  });

  it('refuses a JWE for another of our certificates than the expected one (ERR_DECRYPTION_FAILED)', async () => {
    const error = await refusal(
      decryptForRecipient(await seal(), requester.privateKey, {
        expectedKid: 'jps-enc-02',
        processingNumber: PN,
      }),
    );
    expect(error.details).toEqual({ reason: 'other_kid' });
  });

  it.each([
    ['ECDH-ES+A256KW', { alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }],
    ['A128GCM', { alg: 'ECDH-ES', enc: 'A128GCM' }],
    ['A256CBC-HS512', { alg: 'ECDH-ES', enc: 'A256CBC-HS512' }],
  ])('refuses %s, which is not the algorithm pair we use (ERR_DECRYPTION_FAILED)', async (_, algorithms) => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(ITEMS)))
      .setProtectedHeader({ ...algorithms, kid: requester.kid })
      .encrypt(requester.publicKey);
    expect(await decryptForRecipient(jwe, requester.privateKey).catch((e: unknown) => e)).toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
  });

  it('refuses a JWE whose plaintext is not JSON (ERR_DECRYPTION_FAILED)', async () => {
    const jwe = await new CompactEncrypt(new TextEncoder().encode('not json'))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', kid: requester.kid })
      .encrypt(requester.publicKey);
    expect((await refusal(decryptForRecipient(jwe, requester.privateKey))).details).toEqual({
      reason: 'not_json',
    });
  });

  it.each(['', 'hello', 'a.b.c.d.e', 'eyJ9..a.b', 'a..b.c.d.e'])(
    'refuses %j, which is not a compact JWE (ERR_DECRYPTION_FAILED)',
    async (text) => {
      expect((await refusal(decryptForRecipient(text, requester.privateKey))).details).toEqual({
        reason: 'not_compact',
      });
    },
  );

  it('refuses a JWE with an encrypted key, which direct ECDH-ES never has (ERR_DECRYPTION_FAILED)', async () => {
    const withKey = withPart(await seal(), 1, () => 'AAAA');
    await refusal(decryptForRecipient(withKey, requester.privateKey, { processingNumber: PN }));
  });

  it('refuses to encrypt to a key on another curve, which the recipient would refuse', async () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    await expect(encryptForRecipient(ITEMS, publicKey, { kid: 'x' })).rejects.toThrow(TypeError);
  });

  it('treats a bad kid or processing number, or a value JSON cannot hold, as a caller mistake', async () => {
    await expect(seal({ kid: 'a b' })).rejects.toThrow(TypeError);
    await expect(seal({ processingNumber: '42' })).rejects.toThrow(TypeError);
    await expect(encryptForRecipient(undefined, requester.publicKey, { kid: 'k' })).rejects.toThrow(
      TypeError,
    );
  });
});
