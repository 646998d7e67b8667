/**
 * A record's evidence in the core's record log: its events' leaves with their inclusion proofs against
 * one signed tree head. The Myna Portal gives it to residents (person-records.ts), and the oversight
 * console checks it (oversight.ts); both check it with `verifyRecordEvidence` (trust/merkle/web-verify.ts).
 *
 * When the latest head does not cover the events asked about, a head is signed now (`signHead`, a
 * no-op without the core's key) rather than answering proofs that cannot be checked: at most one
 * signature per call, and only when the log grew.
 */
import { createMerkleLog, toHex } from '../../../trust/merkle/index.ts';
import type { StoredTreeHead } from '../../../shared/record-log.ts';
import type { CoreStore } from '../store.ts';

/** As web-verify.ts's `EvidenceLeaf`, mutable (the wire schemas' type). */
export interface RecordLeaf {
  index: number;
  leaf: string;
  proof: string[] | null;
}

export interface RecordsEvidence {
  /** The head the proofs are against; undefined when the core has signed none. */
  head: StoredTreeHead | undefined;
  /** Each record's leaves, by processing number (a record with no event is absent). */
  leaves: Map<string, RecordLeaf[]>;
}

export async function recordsEvidence(
  store: CoreStore,
  processingNumbers: readonly string[],
  signHead: () => Promise<void>,
): Promise<RecordsEvidence> {
  const events = (await store.listRecordEventsOf(processingNumbers)).flatMap((e) =>
    e.body === null || e.processingNumber === null
      ? []
      : [{ idx: e.idx, pn: e.processingNumber, body: e.body }],
  );
  const highest = events.reduce((max, e) => Math.max(max, e.idx), -1);
  let head = await store.latestTreeHead();
  if (highest >= 0 && (head === undefined || head.treeSize <= highest)) {
    await signHead();
    head = await store.latestTreeHead();
  }
  const log = createMerkleLog({ store: store.merkleStore() });
  const leaves = new Map<string, RecordLeaf[]>();
  for (const e of events) {
    const proof =
      head !== undefined && e.idx < head.treeSize
        ? (await log.inclusionProof(e.idx, head.treeSize)).map(toHex)
        : null;
    const list = leaves.get(e.pn) ?? [];
    list.push({ index: e.idx, leaf: e.body, proof });
    leaves.set(e.pn, list);
  }
  return { head, leaves };
}
