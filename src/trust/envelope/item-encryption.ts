/**
 * End-to-end encryption of an answer's items, from the provider to the requester: a compact JWE
 * (RFC 7516) with `alg: ECDH-ES` and `enc: A256GCM` (RFC 7518 §4.6, §5.3), to the requester's
 * published encryption key. The core relays the JWE as an opaque string; it holds no key that opens it.
 *
 * ECDH-ES with direct key agreement: the provider makes an ephemeral P-256 key (`epk` in the header),
 * agrees a secret with the requester's static key, derives the AES-256-GCM key with the Concat KDF,
 * and the protected header is the AEAD's additional data. So the header cannot be altered either.
 * We considered `ECDH-ES+A256KW` (a wrapped random key), which only pays off with several recipients;
 * an answer has one, and the issue fixes ECDH-ES.
 *
 * The header may carry the processing number (`pn`), which the requester checks on decryption: as the
 * header is authenticated, a ciphertext cannot then be moved by a relay from one inquiry's answer to
 * another's, even another for the same requester.
 *
 * What this does NOT give: ECDH-ES is anonymous. Anyone holding the requester's public key, the core
 * included, can make a JWE that decrypts. The items' origin is proven by the provider's signature over
 * the message carrying the JWE, so the requester must check that signature (the provider's, not the
 * core's) before it believes the items: README.md, "How the core relays without reading".
 *
 * The cryptography is node:crypto's, called directly and at once (ECDH, the Concat KDF's one SHA-256
 * round, AES-256-GCM), as `independent-implementations.test.ts` spells RFC 7518 out; it was jose's
 * `CompactEncrypt`/`compactDecrypt`, whose WebCrypto calls (an ephemeral key made, imported and
 * exported, bits derived, a key imported, AES run: each converted and checked in JavaScript, each
 * a round trip to the thread pool) cost a provider at one exchange at a time about 8% of its CPU
 * and a requester about 6%, several times the cryptography itself. jose still checks both ways in
 * the tests that what one side makes the other opens.
 */
import {
  KeyObject,
  createCipheriv,
  createDecipheriv,
  createHash,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
} from 'node:crypto';
import { z } from 'zod';
import { RenkeiError } from '../../shared/errors.ts';
import { nestsWithin, parseBoundedJson } from './bounded-json.ts';
import { KeyId } from './format.ts';
import { isP256, type DecryptionKey, type EncryptionKey } from './keys.ts';

export const ITEMS_KEY_ALGORITHM = 'ECDH-ES';
export const ITEMS_CONTENT_ENCRYPTION = 'A256GCM';

/** A processing number as the header carries it: a UUID, lower-case. */
const ProcessingNumberHeader = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

/** The JWE protected header: exactly these parameters (`epk` is written by jose). */
const ItemsHeader = z.strictObject({
  alg: z.literal(ITEMS_KEY_ALGORITHM),
  enc: z.literal(ITEMS_CONTENT_ENCRYPTION),
  kid: KeyId,
  epk: z.strictObject({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string(), y: z.string() }),
  pn: ProcessingNumberHeader.optional(),
});

const COMPACT_JWE = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface EncryptOptions {
  /** Names the recipient's encryption certificate, so it knows which of its keys to use. */
  kid: string;
  /** Binds the ciphertext to this inquiry; the recipient must then give the same on decryption. */
  processingNumber?: string;
}

export interface DecryptOptions {
  /** When given, the JWE must name this certificate (it was encrypted to our current key). */
  expectedKid?: string;
  /** The inquiry the items must belong to; must be given exactly when the sender bound them to one. */
  processingNumber?: string;
}

/**
 * `plaintext` (any JSON value: an answer's items) as a compact JWE for the holder of
 * `recipientPublicKey` (a P-256 key imported for `encrypt`).
 *
 * Throws only a TypeError, for a caller's mistake: a kid or processing number of the wrong shape, a
 * value JSON cannot represent (or nested deeper than the receiver accepts), a key for another curve.
 */
export function encryptForRecipient(
  plaintext: unknown,
  recipientPublicKey: EncryptionKey,
  options: EncryptOptions,
): Promise<string> {
  // A promise still (the work is synchronous now), so that a caller's mistake is a rejection as before.
  return new Promise((resolve) => resolve(encryptNow(plaintext, recipientPublicKey, options)));
}

function encryptNow(plaintext: unknown, recipientPublicKey: EncryptionKey, options: EncryptOptions): string {
  if (!KeyId.safeParse(options.kid).success) throw new TypeError('encryptForRecipient: kid is not valid');
  if (
    options.processingNumber !== undefined &&
    !ProcessingNumberHeader.safeParse(options.processingNumber).success
  ) {
    throw new TypeError('encryptForRecipient: processingNumber is not valid');
  }
  const json = JSON.stringify(plaintext) as string | undefined;
  if (json === undefined || !nestsWithin(plaintext)) {
    throw new TypeError('encryptForRecipient: plaintext must be a JSON value of bounded depth');
  }
  // jose would happily agree on P-384 or X25519; the recipient accepts only P-256, so fail here.
  if (!isP256(recipientPublicKey)) throw new TypeError('encryptForRecipient: the key must be a P-256 key');
  const recipient = ecdhKeyObject(recipientPublicKey, 'public');
  const ephemeral = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const { kty, crv, x, y } = ephemeral.publicKey.export({ format: 'jwk' });
  const header = {
    alg: ITEMS_KEY_ALGORITHM,
    enc: ITEMS_CONTENT_ENCRYPTION,
    kid: options.kid,
    ...(options.processingNumber === undefined ? {} : { pn: options.processingNumber }),
    epk: { kty, crv, x, y },
  };
  const headerPart = Buffer.from(JSON.stringify(header)).toString('base64url');
  const key = contentKey(diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient }));
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(headerPart, 'latin1'));
  const ciphertext = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
  return [headerPart, '', iv, ciphertext, cipher.getAuthTag()]
    .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
    .join('.');
}

