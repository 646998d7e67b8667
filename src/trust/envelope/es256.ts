/**
 * ES256 compact JWS (RFC 7515 §7.1, RFC 7518 §3.4) signed and checked with node:crypto's one-shot
 * `sign`/`verify`, for the messages between nodes: the same bytes jose produces and accepts.
 *
 * Why not jose here: jose's Web build goes through WebCrypto, whose every call in Node 20 converts
 * and checks its arguments in JavaScript (WebIDL, `normalizeAlgorithm`) and then runs on the libuv
 * thread pool, waking a pool thread and then the event loop again. For one ES256 signature that
 * overhead is larger than the signature: measured in a loop, 76 µs of CPU per jose sign against
 * 25 µs here, 99 µs per jose verify against 54 µs, and the profile of a node at one exchange at a time
 * had 7–9% of its CPU in jose's JWS calls and the WebCrypto layer under them, beside the pool threads'
 * context switches. The JWE of sealed items stays jose's (ECDH-ES with its Concat KDF is more to get
 * right than a signature); so do the rarer tree heads.
 *
 * Only what the envelope uses is here: the header is the caller's (`verify-message.ts` checks it with
 * its strict schema, `alg: ES256` and no other member, before a key is chosen), the key must be a
 * P-256 key for ECDSA (a CryptoKey as jose imports it, or a KeyObject), and a signature is the 64
 * bytes R‖S, base64url without padding (86 characters).
 */
import { KeyObject, sign, verify } from 'node:crypto';

/** An ES256 signature is R‖S, 2 × 32 bytes: 86 base64url characters without padding. */
const SIGNATURE_CHARS = 86;

/** node:crypto wants a KeyObject; the conversion of a CryptoKey is kept with the key. */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

function keyObjectOf(key: CryptoKey | KeyObject, type: 'private' | 'public'): KeyObject {
  let keyObject: KeyObject;
  if (key instanceof KeyObject) {
    keyObject = key;
  } else {
    // WebCrypto would refuse a key imported for another algorithm or use (an ECDH key, say): so do we.
    const algorithm = key.algorithm as { name?: unknown; namedCurve?: unknown };
    const usage = type === 'private' ? 'sign' : 'verify';
    if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256' || !key.usages.includes(usage)) {
      throw new TypeError(`ES256 needs a P-256 ECDSA key that may ${usage}`);
    }
    keyObject = keyObjects.get(key) ?? KeyObject.from(key);
    keyObjects.set(key, keyObject);
  }
  if (
    keyObject.type !== type ||
    keyObject.asymmetricKeyType !== 'ec' ||
    keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new TypeError(`ES256 needs a P-256 ${type} key`);
  }
  return keyObject;
}

/** `BASE64URL(header).BASE64URL(payload).BASE64URL(signature)`, signed with `key` (P-256, private). */
export function signCompactEs256(
  header: Record<string, unknown>,
  payload: Uint8Array,
  key: CryptoKey | KeyObject,
): string {
  const keyObject = keyObjectOf(key, 'private');
  const signingInput = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(signingInput, 'latin1'), {
    key: keyObject,
    dsaEncoding: 'ieee-p1363',
  });
  return `${signingInput}.${signature.toString('base64url')}`;
}

/**
 * Whether the compact JWS's signature is `key`'s (P-256, public) over its first two segments. The
 * caller has checked the shape (three base64url segments) and the header; a signature of another
 * length is simply not valid. Throws a TypeError only for a key that cannot verify ES256.
 */
export function verifyCompactEs256(jws: string, key: CryptoKey | KeyObject): boolean {
  const keyObject = keyObjectOf(key, 'public');
  const dot = jws.lastIndexOf('.');
  const signaturePart = jws.slice(dot + 1);
  if (dot < 0 || signaturePart.length !== SIGNATURE_CHARS) return false;
  const signature = Buffer.from(signaturePart, 'base64url');
  // The last character carries 4 unused bits; only the canonical spelling of a signature is accepted.
  if (signature.length !== 64 || signature.toString('base64url') !== signaturePart) return false;
  return verify(
    'sha256',
    Buffer.from(jws.slice(0, dot), 'latin1'),
    { key: keyObject, dsaEncoding: 'ieee-p1363' },
    signature,
  );
}
