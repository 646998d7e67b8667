/**
 * What a node's storage port says about its record log (see record-log-tables.ts for the tables):
 * plain types, so that a port can name them without importing Kysely.
 */

/** A record event as written: its log index and its canonical JSON, with the columns it repeats. */
export interface RecordEventRow {
  idx: number;
  /** Null for an event of no exchange (a notice the Myna Portal received). */
  processingNumber: string | null;
  role: string;
  event: string;
  at: string;
  body: string;
}

/** A record event as read back: the body with the columns that repeat it, or (purged) only the leaf hash. */
export type StoredRecordEvent =
  | {
      idx: number;
      processingNumber: string | null;
      role: string | null;
      event: string | null;
      at: string | null;
      body: string;
    }
  | { idx: number; leafHash: Uint8Array | null; body: null };

/** A signed tree head as stored: what it says, for queries, and the compact JWS, which is what counts. */
export interface StoredTreeHead {
  treeSize: number;
  rootHash: string;
  timestamp: number;
  kid: string;
  jws: string;
}

/** A leaf as the Merkle audit reads it (src/trust/merkle/audit.ts's `AuditLeaf`, structurally). */
export type RecordLeaf =
  | { readonly index: number; readonly leafBytes: Uint8Array }
  | { readonly index: number; readonly leafHash: Uint8Array };

/** A finding about an event row itself, before any Merkle check (the trust layer's `RecordFinding`). */
export interface EventRowFinding {
  readonly kind: 'event-row-empty' | 'event-malformed' | 'event-columns-mismatch';
  readonly message: string;
  readonly index: number;
  readonly processingNumber?: string;
}

const encoder = new TextEncoder();

/**
 * Every event row of a party, page by page in log order, as leaves for the Merkle audit; meanwhile,
 * each row whose body is not an event of the party's (`isEvent`), or whose columns do not repeat what its body says (an edit of a
 * column the body does not cover would otherwise go unseen), is reported to `found`. A row with
 * neither body nor leaf hash is reported and left out, so that the audit names its index missing.
 */
export async function* recordLeaves(
  page: (after: number, limit: number) => Promise<StoredRecordEvent[]>,
  found: (finding: EventRowFinding) => void,
  /** Whether a parsed body is an event the party writes (its schema). */
  isEvent: (body: unknown) => boolean,
  pageSize = 1000,
): AsyncGenerator<RecordLeaf> {
  for (let after = -1; ;) {
    const rows = await page(after, pageSize);
    for (const row of rows) {
      after = row.idx;
      if (row.body === null) {
        if (row.leafHash === null) {
          found({
            kind: 'event-row-empty',
            index: row.idx,
            message: `The event row at log index ${String(row.idx)} has neither a body nor a leaf hash.`,
          });
        } else yield { index: row.idx, leafHash: row.leafHash };
        continue;
      }
      yield { index: row.idx, leafBytes: encoder.encode(row.body) };
      let body: unknown;
      try {
        body = JSON.parse(row.body);
      } catch {
        body = undefined;
      }
      if (typeof body !== 'object' || body === null || !isEvent(body)) {
        found({
          kind: 'event-malformed',
          index: row.idx,
          message: `The event at log index ${String(row.idx)} is not an event this party writes.`,
        });
        continue;
      }
      const said = body as Record<string, unknown>;
      // An event of no exchange (a notice at the portal) says no processing number: its column is null.
      const differ = (['processingNumber', 'role', 'event', 'at'] as const).filter(
        (key) => (said[key] ?? null) !== row[key],
      );
      if (differ.length > 0) {
        found({
          kind: 'event-columns-mismatch',
          index: row.idx,
          ...(row.processingNumber === null ? {} : { processingNumber: row.processingNumber }),
          message: `The event row at log index ${String(row.idx)} says ${differ.join(', ')} in its columns otherwise than in its logged body: a column was edited.`,
        });
      }
    }
    if (rows.length < pageSize) return;
  }
}
