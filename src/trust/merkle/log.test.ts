import { describe, expect, it } from 'vitest';
import { RenkeiError } from '../../shared/errors.ts';
import { leafHash, nodeHash, toHex } from './hash.ts';
import { createMerkleLog } from './log.ts';
import { createMemoryMerkleStore } from './memory-store.ts';
import type { MerkleNode, MerkleStore } from './store.ts';
import type { NodeKey } from './tree-shape.ts';
import { nodeId } from './tree-shape.ts';
import { verifyConsistency, verifyInclusion } from './verify.ts';

const leaves = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => new TextEncoder().encode(`record ${String(from + i)}`));

/** Counts what a store is asked: the round trips and node reads a SQL adapter would make. */
function counting(store: MerkleStore) {
  const counts = { getNodes: 0, keysRead: 0, putNodes: 0, size: 0 };
  const counted: MerkleStore = {
    size: () => (counts.size++, store.size()),
    getNodes: (keys) => (counts.getNodes++, (counts.keysRead += keys.length), store.getNodes(keys)),
    putNodes: (nodes) => (counts.putNodes++, store.putNodes(nodes)),
  };
  const reset = () => Object.assign(counts, { getNodes: 0, keysRead: 0, putNodes: 0, size: 0 });
  return { store: counted, counts, reset };
}

/**
 * A sparse store over a Map, starting as if `size` leaves were already there, with only the nodes given:
 * the way to test a log past 2³² leaves without hashing them.
 */
function sparseStore(size: number, nodes: MerkleNode[]): MerkleStore {
  const map = new Map(nodes.map((n) => [nodeId(n), n.hash]));
  let leafCount = size;
  return {
    size: () => Promise.resolve(leafCount),
    getNodes: (keys: readonly NodeKey[]) => Promise.resolve(keys.map((k) => map.get(nodeId(k)))),
    putNodes: (put) => {
      for (const n of put) {
        map.set(nodeId(n), n.hash);
        if (n.level === 0) leafCount = Math.max(leafCount, n.index + 1);
      }
      return Promise.resolve();
    },
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof RenkeiError ? error.code : String(error);
  }
}

