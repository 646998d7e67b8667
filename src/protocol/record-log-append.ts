/**
 * The one way a party appends record events to its tamper-evident log: the events' canonical JSON as
 * Merkle leaves (src/trust/merkle/) over the party's `merkle_nodes`, then the event rows under the
 * indices the append gave them (src/shared/record-log-tables.ts), all in the caller's transaction, so
 * that a rolled-back record leaves no leaf and a leaf never exists without its event.
 *
 * Here, above the trust layer and the storage tables, because it needs both and `shared/` may not
 * import the trust layer. The core, each intermediate server and the Myna Portal call it from their
 * store's `appendRows`; we considered leaving a copy in each, but three copies of the step that makes
 * the log tamper-evident is three chances for one to differ.
 */
import type { Kysely, Transaction } from 'kysely';
import { lockForAppend } from '../shared/db.ts';
import type { RecordEventRow } from '../shared/record-log.ts';
import {
  KyselyMerkleStore,
  insertRecordEvents,
  recordLogDb,
  type RecordLogTables,
} from '../shared/record-log-tables.ts';
import { createMerkleLog } from '../trust/merkle/index.ts';

const encoder = new TextEncoder();

/**
 * Append `rows` (in log order) to the party's Merkle log and `record_events`, in `trx`; the log index
 * of the first (the log's size when there are none).
 */
export async function appendRecordRows<DB extends RecordLogTables>(
  trx: Transaction<DB>,
  rows: readonly Omit<RecordEventRow, 'idx'>[],
): Promise<number> {
  const db = recordLogDb(trx);
  if (rows.length === 0) return new KyselyMerkleStore(db).size();
  // One appender at a time (the log's next index is read, then written): PostgreSQL's transactions
  // run side by side, across processes too, so they queue on a lock until commit.
  await lockForAppend(trx as unknown as Kysely<unknown>, 'record_log');
  const first = await createMerkleLog({ store: new KyselyMerkleStore(db) }).append(
    rows.map((row) => encoder.encode(row.body)),
  );
  await insertRecordEvents(
    db,
    rows.map((row, i) => ({ ...row, idx: first + i })),
  );
  return first;
}
