import type { Kysely, Migration } from 'kysely';
import { columnTypes } from '../../../shared/db.ts';
import { createRecordLogTables } from '../../../shared/record-log-tables.ts';
import { CONSOLE_MIGRATION } from '../../../shared/web/console/kysely-store.ts';
import { INTAKE_MIGRATION } from '../console/kysely-intake-store.ts';

/**
 * The intermediate server's database (`intermediate.sqlite`). It never holds an Individual Number:
 * persons are known by addressee number and person code only. All times are ISO 8601 UTC text, all
 * lists and records JSON text, booleans 0/1, so the same migrations run on SQLite and PostgreSQL.
 *
 * `persons`: one row per person the addressee system registered.
 * - `addressee_number` primary key; `person_code` this institution's code (機関別符号) for the person,
 *   unique, null until acquired; `code_acquired_at`.
 *
 * `acquisitions`: pending acquisition numbers (取得番号), one per code acquisition in progress, deleted
 * when the delivery arrives or the request ends, and all of them when the node starts.
 *
 * `copies`: the data copies (副本), one per person and item, keyed by addressee number (stable when a
 * code is re-acquired after a key rotation); the network side reaches them by `persons.person_code`
 * (unique index) joined on the primary key. `layout_version` is the version the data was checked
 * against when registered.
 *
 * `requester_records`: this institution's provision records as requester (情報照会), one per
 * processing number, written by whichever arrives first of the core's 202 and the core's answer
 * (upserts), so either order ends right. `outcome` is `pending` until answered. `recorded_at` is when
 * the row was first written: the retention purge goes by it.
 *
 * `answers`: the items received for an inquiry (the requester's data now), by processing number.
 *
 * `provider_records`: this institution's provision records as provider (情報提供), one per provision
 * request, `not_held` and `failed` included.
 *
 * `record_events`, `merkle_nodes`, `tree_heads` (migration 0002, src/shared/record-log-tables.ts): every
 * change to a requester or provider record as an event row, in the same transaction as the change, with
 * its leaf in the institution's Merkle log, and the signed tree heads. The two record tables are the
 * readable projection of the events (record-events.ts). Records written before 0002 have no events;
 * `renkei records verify` names them.
 *
 * Migration 0003 adds `requester_records.requested_by`: the party of the business credential that made
 * the inquiry (アクセス記録), as its certificate names it; null off the trust layer and before 0003.
 *
 * Migration 0004 indexes `requester_records` by outcome, so the inquiries still pending (whose answers
 * the node fetches from the core when it starts) are found without reading every record.
 *
 * Migration 0005 adds the bulk inquiries (一括照会): `bulk_inquiries`, one row per bulk inquiry (its
 * clause, procedure, provider, items, who submitted it, `finished_at` once every person has an
 * outcome), and `bulk_members`, one row per person in the order submitted: the addressee number, then
 * the processing number of that person's inquiry once sent (its record and answer are the ordinary
 * requester record and answer), or the error code when it could not be sent (an unknown addressee
 * number, a person without a code).
 *
 * Migration 0008 adds `resident_notices`: the notices of change from J-LIS (relayed by the core) this
 * institution received, one row per notice id (a resend is taken once), in the order received
 * (`sequence`, what the business systems page by): the kind, the outcome (`applied`, `not_held` when
 * the code is no longer held here, `refused` with `reason` when it could not be taken), the addressee
 * number, and for an identity change which change, its effective date and the changed fields (JSON).
 * Never an Individual Number: a number change is applied in the addressee system.
 *
 * Migration 0010 adds the clerk console's `console_accounts` and `console_sessions`
 * (src/shared/web/console/kysely-store.ts): staff accounts (scrypt hashes, never a password) and
 * their browser sessions.
 *
 * Migration 0012 adds `console_intakes` (../console/kysely-intake-store.ts): the clerks' intake
 * sheets, each with the account that made it, the procedure, the addressee number and the inquiries'
 * processing numbers, kept for the working day and then deleted. Never an Individual Number.
 */
