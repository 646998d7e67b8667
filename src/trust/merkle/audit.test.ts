/**
 * The audit against what an attacker with the database file can do: delete, edit, reorder or insert record
 * rows, and rewrite the stored hashes to match; and what a party with its own key could do: sign a second
 * history. Each must be detected and named. Time is fixed: heads carry fixed timestamps.
 */
import { generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditLeaf, Finding } from './audit.ts';
import { auditLog } from './audit.ts';
import { canonicalJsonBytes } from './canonical-json.ts';
import { leafHash } from './hash.ts';
import { createMerkleLog } from './log.ts';
import { createMemoryMerkleStore } from './memory-store.ts';
import type { SignedTreeHead, TreeHeadKey } from './tree-head.ts';
import { signTreeHead, verifyTreeHead } from './tree-head.ts';
import { verifyInclusion } from './verify.ts';

let keys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };
beforeAll(async () => {
  keys = await generateKeyPair('ES256');
});

const DAY = 86_400_000;
const START = Date.parse('2019-01-01T00:00:00Z');

const record = (i: number, outcome = 'provided') =>
  canonicalJsonBytes({
    processingNumber: `p-${String(i)}`,
    outcome,
    recordedAt: new Date(START + i * DAY).toISOString(),
  });

/** A party: `n` records appended one by one, a head signed (and verified) after each size in `headsAt`. */
async function party(n: number, headsAt: number[], recordOf = record) {
  const store = createMemoryMerkleStore();
  const log = createMerkleLog({ store });
  const heads: SignedTreeHead[] = [];
  const rows: AuditLeaf[] = [];
  if (headsAt.includes(0)) heads.push(await signHead(log, 0, START));
  for (let i = 0; i < n; i++) {
    const leafBytes = recordOf(i);
    await log.append([leafBytes]);
    rows.push({ index: i, leafBytes });
    if (headsAt.includes(i + 1)) heads.push(await signHead(log, i + 1, START + (i + 1) * DAY));
  }
  return { store, log, rows, heads };
}

async function signHead(
  log: { root(size: number): Promise<Uint8Array> },
  treeSize: number,
  timestamp: number,
) {
  const jws = await signTreeHead(
    { treeSize, rootHash: await log.root(treeSize), timestamp },
    keys.privateKey,
    'k1',
  );
  return verifyTreeHead(jws, keys.publicKey);
}

const kinds = (findings: readonly Finding[]) => findings.map((f) => f.kind);
const without = (findings: readonly Finding[]) => findings.map(({ message: _, ...rest }) => rest);

