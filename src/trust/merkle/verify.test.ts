/**
 * RFC 9162 conformance: the reference test vectors, then every proof of every tree up to 64 leaves.
 *
 * Vectors: the eight leaves, the roots of each prefix, and the inclusion and consistency proofs are those of
 * Certificate Transparency's reference test data, as kept in transparency-dev/merkle, `proof/verify_test.go`
 * (`leaves`, `roots`, `inclusionProofs`, `consistencyProofs`; its leaf numbers are 1-based, ours 0-based).
 */
import { describe, expect, it } from 'vitest';
import { emptyRoot, fromHex, leafHash, nodeHash, toHex } from './hash.ts';
import { createMerkleLog } from './log.ts';
import { createMemoryMerkleStore } from './memory-store.ts';
import { splitPoint } from './tree-shape.ts';
import { verifyConsistency, verifyInclusion } from './verify.ts';

const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(fromHex);

const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

const INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

const CONSISTENCY = [
  {
    from: 1,
    to: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    from: 6,
    to: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    from: 2,
    to: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    from: 6,
    to: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

/**
 * The RFC's definitions, written as its recursion over all leaf hashes: the independent reference. MTH is
 * memoised by range only to keep the suite fast; the recursion is the RFC's.
 */
function referenceTree(hashes: Uint8Array[]) {
  const memo = new Map<string, Uint8Array>();
  const mth = (start: number, n: number): Uint8Array => {
    const id = `${String(start)}+${String(n)}`;
    const known = memo.get(id);
    if (known !== undefined) return known;
    const k = splitPoint(n);
    const hash =
      n === 0
        ? emptyRoot()
        : n === 1
          ? (hashes[start] ?? emptyRoot())
          : nodeHash(mth(start, k), mth(start + k, n - k));
    memo.set(id, hash);
    return hash;
  };
  const path = (m: number, start: number, n: number): Uint8Array[] => {
    if (n <= 1) return [];
    const k = splitPoint(n);
    return m < k
      ? [...path(m, start, k), mth(start + k, n - k)]
      : [...path(m - k, start + k, n - k), mth(start, k)];
  };
  const subproof = (m: number, start: number, n: number, whole: boolean): Uint8Array[] => {
    if (m === n) return whole ? [] : [mth(start, n)];
    const k = splitPoint(n);
    return m <= k
      ? [...subproof(m, start, k, whole), mth(start + k, n - k)]
      : [...subproof(m - k, start + k, n - k, false), mth(start, k)];
  };
  return {
    root: (size: number) => mth(0, size),
    path: (index: number, size: number) => path(index, 0, size),
    proof: (from: number, to: number) => subproof(from, 0, to, true),
  };
}

async function logOf(leaves: Uint8Array[]) {
  const log = createMerkleLog({ store: createMemoryMerkleStore() });
  await log.append(leaves);
  return log;
}

const hex = (hashes: Uint8Array[]) => hashes.map(toHex);

/** A copy of `bytes` with one bit flipped at `at`. */
function flipped(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  copy[at % copy.length] = (copy[at % copy.length] ?? 0) ^ 0x10;
  return copy;
}

describe('RFC 9162 hashes', () => {
  it('gives the empty tree the root SHA-256("")', async () => {
    expect(toHex(emptyRoot())).toBe(ROOTS[0]);
    expect(toHex(await (await logOf([])).root())).toBe(ROOTS[0]);
  });

  it('matches the reference root of every prefix of the eight reference leaves', async () => {
    const log = await logOf(LEAVES);
    for (let size = 0; size <= 8; size++)
      expect(toHex(await log.root(size)), `size ${String(size)}`).toBe(ROOTS[size]);
  });

  it('prefixes leaves with 0x00 and nodes with 0x01, so a node can never pass for a leaf', () => {
    const a = leafHash(fromHex('00'));
    const b = leafHash(fromHex('10'));
    expect(toHex(leafHash(new Uint8Array()))).toBe(ROOTS[1]);
    expect(toHex(nodeHash(a, b))).not.toBe(toHex(leafHash(new Uint8Array([...a, ...b]))));
  });
});

describe('RFC 9162 reference proofs', () => {
  it('generates and verifies the reference inclusion proofs', async () => {
    const log = await logOf(LEAVES);
    for (const { index, size, proof } of INCLUSION) {
      const generated = await log.inclusionProof(index, size);
      expect(hex(generated), `${String(index)}@${String(size)}`).toEqual(proof);
      const root = fromHex(ROOTS[size] as string);
      expect(
        verifyInclusion(index, size, leafHash(LEAVES[index] as Uint8Array), proof.map(fromHex), root),
      ).toBe(true);
    }
  });

  it('generates and verifies the reference consistency proofs', async () => {
    const log = await logOf(LEAVES);
    for (const { from, to, proof } of CONSISTENCY) {
      expect(hex(await log.consistencyProof(from, to)), `${String(from)}→${String(to)}`).toEqual(proof);
      const [r1, r2] = [fromHex(ROOTS[from] as string), fromHex(ROOTS[to] as string)];
      expect(verifyConsistency(from, to, r1, r2, proof.map(fromHex))).toBe(true);
    }
  });

  it('settles the sizes outside the RFC algorithm: equal sizes, size 0, and going backwards', () => {
    const [r0, r1, r2] = [
      fromHex(ROOTS[0] as string),
      fromHex(ROOTS[1] as string),
      fromHex(ROOTS[2] as string),
    ];
    expect(verifyConsistency(1, 1, r1, r1, [])).toBe(true);
    expect(verifyConsistency(1, 1, r1, r2, [])).toBe(false);
    expect(verifyConsistency(1, 1, r1, r1, [r0])).toBe(false);
    expect(verifyConsistency(0, 2, r0, r2, [])).toBe(true);
    expect(verifyConsistency(0, 2, r1, r2, [])).toBe(false);
    expect(verifyConsistency(0, 2, r0, r2, [r0])).toBe(false);
    expect(verifyConsistency(2, 1, r2, r1, [])).toBe(false);
    expect(verifyConsistency(1, 2, r1, r2, [])).toBe(false);
  });

  it('refuses malformed input instead of throwing: short hashes, fractional and negative sizes', () => {
    const r1 = fromHex(ROOTS[1] as string);
    const leaf = leafHash(new Uint8Array());
    expect(verifyInclusion(0, 1, leaf, [], r1)).toBe(true);
    expect(verifyInclusion(0, 1, leaf.subarray(1), [], r1)).toBe(false);
    expect(verifyInclusion(0, 1, leaf, [], r1.subarray(1))).toBe(false);
    expect(verifyInclusion(0.5, 1, leaf, [], r1)).toBe(false);
    expect(verifyInclusion(-1, 1, leaf, [], r1)).toBe(false);
    expect(verifyInclusion(0, 2 ** 53, leaf, [], r1)).toBe(false);
    expect(verifyInclusion(0, 1, leaf, [new Uint8Array(3)], r1)).toBe(false);
    expect(verifyConsistency(1, 1.5, r1, r1, [])).toBe(false);
  });
});

describe('every proof of every tree up to 64 leaves', () => {
  const N = 64;
  const leaves = Array.from({ length: N }, (_, i) => new Uint8Array([i, i * 7, 0xaa]));
  const hashes = leaves.map(leafHash);
  const reference = referenceTree(hashes);
  const roots = Array.from({ length: N + 1 }, (_, n) => reference.root(n));

  it('computes the same root as the RFC recursion at every size', async () => {
    const log = await logOf(leaves);
    for (let n = 0; n <= N; n++) expect(toHex(await log.root(n))).toBe(toHex(roots[n] as Uint8Array));
  });

  it('gives every leaf at every size the RFC inclusion proof, which verifies; any alteration fails', async () => {
    const log = await logOf(leaves);
    const wrong: string[] = [];
    let checked = 0;
    for (let size = 1; size <= N; size++) {
      const root = roots[size] as Uint8Array;
      for (let index = 0; index < size; index++) {
        const leaf = hashes[index] as Uint8Array;
        const proof = await log.inclusionProof(index, size);
        const at = `${String(index)}@${String(size)}`;
        if (hex(proof).join() !== hex(reference.path(index, size)).join())
          wrong.push(`not the RFC's proof at ${at}`);
        if (!verifyInclusion(index, size, leaf, proof, root)) wrong.push(`does not verify at ${at}`);

        const refused = (what: string, ok: boolean) => {
          if (ok) wrong.push(`accepted with ${what} at ${at}`);
        };
        // One byte of one element, a different element and byte from one proof to the next: across the
        // sizes every position of every proof length is altered (all of them in each proof costs seconds).
        if (proof.length > 0) {
          const i = (index + size) % proof.length;
          const changed = proof.with(i, flipped(proof[i] as Uint8Array, index * 7 + size));
          refused(`byte flipped in element ${String(i)}`, verifyInclusion(index, size, leaf, changed, root));
        }
        refused('leaf altered', verifyInclusion(index, size, flipped(leaf, size), proof, root));
        refused('root altered', verifyInclusion(index, size, leaf, proof, flipped(root, index)));
        for (const other of [index - 1, index + 1]) {
          if (other !== index && other >= 0)
            refused(`index ${String(other)}`, verifyInclusion(other, size, leaf, proof, root));
        }
        // A root stands for a tree only together with its size (a signed tree head signs both), so a forger
        // who changes the size must present that size's root: refused. Doubling or halving the size with
        // the same root is refused as well (as in the reference tests). Only sizes whose proof has the same
        // shape could verify with the same root, and a signed head of that size has another root.
        for (const other of [size - 1, size + 1]) {
          if (other > index && other <= N) {
            refused(
              `size ${String(other)} with its root`,
              verifyInclusion(index, other, leaf, proof, roots[other] as Uint8Array),
            );
          }
        }
        for (const other of [size * 2, Math.floor(size / 2)]) {
          if (other > index && other !== size)
            refused(`size ${String(other)}`, verifyInclusion(index, other, leaf, proof, root));
        }
        refused('element appended', verifyInclusion(index, size, leaf, [...proof, root], root));
        refused('element prepended', verifyInclusion(index, size, leaf, [leaf, ...proof], root));
        if (proof.length > 0)
          refused('element removed', verifyInclusion(index, size, leaf, proof.slice(0, -1), root));
        checked++;
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBe((N * (N + 1)) / 2);
  });

  it('gives every pair of sizes the RFC consistency proof, which verifies; any alteration fails', async () => {
    const log = await logOf(leaves);
    const wrong: string[] = [];
    let checked = 0;
    for (let to = 1; to <= N; to++) {
      for (let from = 1; from < to; from++) {
        const [r1, r2] = [roots[from] as Uint8Array, roots[to] as Uint8Array];
        const proof = await log.consistencyProof(from, to);
        const at = `${String(from)}→${String(to)}`;
        if (hex(proof).join() !== hex(reference.proof(from, to)).join())
          wrong.push(`not the RFC's proof at ${at}`);
        if (!verifyConsistency(from, to, r1, r2, proof)) wrong.push(`does not verify at ${at}`);

        const refused = (what: string, ok: boolean) => {
          if (ok) wrong.push(`accepted with ${what} at ${at}`);
        };
        {
          const i = (from + to) % proof.length;
          const changed = proof.with(i, flipped(proof[i] as Uint8Array, from * 7 + to));
          refused(`byte flipped in element ${String(i)}`, verifyConsistency(from, to, r1, r2, changed));
        }
        refused('first root altered', verifyConsistency(from, to, flipped(r1, to), r2, proof));
        refused('second root altered', verifyConsistency(from, to, r1, flipped(r2, from), proof));
        refused('roots swapped', verifyConsistency(from, to, r2, r1, proof));
        for (const other of [from - 1, from + 1]) {
          if (other > 0 && other < to && other !== from)
            refused(`from ${String(other)}`, verifyConsistency(other, to, r1, r2, proof));
        }
        for (const other of [to - 1, to + 1, to * 2]) {
          if (other > from && other !== to && other <= N) {
            refused(
              `to ${String(other)} with its root`,
              verifyConsistency(from, other, r1, roots[other] as Uint8Array, proof),
            );
          }
        }
        refused('to doubled', verifyConsistency(from, to * 2, r1, r2, proof));
        refused('empty proof', verifyConsistency(from, to, r1, r2, []));
        refused('element appended', verifyConsistency(from, to, r1, r2, [...proof, r2]));
        refused('element prepended', verifyConsistency(from, to, r1, r2, [r1, ...proof]));
        refused('element removed', verifyConsistency(from, to, r1, r2, proof.slice(0, -1)));
        checked++;
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBe((N * (N - 1)) / 2);
  });
});
