/**
 * The core's database schema, as Kysely migrations (applied by `migrateToLatest` from shared/db.ts).
 * Dialect-agnostic on purpose: text for times (ISO-8601 UTC, sorts as text), integer for flags and
 * base64url text for keyed hashes, so SQLite and PostgreSQL run the same migrations.
 *
 * Tables:
 * - `institutions`: the registry, with each institution's current key version and the version its
 *   own table of codes was last confirmed re-keyed to (`rekeyed_version`, migration 0002).
 * - `linking_codes`: one random linking code per person, keyed by an HMAC of the resident record
 *   code (never the code itself). There is no table of persons × institutions: institution codes
 *   are derived, not stored.
 * - `provision_records`: the audit side of every inquiry (情報提供等の記録), written once at
 *   acceptance or refusal and completed once with the outcome. No codes, no items.
 * - `provision_record_items`: the item numbers of each record, one row each, so statistics by item
 *   are a plain GROUP BY in every dialect (we considered JSON functions, but `json_each` and
 *   `jsonb_array_elements` differ between SQLite and PostgreSQL). The record also keeps `item_nos`
 *   as JSON text so listing needs no join.
 * - `inquiries`: the mutable operational side (delivery to the requester), kept apart so the record
 *   stays an append-then-complete audit row.
 * - `record_events`, `merkle_nodes`, `tree_heads` (migration 0003, src/shared/record-log-tables.ts):
 *   every change to a record or to its delivery as an event row, in the same transaction as the change,
 *   with its leaf in the core's Merkle log, and the signed tree heads. `provision_records` and
 *   `inquiries` are the readable projection of the events (record-events.ts). Records written before
 *   0003 have no events; `renkei records verify` names them.
 * - `kept_answers` (migration 0004): a provided answer's sealed items (the provider's compact JWE to
 *   the requester: ciphertext the core cannot open), kept from the moment the outcome is recorded
 *   (same transaction) until the requester has it (push acknowledged, or fetched) or `expires_at`
 *   passes. The outcome, reason and answer time are the record's own columns: not repeated here.
 *   Items in clear (nodes without the trust layer) never come here.
 * - `inquiries.owner`, `core_workers`, `seen_messages` (migration 0005): for several core processes
 *   over one PostgreSQL database (`workers:` in the core's config). An unfinished inquiry's `owner` is
 *   the process carrying it (NULL for a core that runs alone); each process renews its lease in
 *   `core_workers`, and a process resumes only inquiries owned by none or by a process whose lease has
 *   run out (KyselyCoreStore.listUndelivered). `seen_messages` is their shared replay guard: the ids
 *   of signed messages received, until they would be refused as stale anyway.
 * - `provider_notices` (migration 0006): a failure the core recorded after forwarding, which the
 *   provider must record too, kept until the provider acknowledges it (so a restart still sends it).
 * - `inquiry_requests` (migration 0007): each inquiry's idempotency key, unique per requester, so that
 *   a request sent again finds its inquiry instead of opening a second one; purged with its record.
 * - `inquiry_batches`, `inquiries.batch_id` (migration 0008): batches of inquiries (bulk inquiries).
 *   Each member is an ordinary record with its `inquiries` row, tied to its batch; the batch row holds
 *   the answer a resend gets, the batch's state (`forwarded`, `answered`, `delivered`, `failed`,
 *   `none` when no member was accepted) and its answer until delivered (ciphertext only).
 * - `code_holders` (migration 0009): which institution the core issued a code for a person to, under
 *   the person's resident key, with the first issuance's time: one row per pair. The one
 *   persons × institutions fact the core keeps, so that J-LIS can tell the holders of a person of a
 *   change (src/nodes/core/README.md, "Notices of change"). No code: codes stay derived.
 * - `resident_notices` (migration 0010): a notice of change J-LIS sealed for one holder, kept
 *   (ciphertext, which the core cannot open) until the holder acknowledges it; then `delivered` and
 *   the ciphertext dropped. `failed` when the holder refused it for good (a 4xx) or left the
 *   registry. The row names the person by resident key only.
 * - Migration 0011: the index by which the Myna Portal pages through one person's records, newest
 *   first, those under non-disclosure left out (`provision_records_person_disclosed`).
 * - `portal_notices` (migration 0013; 0012 was left to another branch and never used): institutions'
 *   notices to residents at the Myna Portal, the person by resident key, the ciphertext (never the
 *   content) until the portal acknowledges it, and its state (`held`, `pending`, `delivered`, `failed`).
 * - `legal_table_versions` (migration 0014): every version of the legal table the core has run or
 *   will run, with its files' text, digest, the JST day it takes effect and who loaded it; the core
 *   decides an inquiry under the version in force on the inquiry's day (service/legal-versions.ts).
 * - `console_accounts`, `console_sessions` (migration 0015): the staff of the core's console
 *   (operators, the oversight commission) and their browser sessions, as every node's console keeps
 *   them (src/shared/web/console/kysely-store.ts).
 * - `institutions.suspended`, `institution_suspensions` (migration 0016): the operator's suspension of an
 *   institution (a flag the inquiries read through the registry's cache) and every suspension and
 *   reinstatement with who, when and why, kept for good.
 * - `oversight_uses` (migration 0017): every use of the oversight console (who, when, what, what it
 *   answered; for the per-resident view the institution whose code was given and the officer's
 *   reason, never the code), and the index the anomaly rules' refusals read.
 * - `institution_tree_heads` (migration 0018): every distinct signed tree head each institution
 *   answered the oversight cross-check with, and what was found wrong with it (NULL when nothing):
 *   the next cross-check asks for a consistency proof from the latest one that passed. And
 *   `oversight_uses.view_of`: the use id of the per-resident view a further page of it belongs to.
 * - `oversight_person_views` (migration 0019): the per-resident views the oversight console keeps for
 *   their further pages, under the view's use id: the account that asked, the person key (as the
 *   provision records hold it; never a code), the institution, the reason and `expires_at`. In the
 *   database, not in a process's memory, so that every core worker (`--workers`) serves every page.
 *   An expired view is never served and is deleted when the next view is kept.
 * - `institution_head_absences` (migration 0020): an institution that answered no signed tree head
 *   though it had given one (`head-missing`: its heads were deleted), by the head it had given (the
 *   latest kept that passed): when that was first and last seen, and how many times. One row per
 *   head it contradicts, not per watch, so a deleted log watched every ten minutes stays one row.
 */
