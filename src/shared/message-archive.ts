/**
 * Each node's archive of the signed messages it sent and received (issue 6, part 4): the compact JWS
 * exactly as it crossed the wire, with the certificate of the party that signed it, so that a record
 * proves long afterwards who asked what and who answered, whoever reads it (`renkei records show`
 * checks every signature against the network's CA with no help from the sender).
 *
 * A database of its own (`<node dir>/messages.sqlite`), beside the security log, so that every node
 * kind has it from the trust layer without each store growing a table. One row per message and
 * direction; `processing_number` ties it to the provision record it belongs to (null for a message
 * outside an exchange, such as a code issuance). A row holds what the message holds: on the trust
 * layer an answer's items are sealed to the requester, so no resident's data is here in clear.
 *
 * Writes are buffered and written in one transaction every 50 ms (or 500 rows), off the request's
 * path: keeping a message must not slow the exchange it belongs to. A message is in memory for at
 * most that long; `close()` writes what is left.
 */
import type { Kysely, Migration } from 'kysely';
import { columnTypes, migrateToLatest, openSqlite, openSqliteReadOnly } from './db.ts';

export interface ArchivedMessage {
  /** The exchange the message belongs to, when it belongs to one. */
  processingNumber: string | null;
  /** From this node's point of view. */
  direction: 'sent' | 'received';
  /** The message type, e.g. `InquiryRequest`, `ProvisionAnswer`. */
  type: string;
  sender: string;
  audience: string;
  /** The message id (`jti`). */
  id: string;
  /** `messageHash` of the JWS. */
  hash: string;
  /** On an answer: the hash of the request it answers. */
  inResponseTo: string | null;
  /** When this node sent or received it (ISO 8601). */
  at: string;
  jws: string;
  /** The sender's identity certificate (PEM), with which the signature is checked. */
  certificate: string;
  /** The batch of inquiries a batch message belongs to (it names no one processing number). */
  batchId?: string | null;
  /**
   * The processing numbers of the batch's members, where the message lists them: kept as a
   * member → batch mapping, so that `ofExchange` finds a member's batch messages.
   */
  members?: readonly string[];
}

/**
 * The batch a message body belongs to and the members it names (`members[].processingNumber`), for
 * `ArchivedMessage`; nothing for a message of one exchange.
 */
export function batchOf(...bodies: unknown[]): { batchId?: string; members?: string[] } {
  for (const body of bodies) {
    const { batchId, members } = (body ?? {}) as { batchId?: unknown; members?: unknown };
    if (typeof batchId !== 'string') continue;
    const numbers = Array.isArray(members)
      ? members.flatMap((m) => {
          const pn = (m as { processingNumber?: unknown } | null)?.processingNumber;
          return typeof pn === 'string' ? [pn] : [];
        })
      : [];
    return numbers.length > 0 ? { batchId, members: numbers } : { batchId };
  }
  return {};
}

interface ArchiveDatabase {
  signed_messages: {
    id?: number;
    processing_number: string | null;
    direction: string;
    type: string;
    sender: string;
    audience: string;
    message_id: string;
    hash: string;
    in_response_to: string | null;
    at: string;
    jws: string;
    certificate: string;
    batch_id?: string | null;
  };
  batch_members: { batch_id: string; processing_number: string };
}

