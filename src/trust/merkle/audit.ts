/**
 * The audit: does a party's database still hold what its log signed? It reads every record row once (a
 * stream, in the order of the log index each row claims), recomputes the tree from the rows, and compares
 * three things that an attacker would have to change together:
 *
 * 1. each row against the stored leaf hash at its index (an edited, moved or deleted row, named by index);
 * 2. each stored node against the hash of its two stored children (a stored hash edited to cover a change);
 * 3. the tree recomputed from the rows against every signed tree head (the one thing the attacker cannot
 *    redo without the party's private key).
 *
 * So an attacker who edits a row and also rewrites the stored hashes to match still fails (3): the audit
 * then names the range of indices between the last head the rows reproduce and the first they do not, the
 * best anyone can do without another copy of the leaf hashes (the other two parties' records of the same
 * exchange are that copy; comparing them is the caller's step, see README.md). Records appended after the
 * last signed head are protected by the stored hashes only: sign heads often.
 *
 * Cost: one pass over the rows; about 3 hashes and 2 stored nodes read per row, read in batches; memory
 * O(log n + reorder window + findings), never O(n). We considered collecting all rows and sorting them, which
 * would name reordered rows without a window, but seven years of a large institution's records do not fit.
 */
import { emptyRoot, hashesEqual, isHash, leafHash, nodeHash, toHex, HASH_SIZE } from './hash.ts';
import { foldRange } from './log.ts';
import type { MerkleStore } from './store.ts';
import type { SignedTreeHead } from './tree-head.ts';
import type { NodeKey } from './tree-shape.ts';
import { isTreeInteger } from './tree-shape.ts';

/**
 * One record row as the database holds it: its canonical bytes, or, once the retention purge has deleted
 * the record, only its leaf hash (which the purge keeps so that old proofs still verify).
 */
export type AuditLeaf =
  | { readonly index: number; readonly leafBytes: Uint8Array }
  | { readonly index: number; readonly leafHash: Uint8Array };

export interface AuditInput {
  /** Every row, in the order of the index it claims (`ORDER BY idx`); rows out of order are named. */
  leaves: AsyncIterable<AuditLeaf> | Iterable<AuditLeaf>;
  store: MerkleStore;
  /** Heads returned by verifyTreeHead, in any order. */
  heads: readonly SignedTreeHead[];
  /**
   * The retention cutoff (now minus seven years): a purged record appended after it is a premature purge.
   * Omit it to skip that check.
   */
  purgeCutoff?: Date;
  /** Findings kept before the rest are only counted (default 1000). */
  maxFindings?: number;
  /** Rows held while waiting for an earlier index to arrive (default 1024); further, it is declared missing. */
  reorderWindow?: number;
  /** Rows whose stored nodes are read in one batch (default 4096). */
  batchSize?: number;
}

/** What is wrong, by name and position, so that an operator can act. `message` says it in a sentence. */
export type Finding = { readonly message: string } & (
  | { readonly kind: 'leaf-missing'; readonly index: number }
  | { readonly kind: 'leaf-duplicate'; readonly index: number }
  | { readonly kind: 'leaf-out-of-order'; readonly index: number; readonly after: number }
  | { readonly kind: 'leaf-unlogged'; readonly index: number }
  | { readonly kind: 'leaf-malformed'; readonly position: number }
  | { readonly kind: 'leaf-hash-mismatch'; readonly index: number }
  | { readonly kind: 'leaf-moved'; readonly index: number; readonly loggedAt: number }
  | { readonly kind: 'purge-premature'; readonly index: number; readonly appendedAfter: number }
  | { readonly kind: 'node-missing'; readonly level: number; readonly index: number }
  | { readonly kind: 'node-hash-mismatch'; readonly level: number; readonly index: number }
  | {
      readonly kind: 'head-root-mismatch';
      readonly treeSize: number;
      readonly timestamp: number;
      readonly since: number;
    }
  | { readonly kind: 'store-root-mismatch'; readonly treeSize: number; readonly timestamp: number }
  | { readonly kind: 'heads-conflict'; readonly treeSize: number }
  | { readonly kind: 'heads-inconsistent'; readonly fromSize: number; readonly toSize: number }
  | { readonly kind: 'head-timestamp-regressed'; readonly treeSize: number; readonly earlierTreeSize: number }
  | { readonly kind: 'findings-truncated'; readonly omitted: number }
);

