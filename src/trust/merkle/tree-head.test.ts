import { CompactSign, exportSPKI, generateKeyPair, generateSecret } from 'jose';
import jsrsasign from 'jsrsasign';
import { beforeAll, describe, expect, it } from 'vitest';
import { RenkeiError } from '../../shared/errors.ts';
import { leafHash, toHex } from './hash.ts';
import type { TreeHeadKey } from './tree-head.ts';
import { TREE_HEAD_TYPE, signTreeHead, verifyTreeHead } from './tree-head.ts';

const HEAD = {
  treeSize: 42,
  rootHash: leafHash(new TextEncoder().encode('root')),
  timestamp: Date.parse('2026-04-01T00:00:00Z'),
};

let keys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };
let otherKeys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };

beforeAll(async () => {
  keys = await generateKeyPair('ES256', { extractable: true });
  otherKeys = await generateKeyPair('ES256');
});

async function reasonOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    if (!(error instanceof RenkeiError)) throw error;
    expect(error.code).toBe('ERR_TREE_HEAD_INVALID');
    return error.details['reason'];
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64url');

describe('signed tree heads', () => {
  it('round-trips a head: size, root, time and key id', async () => {
    const jws = await signTreeHead(HEAD, keys.privateKey, 'core-2026');
    const head = await verifyTreeHead(jws, keys.publicKey);
    expect({ ...head, rootHash: toHex(head.rootHash) }).toEqual({
      ...HEAD,
      rootHash: toHex(HEAD.rootHash),
      kid: 'core-2026',
      jws,
    });
  });

  it('signs the canonical payload under an explicit type, checkable by an independent JOSE implementation', async () => {
    const jws = await signTreeHead(HEAD, keys.privateKey, 'core-2026');
    const [header, payload] = jws.split('.').map((part) => Buffer.from(part, 'base64url').toString());
    expect(JSON.parse(header ?? '')).toEqual({ alg: 'ES256', kid: 'core-2026', typ: TREE_HEAD_TYPE });
    expect(payload).toBe(
      `{"rootHash":"${toHex(HEAD.rootHash)}","timestamp":${String(HEAD.timestamp)},"treeSize":42}`,
    );
    const pem = await exportSPKI(keys.publicKey);
    expect(jsrsasign.KJUR.jws.JWS.verify(jws, pem, ['ES256'])).toBe(true);
  });

  it('refuses a head forged with another key', async () => {
    const forged = await signTreeHead(HEAD, otherKeys.privateKey, 'core-2026');
    expect(await reasonOf(verifyTreeHead(forged, keys.publicKey))).toBe('signature');
  });

  it('refuses a head whose size was altered after signing', async () => {
    const [header, , signature] = (await signTreeHead(HEAD, keys.privateKey, 'k')).split('.');
    const altered = b64(
      `{"rootHash":"${toHex(HEAD.rootHash)}","timestamp":${String(HEAD.timestamp)},"treeSize":41}`,
    );
    expect(
      await reasonOf(verifyTreeHead(`${header ?? ''}.${altered}.${signature ?? ''}`, keys.publicKey)),
    ).toBe('signature');
  });

  it('refuses an unsigned head (alg "none") and an HMAC head keyed with a guessable secret', async () => {
    const payload = b64(`{"rootHash":"${toHex(HEAD.rootHash)}","timestamp":1,"treeSize":1}`);
    const none = `${b64(JSON.stringify({ alg: 'none', kid: 'k', typ: TREE_HEAD_TYPE }))}.${payload}.`;
    expect(await reasonOf(verifyTreeHead(none, keys.publicKey))).not.toBe('accepted');
    const secret = await generateSecret('HS256');
    const hmac = await new CompactSign(new TextEncoder().encode('{}'))
      .setProtectedHeader({ alg: 'HS256', kid: 'k', typ: TREE_HEAD_TYPE })
      .sign(secret);
    expect(await reasonOf(verifyTreeHead(hmac, keys.publicKey))).toBe('header');
  });

  it('refuses another kind of signed message presented as a tree head', async () => {
    const message = await new CompactSign(new TextEncoder().encode(JSON.stringify({ treeSize: 1 })))
      .setProtectedHeader({ alg: 'ES256', kid: 'k', typ: 'renkei-message+jws' })
      .sign(keys.privateKey);
    expect(await reasonOf(verifyTreeHead(message, keys.publicKey))).toBe('header');
    const noKid = await new CompactSign(new TextEncoder().encode('{}'))
      .setProtectedHeader({ alg: 'ES256', typ: TREE_HEAD_TYPE })
      .sign(keys.privateKey);
    expect(await reasonOf(verifyTreeHead(noKid, keys.publicKey))).toBe('header');
  });

  it('refuses a validly signed payload that is not the one canonical form of a head', async () => {
    const sign = (text: string) =>
      new CompactSign(new TextEncoder().encode(text))
        .setProtectedHeader({ alg: 'ES256', kid: 'k', typ: TREE_HEAD_TYPE })
        .sign(keys.privateKey);
    const root = toHex(HEAD.rootHash);
    for (const text of [
      `{"treeSize":1,"rootHash":"${root}","timestamp":1}`,
      `{"rootHash":"${root}", "timestamp":1,"treeSize":1}`,
      `{"rootHash":"${root.toUpperCase()}","timestamp":1,"treeSize":1}`,
      `{"rootHash":"${root}","timestamp":1,"treeSize":1.5}`,
      `{"rootHash":"${root}","timestamp":1,"treeSize":-1}`,
      `{"rootHash":"${root}","timestamp":1,"treeSize":1,"extra":true}`,
      `{"rootHash":"${root.slice(2)}","timestamp":1,"treeSize":1}`,
      'not json',
    ]) {
      expect(await reasonOf(verifyTreeHead(await sign(text), keys.publicKey)), text).toBe('payload');
    }
  });

  it('refuses what is not a compact JWS at all', async () => {
    for (const junk of ['', 'a.b', 'a.b.c', '...', 'x'.repeat(10_000)]) {
      expect(await reasonOf(verifyTreeHead(junk, keys.publicKey)), junk.slice(0, 10)).toBe('malformed');
    }
  });

  it('treats signing something that is not a head as a programming mistake', async () => {
    await expect(signTreeHead({ ...HEAD, treeSize: -1 }, keys.privateKey, 'k')).rejects.toThrow(TypeError);
    await expect(
      signTreeHead({ ...HEAD, rootHash: new Uint8Array(31) }, keys.privateKey, 'k'),
    ).rejects.toThrow(TypeError);
    await expect(signTreeHead(HEAD, keys.privateKey, '')).rejects.toThrow(TypeError);
  });
});