const MIGRATIONS: Record<string, Migration> = {
  '0001-signed-messages': {
    async up(db: Kysely<unknown>) {
      const { serial, serialAutoIncrement } = columnTypes(db);
      await db.schema
        .createTable('signed_messages')
        .addColumn('id', serial, (c) =>
          serialAutoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('processing_number', 'text')
        .addColumn('direction', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('sender', 'text', (c) => c.notNull())
        .addColumn('audience', 'text', (c) => c.notNull())
        .addColumn('message_id', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('in_response_to', 'text')
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('jws', 'text', (c) => c.notNull())
        .addColumn('certificate', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('signed_messages_processing_number')
        .on('signed_messages')
        .column('processing_number')
        .execute();
      await db.schema.createIndex('signed_messages_hash').on('signed_messages').column('hash').execute();
    },
  },
  '0002-batches': {
    async up(db: Kysely<unknown>) {
      // A batch message (many inquiries in one) is kept once, under its batch, and each member's
      // processing number mapped to the batch: a member's exchange then shows its batch's messages.
      await db.schema.alterTable('signed_messages').addColumn('batch_id', 'text').execute();
      await db.schema
        .createIndex('signed_messages_batch_id')
        .on('signed_messages')
        .column('batch_id')
        .execute();
      await db.schema
        .createTable('batch_members')
        .addColumn('processing_number', 'text', (c) => c.notNull())
        .addColumn('batch_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('batch_members_pk', ['processing_number', 'batch_id'])
        .execute();
    },
  },
};

export interface MessageArchive {
  /** Keep messages (written within 50 ms; never throws: a failed write is reported to `onError`). */
  keep(messages: readonly ArchivedMessage[]): void;
  /**
   * Name the exchange of a message kept without one (a request sent before its answer named the
   * processing number): once only; a message that has one keeps it.
   */
  assign(hash: string, processingNumber: string): void;
  /** The message kept under this hash, if any (the newest, if it was kept twice). */
  findByHash(hash: string): Promise<ArchivedMessage | undefined>;
  /** Write what is buffered now. */
  flush(): Promise<void>;
  /** The messages of one exchange, in the order they were kept. */
  ofExchange(processingNumber: string): Promise<ArchivedMessage[]>;
  close(): Promise<void>;
}

const FLUSH_MS = 50;
const FLUSH_ROWS = 500;

export async function openMessageArchive(
  file: string,
  options: { onError?: (error: unknown) => void } = {},
): Promise<MessageArchive> {
  const db = openSqlite<ArchiveDatabase>(file);
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>, MIGRATIONS);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  let buffer: ArchivedMessage[] = [];
  // Batches whose member mapping this archive wrote: a batch's members are listed by several of its
  // messages (the acceptance, the provision request, the answer…), and once is enough.
  const mappedBatches = new Set<string>();
  let assignments: { hash: string; processingNumber: string }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let closed = false;

  const write = (
    rows: ArchivedMessage[],
    named: { hash: string; processingNumber: string }[],
  ): Promise<void> =>
    db.transaction().execute(async (trx) => {
      // 12 values a row: well under SQLite's limit of bound variables per statement.
      for (let i = 0; i < rows.length; i += 1_000) {
        await trx
          .insertInto('signed_messages')
          .values(rows.slice(i, i + 1_000).map(toRow))
          .execute();
      }
      const mapped = rows.flatMap((row) => {
        if (!row.batchId || !row.members || mappedBatches.has(row.batchId)) return [];
        if (mappedBatches.size >= 10_000) mappedBatches.clear();
        mappedBatches.add(row.batchId);
        return row.members.map((pn) => ({ batch_id: row.batchId as string, processing_number: pn }));
      });
      for (let i = 0; i < mapped.length; i += 5_000) {
        await trx
          .insertInto('batch_members')
          .values(mapped.slice(i, i + 5_000))
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
      for (const { hash, processingNumber } of named) {
        await trx
          .updateTable('signed_messages')
          .set({ processing_number: processingNumber })
          .where('hash', '=', hash)
          .where('processing_number', 'is', null)
          .execute();
      }
    });

  const schedule = () => {
    if (buffer.length + assignments.length >= FLUSH_ROWS) void flush();
    else timer ??= setTimeout(() => void flush(), FLUSH_MS);
  };

  const flush = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const rows = buffer;
    const named = assignments;
    buffer = [];
    assignments = [];
    if (rows.length + named.length > 0) {
      writing = writing.then(() =>
        write(rows, named).catch((error: unknown) => {
          options.onError?.(error);
        }),
      );
    }
    return writing;
  };

  return {
    keep(messages) {
      if (closed) throw new Error('The message archive is closed.');
      buffer.push(...messages);
      schedule();
    },
    assign(hash, processingNumber) {
      if (closed) throw new Error('The message archive is closed.');
      const buffered = buffer.filter((m) => m.hash === hash && m.processingNumber === null);
      if (buffered.length > 0) {
        for (const message of buffered) message.processingNumber = processingNumber;
        return;
      }
      assignments.push({ hash, processingNumber });
      schedule();
    },
    async findByHash(hash) {
      for (let i = buffer.length - 1; i >= 0; i--) {
        const message = buffer[i];
        if (message?.hash === hash) return { ...message };
      }
      const row = await db
        .selectFrom('signed_messages')
        .selectAll()
        .where('hash', '=', hash)
        .orderBy('id', 'desc')
        .executeTakeFirst();
      return row && fromRow(row);
    },
    flush,
    async ofExchange(processingNumber) {
      await flush();
      return selectExchange(db, processingNumber);
    },
    async close() {
      if (closed) return;
      closed = true;
      await flush();
      await db.destroy();
    },
  };
}

/**
 * The messages of one exchange in an archive file, read-only (the node may be running): for an auditor's
 * tool. An empty list when the archive has no table yet.
 */
export async function readArchivedMessages(
  file: string,
  processingNumber: string,
): Promise<ArchivedMessage[]> {
  const db = openSqliteReadOnly<ArchiveDatabase>(file);
  try {
    return await selectExchange(db, processingNumber);
  } catch (error) {
    if (error instanceof Error && /no such table/.test(error.message)) return [];
    throw error;
  } finally {
    await db.destroy();
  }
}

async function selectExchange(
  db: Kysely<ArchiveDatabase>,
  processingNumber: string,
): Promise<ArchivedMessage[]> {
  const rows = await db
    .selectFrom('signed_messages')
    .selectAll()
    .where((eb) =>
      eb.or([
        eb('processing_number', '=', processingNumber),
        eb(
          'batch_id',
          'in',
          eb.selectFrom('batch_members').select('batch_id').where('processing_number', '=', processingNumber),
        ),
      ]),
    )
    .orderBy('id')
    .execute();
  return rows.map(fromRow);
}

function toRow(message: ArchivedMessage): ArchiveDatabase['signed_messages'] {
  return {
    processing_number: message.processingNumber,
    direction: message.direction,
    type: message.type,
    sender: message.sender,
    audience: message.audience,
    message_id: message.id,
    hash: message.hash,
    in_response_to: message.inResponseTo,
    at: message.at,
    jws: message.jws,
    certificate: message.certificate,
    batch_id: message.batchId ?? null,
  };
}

function fromRow(row: ArchiveDatabase['signed_messages']): ArchivedMessage {
  return {
    processingNumber: row.processing_number,
    direction: row.direction === 'sent' ? 'sent' : 'received',
    type: row.type,
    sender: row.sender,
    audience: row.audience,
    id: row.message_id,
    hash: row.hash,
    inResponseTo: row.in_response_to,
    at: row.at,
    jws: row.jws,
    certificate: row.certificate,
    ...(row.batch_id ? { batchId: row.batch_id } : {}),
  };
}
