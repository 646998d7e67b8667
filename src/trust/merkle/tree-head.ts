/**
 * Signed tree heads: a party's signature over (tree size, root hash, time), RFC 9162 §4.10's idea in
 * JOSE form. A head is what makes the log tamper-evident: the party cannot later present a tree that does
 * not extend it (a consistency proof would fail), and nobody else can forge one without the party's key.
 *
 * Format: a compact JWS, ES256, protected header `{"alg":"ES256","kid":…,"typ":"renkei-tree-head+jws"}`,
 * payload the canonical JSON (canonical-json.ts) of
 * `{"rootHash":"<64 lower-case hex>","timestamp":<ms since the epoch>,"treeSize":<n>}`.
 *
 * We chose JWS over RFC 9162's TLS-encoded TreeHeadSignature because the rest of the network signs its
 * messages with JOSE (one library, one key format, checkable by any JOSE implementation), and a canonical
 * payload over a plain JSON one so that a head has exactly one byte form: the verifier refuses any other.
 * `typ` keeps a tree head from being accepted where a signed message is expected, and the reverse.
 */
import type { CryptoKey, KeyObject } from 'jose';
import { CompactSign, compactVerify, errors } from 'jose';
import { z } from 'zod';
import { RenkeiError } from '../../shared/errors.ts';
import { canonicalJson } from './canonical-json.ts';
import { fromHex, isHash, toHex } from './hash.ts';
import { isTreeInteger } from './tree-shape.ts';

export const TREE_HEAD_TYPE = 'renkei-tree-head+jws';

/** What a party vouches for: the first `treeSize` leaves of its log have root `rootHash`, as of `timestamp`. */
export interface TreeHead {
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  /** Milliseconds since the epoch, as RFC 9162's timestamps. */
  readonly timestamp: number;
}

declare const verified: unique symbol;

/**
 * A tree head whose signature `verifyTreeHead` checked. The brand is compile-time only: it stops code from
 * passing a head it built itself (or parsed without checking) to the audit, which trusts heads as signed.
 */
export interface SignedTreeHead extends TreeHead {
  readonly kid: string;
  readonly jws: string;
  readonly [verified]: true;
}

/** Keys as jose takes them: a WebCrypto CryptoKey or a node:crypto KeyObject, P-256. */
export type TreeHeadKey = CryptoKey | KeyObject;

const Payload = z.strictObject({
  treeSize: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  rootHash: z.string().regex(/^[0-9a-f]{64}$/),
  timestamp: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

function payloadOf(head: TreeHead): string {
  return canonicalJson({
    rootHash: toHex(head.rootHash),
    timestamp: head.timestamp,
    treeSize: head.treeSize,
  });
}

/**
 * Signs `head` with the party's P-256 private key under key id `kid`. Throws a TypeError for a head that
 * is not one (size or time not a non-negative integer, root not 32 bytes), an empty kid, or a key jose
 * cannot use for ES256: all programming mistakes, no error code.
 */
export async function signTreeHead(head: TreeHead, privateKey: TreeHeadKey, kid: string): Promise<string> {
  if (!isTreeInteger(head.treeSize) || !isTreeInteger(head.timestamp) || !isHash(head.rootHash)) {
    throw new TypeError('A tree head is a non-negative integer size and time and a 32-byte root.');
  }
  if (typeof kid !== 'string' || kid.length === 0)
    throw new TypeError('A tree head is signed under a key id.');
  return new CompactSign(new TextEncoder().encode(payloadOf(head)))
    .setProtectedHeader({ alg: 'ES256', kid, typ: TREE_HEAD_TYPE })
    .sign(privateKey);
}

function invalid(reason: 'malformed' | 'signature' | 'header' | 'payload'): RenkeiError {
  return new RenkeiError('ERR_TREE_HEAD_INVALID', 'The signed tree head is not valid.', { reason });
}

/**
 * Checks a signed tree head against the signer's public key and returns it. Fails closed with
 * ERR_TREE_HEAD_INVALID, `details.reason` one of: `malformed` (not a compact JWS), `signature` (another
 * key, or altered), `header` (not ES256, not our `typ`, no `kid`), `payload` (not the canonical JSON of a
 * tree head). A key jose cannot use at all is a TypeError (the caller's mistake, not the sender's).
 */
export async function verifyTreeHead(jws: string, publicKey: TreeHeadKey): Promise<SignedTreeHead> {
  let verifiedJws: Awaited<ReturnType<typeof compactVerify>>;
  try {
    verifiedJws = await compactVerify(jws, publicKey, { algorithms: ['ES256'] });
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) throw invalid('signature');
    if (error instanceof errors.JOSEAlgNotAllowed) throw invalid('header');
    if (error instanceof errors.JOSEError) throw invalid('malformed');
    throw error;
  }
  const { protectedHeader: header, payload } = verifiedJws;
  if (header.typ !== TREE_HEAD_TYPE || typeof header.kid !== 'string' || header.kid.length === 0) {
    throw invalid('header');
  }
  let text: string;
  let parsed: z.infer<typeof Payload>;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
    parsed = Payload.parse(JSON.parse(text));
  } catch {
    throw invalid('payload');
  }
  const head = { treeSize: parsed.treeSize, rootHash: fromHex(parsed.rootHash), timestamp: parsed.timestamp };
  // One byte form only: a payload with spaces, reordered members or "1.0" for 1 is refused.
  if (payloadOf(head) !== text) throw invalid('payload');
  return { ...head, kid: header.kid, jws } as SignedTreeHead;
}
