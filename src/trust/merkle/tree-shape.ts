/**
 * The shape of an RFC 9162 tree, in node addresses, so that a log can answer from stored nodes alone.
 *
 * A node is addressed `(level, index)`: level 0 holds the leaf hashes, and node `(l, i)` is the root of the
 * perfect subtree over leaves `[i·2^l, (i+1)·2^l)`. Only perfect subtrees are ever stored: they never change
 * once complete, which is what makes an append-only table of them possible. Every other hash the RFC's
 * recursion needs, MTH(D[a:b]) for a range whose size is not a power of two, is a fold of the perfect
 * subtrees that tile it, at most ⌈log₂ n⌉ of them.
 *
 * Why this works: in the RFC's recursion MTH(D[n]) = HASH(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])), k the largest
 * power of two below n, every subrange [a, a+m) that appears starts at a multiple of the smallest power of
 * two ≥ m. So its left part of size k is the stored node (log₂ k, a/k), and its right part recurses.
 *
 * Sizes and indices are plain numbers, checked to be safe integers, and the arithmetic uses division
 * rather than bit operators: JavaScript's bit operators work on 32 bits, and a log kept seven years at the
 * network's rate (over a million provisions a week, growing) should not have to care where 2³¹ is.
 */

/** The address of a stored node: level 0 holds leaf hashes. */
export interface NodeKey {
  readonly level: number;
  readonly index: number;
}

/** A half-open range of leaf indices `[start, end)`. */
export interface LeafRange {
  readonly start: number;
  readonly end: number;
}

/** True for a non-negative safe integer: the only sizes and indices a tree has. */
export function isTreeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The largest power of two strictly less than `n`, for n ≥ 2: the RFC's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** True for 1, 2, 4, 8, …: the sizes of perfect subtrees. */
export function isPowerOfTwo(n: number): boolean {
  let p = 1;
  while (p < n) p *= 2;
  return p === n;
}

function log2(powerOfTwo: number): number {
  let level = 0;
  for (let p = 1; p < powerOfTwo; p *= 2) level++;
  return level;
}

/**
 * The perfect subtrees that tile a range of the RFC's recursion, left to right (largest first). For
 * `[0, size)` these are the "frontier" of the tree: the nodes a log needs to go on appending.
 */
export function perfectNodes(range: LeafRange): NodeKey[] {
  const nodes: NodeKey[] = [];
  let start = range.start;
  let n = range.end - range.start;
  while (n > 0) {
    const k = isPowerOfTwo(n) ? n : splitPoint(n);
    nodes.push({ level: log2(k), index: start / k });
    start += k;
    n -= k;
  }
  return nodes;
}

/**
 * The ranges whose MTH are the elements of PATH(m, D[n]), RFC 9162 §2.1.3.1, in the proof's order
 * (nearest the leaf first). At most one of them is not a perfect subtree: the right sibling at the first
 * step where the path turns left, after which the path stays inside a perfect subtree.
 */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  const path = (m: number, start: number, n: number): LeafRange[] => {
    if (n <= 1) return [];
    const k = splitPoint(n);
    return m < k
      ? [...path(m, start, k), { start: start + k, end: start + n }]
      : [...path(m - k, start + k, n - k), { start, end: start + k }];
  };
  return path(index, 0, size);
}

/**
 * The ranges whose MTH are the elements of PROOF(m, D[n]) = SUBPROOF(m, D[n], true), RFC 9162 §2.1.4.1,
 * for 0 < m < n; empty when m is 0 or m = n (nothing to prove).
 */
export function consistencyRanges(first: number, second: number): LeafRange[] {
  const subproof = (m: number, start: number, n: number, whole: boolean): LeafRange[] => {
    if (m === n) return whole ? [] : [{ start, end: start + n }];
    const k = splitPoint(n);
    return m <= k
      ? [...subproof(m, start, k, whole), { start: start + k, end: start + n }]
      : [...subproof(m - k, start + k, n - k, false), { start, end: start + k }];
  };
  return first === 0 || first >= second ? [] : subproof(first, 0, second, true);
}

/** A stable string for a node key, for maps keyed by node. */
export function nodeId(key: NodeKey): string {
  return `${String(key.level)}:${String(key.index)}`;
}