export type FindingKind = Finding['kind'];

export interface AuditReport {
  /** True when there is no finding at all. */
  readonly ok: boolean;
  /** Rows read (including hash-only rows). */
  readonly rows: number;
  /** Hash-only rows: records the retention purge deleted. */
  readonly purged: number;
  /** Leaves the store says the log has. */
  readonly storeSize: number;
  /** Heads compared with the recomputed tree. */
  readonly headsChecked: number;
  readonly findings: readonly Finding[];
}

type Described<K extends FindingKind> = Omit<Extract<Finding, { kind: K }>, 'message'>;

const at = (ms: number) => new Date(ms).toISOString();

const MESSAGES: { [K in FindingKind]: (f: Described<K>) => string } = {
  'leaf-missing': (f) => `No record claims log index ${String(f.index)}: a row was deleted.`,
  'leaf-duplicate': (f) => `More than one record claims log index ${String(f.index)}.`,
  'leaf-out-of-order': (f) =>
    `The record at log index ${String(f.index)} came after index ${String(f.after)}: rows are out of order.`,
  'leaf-unlogged': (f) =>
    `A record claims log index ${String(f.index)}, beyond the log: it was inserted without being logged.`,
  'leaf-malformed': (f) => `Row ${String(f.position)} of the stream has no valid index, bytes or leaf hash.`,
  'leaf-hash-mismatch': (f) =>
    `The record at log index ${String(f.index)} does not match its stored leaf hash: the record or the hash was edited.`,
  'leaf-moved': (f) =>
    `The record at log index ${String(f.index)} is the one logged at index ${String(f.loggedAt)}: rows were reordered.`,
  'purge-premature': (f) =>
    `The record at log index ${String(f.index)} was purged, but it was appended after ${at(f.appendedAfter)}, within the retention period.`,
  'node-missing': (f) =>
    `The stored Merkle node at level ${String(f.level)}, index ${String(f.index)} is missing.`,
  'node-hash-mismatch': (f) =>
    `The stored Merkle node at level ${String(f.level)}, index ${String(f.index)} is not the hash of its children: it was edited.`,
  'head-root-mismatch': (f) =>
    `The records at log indices ${String(f.since)} to ${String(f.treeSize - 1)} do not reproduce the root signed for size ${String(f.treeSize)} at ${at(f.timestamp)}: a record among them was changed, deleted or reordered.`,
  'store-root-mismatch': (f) =>
    `The stored tree at size ${String(f.treeSize)} does not have the root signed at ${at(f.timestamp)}: proofs served from it will not verify.`,
  'heads-conflict': (f) => `Two signed heads for size ${String(f.treeSize)} have different roots.`,
  'heads-inconsistent': (f) =>
    `The signed head of size ${String(f.fromSize)} is not a prefix of the signed head of size ${String(f.toSize)}, which the log reproduces: two histories were signed.`,
  'head-timestamp-regressed': (f) =>
    `The signed head of size ${String(f.treeSize)} is older than that of size ${String(f.earlierTreeSize)}.`,
  'findings-truncated': (f) => `${String(f.omitted)} further findings were not kept.`,
};

function finding<K extends FindingKind>(fields: Described<K> & { kind: K }): Finding {
  const describe = MESSAGES[fields.kind] as (f: Described<K>) => string;
  return { ...fields, message: describe(fields) } as unknown as Finding;
}

interface Placed {
  index: number;
  /** The row's leaf hash; undefined when no row claims the index. */
  rowHash: Uint8Array | undefined;
  purged: boolean;
}

interface StackEntry {
  level: number;
  index: number;
  hash: Uint8Array;
}

const ZERO = new Uint8Array(HASH_SIZE);

