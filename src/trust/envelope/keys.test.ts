import 'reflect-metadata';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { RenkeiError } from '../../shared/errors.ts';
import { decryptForRecipient, encryptForRecipient } from './item-encryption.ts';
import { importCertificateKey, importPrivateKeyPem, importPublicKeyPem } from './keys.ts';
import { signMessage } from './sign-message.ts';
import { INQUIRY, frozenTime } from './test-support.ts';
import { verifyMessage } from './verify-message.ts';

/** A self-signed certificate for a fresh key on `namedCurve`, and that key's PKCS#8 PEM. */
async function certificate(
  namedCurve: 'P-256' | 'P-384',
): Promise<{ certPem: string; privateKeyPem: string }> {
  const crypto = webcrypto;
  x509.cryptoProvider.set(crypto);
  const algorithm = { name: 'ECDSA', namedCurve, hash: 'SHA-256' };
  const keys = await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=jps',
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2027-01-01T00:00:00Z'),
      keys,
      signingAlgorithm: algorithm,
    },
    crypto,
  );
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem'), privateKeyPem };
}

function pems(namedCurve: string) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

async function refusal(promise: Promise<unknown>): Promise<RenkeiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RenkeiError)) throw new Error(`expected a RenkeiError, got ${String(error)}`);
  expect(error.code).toBe('ERR_KEY_INVALID');
  return error;
}

describe('keys from PEM', () => {
  it('verifies a message with the key of the signer’s certificate', async () => {
    const { certPem, privateKeyPem } = await certificate('P-256');
    const { clock, replay } = frozenTime();
    const jws = await signMessage({
      type: 'InquiryRequest',
      payload: INQUIRY,
      sender: 'jps',
      audience: 'core',
      key: await importPrivateKeyPem(privateKeyPem, 'sign'),
      kid: '01',
      clock,
    });
    const publicKey = await importCertificateKey(certPem, 'sign');
    const verified = await verifyMessage(jws, {
      expectedType: 'InquiryRequest',
      audience: 'core',
      resolveKey: () => Promise.resolve(publicKey),
      replay,
      clock,
    });
    expect(verified.sender).toBe('jps');
  });

  it('encrypts to the key of the recipient’s certificate', async () => {
    const { certPem, privateKeyPem } = await certificate('P-256');
    const jwe = await encryptForRecipient({ a: 1 }, await importCertificateKey(certPem, 'encrypt'), {
      kid: '01',
    });
    expect(await decryptForRecipient(jwe, await importPrivateKeyPem(privateKeyPem, 'encrypt'))).toEqual({
      a: 1,
    });
  });

  it('refuses keys on another curve than P-256, for either use (ERR_KEY_INVALID)', async () => {
    const p384 = pems('P-384');
    const { certPem } = await certificate('P-384');
    for (const use of ['sign', 'encrypt'] as const) {
      await refusal(importPrivateKeyPem(p384.privateKeyPem, use));
      await refusal(importPublicKeyPem(p384.publicKeyPem, use));
      await refusal(importCertificateKey(certPem, use));
    }
  });

  it('refuses a PEM of the wrong kind without quoting it (ERR_KEY_INVALID)', async () => {
    const p256 = pems('P-256');
    const error = await refusal(importPublicKeyPem(p256.privateKeyPem, 'sign'));
    expect(error.message).not.toContain('MIG');
    await refusal(importPrivateKeyPem(p256.publicKeyPem, 'sign'));
    await refusal(importCertificateKey(p256.publicKeyPem, 'sign'));
    await refusal(importPublicKeyPem('not a key', 'encrypt'));
  });

  it('keeps a key to its use: a key imported to verify cannot be encrypted to', async () => {
    const signingOnly = await importPublicKeyPem(pems('P-256').publicKeyPem, 'sign');
    await expect(encryptForRecipient({ a: 1 }, signingOnly, { kid: 'k' })).rejects.toThrow();
  });
});