export const intermediateMigrations: Record<string, Migration> = {
  '0001_intermediate': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('persons')
        .addColumn('addressee_number', 'text', (c) => c.primaryKey())
        .addColumn('person_code', 'text', (c) => c.unique())
        .addColumn('code_acquired_at', 'text')
        .addColumn('registered_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('acquisitions')
        .addColumn('acquisition_number', 'text', (c) => c.primaryKey())
        .addColumn('addressee_number', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('copies')
        .addColumn('addressee_number', 'text', (c) => c.notNull().references('persons.addressee_number'))
        .addColumn('item_no', 'integer', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('layout_version', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('copies_pk', ['addressee_number', 'item_no'])
        .execute();
      await db.schema
        .createTable('requester_records')
        .addColumn('processing_number', 'text', (c) => c.primaryKey())
        .addColumn('addressee_number', 'text')
        .addColumn('person_code', 'text')
        .addColumn('provider_id', 'text')
        .addColumn('clause_no', 'text')
        .addColumn('procedure_id', 'text')
        .addColumn('item_nos', 'text')
        .addColumn('requested_at', 'text')
        .addColumn('answered_at', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('non_disclosure', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('requester_records_recorded_at')
        .on('requester_records')
        .column('recorded_at')
        .execute();
      await db.schema
        .createTable('answers')
        .addColumn('processing_number', 'text', (c) => c.primaryKey())
        .addColumn('items', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('provider_records')
        .addColumn('processing_number', 'text', (c) => c.primaryKey())
        .addColumn('requester_id', 'text', (c) => c.notNull())
        .addColumn('person_code', 'text', (c) => c.notNull())
        .addColumn('clause_no', 'text', (c) => c.notNull())
        .addColumn('procedure_id', 'text', (c) => c.notNull())
        .addColumn('item_nos', 'text', (c) => c.notNull())
        .addColumn('provided_item_nos', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('answered_at', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('non_disclosure', 'integer', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('provider_records_recorded_at')
        .on('provider_records')
        .column('recorded_at')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of [
        'provider_records',
        'answers',
        'requester_records',
        'copies',
        'acquisitions',
        'persons',
      ]) {
        await db.schema.dropTable(table).execute();
      }
    },
  },
  '0002_record_log': {
    async up(db: Kysely<unknown>) {
      await createRecordLogTables(db);
    },
  },
  '0003_access_log': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('requester_records').addColumn('requested_by', 'text').execute();
    },
  },
  '0004_pending_inquiries': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createIndex('requester_records_outcome')
        .on('requester_records')
        .columns(['outcome', 'processing_number'])
        .execute();
    },
  },
  '0005_bulk_inquiries': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('bulk_inquiries')
        .addColumn('bulk_number', 'text', (c) => c.primaryKey())
        .addColumn('provider_id', 'text', (c) => c.notNull())
        .addColumn('clause_no', 'text', (c) => c.notNull())
        .addColumn('procedure_id', 'text', (c) => c.notNull())
        .addColumn('item_nos', 'text', (c) => c.notNull())
        .addColumn('non_disclosure', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'text')
        .addColumn('total', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema
        .createTable('bulk_members')
        .addColumn('bulk_number', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('addressee_number', 'text', (c) => c.notNull())
        .addColumn('processing_number', 'text')
        .addColumn('error_code', 'text')
        .addPrimaryKeyConstraint('bulk_members_pk', ['bulk_number', 'position'])
        .execute();
      await db.schema
        .createIndex('bulk_members_processing_number')
        .on('bulk_members')
        .column('processing_number')
        .execute();
    },
  },
  '0006_inquiry_intents': {
    async up(db: Kysely<unknown>) {
      // An inquiry written down before it is sent (the requester's intent, under its idempotency
      // key), deleted in the transaction that opens its requester record: one left here was sent, or
      // not, by a node that stopped before it knew the core's answer, and is sent again on start.
      await db.schema
        .createTable('inquiry_intents')
        .addColumn('request_id', 'text', (c) => c.primaryKey())
        .addColumn('addressee_number', 'text', (c) => c.notNull())
        .addColumn('person_code', 'text', (c) => c.notNull())
        .addColumn('provider_id', 'text', (c) => c.notNull())
        .addColumn('clause_no', 'text', (c) => c.notNull())
        .addColumn('procedure_id', 'text', (c) => c.notNull())
        .addColumn('item_nos', 'text', (c) => c.notNull())
        .addColumn('non_disclosure', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0007_bulk_batches': {
    async up(db: Kysely<unknown>) {
      // The batch (coreApi.submitInquiryBatch) each person of a bulk inquiry went in: what a fetch of
      // an answer the core could not push asks for.
      await db.schema.alterTable('bulk_members').addColumn('batch_id', 'text').execute();
      await db.schema.createIndex('bulk_members_batch_id').on('bulk_members').column('batch_id').execute();
    },
  },
  '0008_resident_notices': {
    async up(db: Kysely<unknown>) {
      const { serial, serialAutoIncrement } = columnTypes(db);
      await db.schema
        .createTable('resident_notices')
        .addColumn('sequence', serial, (c) =>
          serialAutoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('notice_id', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('addressee_number', 'text')
        .addColumn('change', 'text')
        .addColumn('effective_date', 'text')
        .addColumn('fields', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0009_portal_notices': {
    async up(db: Kysely<unknown>) {
      // The notices this institution sent to residents at the Myna Portal: to whom (addressee number),
      // the title (the institution's own words; the body stays with the business system), who sent
      // it, when, and what the core said (`sent`, or `refused` with the code).
      await db.schema
        .createTable('sent_portal_notices')
        .addColumn('notice_id', 'text', (c) => c.primaryKey())
        .addColumn('addressee_number', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('sent_by', 'text')
        .addColumn('sent_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0010_payment_requests': {
    async up(db: Kysely<unknown>) {
      // Payment requests sent with a notice (公金決済): the notice, to whom (addressee number), what
      // was asked (amount in yen, due date, payee, the institution's reference), and once the portal
      // confirmed it through the core, when it was paid and the payment provider's receipt.
      await db.schema
        .createTable('payment_requests')
        .addColumn('notice_id', 'text', (c) => c.primaryKey())
        .addColumn('addressee_number', 'text', (c) => c.notNull())
        .addColumn('amount', 'integer', (c) => c.notNull())
        .addColumn('due_date', 'text', (c) => c.notNull())
        .addColumn('payee', 'text', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('paid_at', 'text')
        .addColumn('receipt', 'text')
        .execute();
    },
  },
  '0011_console_accounts': CONSOLE_MIGRATION,
  '0012_console_intakes': INTAKE_MIGRATION,
};
