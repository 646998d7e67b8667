/**
 * An append-only Merkle log over a `MerkleStore`: RFC 9162's tree, kept as the hashes of its perfect
 * subtrees, each written once when it completes.
 *
 * Cost, at any size n: `append(k leaves)` reads the ≤ log₂ n frontier nodes in one batch and writes
 * about 2k nodes in one batch; `root`, `inclusionProof` and `consistencyProof` read O(log n) nodes in one
 * batch (one round trip; `root()` without a size adds one `size()` call). Nothing ever walks the leaves.
 * We considered a cache of the frontier in memory, but the log then goes stale when another process (or a
 * rolled-back transaction) appends, and a store call per append batch is cheap; the log keeps no state
 * beyond a queue that orders its own appends.
 *
 * Atomicity is the caller's: a node appends a provision record and its leaf in one database transaction, by
 * building a log over a store bound to that transaction (see README.md). Two appenders that race for the
 * same indices are told apart by the store's primary key (`ERR_MERKLE_APPEND_CONFLICT`); retry the
 * transaction.
 */
import { RenkeiError } from '../../shared/errors.ts';
import { emptyRoot, leafHash, nodeHash } from './hash.ts';
import type { MerkleNode, MerkleStore } from './store.ts';
import type { LeafRange, NodeKey } from './tree-shape.ts';
import { consistencyRanges, inclusionRanges, isTreeInteger, perfectNodes } from './tree-shape.ts';

export interface MerkleLog {
  /**
   * Appends the leaves (each a record's canonical bytes, see canonical-json.ts) in order and returns the
   * index of the first. Throws ERR_MERKLE_APPEND_CONFLICT (another appender took the indices; nothing was
   * written), ERR_MERKLE_NODE_MISSING (the store lost a frontier node); a TypeError if a leaf is not bytes.
   */
  append(leaves: readonly Uint8Array[]): Promise<number>;

  /** The number of leaves. */
  size(): Promise<number>;

  /**
   * MTH of the first `size` leaves (default: all). Throws ERR_MERKLE_OUT_OF_RANGE (size beyond the log or
   * not a non-negative integer), ERR_MERKLE_NODE_MISSING.
   */
  root(size?: number): Promise<Uint8Array>;

  /**
   * PATH(index, D[size]) of RFC 9162 §2.1.3.1, nearest the leaf first. Throws ERR_MERKLE_OUT_OF_RANGE
   * (index ≥ size, or size beyond the log), ERR_MERKLE_NODE_MISSING.
   */
  inclusionProof(index: number, size: number): Promise<Uint8Array[]>;

  /**
   * PROOF(from, D[to]) of RFC 9162 §2.1.4.1; empty when from is 0 or equals to. Throws
   * ERR_MERKLE_OUT_OF_RANGE (from > to, or to beyond the log), ERR_MERKLE_NODE_MISSING.
   */
  consistencyProof(from: number, to: number): Promise<Uint8Array[]>;
}

export interface MerkleLogDeps {
  store: MerkleStore;
}

/** Folds the perfect subtrees that tile a range (largest first) into the range's MTH. */
export function foldRange(hashes: readonly Uint8Array[]): Uint8Array {
  let acc = hashes[hashes.length - 1];
  if (acc === undefined) return emptyRoot();
  for (let i = hashes.length - 2; i >= 0; i--) acc = nodeHash(hashes[i] as Uint8Array, acc);
  return acc;
}

function outOfRange(message: string, details: Record<string, number>): RenkeiError {
  return new RenkeiError('ERR_MERKLE_OUT_OF_RANGE', message, details);
}

export function createMerkleLog({ store }: MerkleLogDeps): MerkleLog {
  let appends: Promise<unknown> = Promise.resolve();

  /**
   * Reads `ranges` (plus the last leaf of a tree of `size`, so that a proof is never answered for leaves
   * the log does not have) in one batch and folds each range.
   */
  const hashRanges = async (ranges: readonly LeafRange[], size: number): Promise<Uint8Array[]> => {
    const tiles = ranges.map(perfectNodes);
    const keys: NodeKey[] = [...tiles.flat(), ...(size > 0 ? [{ level: 0, index: size - 1 }] : [])];
    const hashes = await store.getNodes(keys);
    const missing = hashes.findIndex((h) => h === undefined);
    if (missing !== -1) {
      const logSize = await store.size();
      if (size > logSize)
        throw outOfRange('The Merkle log is smaller than the size asked.', { size, logSize });
      const key = keys[missing] as NodeKey;
      throw new RenkeiError(
        'ERR_MERKLE_NODE_MISSING',
        'A node of the Merkle log is missing from its store.',
        {
          level: key.level,
          index: key.index,
        },
      );
    }
    let at = 0;
    return tiles.map((tile) => {
      const slice = hashes.slice(at, at + tile.length) as Uint8Array[];
      at += tile.length;
      return foldRange(slice);
    });
  };

  const doAppend = async (leafHashes: readonly Uint8Array[]): Promise<number> => {
    const size = await store.size();
    if (leafHashes.length === 0) return size;
    const frontierKeys = perfectNodes({ start: 0, end: size });
    const frontierHashes = await store.getNodes(frontierKeys);
    const stack: MerkleNode[] = frontierKeys.map((key, i) => {
      const hash = frontierHashes[i];
      if (hash === undefined) {
        throw new RenkeiError(
          'ERR_MERKLE_NODE_MISSING',
          'A node of the Merkle log is missing from its store.',
          {
            level: key.level,
            index: key.index,
          },
        );
      }
      return { ...key, hash };
    });
    const written: MerkleNode[] = [];
    leafHashes.forEach((hash, i) => {
      let node: MerkleNode = { level: 0, index: size + i, hash };
      written.push(node);
      // A completed pair of equal perfect subtrees becomes their parent, as far up as it goes.
      for (let left = stack.at(-1); left !== undefined && left.level === node.level; left = stack.at(-1)) {
        stack.pop();
        node = { level: node.level + 1, index: left.index / 2, hash: nodeHash(left.hash, node.hash) };
        written.push(node);
      }
      stack.push(node);
    });
    await store.putNodes(written);
    return size;
  };

  return {
    append(leaves) {
      if (!Array.isArray(leaves) || !leaves.every((leaf) => leaf instanceof Uint8Array)) {
        throw new TypeError('append() takes an array of Uint8Array leaves.');
      }
      // Hashed now, before waiting for earlier appends: what is appended is the bytes as they were at the call.
      const hashes = leaves.map(leafHash);
      const result = appends.then(() => doAppend(hashes));
      appends = result.catch(() => undefined);
      return result;
    },

    size() {
      return store.size();
    },

    async root(size) {
      const n = size ?? (await store.size());
      if (!isTreeInteger(n)) throw outOfRange('A tree size is a non-negative integer.', {});
      if (n === 0) return emptyRoot();
      const [root] = await hashRanges([{ start: 0, end: n }], n);
      return root as Uint8Array;
    },

    async inclusionProof(index, size) {
      if (!isTreeInteger(index) || !isTreeInteger(size) || index >= size) {
        throw outOfRange('A leaf index is a non-negative integer below the tree size.', {});
      }
      return hashRanges(inclusionRanges(index, size), size);
    },

    async consistencyProof(from, to) {
      if (!isTreeInteger(from) || !isTreeInteger(to) || from > to) {
        throw outOfRange('Consistency is proved from a smaller tree size to a larger one.', {});
      }
      return hashRanges(consistencyRanges(from, to), to);
    },
  };
}