describe('auditLog', () => {
  it('passes an untouched log against its heads', async () => {
    const { store, rows, heads } = await party(20, [0, 5, 8, 16, 20]);
    const report = await auditLog({ leaves: rows, store, heads });
    expect(report).toMatchObject({
      ok: true,
      rows: 20,
      purged: 0,
      storeSize: 20,
      headsChecked: 5,
      findings: [],
    });
  });

  it('names a deleted row by its index', async () => {
    const { store, rows, heads } = await party(12, [4, 12]);
    const report = await auditLog({ leaves: rows.filter((r) => r.index !== 7), store, heads });
    expect(without(report.findings)).toEqual([{ kind: 'leaf-missing', index: 7 }]);
    expect(report.findings[0]?.message).toBe('No record claims log index 7: a row was deleted.');
  });

  it('names deleted rows at the end of the log, past the last head, while the store still has them', async () => {
    const { store, rows, heads } = await party(12, [8]);
    const report = await auditLog({ leaves: rows.slice(0, 10), store, heads });
    expect(without(report.findings)).toEqual([
      { kind: 'leaf-missing', index: 10 },
      { kind: 'leaf-missing', index: 11 },
    ]);
  });

  it('names an edited row by its index, and the heads it breaks', async () => {
    const { store, rows, heads } = await party(12, [4, 8, 12]);
    const edited = rows.map((r) => (r.index === 5 ? { index: 5, leafBytes: record(5, 'not_held') } : r));
    const report = await auditLog({ leaves: edited, store, heads });
    expect(without(report.findings)).toEqual([
      { kind: 'leaf-hash-mismatch', index: 5 },
      { kind: 'head-root-mismatch', treeSize: 8, timestamp: START + 8 * DAY, since: 4 },
      { kind: 'head-root-mismatch', treeSize: 12, timestamp: START + 12 * DAY, since: 4 },
    ]);
  });

  it('names reordered rows: each index holds the record logged at the other', async () => {
    const { store, rows, heads } = await party(8, [8]);
    const swapped = rows.map((r) =>
      r.index === 3
        ? { ...(rows[4] as AuditLeaf), index: 3 }
        : r.index === 4
          ? { ...(rows[3] as AuditLeaf), index: 4 }
          : r,
    );
    const report = await auditLog({ leaves: swapped, store, heads });
    expect(without(report.findings)).toEqual([
      { kind: 'leaf-moved', index: 3, loggedAt: 4 },
      { kind: 'leaf-moved', index: 4, loggedAt: 3 },
      { kind: 'head-root-mismatch', treeSize: 8, timestamp: START + 8 * DAY, since: 0 },
    ]);
  });

  it('names rows that come out of order, and nothing else when their contents are intact', async () => {
    const { store, rows, heads } = await party(8, [8]);
    const order = [0, 1, 2, 4, 3, 5, 6, 7].map((i) => rows[i] as AuditLeaf);
    const report = await auditLog({ leaves: order, store, heads });
    expect(without(report.findings)).toEqual([{ kind: 'leaf-out-of-order', index: 3, after: 4 }]);
  });

  it('takes a row that arrives after the reorder window as out of order, not missing, in memory or read back', async () => {
    const { store, rows, heads } = await party(10, [10]);
    const late = [0, 1, 3, 4, 5, 6, 7, 8, 9, 2].map((i) => rows[i] as AuditLeaf);
    for (const batchSize of [4096, 2]) {
      const report = await auditLog({ leaves: late, store, heads, reorderWindow: 2, batchSize });
      expect(without(report.findings), `batch ${String(batchSize)}`).toEqual([
        { kind: 'leaf-out-of-order', index: 2, after: 9 },
      ]);
    }
    const tampered = late.map((r) => (r.index === 2 ? { index: 2, leafBytes: record(2, 'failed') } : r));
    const report = await auditLog({ leaves: tampered, store, heads, reorderWindow: 2, batchSize: 2 });
    expect(kinds(report.findings)).toEqual(['leaf-out-of-order', 'leaf-hash-mismatch']);
  });

  it('names a row inserted without being logged, and a second row for one index', async () => {
    const { store, rows, heads } = await party(6, [6]);
    const extra = [
      ...rows.slice(0, 3),
      { index: 2, leafBytes: record(99) },
      ...rows.slice(3),
      { index: 6, leafBytes: record(6) },
    ];
    const report = await auditLog({ leaves: extra, store, heads });
    expect(without(report.findings)).toEqual([
      { kind: 'leaf-duplicate', index: 2 },
      { kind: 'leaf-unlogged', index: 6 },
    ]);
  });

  it('still detects an edited row when the attacker also rewrites every stored hash to match', async () => {
    const { rows, heads } = await party(16, [4, 8, 12, 16]);
    // The attacker edits row 9 and rebuilds the whole node table from the edited rows.
    const forged = await party(16, [], (i) => (i === 9 ? record(9, 'not_held') : record(i)));
    const edited = rows.map((r) => (r.index === 9 ? { index: 9, leafBytes: record(9, 'not_held') } : r));
    const report = await auditLog({ leaves: edited, store: forged.store, heads });
    expect(without(report.findings)).toEqual([
      { kind: 'head-root-mismatch', treeSize: 12, timestamp: START + 12 * DAY, since: 8 },
      { kind: 'store-root-mismatch', treeSize: 12, timestamp: START + 12 * DAY },
      { kind: 'head-root-mismatch', treeSize: 16, timestamp: START + 16 * DAY, since: 8 },
      { kind: 'store-root-mismatch', treeSize: 16, timestamp: START + 16 * DAY },
    ]);
    expect(report.findings[0]?.message).toContain('log indices 8 to 11');
  });

  it('still detects a deleted row when the attacker renumbers the rest and rebuilds the stored hashes', async () => {
    const { rows, heads } = await party(10, [5, 10]);
    const kept = rows.filter((r) => r.index !== 6).map((r, i) => ({ ...r, index: i }));
    const forged = createMemoryMerkleStore();
    await createMerkleLog({ store: forged }).append(
      kept.map((r) => ('leafBytes' in r ? r.leafBytes : new Uint8Array())),
    );
    const report = await auditLog({ leaves: kept, store: forged, heads });
    expect(without(report.findings)).toEqual([
      { kind: 'leaf-missing', index: 9 },
      { kind: 'node-missing', level: 0, index: 9 },
      { kind: 'node-missing', level: 1, index: 4 },
      { kind: 'head-root-mismatch', treeSize: 10, timestamp: START + 10 * DAY, since: 5 },
      { kind: 'store-root-mismatch', treeSize: 10, timestamp: START + 10 * DAY },
    ]);
  });

  it('names a stored node hash edited to cover a change, which breaks the proofs that pass through it', async () => {
    const { store, log, rows, heads } = await party(8, [8]);
    store.overwriteNode({ level: 1, index: 2, hash: leafHash(new Uint8Array([1])) });
    const report = await auditLog({ leaves: rows, store, heads });
    expect(without(report.findings)).toEqual([{ kind: 'node-hash-mismatch', level: 1, index: 2 }]);
    const head = heads[0] as SignedTreeHead;
    const leaf6 = leafHash((rows[6] as { leafBytes: Uint8Array }).leafBytes);
    expect(verifyInclusion(6, 8, leaf6, await log.inclusionProof(6, 8), head.rootHash)).toBe(false);
  });

  it('names an edited leaf hash as the leaf, not also as its parent node', async () => {
    const { store, rows, heads } = await party(8, [8]);
    store.overwriteNode({ level: 0, index: 5, hash: leafHash(record(77)) });
    const report = await auditLog({ leaves: rows, store, heads });
    expect(without(report.findings)).toEqual([{ kind: 'leaf-hash-mismatch', index: 5 }]);
  });

  it('names a deleted stored node', async () => {
    const { store, rows, heads } = await party(8, [8]);
    store.deleteNode({ level: 2, index: 1 });
    const report = await auditLog({ leaves: rows, store, heads });
    expect(without(report.findings)).toEqual([{ kind: 'node-missing', level: 2, index: 1 }]);
  });

  it('names a second history signed with the party key: conflicting and inconsistent heads', async () => {
    const real = await party(8, [8]);
    const other = await party(8, [4, 8], (i) => (i === 1 ? record(1, 'refused') : record(i)));
    const heads = [other.heads[0] as SignedTreeHead, ...real.heads, other.heads[1] as SignedTreeHead];
    const report = await auditLog({ leaves: real.rows, store: real.store, heads });
    expect(without(report.findings)).toEqual([
      { kind: 'heads-conflict', treeSize: 8 },
      { kind: 'head-root-mismatch', treeSize: 4, timestamp: START + 4 * DAY, since: 0 },
      { kind: 'store-root-mismatch', treeSize: 4, timestamp: START + 4 * DAY },
      { kind: 'head-root-mismatch', treeSize: 8, timestamp: START + 8 * DAY, since: 0 },
      { kind: 'store-root-mismatch', treeSize: 8, timestamp: START + 8 * DAY },
      { kind: 'heads-inconsistent', fromSize: 4, toSize: 8 },
    ]);
  });

  it('names a later head that is older than an earlier one', async () => {
    const { store, log, rows } = await party(8, []);
    const heads = [await signHead(log, 4, START + 9 * DAY), await signHead(log, 8, START + 5 * DAY)];
    const report = await auditLog({ leaves: rows, store, heads });
    expect(without(report.findings)).toEqual([
      { kind: 'head-timestamp-regressed', treeSize: 8, earlierTreeSize: 4 },
    ]);
  });

  it('names a row it cannot read: no index, or a leaf hash of the wrong length', async () => {
    const { store, rows, heads } = await party(3, [3]);
    const bad = [
      rows[0] as AuditLeaf,
      { index: 1, leafHash: new Uint8Array(31) },
      { index: 'x' as unknown as number, leafBytes: record(1) },
      rows[1] as AuditLeaf,
      rows[2] as AuditLeaf,
    ];
    const report = await auditLog({ leaves: bad, store, heads });
    expect(without(report.findings)).toEqual([
      { kind: 'leaf-malformed', position: 1 },
      { kind: 'leaf-malformed', position: 2 },
    ]);
  });

  it('keeps the first findings and counts the rest', async () => {
    const { store, rows } = await party(10, []);
    const report = await auditLog({ leaves: rows.slice(0, 2), store, heads: [], maxFindings: 3 });
    expect(kinds(report.findings)).toEqual([
      'leaf-missing',
      'leaf-missing',
      'leaf-missing',
      'findings-truncated',
    ]);
    expect(report.findings[3]).toMatchObject({ omitted: 5 });
  });

  it('reads rows from an async stream, as from a database cursor', async () => {
    const { store, rows, heads } = await party(6, [6]);
    async function* cursor() {
      for (const row of rows) yield await Promise.resolve(row);
    }
    expect((await auditLog({ leaves: cursor(), store, heads })).ok).toBe(true);
  });
});

