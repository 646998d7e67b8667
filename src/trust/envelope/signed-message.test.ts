import { createHmac, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RenkeiError } from '../../shared/errors.ts';
import { importPrivateKeyPem, importPublicKeyPem } from './keys.ts';
import { assertAnswers, messageHash } from './message-hash.ts';
import { signMessage, type SignMessageInput } from './sign-message.ts';
import {
  INQUIRY,
  T0,
  b64json,
  fromB64json,
  frozenTime,
  makeParty,
  resolverFor,
  type TestParty,
} from './test-support.ts';
import { verifyMessage, verifyStoredMessage, type VerifyMessageOptions } from './verify-message.ts';

const requester = makeParty('jps');
const core = makeParty('core');
const provider = makeParty('131016');
const resolveKey = resolverFor(requester, core, provider);

function world() {
  const { clock, replay } = frozenTime();
  const sign = (overrides: Partial<SignMessageInput> = {}, from: TestParty = requester) =>
    signMessage({
      type: 'InquiryRequest',
      payload: INQUIRY,
      sender: from.id,
      audience: 'core',
      key: from.privateKey,
      kid: from.kid,
      clock,
      ...overrides,
    });
  const verify = (jws: string, overrides: Partial<VerifyMessageOptions> = {}) =>
    verifyMessage(jws, {
      expectedType: 'InquiryRequest',
      audience: 'core',
      resolveKey,
      expectedSender: 'jps',
      replay,
      clock,
      ...overrides,
    });
  return { clock, replay, sign, verify };
}

/**
 * Signs any header and claims (an object, or JSON text) with a party's real key (ES256 by node:crypto,
 * whatever the header says), to show the checks that do not rest on the signature failing.
 */
