import { generateKeyPairSync } from 'node:crypto';
import { CompactSign, compactVerify, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { signCompactEs256, verifyCompactEs256 } from './es256.ts';

const HEADER = { alg: 'ES256', kid: 'k1', typ: 'renkei-message+jws' };
const PAYLOAD = new TextEncoder().encode(JSON.stringify({ iss: 'core', msg: { n: 1 } }));

describe('ES256 with node:crypto', () => {
  it('signs what jose verifies, and verifies what jose signs, with the same keys', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const ours = signCompactEs256(HEADER, PAYLOAD, privateKey);
    const { payload, protectedHeader } = await compactVerify(ours, publicKey, { algorithms: ['ES256'] });
    expect(Buffer.from(payload).equals(Buffer.from(PAYLOAD))).toBe(true);
    expect(protectedHeader).toEqual(HEADER);

    const jose = await new CompactSign(PAYLOAD).setProtectedHeader(HEADER).sign(privateKey);
    expect(verifyCompactEs256(jose, publicKey)).toBe(true);
  });

  it('refuses a signature by another key, an altered payload, and a signature spelled otherwise', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const other = await generateKeyPair('ES256');
    const jws = signCompactEs256(HEADER, PAYLOAD, privateKey);
    expect(verifyCompactEs256(jws, other.publicKey)).toBe(false);

    const [header = '', , signature = ''] = jws.split('.');
    const altered = Buffer.from(JSON.stringify({ iss: 'core', msg: { n: 2 } })).toString('base64url');
    expect(verifyCompactEs256(`${header}.${altered}.${signature}`, publicKey)).toBe(false);
    expect(verifyCompactEs256(`${header}.${altered}.${signature}A`, publicKey)).toBe(false);

    // The last of 86 characters carries 4 unused bits: another spelling of the same 64 bytes.
    const last = signature.at(-1) ?? '';
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[(alphabet.indexOf(last) & ~3) | ((alphabet.indexOf(last) + 1) & 3)] ?? '';
    const respelled = `${jws.slice(0, -1)}${twin}`;
    expect(
      Buffer.from(respelled.split('.')[2] ?? '', 'base64url').equals(Buffer.from(signature, 'base64url')),
    ).toBe(true);
    expect(verifyCompactEs256(respelled, publicKey)).toBe(false);
  });

  it('refuses keys that are not P-256 ECDSA keys for the use, as WebCrypto would', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const ecdh = await generateKeyPair('ECDH-ES', { crv: 'P-256' });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    expect(() => signCompactEs256(HEADER, PAYLOAD, publicKey)).toThrow(TypeError);
    expect(() => signCompactEs256(HEADER, PAYLOAD, ecdh.privateKey)).toThrow(TypeError);
    expect(() => signCompactEs256(HEADER, PAYLOAD, p384.privateKey)).toThrow(TypeError);
    const jws = signCompactEs256(HEADER, PAYLOAD, privateKey);
    expect(() => verifyCompactEs256(jws, privateKey)).toThrow(TypeError);
    expect(() => verifyCompactEs256(jws, ecdh.publicKey)).toThrow(TypeError);
  });
});