describe('MerkleLog', () => {
  it('numbers each batch from the index it returns, and batches give the same tree as one append', async () => {
    const batched = createMerkleLog({ store: createMemoryMerkleStore() });
    expect(await batched.append(leaves(3))).toBe(0);
    expect(await batched.append([])).toBe(3);
    expect(await batched.append(leaves(6, 3))).toBe(3);
    expect(await batched.append(leaves(1, 9))).toBe(9);
    const whole = createMerkleLog({ store: createMemoryMerkleStore() });
    await whole.append(leaves(10));
    expect(await batched.size()).toBe(10);
    for (let size = 0; size <= 10; size++)
      expect(toHex(await batched.root(size))).toBe(toHex(await whole.root(size)));
  });

  it('stores each leaf hash and each perfect subtree once, as it completes', async () => {
    const store = createMemoryMerkleStore();
    const log = createMerkleLog({ store });
    await log.append(leaves(5));
    const hashes = leaves(5).map(leafHash);
    const [l0, l1, l2, l3, l4] = hashes as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const keys = [
      { level: 0, index: 4 },
      { level: 1, index: 0 },
      { level: 1, index: 1 },
      { level: 2, index: 0 },
      { level: 1, index: 2 },
    ];
    const got = await store.getNodes(keys);
    expect(got.map((h) => (h ? toHex(h) : undefined))).toEqual([
      toHex(l4),
      toHex(nodeHash(l0, l1)),
      toHex(nodeHash(l2, l3)),
      toHex(nodeHash(nodeHash(l0, l1), nodeHash(l2, l3))),
      undefined,
    ]);
  });

  it('reads O(log n) nodes in one round trip for a root or a proof, and appends in one write', async () => {
    const n = 2 ** 13 + 5;
    const { store, counts, reset } = counting(createMemoryMerkleStore());
    const log = createMerkleLog({ store });
    await log.append(leaves(n - 100));
    reset();
    await log.append(leaves(100, n - 100));
    expect(counts).toMatchObject({ getNodes: 1, putNodes: 1, size: 1 });
    const bound = 2 * Math.ceil(Math.log2(n)) + 2;
    const reads = [
      () => log.root(n),
      () => log.root(n - 1),
      () => log.inclusionProof(0, n),
      () => log.inclusionProof(4097, n),
      () => log.inclusionProof(n - 1, n),
      () => log.consistencyProof(1, n),
      () => log.consistencyProof(4099, n - 3),
      () => log.consistencyProof(n - 2, n),
    ];
    for (const read of reads) {
      reset();
      await read();
      expect(counts.getNodes).toBe(1);
      expect(counts.size).toBe(0);
      expect(counts.keysRead).toBeLessThanOrEqual(bound);
    }
  });

  it('keeps its arithmetic exact past 2³² leaves, where bit operators would wrap', async () => {
    const size = 2 ** 33;
    const left = leafHash(new TextEncoder().encode('stands for the first 2^33 leaves'));
    const last = leafHash(new TextEncoder().encode('leaf 2^33 - 1'));
    const log = createMerkleLog({
      store: sparseStore(size, [
        { level: 33, index: 0, hash: left },
        { level: 0, index: size - 1, hash: last },
      ]),
    });
    expect(await log.root()).toEqual(left);
    expect(await log.append(leaves(3))).toBe(size);
    const [a, b, c] = leaves(3).map(leafHash) as [Uint8Array, Uint8Array, Uint8Array];
    const root = await log.root();
    expect(toHex(root)).toBe(toHex(nodeHash(left, nodeHash(nodeHash(a, b), c))));
    expect(verifyInclusion(size + 2, size + 3, c, await log.inclusionProof(size + 2, size + 3), root)).toBe(
      true,
    );
    expect(verifyInclusion(size + 1, size + 3, b, await log.inclusionProof(size + 1, size + 3), root)).toBe(
      true,
    );
    expect(verifyConsistency(size, size + 3, left, root, await log.consistencyProof(size, size + 3))).toBe(
      true,
    );
    expect(
      verifyConsistency(
        size + 2,
        size + 3,
        await log.root(size + 2),
        root,
        await log.consistencyProof(size + 2, size + 3),
      ),
    ).toBe(true);
  });

  it('never answers a root or a proof for leaves the log does not have', async () => {
    const log = createMerkleLog({ store: createMemoryMerkleStore() });
    await log.append(leaves(4));
    expect(await codeOf(log.root(5))).toBe('ERR_MERKLE_OUT_OF_RANGE');
    expect(await codeOf(log.inclusionProof(4, 5))).toBe('ERR_MERKLE_OUT_OF_RANGE');
    expect(await codeOf(log.inclusionProof(4, 4))).toBe('ERR_MERKLE_OUT_OF_RANGE');
    expect(await codeOf(log.inclusionProof(-1, 4))).toBe('ERR_MERKLE_OUT_OF_RANGE');
    expect(await codeOf(log.inclusionProof(0.5, 4))).toBe('ERR_MERKLE_OUT_OF_RANGE');
    expect(await codeOf(log.consistencyProof(2, 5))).toBe('ERR_MERKLE_OUT_OF_RANGE');
    expect(await codeOf(log.consistencyProof(0, 5))).toBe('ERR_MERKLE_OUT_OF_RANGE');
    expect(await codeOf(log.consistencyProof(3, 2))).toBe('ERR_MERKLE_OUT_OF_RANGE');
    expect(await log.consistencyProof(0, 4)).toEqual([]);
    expect(await log.consistencyProof(4, 4)).toEqual([]);
  });

  it('names a node lost from the store instead of answering a wrong proof', async () => {
    const store = createMemoryMerkleStore();
    const log = createMerkleLog({ store });
    await log.append(leaves(4));
    store.deleteNode({ level: 1, index: 0 });
    const error = await log.inclusionProof(3, 4).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenkeiError);
    expect(error).toMatchObject({ code: 'ERR_MERKLE_NODE_MISSING', details: { level: 1, index: 0 } });
    store.deleteNode({ level: 2, index: 0 });
    expect(await codeOf(log.append(leaves(1)))).toBe('ERR_MERKLE_NODE_MISSING');
  });

  it('lets only one of two appenders racing over one store win, and writes nothing of the other', async () => {
    const store = createMemoryMerkleStore();
    const [a, b] = [createMerkleLog({ store }), createMerkleLog({ store })];
    const results = await Promise.allSettled([a.append(leaves(3)), b.append(leaves(2, 100))]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((r) => r.status === 'rejected');
    expect((rejected?.reason as RenkeiError).code).toBe('ERR_MERKLE_APPEND_CONFLICT');
    const winner = results[0]?.status === 'fulfilled' ? leaves(3) : leaves(2, 100);
    const clean = createMerkleLog({ store: createMemoryMerkleStore() });
    await clean.append(winner);
    expect(await a.size()).toBe(winner.length);
    expect(toHex(await a.root())).toBe(toHex(await clean.root()));
  });

  it('orders its own concurrent appends instead of letting them collide', async () => {
    const log = createMerkleLog({ store: createMemoryMerkleStore() });
    const firsts = await Promise.all([
      log.append(leaves(3)),
      log.append(leaves(2, 3)),
      log.append(leaves(4, 5)),
    ]);
    expect(firsts).toEqual([0, 3, 5]);
    const clean = createMerkleLog({ store: createMemoryMerkleStore() });
    await clean.append(leaves(9));
    expect(toHex(await log.root())).toBe(toHex(await clean.root()));
  });

  it('appends the bytes as they were at the call, even if the caller reuses its buffers', async () => {
    const log = createMerkleLog({ store: createMemoryMerkleStore() });
    const batch = leaves(2);
    const pending = log.append(batch);
    batch.push(new Uint8Array([1]));
    (batch[0] as Uint8Array).fill(0);
    await pending;
    const clean = createMerkleLog({ store: createMemoryMerkleStore() });
    await clean.append(leaves(2));
    expect(toHex(await log.root())).toBe(toHex(await clean.root()));
  });

  it('treats a leaf that is not bytes as a programming mistake', () => {
    const log = createMerkleLog({ store: createMemoryMerkleStore() });
    expect(() => log.append(['text' as unknown as Uint8Array])).toThrow(TypeError);
  });
});