function signRaw(header: Record<string, unknown>, claims: unknown, party: TestParty = requester): string {
  const json = typeof claims === 'string' ? claims : JSON.stringify(claims);
  const input = `${b64json(header)}.${Buffer.from(json).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(input), { key: party.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

function claimsAt(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: 'jps',
    aud: 'core',
    jti: '3f0c1a52-7d3e-4b8a-9c51-0e2f4a6b8c9d',
    iat: Date.parse(T0) / 1000,
    typ: 'InquiryRequest',
    msg: INQUIRY,
    ...overrides,
  };
}

const HEADER = { alg: 'ES256', kid: requester.kid, typ: 'renkei-message+jws' };

async function refusal(promise: Promise<unknown>): Promise<RenkeiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RenkeiError)) throw new Error(`expected a RenkeiError, got ${String(error)}`);
  return error;
}

describe('signed messages', () => {
  it('verifies a signed message and returns who sent what to whom, when, under which id', async () => {
    const { sign, verify } = world();
    const jws = await sign({ id: '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e' });
    const verified = await verify(jws);
    expect(verified).toEqual({
      sender: 'jps',
      audience: 'core',
      id: '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e',
      issuedAt: new Date(T0),
      type: 'InquiryRequest',
      msg: INQUIRY,
      hash: messageHash(jws),
      kid: requester.kid,
    });
  });

  it('writes exactly the documented header and claims', async () => {
    const { sign } = world();
    const [header = '', claims = ''] = (await sign({ id: '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e' })).split(
      '.',
    );
    expect(fromB64json(header)).toEqual({ alg: 'ES256', kid: 'jps-sig-01', typ: 'renkei-message+jws' });
    expect(fromB64json(claims)).toEqual({
      iss: 'jps',
      aud: 'core',
      jti: '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e',
      iat: 1775034000,
      typ: 'InquiryRequest',
      msg: INQUIRY,
    });
  });

  it('gives every message a fresh random id unless the caller chose one', async () => {
    const { sign, verify } = world();
    const first = await verify(await sign());
    const second = await verify(await sign());
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second.id).not.toBe(first.id);
  });

  it('signs and verifies with keys imported from PEM', async () => {
    const { sign, verify } = world();
    const key = await importPrivateKeyPem(requester.privateKeyPem, 'sign');
    const publicKey = await importPublicKeyPem(requester.publicKeyPem, 'sign');
    const verified = await verify(await sign({ key }), { resolveKey: () => Promise.resolve(publicKey) });
    expect(verified.sender).toBe('jps');
  });

  it('refuses to sign what the verifier would refuse: a caller mistake is a TypeError', async () => {
    const { sign } = world();
    await expect(sign({ sender: 'JPS' })).rejects.toThrow(TypeError);
    await expect(sign({ id: 'not-a-uuid' })).rejects.toThrow(TypeError);
    await expect(sign({ type: 'inquiry request' })).rejects.toThrow(TypeError);
    await expect(sign({ inResponseTo: 'abc' })).rejects.toThrow(TypeError);
    await expect(sign({ payload: [1] as unknown as Record<string, unknown> })).rejects.toThrow(TypeError);
  });
});

describe('answers name the request they answer', () => {
  it('carries the hash of the request, which assertAnswers accepts', async () => {
    const { sign, verify } = world();
    const request = await sign();
    const answer = await sign(
      {
        type: 'ProvisionAnswer',
        payload: { outcome: 'not_held' },
        audience: 'jps',
        inResponseTo: messageHash(request),
      },
      core,
    );
    const verified = await verify(answer, {
      expectedType: 'ProvisionAnswer',
      audience: 'jps',
      expectedSender: 'core',
    });
    expect(verified.inResponseTo).toBe(messageHash(request));
    expect(() => assertAnswers(verified, messageHash(request))).not.toThrow();
  });

  it('refuses an answer to another request (ERR_ANSWER_MISMATCH)', async () => {
    const { sign, verify } = world();
    const asked = await sign();
    const other = await sign();
    const answer = await sign({ audience: 'jps', inResponseTo: messageHash(other) }, core);
    const verified = await verify(answer, { audience: 'jps', expectedSender: 'core' });
    expect(() => assertAnswers(verified, messageHash(asked))).toThrow(
      expect.objectContaining({ code: 'ERR_ANSWER_MISMATCH' }),
    );
  });

  it('refuses an answer that names no request (ERR_ANSWER_MISMATCH)', async () => {
    const { sign, verify } = world();
    const asked = await sign();
    const verified = await verify(await sign({ audience: 'jps' }, core), {
      audience: 'jps',
      expectedSender: 'core',
    });
    expect(() => assertAnswers(verified, messageHash(asked))).toThrow(
      expect.objectContaining({ code: 'ERR_ANSWER_MISMATCH' }),
    );
  });

  it('hashes the exact compact JWS with SHA-256, in base64url', () => {
    // Computed independently: python3 hashlib.sha256(b'eyJhbGciOiJFUzI1NiJ9.e30.c2ln')
    expect(messageHash('eyJhbGciOiJFUzI1NiJ9.e30.c2ln')).toBe('E2ttONh1sD1zwHXFE8fH21SGQ5my65IRYl87KWSpu9o');
    expect(() => messageHash('eyJhbGciOiJFUzI1NiJ9.e30.c2ln\u00e9')).toThrow(
      expect.objectContaining({ code: 'ERR_MESSAGE_MALFORMED' }),
    );
  });
});

describe('forgery', () => {
  it('refuses a message signed by another key under the sender’s kid (ERR_SIGNATURE_INVALID)', async () => {
    const { sign, verify } = world();
    const attacker = makeParty('jps', requester.kid);
    const error = await refusal(verify(await sign({}, attacker)));
    expect(error.code).toBe('ERR_SIGNATURE_INVALID');
    expect(error.details).toEqual({ reason: 'bad_signature' });
  });

  it('refuses a party signing with its own key in another party’s name (ERR_SIGNATURE_INVALID)', async () => {
    const { sign, verify } = world();
    // The provider signs with its own certificate but claims to be the requester; no TLS identity given.
    const jws = await sign({ sender: 'jps', key: provider.privateKey, kid: provider.kid });
    const error = await refusal(verify(jws, { expectedSender: undefined }));
    expect(error.code).toBe('ERR_SIGNATURE_INVALID');
    expect(error.details).toEqual({ reason: 'unknown_key' });
  });

  it('refuses a payload altered after signing (ERR_SIGNATURE_INVALID)', async () => {
    const { sign, verify } = world();
    const [header, claims = '', signature] = (await sign()).split('.');
    const altered = b64json({ ...fromB64json(claims), msg: { ...INQUIRY, itemNos: [3] } });
    expect((await refusal(verify([header, altered, signature].join('.')))).code).toBe(
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('refuses a signature with one byte changed (ERR_SIGNATURE_INVALID)', async () => {
    const { sign, verify } = world();
    const [header, claims, signature = ''] = (await sign()).split('.');
    const bytes = Buffer.from(signature, 'base64url');
    bytes[10] = (bytes[10] ?? 0) ^ 0x01;
    const forged = [header, claims, bytes.toString('base64url')].join('.');
    expect((await refusal(verify(forged))).code).toBe('ERR_SIGNATURE_INVALID');
  });

  it('refuses an unsigned message (alg none), with or without a signature part (ERR_MESSAGE_MALFORMED)', async () => {
    const { verify } = world();
    const header = b64json({ ...HEADER, alg: 'none' });
    const claims = b64json(claimsAt());
    expect((await refusal(verify(`${header}.${claims}.`))).code).toBe('ERR_MESSAGE_MALFORMED');
    expect((await refusal(verify(`${header}.${claims}.AAAA`))).details).toEqual({ reason: 'header' });
  });

  it('refuses HS256 keyed with the sender’s public key, the algorithm-confusion attack (ERR_MESSAGE_MALFORMED)', async () => {
    const { verify } = world();
    const signingInput = `${b64json({ ...HEADER, alg: 'HS256' })}.${b64json(claimsAt())}`;
    const mac = createHmac('sha256', requester.publicKeyPem).update(signingInput).digest('base64url');
    const error = await refusal(verify(`${signingInput}.${mac}`));
    expect(error.code).toBe('ERR_MESSAGE_MALFORMED');
    expect(error.details).toEqual({ reason: 'header' });
  });

  it.each([
    ['another algorithm', { ...HEADER, alg: 'ES384' }],
    [
      'an embedded key the attacker controls',
      { ...HEADER, jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } },
    ],
    ['a key URL', { ...HEADER, jku: 'https://attacker.example/keys' }],
    ['a critical extension', { ...HEADER, b64: false, crit: ['b64'] }],
    ['no kid', { alg: 'ES256', typ: 'renkei-message+jws' }],
    ['another typ (a JWT from elsewhere)', { ...HEADER, typ: 'JWT' }],
  ])('refuses a header with %s even when validly signed (ERR_MESSAGE_MALFORMED)', async (_, header) => {
    const { verify } = world();
    const error = await refusal(verify(signRaw(header, claimsAt())));
    expect(error.code).toBe('ERR_MESSAGE_MALFORMED');
    expect(error.details).toEqual({ reason: 'header' });
  });

  it.each(['iss', 'aud', 'jti', 'iat', 'typ', 'msg'])(
    'refuses a signed message without %s (ERR_MESSAGE_MALFORMED)',
    async (claim) => {
      const { verify } = world();
      const claims = claimsAt();
      delete claims[claim];
      expect((await refusal(verify(signRaw(HEADER, claims)))).details).toEqual({ reason: 'claims' });
    },
  );

  it('refuses claims it does not know, such as an exp that would suggest a longer life (ERR_MESSAGE_MALFORMED)', async () => {
    const { verify } = world();
    const error = await refusal(verify(signRaw(HEADER, claimsAt({ exp: 4102444800 }))));
    expect(error.details).toEqual({ reason: 'claims' });
  });

  it('refuses an audience list, so one message cannot be addressed to several parties (ERR_MESSAGE_MALFORMED)', async () => {
    const { verify } = world();
    const error = await refusal(verify(signRaw(HEADER, claimsAt({ aud: ['core', '131016'] }))));
    expect(error.code).toBe('ERR_MESSAGE_MALFORMED');
  });

  it.each(['', 'hello', 'a.b', 'a.b.c.d', 'a.b.c\n', 'eyJ9.eyJ9.%%%'])(
    'refuses %j, which is not a compact JWS (ERR_MESSAGE_MALFORMED)',
    async (text) => {
      const { verify } = world();
      expect((await refusal(verify(text))).code).toBe('ERR_MESSAGE_MALFORMED');
    },
  );

  it('refuses a body nested 50,000 deep without overflowing the stack (ERR_MESSAGE_MALFORMED)', async () => {
    const { verify } = world();
    const claims = JSON.stringify(claimsAt({ msg: { deep: 0 } }));
    const deep = claims.replace('"deep":0', `"deep":${'['.repeat(50_000)}${']'.repeat(50_000)}`);
    const error = await refusal(verify(signRaw(HEADER, deep)));
    expect(error.details).toEqual({ reason: 'claims' });
  });

  it('passes on the resolver’s own refusal, such as a revoked certificate', async () => {
    const { sign, verify } = world();
    const revoked = () => Promise.reject(new RenkeiError('ERR_INQUIRY_NOT_AUTHORIZED', 'revoked'));
    expect((await refusal(verify(await sign(), { resolveKey: revoked }))).code).toBe(
      'ERR_INQUIRY_NOT_AUTHORIZED',
    );
  });
});

describe('misdirection', () => {
  it('refuses a message addressed to another party (ERR_WRONG_AUDIENCE)', async () => {
    const { sign, verify } = world();
    expect((await refusal(verify(await sign({ audience: '131016' })))).code).toBe('ERR_WRONG_AUDIENCE');
  });

  it('refuses a message whose sender is not the party on the connection (ERR_SENDER_MISMATCH)', async () => {
    const { sign, verify } = world();
    // The provider relays the requester's genuine message over its own connection.
    const error = await refusal(verify(await sign(), { expectedSender: '131016' }));
    expect(error.code).toBe('ERR_SENDER_MISMATCH');
    expect(error.details).toEqual({ claimedSender: 'jps', connectedSender: '131016' });
  });

  it('refuses a genuine message of another type presented at this endpoint (ERR_MESSAGE_MALFORMED)', async () => {
    const { sign, verify } = world();
    const delivery = await sign({ type: 'CodeDelivery' });
    const error = await refusal(verify(delivery));
    expect(error.code).toBe('ERR_MESSAGE_MALFORMED');
    expect(error.details).toEqual({ reason: 'unexpected_type' });
  });
});

describe('staleness', () => {
  it('accepts a message up to 300 seconds old and refuses it a second later (ERR_MESSAGE_STALE)', async () => {
    const { clock, sign, verify } = world();
    const [atLimit, pastLimit] = [await sign(), await sign()];
    clock.advance(300_000);
    await expect(verify(atLimit)).resolves.toMatchObject({ sender: 'jps' });
    clock.advance(1000);
    const error = await refusal(verify(pastLimit));
    expect(error.code).toBe('ERR_MESSAGE_STALE');
    expect(error.details).toEqual({ reason: 'too_old' });
  });

  it('accepts a sender’s clock 30 seconds ahead and refuses one 31 seconds ahead (ERR_MESSAGE_STALE)', async () => {
    const { clock, sign, verify } = world();
    clock.advance(30_000);
    const ahead30 = await sign();
    clock.advance(1000);
    const ahead31 = await sign();
    clock.advance(-31_000);
    await expect(verify(ahead30)).resolves.toMatchObject({ sender: 'jps' });
    const error = await refusal(verify(ahead31));
    expect(error.code).toBe('ERR_MESSAGE_STALE');
    expect(error.details).toEqual({ reason: 'issued_in_future' });
  });

  it('applies the bounds the caller sets', async () => {
    const { clock, sign, verify } = world();
    const jws = await sign();
    clock.advance(61_000);
    expect((await refusal(verify(jws, { maxAgeSeconds: 60 }))).code).toBe('ERR_MESSAGE_STALE');
  });
});

describe('replay', () => {
  it('refuses a message received before (ERR_MESSAGE_REPLAYED)', async () => {
    const { sign, verify } = world();
    const jws = await sign();
    await verify(jws);
    expect((await refusal(verify(jws))).code).toBe('ERR_MESSAGE_REPLAYED');
  });

  it('still refuses the replay at the last instant the message is fresh', async () => {
    const { clock, sign, verify } = world();
    const jws = await sign();
    await verify(jws);
    clock.advance(300_000);
    expect((await refusal(verify(jws))).code).toBe('ERR_MESSAGE_REPLAYED');
  });

  it('refuses a replay whose ECDSA signature was re-encoded as n − s, which changes its hash (ERR_MESSAGE_REPLAYED)', async () => {
    const { sign, verify } = world();
    const jws = await sign();
    await verify(jws);
    const [header, claims, signature = ''] = jws.split('.');
    const bytes = Buffer.from(signature, 'base64url');
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`);
    const flipped = Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex');
    const malleated = [
      header,
      claims,
      Buffer.concat([bytes.subarray(0, 32), flipped]).toString('base64url'),
    ].join('.');
    expect(messageHash(malleated)).not.toBe(messageHash(jws));
    expect((await refusal(verify(malleated))).code).toBe('ERR_MESSAGE_REPLAYED');
  });

  it('does not let a forged message use up the id of a genuine one', async () => {
    const { sign, verify } = world();
    const id = '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e';
    const forged = await sign({ id }, makeParty('jps', requester.kid));
    await expect(verify(forged)).rejects.toThrow(expect.objectContaining({ code: 'ERR_SIGNATURE_INVALID' }));
    await expect(verify(await sign({ id }))).resolves.toMatchObject({ id });
  });

  it('does not let one sender block another’s message by reusing its id', async () => {
    const { sign, verify } = world();
    const id = '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e';
    await verify(await sign({ id, sender: '131016', key: provider.privateKey, kid: provider.kid }), {
      expectedSender: '131016',
    });
    await expect(verify(await sign({ id }))).resolves.toMatchObject({ id, sender: 'jps' });
  });
});

