/**
 * The in-memory twin of the SQL adapters: for tests, the benchmark and short-lived tools (an auditor
 * rebuilding a tree from an export). One growable byte array per level, 32 bytes a node, plus a presence
 * byte: a million leaves cost about 66 MB, where a Map of Uint8Arrays costs several times that.
 */
import { RenkeiError } from '../../shared/errors.ts';
import { HASH_SIZE } from './hash.ts';
import type { MerkleNode, MerkleStore } from './store.ts';
import type { NodeKey } from './tree-shape.ts';
import { isTreeInteger, nodeId } from './tree-shape.ts';

interface Level {
  hashes: Uint8Array;
  present: Uint8Array;
}

/**
 * A memory store with two extra methods that play the attacker who can write the database file
 * (`UPDATE merkle_nodes SET hash = …`, `DELETE FROM merkle_nodes …`), so tests can show the audit finds it.
 * The log itself never calls them.
 */
export interface MemoryMerkleStore extends MerkleStore {
  overwriteNode(node: MerkleNode): void;
  deleteNode(key: NodeKey): void;
}

export function createMemoryMerkleStore(): MemoryMerkleStore {
  const levels: Level[] = [];
  let leafCount = 0;

  const levelOf = (level: number, capacity: number): Level => {
    let entry = levels[level];
    if (entry === undefined) {
      for (let l = levels.length; l <= level; l++)
        levels.push({ hashes: new Uint8Array(0), present: new Uint8Array(0) });
      entry = levels[level];
      if (entry === undefined) throw new TypeError('unreachable');
    }
    if (entry.present.length < capacity) {
      const grown = Math.max(capacity, entry.present.length * 2, 1024);
      const hashes = new Uint8Array(grown * HASH_SIZE);
      hashes.set(entry.hashes);
      const present = new Uint8Array(grown);
      present.set(entry.present);
      entry.hashes = hashes;
      entry.present = present;
    }
    return entry;
  };

  const has = (key: NodeKey): boolean => levels[key.level]?.present[key.index] === 1;

  const write = (node: MerkleNode): void => {
    const entry = levelOf(node.level, node.index + 1);
    entry.hashes.set(node.hash, node.index * HASH_SIZE);
    entry.present[node.index] = 1;
    if (node.level === 0 && node.index >= leafCount) leafCount = node.index + 1;
  };

  const checkNode = (node: MerkleNode): void => {
    if (!isTreeInteger(node.level) || !isTreeInteger(node.index))
      throw new TypeError('A node key is two non-negative integers.');
    if (!(node.hash instanceof Uint8Array) || node.hash.length !== HASH_SIZE)
      throw new TypeError('A node hash is 32 bytes.');
  };

  return {
    size() {
      return Promise.resolve(leafCount);
    },

    getNodes(keys) {
      return Promise.resolve(
        keys.map((key) => {
          const entry = levels[key.level];
          if (entry === undefined || entry.present[key.index] !== 1) return undefined;
          // A copy: a caller that mutates what it read must not change the store, as with a database.
          return entry.hashes.slice(key.index * HASH_SIZE, (key.index + 1) * HASH_SIZE);
        }),
      );
    },

    putNodes(nodes) {
      const seen = new Set<string>();
      for (const node of nodes) {
        checkNode(node);
        const id = nodeId(node);
        if (has(node) || seen.has(id)) {
          return Promise.reject(
            new RenkeiError('ERR_MERKLE_APPEND_CONFLICT', 'A node of the Merkle log already exists.', {
              level: node.level,
              index: node.index,
            }),
          );
        }
        seen.add(id);
      }
      for (const node of nodes) write(node);
      return Promise.resolve();
    },

    overwriteNode(node) {
      checkNode(node);
      write(node);
    },

    deleteNode(key) {
      const entry = levels[key.level];
      if (entry === undefined || entry.present[key.index] !== 1) return;
      entry.present[key.index] = 0;
      if (key.level === 0 && key.index === leafCount - 1) {
        while (leafCount > 0 && entry.present[leafCount - 1] !== 1) leafCount--;
      }
    },
  };
}