describe('retention purge', () => {
  /** What a node's purge does: delete the record row, keep its leaf hash. */
  const purge = (rows: AuditLeaf[], before: number): AuditLeaf[] =>
    rows.map((r) =>
      r.index < before && 'leafBytes' in r ? { index: r.index, leafHash: leafHash(r.leafBytes) } : r,
    );

  it('leaves a log that still passes its audit and whose old proofs still verify', async () => {
    const { store, log, rows, heads } = await party(12, [4, 12]);
    const purged = purge(rows, 4);
    const report = await auditLog({ leaves: purged, store, heads, purgeCutoff: new Date(START + 4 * DAY) });
    expect(report).toMatchObject({ ok: true, purged: 4, rows: 12 });
    const old = heads[0] as SignedTreeHead;
    const hash = (purged[2] as { leafHash: Uint8Array }).leafHash;
    expect(
      verifyInclusion(2, old.treeSize, hash, await log.inclusionProof(2, old.treeSize), old.rootHash),
    ).toBe(true);
  });

  it('still catches an edited leaf hash left by a purge', async () => {
    const { store, rows, heads } = await party(8, [8]);
    const purged = purge(rows, 3).map((r) =>
      r.index === 1 ? { index: 1, leafHash: leafHash(record(50)) } : r,
    );
    const report = await auditLog({ leaves: purged, store, heads });
    expect(kinds(report.findings)).toEqual(['leaf-hash-mismatch', 'head-root-mismatch']);
  });

  it('names a purge of a record appended within the retention period', async () => {
    const { store, rows, heads } = await party(12, [4, 8, 12]);
    // The cutoff falls between the heads of size 4 and 8: records 0..3 may be purged; 8 and later may not.
    const cutoff = new Date(START + 6 * DAY);
    const purged = purge(rows, 10);
    const report = await auditLog({ leaves: purged, store, heads, purgeCutoff: cutoff });
    expect(without(report.findings)).toEqual([
      { kind: 'purge-premature', index: 8, appendedAfter: START + 8 * DAY },
      { kind: 'purge-premature', index: 9, appendedAfter: START + 8 * DAY },
    ]);
  });
});
