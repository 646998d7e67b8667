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
 */
import { CompactEncrypt, compactDecrypt, errors } from 'jose';
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
export async function encryptForRecipient(
  plaintext: unknown,
  recipientPublicKey: EncryptionKey,
  options: EncryptOptions,
): Promise<string> {
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
  return new CompactEncrypt(new TextEncoder().encode(json))
    .setProtectedHeader({
      alg: ITEMS_KEY_ALGORITHM,
      enc: ITEMS_CONTENT_ENCRYPTION,
      kid: options.kid,
      ...(options.processingNumber === undefined ? {} : { pn: options.processingNumber }),
    })
    .encrypt(recipientPublicKey);
}

/**
 * The JSON value inside a JWE made by `encryptForRecipient`, decrypted with our private key.
 *
 * @throws RenkeiError ERR_DECRYPTION_FAILED (400): not a compact JWE; a header other than
 *   `{ alg: ECDH-ES, enc: A256GCM, kid, epk (P-256), pn? }` (so `ECDH-ES+A256KW`, `dir`, `RSA-OAEP`,
 *   `A128GCM`, `zip`… are refused); another `kid` than `expectedKid`; another processing number than
 *   expected, or one missing or unexpected; a wrong key; an altered header, key, IV, ciphertext or tag;
 *   a plaintext that is not JSON of bounded depth. `details.reason` says which, and never the content.
 */
export async function decryptForRecipient(
  jwe: string,
  privateKey: DecryptionKey,
  options: DecryptOptions = {},
): Promise<unknown> {
  if (typeof jwe !== 'string' || !COMPACT_JWE.test(jwe)) throw failed('not_compact');
  const [headerPart = ''] = jwe.split('.');
  const header = ItemsHeader.safeParse(parseBoundedJson(Buffer.from(headerPart, 'base64url').toString()));
  if (!header.success) throw failed('header');
  if (options.expectedKid !== undefined && header.data.kid !== options.expectedKid) throw failed('other_kid');
  if (header.data.pn !== options.processingNumber) throw failed('other_processing_number');

  let plaintext: Uint8Array;
  try {
    ({ plaintext } = await compactDecrypt(jwe, privateKey, {
      keyManagementAlgorithms: [ITEMS_KEY_ALGORITHM],
      contentEncryptionAlgorithms: [ITEMS_CONTENT_ENCRYPTION],
    }));
  } catch (error) {
    if (error instanceof errors.JOSEError) throw failed('decryption');
    throw error; // a key that cannot do ECDH: a programming mistake
  }
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
