/**
 * The hashes of RFC 9162 §2.1.1 (unchanged from RFC 6962 §2.1), with SHA-256:
 *
 *   leaf hash  = SHA-256(0x00 ‖ leaf bytes)
 *   node hash  = SHA-256(0x01 ‖ left ‖ right)
 *   empty tree = SHA-256("")
 *
 * The one-byte prefixes keep a leaf from ever being read as an interior node (the second-preimage attack
 * on plain Merkle trees). We use RFC 9162's hashes exactly, rather than anything of our own, so that any
 * Certificate Transparency tool can check our proofs and so that the published test vectors test us.
 */
import * as crypto from 'node:crypto';

/** Bytes of a SHA-256 hash: every leaf hash, node hash and root. */
export const HASH_SIZE = 32;

/**
 * SHA-256 of one buffer, copied out of Node's Buffer pool so that a caller holding one hash never pins an
 * 8 KiB slab. `crypto.hash` (Node ≥ 20.12) is the one-shot form, about twice as fast as `createHash` for
 * inputs this small, where the call's overhead is the whole cost; on an older Node 20 we fall back.
 */
const sha256: (data: Uint8Array) => Uint8Array =
  typeof crypto.hash === 'function'
    ? (data) => new Uint8Array(crypto.hash('sha256', data, 'buffer'))
    : (data) => new Uint8Array(crypto.createHash('sha256').update(data).digest());

/** SHA-256(0x00 ‖ leaf). */
export function leafHash(leaf: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + leaf.length);
  input[0] = 0x00;
  input.set(leaf, 1);
  return sha256(input);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

/** MTH({}) = SHA-256(""): the root of the empty tree. A fresh copy each call, so no caller can alter another's. */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

/** True if `value` is a Uint8Array of exactly one hash's length. */
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_SIZE;
}

/** Constant-time equality of two hashes; false (never a throw) for anything that is not two hashes. */
export function hashesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return isHash(a) && isHash(b) && crypto.timingSafeEqual(a, b);
}

/** Lower-case hex, the form hashes take in JSON, logs and findings. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** The bytes of lower-case or upper-case hex; a TypeError for anything else (callers validate untrusted hex). */
export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError('Not an even-length hex string.');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
