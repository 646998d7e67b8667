/**
 * The issue asks that our messages be checked by a JOSE implementation other than the one that made
 * them, so that "standard" means the standard and not jose agreeing with itself:
 * - our JWS is verified by jsrsasign, and a JWS signed by jsrsasign is verified by us;
 * - our JWE is decrypted with node:crypto alone (ECDH, the Concat KDF of RFC 7518 §4.6.2 written out
 *   below, AES-256-GCM), and a JWE built that way is decrypted by us.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import jsrsasign from 'jsrsasign';
import { describe, expect, it } from 'vitest';
import { decryptForRecipient, encryptForRecipient } from './item-encryption.ts';
import { signMessage } from './sign-message.ts';
import { INQUIRY, T0, frozenTime, makeParty, resolverFor } from './test-support.ts';
import { verifyMessage } from './verify-message.ts';

const { KJUR } = jsrsasign;
const requester = makeParty('jps');
const encryption = makeParty('jps', 'jps-enc-01');
const PN = '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e';
const ITEMS = [{ itemNo: 2, layoutVersion: '2026.1', data: { taxableIncome: 4_210_000 } }];
const iat = Date.parse(T0) / 1000;

async function ourMessage(): Promise<string> {
  const { clock } = frozenTime();
  return signMessage({
    type: 'InquiryRequest',
    payload: INQUIRY,
    sender: 'jps',
    audience: 'core',
    key: requester.privateKey,
    kid: requester.kid,
    clock,
  });
}

describe('our JWS, checked by jsrsasign', () => {
  it('verifies as an ES256 JWS with our issuer, audience and time', async () => {
    const jws = await ourMessage();
    expect(KJUR.jws.JWS.verify(jws, requester.publicKeyPem, ['ES256'])).toBe(true);
    expect(
      KJUR.jws.JWS.verifyJWT(jws, requester.publicKeyPem, {
        alg: ['ES256'],
        iss: ['jps'],
        aud: ['core'],
        verifyAt: iat,
      }),
    ).toBe(true);
  });

  it('fails in jsrsasign too when the payload is altered, or when verified with another key', async () => {
    const [header, claims = '', signature] = (await ourMessage()).split('.');
    const altered = Buffer.from(Buffer.from(claims, 'base64url').toString().replace('"74"', '"75"')).toString(
      'base64url',
    );
    expect(
      KJUR.jws.JWS.verify([header, altered, signature].join('.'), requester.publicKeyPem, ['ES256']),
    ).toBe(false);
    expect(KJUR.jws.JWS.verify(await ourMessage(), makeParty('jps').publicKeyPem, ['ES256'])).toBe(false);
  });

  it('accepts a message signed by jsrsasign in our format', async () => {
    const { clock, replay } = frozenTime();
    const header = { alg: 'ES256', kid: requester.kid, typ: 'renkei-message+jws' };
    const claims = {
      iss: 'jps',
      aud: 'core',
      jti: '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e',
      iat,
      typ: 'InquiryRequest',
      msg: INQUIRY,
    };
    const jws = KJUR.jws.JWS.sign(
      'ES256',
      JSON.stringify(header),
      JSON.stringify(claims),
      requester.privateKeyPem,
    );
    const verified = await verifyMessage(jws, {
      expectedType: 'InquiryRequest',
      audience: 'core',
      expectedSender: 'jps',
      resolveKey: resolverFor(requester),
      replay,
      clock,
    });
    expect(verified).toMatchObject({ sender: 'jps', id: claims.jti, msg: INQUIRY });
  });
});

// ── JWE by node:crypto alone ─────────────────────────────────────────────────────────────────────

const uint32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const lengthPrefixed = (b: Buffer) => Buffer.concat([uint32(b.length), b]);

/**
 * RFC 7518 §4.6.2: the Concat KDF of NIST SP 800-56A with SHA-256. For ECDH-ES in direct mode the
 * AlgorithmID is the `enc` value and keydatalen the content key's length; 256 bits is one round.
 */
function concatKdf(sharedSecret: Buffer, enc: string, keyBits: number): Buffer {
  const otherInfo = Buffer.concat([
    lengthPrefixed(Buffer.from(enc, 'ascii')),
    lengthPrefixed(Buffer.alloc(0)), // PartyUInfo: no apu
    lengthPrefixed(Buffer.alloc(0)), // PartyVInfo: no apv
    uint32(keyBits), // SuppPubInfo
  ]);
  return createHash('sha256')
    .update(Buffer.concat([uint32(1), sharedSecret, otherInfo]))
    .digest();
}

function independentDecrypt(jwe: string, privateKey: KeyObject): unknown {
  const [headerPart = '', encryptedKey, iv = '', ciphertext = '', tag = ''] = jwe.split('.');
  expect(encryptedKey).toBe('');
  const header = JSON.parse(Buffer.from(headerPart, 'base64url').toString()) as {
    alg: string;
    enc: string;
    epk: Record<string, string>;
  };
  expect([header.alg, header.enc]).toEqual(['ECDH-ES', 'A256GCM']);
  const ephemeral = createPublicKey({ key: header.epk, format: 'jwk' });
  const cek = concatKdf(diffieHellman({ privateKey, publicKey: ephemeral }), 'A256GCM', 256);
  const decipher = createDecipheriv('aes-256-gcm', cek, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(headerPart, 'ascii'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  const plaintext = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  return JSON.parse(plaintext.toString());
}

function independentEncrypt(value: unknown, recipient: KeyObject, kid: string, pn: string): string {
  const ephemeral = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = ephemeral.publicKey.export({ format: 'jwk' });
  const header = { alg: 'ECDH-ES', enc: 'A256GCM', kid, epk: { kty, crv, x, y }, pn };
  const headerPart = Buffer.from(JSON.stringify(header)).toString('base64url');
  const cek = concatKdf(
    diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient }),
    'A256GCM',
    256,
  );
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', cek, iv);
  cipher.setAAD(Buffer.from(headerPart, 'ascii'));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value)), cipher.final()]);
  return [headerPart, '', iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

describe('our JWE, checked with node:crypto alone', () => {
  it('decrypts with ECDH, the Concat KDF and AES-256-GCM as RFC 7518 defines them', async () => {
    const jwe = await encryptForRecipient(ITEMS, encryption.publicKey, {
      kid: encryption.kid,
      processingNumber: PN,
    });
    expect(independentDecrypt(jwe, encryption.privateKey)).toEqual(ITEMS);
  });

  it('fails there too with another key, so the check above can fail', async () => {
    const jwe = await encryptForRecipient(ITEMS, encryption.publicKey, { kid: encryption.kid });
    expect(() => independentDecrypt(jwe, makeParty('jps').privateKey)).toThrow();
  });

  it('is decrypted by us when built by node:crypto alone', async () => {
    const jwe = independentEncrypt(ITEMS, encryption.publicKey, encryption.kid, PN);
    expect(await decryptForRecipient(jwe, encryption.privateKey, { processingNumber: PN })).toEqual(ITEMS);
  });
});