/** The nodes that complete when leaf `index` is placed: (0, index), then each full ancestor. */
function completedBy(index: number): NodeKey[] {
  const keys: NodeKey[] = [{ level: 0, index }];
  let width = 2;
  for (let level = 1; (index + 1) % width === 0; level++, width *= 2)
    keys.push({ level, index: (index + 1) / width - 1 });
  return keys;
}

/**
 * Audits one party's log; see the module comment. Never throws for what it finds (that is the report); a
 * store that fails to answer rejects with the store's own error. Throws a TypeError for options that are
 * not numbers where numbers are due.
 */
export async function auditLog(input: AuditInput): Promise<AuditReport> {
  const { store } = input;
  const maxFindings = input.maxFindings ?? 1000;
  const window = input.reorderWindow ?? 1024;
  const batchSize = input.batchSize ?? 4096;
  for (const n of [maxFindings, window, batchSize]) {
    if (!isTreeInteger(n) || n < 1) throw new TypeError('Audit limits are positive integers.');
  }

  const leafFindings: Finding[] = [];
  const otherFindings: Finding[] = [];
  let omitted = 0;
  const keep = (list: Finding[], f: Finding) => {
    if (leafFindings.length + otherFindings.length < maxFindings) list.push(f);
    else omitted++;
  };

  // Heads: one per (size, root), by size then time; conflicting roots for one size are named now.
  const heads = [...input.heads].sort((a, b) => a.treeSize - b.treeSize || a.timestamp - b.timestamp);
  const bySize = new Map<number, SignedTreeHead>();
  const distinct: SignedTreeHead[] = [];
  for (const head of heads) {
    const seen = bySize.get(head.treeSize);
    if (seen === undefined) {
      bySize.set(head.treeSize, head);
      distinct.push(head);
    } else if (!hashesEqual(seen.rootHash, head.rootHash)) {
      keep(otherFindings, finding({ kind: 'heads-conflict', treeSize: head.treeSize }));
      distinct.push(head);
    }
  }
  const storeSize = await store.size();
  const logSize = distinct.reduce((max, h) => Math.max(max, h.treeSize), storeSize);

  // The two frontiers: of the tree the rows describe, and of the tree the store holds.
  const rowStack: StackEntry[] = [];
  const storeStack: StackEntry[] = [];
  const matched = new Map<SignedTreeHead, { rows: boolean; store: boolean }>();
  let headCursor = 0;
  let lastGood = 0;
  let headsChecked = 0;
  let purgeCursor = 0;
  let latestHeadBefore = -1;
  const mismatches: { index: number; rowHash: Uint8Array; storedHash: Uint8Array }[] = [];
  let mismatchesOmitted = 0;
  // Indices no row claimed (bounded by maxFindings), and their stored leaf hash for a row that turns up late.
  const missing = new Map<number, Finding>();
  const missingStored = new Map<number, Uint8Array>();

  const checkHeadsAt = (count: number) => {
    let anyMatched = false;
    for (
      ;
      headCursor < distinct.length && (distinct[headCursor] as SignedTreeHead).treeSize === count;
      headCursor++
    ) {
      const head = distinct[headCursor] as SignedTreeHead;
      const rowRoot = count === 0 ? emptyRoot() : foldRange(rowStack.map((e) => e.hash));
      const storeRoot = count === 0 ? emptyRoot() : foldRange(storeStack.map((e) => e.hash));
      const rowsMatch = hashesEqual(rowRoot, head.rootHash);
      const storeMatches = hashesEqual(storeRoot, head.rootHash);
      matched.set(head, { rows: rowsMatch, store: storeMatches });
      headsChecked++;
      anyMatched ||= rowsMatch;
      if (!rowsMatch) {
        keep(
          otherFindings,
          finding({
            kind: 'head-root-mismatch',
            treeSize: count,
            timestamp: head.timestamp,
            since: lastGood,
          }),
        );
      }
      if (!storeMatches) {
        keep(
          otherFindings,
          finding({ kind: 'store-root-mismatch', treeSize: count, timestamp: head.timestamp }),
        );
      }
    }
    if (anyMatched) lastGood = count;
  };

  const processChunk = async (chunk: readonly Placed[]) => {
    // The keys are read in the order the loop below consumes them: each leaf, then each node it completes.
    const hashes = await store.getNodes(chunk.flatMap((p) => completedBy(p.index)));
    let cursor = 0;

    for (const { index, rowHash, purged } of chunk) {
      const storedLeaf = hashes[cursor++];
      if (rowHash === undefined && storedLeaf !== undefined && missing.has(index))
        missingStored.set(index, storedLeaf);
      if (storedLeaf === undefined) keep(otherFindings, finding({ kind: 'node-missing', level: 0, index }));
      else if (rowHash !== undefined && !hashesEqual(rowHash, storedLeaf)) {
        if (mismatches.length < maxFindings) mismatches.push({ index, rowHash, storedHash: storedLeaf });
        else mismatchesOmitted++;
      }
      if (purged && input.purgeCutoff !== undefined) {
        for (
          ;
          purgeCursor < heads.length && (heads[purgeCursor] as SignedTreeHead).treeSize <= index;
          purgeCursor++
        ) {
          latestHeadBefore = Math.max(latestHeadBefore, (heads[purgeCursor] as SignedTreeHead).timestamp);
        }
        if (latestHeadBefore > input.purgeCutoff.getTime()) {
          keep(leafFindings, finding({ kind: 'purge-premature', index, appendedAfter: latestHeadBefore }));
        }
      }
      // A missing row is replaced by its stored leaf hash, so that one deletion does not hide what else
      // the heads would show; it has been named already.
      let row: StackEntry = { level: 0, index, hash: rowHash ?? storedLeaf ?? ZERO };
      let kept: StackEntry = { level: 0, index, hash: storedLeaf ?? rowHash ?? ZERO };
      for (
        let left = rowStack.at(-1);
        left !== undefined && left.level === row.level;
        left = rowStack.at(-1)
      ) {
        rowStack.pop();
        row = { level: row.level + 1, index: left.index / 2, hash: nodeHash(left.hash, row.hash) };
        const storeLeft = storeStack.pop() as StackEntry;
        const fromStoredChildren = nodeHash(storeLeft.hash, kept.hash);
        const key = { level: row.level, index: row.index };
        const storedNode = hashes[cursor++];
        if (storedNode === undefined) keep(otherFindings, finding({ kind: 'node-missing', ...key }));
        // Edited is a node that is neither the hash of its stored children nor of the rows' ones: so an
        // edited node is named, and not also its parent (whose stored child is the edited one), nor the
        // parent of an edited leaf hash (named as a leaf already).
        else if (!hashesEqual(storedNode, fromStoredChildren) && !hashesEqual(storedNode, row.hash)) {
          keep(otherFindings, finding({ kind: 'node-hash-mismatch', ...key }));
        }
        kept = { ...key, hash: storedNode ?? fromStoredChildren };
      }
      rowStack.push(row);
      storeStack.push(kept);
      checkHeadsAt(index + 1);
    }
  };

  // The stream, in claimed-index order, with a window for rows that arrive a little out of order.
  let chunk: Placed[] = [];
  const flushIfFull = async () => {
    if (chunk.length < batchSize) return;
    const full = chunk;
    chunk = [];
    await processChunk(full);
  };
  const pending = new Map<number, { hash: Uint8Array; purged: boolean }>();
  let expected = 0;
  let maxSeen = -1;
  let rows = 0;
  let purgedRows = 0;
  // Synchronous, so that a row costs no promise; the chunk is flushed by the callers.
  const placeNext = () => {
    const row = pending.get(expected);
    if (row !== undefined) {
      pending.delete(expected);
      chunk.push({ index: expected, rowHash: row.hash, purged: row.purged });
    } else {
      if (missing.size < maxFindings)
        missing.set(expected, finding({ kind: 'leaf-missing', index: expected }));
      else omitted++;
      chunk.push({ index: expected, rowHash: undefined, purged: false });
    }
    expected++;
  };

  checkHeadsAt(0);
  for await (const leaf of input.leaves) {
    const position = rows++;
    const hash =
      'leafBytes' in leaf && leaf.leafBytes instanceof Uint8Array
        ? leafHash(leaf.leafBytes)
        : 'leafHash' in leaf && isHash(leaf.leafHash)
          ? leaf.leafHash
          : undefined;
    const purged = !('leafBytes' in leaf);
    if (hash === undefined || !isTreeInteger(leaf.index)) {
      keep(leafFindings, finding({ kind: 'leaf-malformed', position }));
      continue;
    }
    const { index } = leaf;
    if (purged) purgedRows++;
    if (index >= logSize) {
      keep(leafFindings, finding({ kind: 'leaf-unlogged', index }));
      continue;
    }
    if (index < maxSeen) keep(leafFindings, finding({ kind: 'leaf-out-of-order', index, after: maxSeen }));
    maxSeen = Math.max(maxSeen, index);
    if (index < expected) {
      // Too late for the window: it was declared missing (so it is only out of order, named above), or it
      // is a second row for an index already placed.
      if (missing.delete(index)) {
        const first = chunk[0];
        const waiting = first !== undefined && index >= first.index ? chunk[index - first.index] : undefined;
        if (waiting !== undefined) Object.assign(waiting, { rowHash: hash, purged });
        else {
          const storedLeaf = missingStored.get(index);
          if (storedLeaf !== undefined && !hashesEqual(storedLeaf, hash)) {
            if (mismatches.length < maxFindings)
              mismatches.push({ index, rowHash: hash, storedHash: storedLeaf });
            else mismatchesOmitted++;
          }
        }
      } else keep(leafFindings, finding({ kind: 'leaf-duplicate', index }));
      continue;
    }
    if (pending.has(index)) {
      keep(leafFindings, finding({ kind: 'leaf-duplicate', index }));
      continue;
    }
    pending.set(index, { hash, purged });
    while (pending.has(expected) || pending.size > window) placeNext();
    await flushIfFull();
  }
  while (expected < logSize) {
    placeNext();
    await flushIfFull();
  }
  await processChunk(chunk);

  // Heads among themselves. A tree (the rows', or the store's) whose root at a later head's size is that
  // head's root is, by collision resistance, the tree that head signed; if the same tree does not give an
  // earlier head's root, the two heads cannot both be true: the party signed two histories. We name only
  // that certain case: when no tree reproduces the later head, rows changed after the earlier one explain
  // it as well, and the head-root-mismatch findings already name that.
  for (let i = 1; i < distinct.length; i++) {
    const [a, b] = [distinct[i - 1] as SignedTreeHead, distinct[i] as SignedTreeHead];
    if (a.treeSize === b.treeSize) continue;
    if (b.timestamp < a.timestamp) {
      keep(
        otherFindings,
        finding({ kind: 'head-timestamp-regressed', treeSize: b.treeSize, earlierTreeSize: a.treeSize }),
      );
    }
    const [ma, mb] = [matched.get(a), matched.get(b)];
    if ((mb?.rows === true && ma?.rows === false) || (mb?.store === true && ma?.store === false)) {
      keep(otherFindings, finding({ kind: 'heads-inconsistent', fromSize: a.treeSize, toSize: b.treeSize }));
    }
  }

  // Rows that do not match their stored leaf: moved if the hash is another index's stored leaf.
  const storedAt = new Map(mismatches.map((m) => [toHex(m.storedHash), m.index]));
  const leafNamed: Finding[] = [...missing.values()];
  for (const m of mismatches) {
    const loggedAt = storedAt.get(toHex(m.rowHash));
    leafNamed.push(
      loggedAt !== undefined && loggedAt !== m.index
        ? finding({ kind: 'leaf-moved', index: m.index, loggedAt })
        : finding({ kind: 'leaf-hash-mismatch', index: m.index }),
    );
  }
  for (const f of leafNamed) keep(leafFindings, f);
  omitted += mismatchesOmitted;

  const indexOf = (f: Finding) => ('index' in f ? f.index : 'position' in f ? f.position : 0);
  const findings = [...leafFindings.sort((x, y) => indexOf(x) - indexOf(y)), ...otherFindings];
  if (omitted > 0) findings.push(finding({ kind: 'findings-truncated', omitted }));
  return { ok: findings.length === 0, rows, purged: purgedRows, storeSize, headsChecked, findings };
}
