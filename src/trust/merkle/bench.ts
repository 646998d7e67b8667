/**
 * Figures for the README, printed, not asserted (a benchmark is a script, not a test with a timeout):
 *
 *   npx tsx src/trust/merkle/bench.ts [--leaves 1000000] [--batch 1000] [--proofs 1000] [--audit]
 *
 * Appends `--leaves` records of about 120 bytes in batches of `--batch` to a log over the in-memory store,
 * then times roots, inclusion and consistency proofs at random (seeded) indices with their verification,
 * and, with `--audit`, a full audit of the log against one head. The memory store costs no I/O, so these are
 * the log's own costs (hashing, mostly); a SQL store adds one round trip per call.
 */
import { parseArgs } from 'node:util';
import { auditLog } from './audit.ts';
import { canonicalJsonBytes } from './canonical-json.ts';
import { leafHash } from './hash.ts';
import { createMerkleLog } from './log.ts';
import { createMemoryMerkleStore } from './memory-store.ts';
import type { SignedTreeHead } from './tree-head.ts';
import { verifyConsistency, verifyInclusion } from './verify.ts';

const { values } = parseArgs({
  options: {
    leaves: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '1000' },
    proofs: { type: 'string', default: '1000' },
    audit: { type: 'boolean', default: false },
  },
});
const n = Number(values.leaves);
const batch = Number(values.batch);
const proofs = Number(values.proofs);

const print = (line: string) => process.stdout.write(`${line}\n`);
const ms = (from: number) => performance.now() - from;

/** A seeded generator (mulberry32), so that two runs time the same indices. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const recordOf = (i: number) =>
  canonicalJsonBytes({
    processingNumber: `0190f5a2-${String(i).padStart(12, '0')}`,
    event: 'provided',
    requester: '152048',
    provider: '131016',
    recordedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  });

const store = createMemoryMerkleStore();
const log = createMerkleLog({ store });

let appendMs = 0;
for (let first = 0; first < n; first += batch) {
  const leaves = Array.from({ length: Math.min(batch, n - first) }, (_, i) => recordOf(first + i));
  const began = performance.now();
  await log.append(leaves);
  appendMs += ms(began);
}
print(`append   ${String(n)} leaves in batches of ${String(batch)}: ${(appendMs / 1000).toFixed(2)} s`);
print(
  `         ${((n / appendMs) * 1000).toFixed(0)} leaves/s, ${((appendMs * 1000) / n).toFixed(1)} µs a leaf`,
);

let start = performance.now();
const root = await log.root();
print(`root     at ${String(n)}: ${ms(start).toFixed(2)} ms`);

const rand = random(2026);
let proofMs = 0;
let verifyMs = 0;
let proofLength = 0;
for (let k = 0; k < proofs; k++) {
  const index = Math.floor(rand() * n);
  start = performance.now();
  const proof = await log.inclusionProof(index, n);
  proofMs += ms(start);
  proofLength += proof.length;
  start = performance.now();
  if (!verifyInclusion(index, n, leafHash(recordOf(index)), proof, root))
    throw new Error('proof did not verify');
  verifyMs += ms(start);
}
print(
  `inclusion proof, ${String(proofs)} random leaves: ${((proofMs * 1000) / proofs).toFixed(0)} µs to build, ` +
    `${((verifyMs * 1000) / proofs).toFixed(0)} µs to verify, ${(proofLength / proofs).toFixed(1)} hashes`,
);

proofMs = 0;
verifyMs = 0;
for (let k = 0; k < proofs; k++) {
  const from = 1 + Math.floor(rand() * (n - 1));
  start = performance.now();
  const [proof, first] = await Promise.all([log.consistencyProof(from, n), log.root(from)]);
  proofMs += ms(start);
  start = performance.now();
  if (!verifyConsistency(from, n, first, root, proof)) throw new Error('proof did not verify');
  verifyMs += ms(start);
}
print(
  `consistency proof, ${String(proofs)} random sizes: ${((proofMs * 1000) / proofs).toFixed(0)} µs to build ` +
    `(with the old root), ${((verifyMs * 1000) / proofs).toFixed(0)} µs to verify`,
);
print(`memory   ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB resident`);

if (values.audit) {
  const head = { treeSize: n, rootHash: root, timestamp: Date.UTC(2026, 0, 2), kid: 'bench', jws: '' };
  function* rows() {
    for (let i = 0; i < n; i++) yield { index: i, leafBytes: recordOf(i) };
  }
  start = performance.now();
  // The bench signs nothing: it times the audit's own work over a head it made.
  const report = await auditLog({ leaves: rows(), store, heads: [head as unknown as SignedTreeHead] });
  print(
    `audit    ${String(n)} rows: ${(ms(start) / 1000).toFixed(2)} s (building the rows included), ` +
      `${String(report.findings.length)} findings`,
  );
}
