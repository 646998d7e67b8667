/**
 * What a resident's browser runs on a row of the Myna Portal's exchange history (やりとり履歴): the row's
 * leaves are in the core's record log, under a tree head the core signed. The same code runs in Node (the
 * tests, the portal's server if it wants to check before showing).
 *
 * No node: module and no dependency: SHA-256 and the ECDSA check are WebCrypto's (`crypto.subtle`, in every
 * browser and in Node ≥ 19 as a global), base64url is `atob`, the proof walk is `inclusion-walk.ts` (RFC
 * 9162's steps, shared with verify.ts) and the head's payload is checked against `canonical-json.ts`. We
 * considered jose for the head (tree-head.ts uses it), but the browser would then load a library to check
 * one ES256 signature, which WebCrypto does in one call: a JWS ES256 signature is r ‖ s, 64 bytes, which is
 * exactly WebCrypto's ECDSA signature format.
 *
 * Every function here fails closed and never throws on untrusted input: a head, a leaf or a proof from the
 * network is data, and "does not verify" is the one answer to anything malformed.
 */
import { canonicalJson } from './canonical-json.ts';
import { inclusionSides } from './inclusion-walk.ts';

/** As tree-head.ts's `TREE_HEAD_TYPE` (repeated: that module loads jose and node:crypto). */
const TREE_HEAD_TYPE = 'renkei-tree-head+jws';
const HASH_SIZE = 32;

/** A tree head whose signature checked: what the core vouches for. */
export interface WebTreeHead {
  readonly treeSize: number;
  /** Lower-case hex. */
  readonly rootHash: string;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  readonly kid: string;
}

/** One leaf of a record as the core answers it: its log index, its bytes (as text), its inclusion proof. */
export interface EvidenceLeaf {
  readonly index: number;
  /** The leaf's canonical JSON, exactly as logged. */
  readonly leaf: string;
  /** Sibling hashes, lower-case hex, nearest the leaf first; null when the head does not cover the leaf. */
  readonly proof: readonly string[] | null;
}

export interface RecordEvidence {
  /** The signed tree head (compact JWS) the proofs are against. */
  readonly treeHead: string;
  readonly leaves: readonly EvidenceLeaf[];
}

export type EvidenceVerdict =
  | { readonly ok: true; readonly head: WebTreeHead }
  | {
      readonly ok: false;
      /**
       * `head`: the head's signature, header or payload does not check (another key, altered, malformed);
       * `leaf`: a leaf is not this record's, or its proof does not lead to the head's root (an altered
       * leaf, a proof for another leaf, another tree); `uncovered`: a leaf the head does not cover yet;
       * `empty`: no leaf at all.
       */
      readonly reason: 'head' | 'leaf' | 'uncovered' | 'empty';
      /** The first leaf that failed, by log index. */
      readonly index?: number;
    };

/** An EC public key as JWK (RFC 7517): `{ kty: 'EC', crv: 'P-256', x, y }`, as the core publishes it. */
export interface PublicJwk {
  readonly kty: string;
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly [member: string]: unknown;
}

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/** A copy over a plain ArrayBuffer, which is what WebCrypto's types take. */
const own = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes);

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', own(data)));
}