import type { Kysely, Migration } from 'kysely';
import { createRecordLogTables } from '../../shared/record-log-tables.ts';
import { columnTypes } from '../../shared/db.ts';
import { CONSOLE_MIGRATION } from '../../shared/web/console/kysely-store.ts';

export const CORE_MIGRATIONS: Record<string, Migration> = {
  '0001-core': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('institutions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_en', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('network_url', 'text', (c) => c.notNull())
        .addColumn('key_version', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('linking_codes')
        .addColumn('resident_key', 'text', (c) => c.primaryKey())
        .addColumn('linking_code', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('provision_records')
        .addColumn('processing_number', 'text', (c) => c.primaryKey())
        .addColumn('requester_id', 'text', (c) => c.notNull())
        .addColumn('provider_id', 'text', (c) => c.notNull())
        .addColumn('clause_no', 'text', (c) => c.notNull())
        .addColumn('procedure_id', 'text', (c) => c.notNull())
        .addColumn('item_nos', 'text', (c) => c.notNull())
        .addColumn('person_key', 'text')
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('answered_at', 'text')
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('non_disclosure', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('legal_table_digest', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('provision_records_requested_at')
        .on('provision_records')
        .column('requested_at')
        .execute();
      await db.schema
        .createIndex('provision_records_requester')
        .on('provision_records')
        .columns(['requester_id', 'requested_at'])
        .execute();
      await db.schema
        .createIndex('provision_records_provider')
        .on('provision_records')
        .columns(['provider_id', 'requested_at'])
        .execute();
      await db.schema
        .createIndex('provision_records_person')
        .on('provision_records')
        .columns(['person_key', 'requested_at'])
        .execute();

      await db.schema
        .createTable('provision_record_items')
        .addColumn('processing_number', 'text', (c) =>
          c.notNull().references('provision_records.processing_number').onDelete('cascade'),
        )
        .addColumn('item_no', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('provision_record_items_pk', ['processing_number', 'item_no'])
        .execute();

      await db.schema
        .createTable('inquiries')
        .addColumn('processing_number', 'text', (c) =>
          c.primaryKey().references('provision_records.processing_number').onDelete('cascade'),
        )
        .addColumn('delivery', 'text', (c) => c.notNull())
        .addColumn('delivery_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('delivered_at', 'text')
        .execute();
      await db.schema.createIndex('inquiries_delivery').on('inquiries').column('delivery').execute();
    },
  },
  '0002-rekeyed-version': {
    async up(db: Kysely<unknown>) {
      // Rotation may only move an institution whose codes are all at its current version: then it
      // never holds codes of more than two versions, and the core can send a provider both.
      await db.schema
        .alterTable('institutions')
        .addColumn('rekeyed_version', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
    },
  },
  '0003-record-log': {
    async up(db: Kysely<unknown>) {
      await createRecordLogTables(db);
    },
  },
  '0004-kept-answers': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('kept_answers')
        .addColumn('processing_number', 'text', (c) =>
          c.primaryKey().references('provision_records.processing_number').onDelete('cascade'),
        )
        .addColumn('sealed_items', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('kept_answers_expires_at')
        .on('kept_answers')
        .column('expires_at')
        .execute();
    },
  },
  '0005-inquiry-owners': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('inquiries').addColumn('owner', 'text').execute();
      await db.schema
        .createTable('core_workers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('lease_until', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('seen_messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('seen_messages_expires_at')
        .on('seen_messages')
        .column('expires_at')
        .execute();
    },
  },
  '0006-provider-notices': {
    async up(db: Kysely<unknown>) {
      // Failures the core recorded after forwarding, which the provider must record too: kept until
      // the provider acknowledges, so a restart still sends them (InquiryService).
      await db.schema
        .createTable('provider_notices')
        .addColumn('processing_number', 'text', (c) =>
          c.primaryKey().references('provision_records.processing_number').onDelete('cascade'),
        )
        .addColumn('provider_id', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('failed_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0007-inquiry-requests': {
    async up(db: Kysely<unknown>) {
      // The requester's idempotency key of each inquiry, unique per requester: a resubmission finds
      // its inquiry here instead of opening a second one. Purged with its record (ON DELETE CASCADE).
      await db.schema
        .createTable('inquiry_requests')
        .addColumn('requester_id', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('processing_number', 'text', (c) =>
          c.notNull().unique().references('provision_records.processing_number').onDelete('cascade'),
        )
        .addPrimaryKeyConstraint('inquiry_requests_pk', ['requester_id', 'request_id'])
        .execute();
    },
  },
  '0008-inquiry-batches': {
    async up(db: Kysely<unknown>) {
      // A batch of inquiries (coreApi.submitInquiryBatch): its members are ordinary records and
      // `inquiries` rows, tied to it by `inquiries.batch_id`; the batch row carries what is one per
      // batch: the answer to a resend (`accepted`), its state, and its answer until the requester has
      // it (`answer`: the outcomes and the provider's sealed items, ciphertext only, as kept_answers).
      await db.schema
        .createTable('inquiry_batches')
        .addColumn('batch_id', 'text', (c) => c.primaryKey())
        .addColumn('requester_id', 'text', (c) => c.notNull())
        .addColumn('provider_id', 'text', (c) => c.notNull())
        .addColumn('accepted', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('answer', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('delivery_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('owner', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('inquiry_batches_state').on('inquiry_batches').column('state').execute();
      await db.schema.alterTable('inquiries').addColumn('batch_id', 'text').execute();
      await db.schema.createIndex('inquiries_batch_id').on('inquiries').column('batch_id').execute();
    },
  },
  '0009-code-holders': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('code_holders')
        .addColumn('resident_key', 'text', (c) => c.notNull())
        .addColumn('institution_id', 'text', (c) => c.notNull())
        .addColumn('first_issued_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('code_holders_pk', ['resident_key', 'institution_id'])
        .execute();
    },
  },
  '0010-resident-notices': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('resident_notices')
        .addColumn('notice_id', 'text', (c) => c.notNull())
        .addColumn('institution_id', 'text', (c) => c.notNull())
        .addColumn('resident_key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('sealed', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('reason', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .addPrimaryKeyConstraint('resident_notices_pk', ['notice_id', 'institution_id'])
        .execute();
      await db.schema.createIndex('resident_notices_state').on('resident_notices').column('state').execute();
    },
  },
  '0011-person-records': {
    async up(db: Kysely<unknown>) {
      // The Myna Portal pages through one person's records newest first, never those under
      // non-disclosure (PersonRecordService): the index serves that page as one range, in order, with
      // the filter and the cursor's tie-break (processing number) inside it. The lift of
      // non-disclosure needs no column of its own: it is an event in the record log, and the row's
      // `non_disclosure` its projection.
      await db.schema
        .createIndex('provision_records_person_disclosed')
        .on('provision_records')
        .columns(['person_key', 'non_disclosure', 'requested_at', 'processing_number'])
        .execute();
    },
  },
  '0013-portal-notices': {
    async up(db: Kysely<unknown>) {
      // Institutions' notices to residents at the Myna Portal: the sender, the person by resident key
      // (as `resident_notices`), the ciphertext until the portal acknowledges it (then null), and the
      // state: `held` while the portal holds no code for the person, `pending`, `delivered`, `failed`.
      // Never the content: the core cannot open it. (0012 is left to another branch.)
      await db.schema
        .createTable('portal_notices')
        .addColumn('notice_id', 'text', (c) => c.primaryKey())
        .addColumn('sender_id', 'text', (c) => c.notNull())
        .addColumn('portal_id', 'text', (c) => c.notNull())
        .addColumn('resident_key', 'text', (c) => c.notNull())
        .addColumn('sealed', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('reason', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .execute();
      await db.schema.createIndex('portal_notices_state').on('portal_notices').column('state').execute();
      await db.schema
        .createIndex('portal_notices_held')
        .on('portal_notices')
        .columns(['resident_key', 'state'])
        .execute();
    },
  },
  '0014-legal-table-versions': {
    async up(db: Kysely<unknown>) {
      // A version is its files; one digest may come back on a later day (a revision undone), so the
      // key is the pair. Text, not bytes: the files are YAML, UTF-8, and the digest is over that text.
      await db.schema
        .createTable('legal_table_versions')
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('effective_from', 'text', (c) => c.notNull())
        .addColumn('loaded_at', 'text', (c) => c.notNull())
        .addColumn('loaded_by', 'text', (c) => c.notNull())
        .addColumn('clauses', 'text', (c) => c.notNull())
        .addColumn('procedures', 'text', (c) => c.notNull())
        .addColumn('items', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('legal_table_versions_pk', ['effective_from', 'digest'])
        .execute();
    },
  },
  '0015-operator-console-accounts': CONSOLE_MIGRATION,
  '0016-institution-suspensions': {
    async up(db: Kysely<unknown>) {
      // The flag is what the hot path reads (with the institution, one row); the history is what an
      // auditor reads: one row per change, never updated.
      await db.schema
        .alterTable('institutions')
        .addColumn('suspended', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('institution_suspensions')
        .addColumn('institution_id', 'text', (c) => c.notNull().references('institutions.id'))
        // 1, 2, 3… per institution: the order of its changes, even two within one millisecond.
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('changed_at', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('changed_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('institution_suspensions_pk', ['institution_id', 'seq'])
        .execute();
    },
  },
  '0017-oversight': {
    async up(db: Kysely<unknown>) {
      // Every use of the oversight console, the per-resident view with the institution whose code
      // was given and the officer's reason (never the code). Its own table, not the node's log: the
      // commission's own use is what its auditors read, and a log file rotates away.
      await db.schema
        .createTable('oversight_uses')
        .addColumn('use_id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('institution_id', 'text')
        .addColumn('reason', 'text')
        .addColumn('records', 'integer')
        .execute();
      await db.schema.createIndex('oversight_uses_at').on('oversight_uses').column('at').execute();
      // The anomaly rule "repeated refusals" reads the refusals of a period: one range of this index
      // rather than every record of the period. The other rules read the period's records whole
      // (`provision_records_requested_at`).
      await db.schema
        .createIndex('provision_records_outcome_requested_at')
        .on('provision_records')
        .columns(['outcome', 'requested_at'])
        .execute();
    },
  },
  '0018-institution-tree-heads': {
    async up(db: Kysely<unknown>) {
      const { bigint } = columnTypes(db);
      // Every distinct signed tree head an institution answered the oversight cross-check with, so the
      // next check can ask for a consistency proof from the last one and see a rewritten log. The JWS is
      // what counts; the other columns repeat what it says, for queries. `finding` is the kind of what
      // was wrong with it (a head not consistent with the one kept before it…), NULL for a head that
      // passed: the next check proves consistency from the latest head that passed.
      await db.schema
        .createTable('institution_tree_heads')
        .addColumn('institution_id', 'text', (c) => c.notNull())
        .addColumn('tree_size', bigint, (c) => c.notNull())
        .addColumn('root_hash', 'text', (c) => c.notNull())
        .addColumn('timestamp', bigint, (c) => c.notNull())
        .addColumn('kid', 'text', (c) => c.notNull())
        .addColumn('jws', 'text', (c) => c.notNull())
        .addColumn('seen_at', 'text', (c) => c.notNull())
        .addColumn('finding', 'text')
        .addPrimaryKeyConstraint('institution_tree_heads_pk', [
          'institution_id',
          'tree_size',
          'timestamp',
          'root_hash',
        ])
        .execute();
      // A page of a resident's view beyond the first is a use of its own, tied to the view's use.
      await db.schema.alterTable('oversight_uses').addColumn('view_of', 'text').execute();
    },
  },
  '0019-oversight-person-views': {
    async up(db: Kysely<unknown>) {
      // A per-resident view kept for its further pages, so that any core worker serves them: the person
      // key the provision records already hold (no new exposure; never a code), the account it is for,
      // and when it expires. Expired rows are deleted as a new view is kept (`expires_at`'s index).
      await db.schema
        .createTable('oversight_person_views')
        .addColumn('use_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('person_key', 'text', (c) => c.notNull())
        .addColumn('institution_id', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('oversight_person_views_expires_at')
        .on('oversight_person_views')
        .column('expires_at')
        .execute();
    },
  },
  '0020-institution-head-absences': {
    async up(db: Kysely<unknown>) {
      const { bigint } = columnTypes(db);
      // No head where there was one is the finding with no head to keep in institution_tree_heads:
      // kept here, as evidence, by the head the institution had given before.
      await db.schema
        .createTable('institution_head_absences')
        .addColumn('institution_id', 'text', (c) => c.notNull())
        .addColumn('earlier_size', bigint, (c) => c.notNull())
        .addColumn('earlier_timestamp', bigint, (c) => c.notNull())
        .addColumn('first_seen_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('times', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('institution_head_absences_pk', [
          'institution_id',
          'earlier_size',
          'earlier_timestamp',
        ])
        .execute();
    },
  },
};
