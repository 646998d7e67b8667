/**
 * The walk of RFC 9162 §2.1.3.2 (inclusion proof verification) without the hashing: which side of the
 * running hash each element of the proof goes on, or undefined when the proof cannot be one for that leaf
 * and size. The walk depends only on the index, the size and the proof's length; the hashes are folded by
 * the caller: `verify.ts` with node:crypto, `web-verify.ts` with WebCrypto (whose digest is asynchronous).
 * We considered one verifier generic over a hash function, but a synchronous and an asynchronous hash
 * would need two copies of the loop anyway; this way the RFC's steps are written once.
 *
 * Imports nothing (no node: module), so that a browser can load it.
 */
import { isTreeInteger } from './tree-shape.ts';

/** Where a proof element goes: `left` is r = HASH(0x01 ‖ p ‖ r), `right` is r = HASH(0x01 ‖ r ‖ p). */
export type ProofSide = 'left' | 'right';

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/**
 * The side of each of the `proofLength` elements of an inclusion proof of leaf `leafIndex` in a tree of
 * `treeSize` leaves, following RFC 9162 §2.1.3.2 (the comments number its steps); undefined where the RFC
 * says "fail" before comparing hashes. Never throws.
 */
export function inclusionSides(
  leafIndex: number,
  treeSize: number,
  proofLength: number,
): ProofSide[] | undefined {
  if (!isTreeInteger(leafIndex) || !isTreeInteger(treeSize) || !isTreeInteger(proofLength)) return undefined;
  // 1. If leaf_index >= tree_size, fail.
  if (leafIndex >= treeSize) return undefined;
  // 2. fn = leaf_index, sn = tree_size - 1. (3. r = hash: the caller's.)
  let fn = leafIndex;
  let sn = treeSize - 1;
  const sides: ProofSide[] = [];
  // 4. For each p in inclusion_path:
  for (let i = 0; i < proofLength; i++) {
    // a. If sn is 0, fail.
    if (sn === 0) return undefined;
    // b. If LSB(fn) is set, or fn equals sn:
    if (isOdd(fn) || fn === sn) {
      // i. r = HASH(0x01 || p || r)
      sides.push('left');
      // ii. If LSB(fn) is not set, right-shift fn and sn until LSB(fn) is set or fn is 0.
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      // Otherwise: r = HASH(0x01 || r || p)
      sides.push('right');
    }
    // c. Right-shift fn and sn once.
    fn = half(fn);
    sn = half(sn);
  }
  // 5. sn must be 0 (and r must equal root_hash: the caller's).
  return sn === 0 ? sides : undefined;
}