/** AES-GCM with a 96-bit IV and a 128-bit tag, as RFC 7518 §5.3 requires. */
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * RFC 7518 §4.6.2: the Concat KDF (NIST SP 800-56A) with SHA-256, for direct key agreement: the
 * AlgorithmID is the `enc` value, no PartyUInfo nor PartyVInfo, 256 bits, so one round.
 */
function contentKey(sharedSecret: Buffer): Buffer {
  return createHash('sha256').update(uint32(1)).update(sharedSecret).update(KDF_OTHER_INFO).digest();
}

function uint32(n: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n);
  return bytes;
}

const KDF_OTHER_INFO = Buffer.concat([
  uint32(ITEMS_CONTENT_ENCRYPTION.length),
  Buffer.from(ITEMS_CONTENT_ENCRYPTION, 'latin1'),
  uint32(0),
  uint32(0),
  uint32(256),
]);

/** node:crypto wants a KeyObject; the conversion of a CryptoKey is kept with the key. */
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

/** The key as a P-256 KeyObject for ECDH; a TypeError (a caller's mistake) for any other key. */
function ecdhKeyObject(key: EncryptionKey | DecryptionKey, type: 'public' | 'private'): KeyObject {
  let keyObject: KeyObject;
  if (key instanceof KeyObject) {
    keyObject = key;
  } else {
    // WebCrypto would refuse a key imported for another algorithm (an ECDSA key, say): so do we.
    const algorithm = key.algorithm as { name?: unknown };
    if (algorithm.name !== 'ECDH' || (type === 'private' && !key.usages.includes('deriveBits'))) {
      throw new TypeError(`ECDH-ES needs an ECDH ${type} key`);
    }
    keyObject = keyObjects.get(key) ?? KeyObject.from(key);
    keyObjects.set(key, keyObject);
  }
  if (
    keyObject.type !== type ||
    keyObject.asymmetricKeyType !== 'ec' ||
    keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1'
  ) {
    throw new TypeError(`ECDH-ES needs a P-256 ${type} key`);
  }
  return keyObject;
}

/** The plaintext of a compact JWE whose header was checked; undefined when it does not decrypt. */
function decryptCompact(jwe: string, epk: Record<string, string>, privateKey: KeyObject): Buffer | undefined {
  const [headerPart = '', , ivPart = '', ciphertextPart = '', tagPart = ''] = jwe.split('.');
  const iv = Buffer.from(ivPart, 'base64url');
  const tag = Buffer.from(tagPart, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
  try {
    // Refuses a point that is not on P-256 (an invalid-curve attack) as well as a malformed one.
    const ephemeral = createPublicKey({ key: { ...epk }, format: 'jwk' });
    const key = contentKey(diffieHellman({ privateKey, publicKey: ephemeral }));
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(headerPart, 'latin1'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ciphertextPart, 'base64url')), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * The JSON value inside a JWE made by `encryptForRecipient`, decrypted with our private key: `privateKey`,
 * or for a recipient holding several (an earlier encryption certificate's too), the one `privateKey(kid)`
 * gives for the `kid` the JWE names (none: `other_kid`).
 *
 * @throws RenkeiError ERR_DECRYPTION_FAILED (400): not a compact JWE; a header other than
 *   `{ alg: ECDH-ES, enc: A256GCM, kid, epk (P-256), pn? }` (so `ECDH-ES+A256KW`, `dir`, `RSA-OAEP`,
 *   `A128GCM`, `zip`… are refused); another `kid` than `expectedKid`; another processing number than
 *   expected, or one missing or unexpected; a wrong key; an altered header, key, IV, ciphertext or tag;
 *   a plaintext that is not JSON of bounded depth. `details.reason` says which, and never the content.
 */
export function decryptForRecipient(
  jwe: string,
  privateKey: DecryptionKey | ((kid: string) => DecryptionKey | undefined),
  options: DecryptOptions = {},
): Promise<unknown> {
  return new Promise((resolve) => resolve(decryptNow(jwe, privateKey, options)));
}

function decryptNow(
  jwe: string,
  keyOrKeyFor: DecryptionKey | ((kid: string) => DecryptionKey | undefined),
  options: DecryptOptions,
): unknown {
  if (typeof jwe !== 'string' || !COMPACT_JWE.test(jwe)) throw failed('not_compact');
  const [headerPart = ''] = jwe.split('.');
  const header = ItemsHeader.safeParse(parseBoundedJson(Buffer.from(headerPart, 'base64url').toString()));
  if (!header.success) throw failed('header');
  if (options.expectedKid !== undefined && header.data.kid !== options.expectedKid) throw failed('other_kid');
  const privateKey = typeof keyOrKeyFor === 'function' ? keyOrKeyFor(header.data.kid) : keyOrKeyFor;
  if (privateKey === undefined) throw failed('other_kid');
  if (header.data.pn !== options.processingNumber) throw failed('other_processing_number');

  // A key that cannot do ECDH throws a TypeError: a programming mistake, not the sender's.
  const plaintext = decryptCompact(jwe, header.data.epk, ecdhKeyObject(privateKey, 'private'));
  if (plaintext === undefined) throw failed('decryption');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch {
    throw failed('not_json');
  }
  const value = parseBoundedJson(text);
  if (value === undefined) throw failed('not_json');
  return value;
}

function failed(reason: string): RenkeiError {
  return new RenkeiError('ERR_DECRYPTION_FAILED', 'The encrypted items could not be decrypted.', { reason });
}