function prefixed(prefix: number, ...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(1 + parts.reduce((n, p) => n + p.length, 0));
  out[0] = prefix;
  let at = 1;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** RFC 9162 leaf hash, SHA-256(0x00 ‖ leaf), by WebCrypto. */
export function webLeafHash(leaf: Uint8Array): Promise<Uint8Array> {
  return sha256(prefixed(0x00, leaf));
}

function webNodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(prefixed(0x01, left, right));
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The bytes of lower-case hex of one hash; undefined for anything else. */
function hashOfHex(hex: unknown): Uint8Array | undefined {
  if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) return undefined;
  const out = new Uint8Array(HASH_SIZE);
  for (let i = 0; i < HASH_SIZE; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function base64urlBytes(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  try {
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isSize = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/**
 * Checks a signed tree head (tree-head.ts's format) against the core's public key, as JWK (the form the
 * core publishes it in) or a WebCrypto key, and returns what it says; undefined if anything is wrong: the
 * signature (another key, an altered head), the header (not ES256, not a tree head, no kid), the payload
 * (not the one canonical form of a tree head).
 */
export async function verifyTreeHeadWeb(
  jws: string,
  publicKey: PublicJwk | CryptoKey,
): Promise<WebTreeHead | undefined> {
  if (typeof jws !== 'string') return undefined;
  const parts = jws.split('.');
  if (parts.length !== 3) return undefined;
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const headerBytes = base64urlBytes(headerPart);
  const payloadBytes = base64urlBytes(payloadPart);
  const signature = base64urlBytes(signaturePart);
  if (!headerBytes || !payloadBytes || !signature || signature.length !== 64) return undefined;
  const headerText = utf8(headerBytes);
  const payloadText = utf8(payloadBytes);
  if (headerText === undefined || payloadText === undefined) return undefined;
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(headerText);
    payload = JSON.parse(payloadText);
  } catch {
    return undefined;
  }
  if (!isRecord(header) || header.alg !== 'ES256' || header.typ !== TREE_HEAD_TYPE) return undefined;
  if (typeof header.kid !== 'string' || header.kid.length === 0) return undefined;
  if (!isRecord(payload) || Object.keys(payload).length !== 3) return undefined;
  const { treeSize, rootHash, timestamp } = payload;
  if (!isSize(treeSize) || !isSize(timestamp) || hashOfHex(rootHash) === undefined) return undefined;
  // One byte form only, as verifyTreeHead: spaces, reordered members or "1.0" for 1 are refused.
  if (canonicalJson({ rootHash, timestamp, treeSize }) !== payloadText) return undefined;
  let key: CryptoKey;
  try {
    key =
      'type' in publicKey && 'algorithm' in publicKey
        ? (publicKey as CryptoKey)
        : await subtle().importKey(
            'jwk',
            // Node's types name WebCrypto's JsonWebKey in a namespace a browser module cannot import.
            publicKey as never,
            { name: 'ECDSA', namedCurve: 'P-256' },
            false,
            ['verify'],
          );
  } catch {
    return undefined;
  }
  let valid: boolean;
  try {
    valid = await subtle().verify(
      { name: 'ECDSA', hash: 'SHA-256' },
      key,
      own(signature),
      new TextEncoder().encode(`${headerPart}.${payloadPart}`),
    );
  } catch {
    return undefined;
  }
  return valid ? { treeSize, rootHash: rootHash as string, timestamp, kid: header.kid } : undefined;
}

/**
 * Does `proof` (hex) show that `leaf` is at `index` in the tree of `treeSize` leaves with root `rootHash`
 * (hex)? RFC 9162 §2.1.3.2, the walk shared with verify.ts's `verifyInclusion`, hashed by WebCrypto.
 */
export async function verifyInclusionWeb(
  index: number,
  treeSize: number,
  leaf: Uint8Array,
  proof: readonly string[],
  rootHash: string,
): Promise<boolean> {
  const root = hashOfHex(rootHash);
  if (!root || !Array.isArray(proof)) return false;
  const path = proof.map(hashOfHex);
  const sides = inclusionSides(index, treeSize, path.length);
  if (sides === undefined) return false;
  let r = await webLeafHash(leaf);
  for (const [i, p] of path.entries()) {
    if (p === undefined) return false;
    r = sides[i] === 'left' ? await webNodeHash(p, r) : await webNodeHash(r, p);
  }
  return hexOf(r) === hexOf(root);
}

/**
 * Checks one row of the exchange history: the head's signature by the core's key, then that every leaf is
 * an event of the record `processingNumber` and is in the log under that head. `ok` only if all of it holds.
 */
export async function verifyRecordEvidence(
  evidence: RecordEvidence,
  publicKey: PublicJwk | CryptoKey,
  processingNumber: string,
): Promise<EvidenceVerdict> {
  const head = await verifyTreeHeadWeb(evidence.treeHead, publicKey);
  if (!head) return { ok: false, reason: 'head' };
  const leaves: unknown = evidence.leaves;
  if (!Array.isArray(leaves) || leaves.length === 0) return { ok: false, reason: 'empty' };
  for (const item of leaves as unknown[]) {
    if (!isRecord(item) || !isSize(item.index) || typeof item.leaf !== 'string')
      return { ok: false, reason: 'leaf' };
    const { index, leaf, proof } = item;
    if (proof === null) return { ok: false, reason: 'uncovered', index };
    if (!Array.isArray(proof)) return { ok: false, reason: 'leaf', index };
    let event: unknown;
    try {
      event = JSON.parse(leaf);
    } catch {
      return { ok: false, reason: 'leaf', index };
    }
    // The leaf must be this record's: a valid proof of someone else's leaf proves nothing about this row.
    if (!isRecord(event) || event.processingNumber !== processingNumber) {
      return { ok: false, reason: 'leaf', index };
    }
    const included = await verifyInclusionWeb(
      index,
      head.treeSize,
      new TextEncoder().encode(leaf),
      proof as unknown[] as string[],
      head.rootHash,
    );
    if (!included) return { ok: false, reason: 'leaf', index };
  }
  return { ok: true, head };
}