describe('messages kept with a record', () => {
  it('still verifies a stored message a year later, already received once', async () => {
    const { clock, sign, verify } = world();
    const jws = await sign();
    await verify(jws);
    clock.advance(365 * 86_400_000);
    const stored = await verifyStoredMessage(jws, {
      resolveKey,
      expectedType: 'InquiryRequest',
      audience: 'core',
    });
    expect(stored).toMatchObject({ sender: 'jps', issuedAt: new Date(T0), hash: messageHash(jws) });
  });

  it('refuses a stored message whose record was edited (ERR_SIGNATURE_INVALID)', async () => {
    const { sign } = world();
    const [header, claims = '', signature] = (await sign()).split('.');
    const edited = b64json({ ...fromB64json(claims), msg: { ...INQUIRY, clauseNo: '9' } });
    const error = await refusal(verifyStoredMessage([header, edited, signature].join('.'), { resolveKey }));
    expect(error.code).toBe('ERR_SIGNATURE_INVALID');
  });

  it('never skips the audience or type check of a live message, even if a caller leaves them out', async () => {
    const { sign, verify } = world();
    const jws = await sign({ audience: '131016' });
    await expect(verify(jws, { audience: undefined as unknown as string })).rejects.toThrow(TypeError);
    await expect(verify(jws, { expectedType: undefined as unknown as string })).rejects.toThrow(TypeError);
  });
});
