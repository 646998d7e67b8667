/**
 * Proof verification, as RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency) write it, step by step;
 * the comments number the RFC's steps. This is what a resident's portal, the oversight commission or another
 * party runs against a signed tree head, so it depends on nothing but the hashes: no store, no log.
 *
 * Both return a boolean and never throw on input: a proof, a size or a hash from the network is untrusted,
 * and anything malformed (a hash of the wrong length, a negative or fractional size) is simply "does not
 * verify". We considered throwing RenkeiError for malformed input, but every caller would then need two
 * failure paths for one fact.
 *
 * Sizes are handled with division, not bit operators (see tree-shape.ts).
 */
import { emptyRoot, hashesEqual, isHash, nodeHash } from './hash.ts';
import { inclusionSides } from './inclusion-walk.ts';
import { isPowerOfTwo, isTreeInteger } from './tree-shape.ts';

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/**
 * Does `proof` show that the leaf whose hash is `leafHash` is at `leafIndex` in the tree of `treeSize`
 * leaves whose root is `rootHash`? RFC 9162 §2.1.3.2: the walk (which side each element goes on) is
 * `inclusionSides`, shared with the browser's verifier (web-verify.ts); the hashes are folded here.
 */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  rootHash: Uint8Array,
): boolean {
  if (!isHash(leafHash) || !isHash(rootHash) || !Array.isArray(proof) || !proof.every(isHash)) return false;
  const sides = inclusionSides(leafIndex, treeSize, proof.length);
  if (sides === undefined) return false;
  // 3. r = hash; 4.b: r = HASH(0x01 || p || r) or HASH(0x01 || r || p), as the walk says.
  let r = leafHash;
  proof.forEach((p, i) => {
    r = sides[i] === 'left' ? nodeHash(p, r) : nodeHash(r, p);
  });
  // 5. r must equal root_hash.
  return hashesEqual(r, rootHash);
}

/**
 * Does `proof` show that the tree of `first` leaves with root `firstHash` is a prefix of the tree of
 * `second` leaves with root `secondHash`? RFC 9162 §2.1.4.2 for 0 < first < second.
 *
 * The RFC's algorithm assumes 0 < first < second. Outside it we decide as follows: first > second never
 * verifies; first = second verifies an empty proof when the roots are equal; first = 0 verifies an empty
 * proof when `firstHash` is the empty tree's root (the reference implementation, transparency-dev/merkle,
 * accepts any first root for size 0; a signed head of size 0 with another root is bogus, so we refuse it).
 */
export function verifyConsistency(
  first: number,
  second: number,
  firstHash: Uint8Array,
  secondHash: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isTreeInteger(first) || !isTreeInteger(second) || first > second) return false;
  if (!isHash(firstHash) || !isHash(secondHash) || !Array.isArray(proof) || !proof.every(isHash))
    return false;
  if (first === second) return proof.length === 0 && hashesEqual(firstHash, secondHash);
  if (first === 0) return proof.length === 0 && hashesEqual(firstHash, emptyRoot());
  // 1. If consistency_path is empty, fail.
  if (proof.length === 0) return false;
  // 2. If first is an exact power of 2, prepend first_hash to consistency_path.
  const path = isPowerOfTwo(first) ? [firstHash, ...proof] : [...proof];
  // 3. fn = first - 1, sn = second - 1.
  let fn = first - 1;
  let sn = second - 1;
  // 4. If LSB(fn) is set, right-shift fn and sn until LSB(fn) is not set.
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. fr = sr = the first value of consistency_path.
  const [head, ...rest] = path;
  if (head === undefined) return false;
  let fr = head;
  let sr = head;
  // 6. For each subsequent value c:
  for (const c of rest) {
    // a. If sn is 0, fail.
    if (sn === 0) return false;
    // b. If LSB(fn) is set, or fn equals sn:
    if (isOdd(fn) || fn === sn) {
      // i. fr = HASH(0x01 || c || fr); ii. sr = HASH(0x01 || c || sr)
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      // iii. If LSB(fn) is not set, right-shift fn and sn until LSB(fn) is set or fn is 0.
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      // Otherwise: sr = HASH(0x01 || sr || c)
      sr = nodeHash(sr, c);
    }
    // c. Right-shift fn and sn once.
    fn = half(fn);
    sn = half(sn);
  }
  // 7. fr must equal first_hash, sr must equal second_hash, and sn must be 0.
  return sn === 0 && hashesEqual(fr, firstHash) && hashesEqual(sr, secondHash);
}
