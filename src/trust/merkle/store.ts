/**
 * The storage port of a Merkle log: a table of perfect-subtree hashes keyed by (level, index).
 *
 * Three methods, so that SQLite, PostgreSQL and memory are twins behind it (one table, see README.md):
 * `getNodes` is a batch so that a root or a proof is one round trip (`WHERE (level, idx) IN (…)`), and
 * `putNodes` is a batch so that appending many records is one statement. There is no update and no delete:
 * the log never rewrites a node, and an adapter that cannot rewrite one is one an attacker with only our
 * code cannot misuse. (An attacker with the database file can; the audit exists for that.)
 *
 * We considered letting the port store leaves and compute hashes itself (a "tree" port), and a port with
 * `getNode` only; the first puts the algorithm in every adapter, the second costs a round trip per node.
 */
import type { NodeKey } from './tree-shape.ts';

/** One stored hash: a leaf hash at level 0, the root of a perfect subtree above. */
export interface MerkleNode extends NodeKey {
  readonly hash: Uint8Array;
}

export interface MerkleStore {
  /**
   * How many leaves the log holds: one more than the highest level-0 index, 0 when there is none.
   * (`SELECT COALESCE(MAX(idx) + 1, 0) FROM merkle_nodes WHERE level = 0`, one index probe.)
   */
  size(): Promise<number>;

  /** The hashes at `keys`, in the order asked, `undefined` where there is no such node. One round trip. */
  getNodes(keys: readonly NodeKey[]): Promise<(Uint8Array | undefined)[]>;

  /**
   * Inserts every node, all or none (one transaction). A key that already exists makes the whole call fail
   * with `ERR_MERKLE_APPEND_CONFLICT` and insert nothing: that is how two appenders racing for the same
   * indices are told apart (the primary key decides, no lock needed). Never an upsert.
   */
  putNodes(nodes: readonly MerkleNode[]): Promise<void>;
}
