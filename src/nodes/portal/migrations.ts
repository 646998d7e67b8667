import type { Kysely, Migration } from 'kysely';
import { columnTypes, migrateToLatest } from '../../shared/db.ts';
import { createRecordLogTables } from '../../shared/record-log-tables.ts';
import type { PortalDatabase } from './kysely-store.ts';

/**
 * The Myna Portal's database, in order; dialect-agnostic Kysely schema building, so the same list
 * runs on SQLite and PostgreSQL. Never edit a migration once shipped: add one.
 *
 * - `login_challenges`: each challenge the login page issued, until it expires (purged after).
 * - `persons`: the portal's own random person id and its institution-specific code (unique).
 * - `authentication_certificates`: user-authentication certificate serial → person (a renewed card
 *   adds a serial for the same person).
 * - `code_acquisitions`: acquisitions pending at J-LIS, deleted when the core delivers the code.
 * - `sessions`: server-side sessions, by the hash of the cookie's token.
 * - `notices` (0002): institutions' notices to a person, read or not.
 * - `onestop_signing_requests`, `onestop_applications` (0003): ぴったりサービス's applications.
 * - `requester_records` (0004): the portal's records of its inquiries as a requester (わたしの情報);
 *   never the items answered (my-information-store.ts).
 * - `public_funds_accounts`, `payments`, `provider_records` (0005): service D, money-store.ts.
 * - `oidc_artifacts`, `api_grants`, `api_releases` (0006): the 自己情報取得API's authorization server
 *   (its codes, tokens, grants), the residents' consents and every release to a client (api-store.ts).
 * - `record_events`, `merkle_nodes`, `tree_heads` (0007): the portal's tamper-evident record log, the
 *   same tables as every party's (src/shared/record-log-tables.ts); `notices.log_index`, the log entry
 *   of each notice received (record-log-store.ts).
 *
 * No column for an Individual Number, a name or any other of the basic four information.
 */
export const PORTAL_MIGRATIONS: Record<string, Migration> = {
  '0001-portal': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('login_challenges')
        .addColumn('nonce', 'varchar(43)', (c) => c.primaryKey())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('binding_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('issued_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('person_id', 'varchar(36)')
        .execute();
      await db.schema
        .createIndex('login_challenges_by_expiry')
        .on('login_challenges')
        .column('expires_at')
        .execute();
      await db.schema
        .createTable('persons')
        .addColumn('person_id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('person_code', 'varchar(44)', (c) => c.notNull().unique())
        .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('authentication_certificates')
        .addColumn('serial', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('person_id', 'varchar(36)', (c) => c.notNull().references('persons.person_id'))
        .addColumn('linked_at', 'varchar(24)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('code_acquisitions')
        .addColumn('acquisition_number', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('serial', 'varchar(64)', (c) => c.notNull())
        .addColumn('started_at', 'varchar(24)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('person_id', 'varchar(36)', (c) => c.notNull())
        .addColumn('csrf_token', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('idle_expires_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('absolute_expires_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('ended_at', 'varchar(24)')
        .execute();
    },
  },
  '0002-notices': {
    async up(db: Kysely<unknown>) {
      // Institutions' notices to a person (お知らせ), by the portal's own person id: never a code,
      // an Individual Number or a name. The sender's name is the core's registry's, as delivered.
      await db.schema
        .createTable('notices')
        .addColumn('notice_id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('person_id', 'varchar(36)', (c) => c.notNull().references('persons.person_id'))
        .addColumn('sender_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('sender_name', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('received_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('read_at', 'varchar(24)')
        .execute();
      await db.schema
        .createIndex('notices_by_person')
        .on('notices')
        .columns(['person_id', 'sent_at'])
        .execute();
    },
  },
  '0003-onestop-applications': {
    async up(db: Kysely<unknown>) {
      // ぴったりサービス (kysely-application-store.ts): applications awaiting the card's signature, and
      // the signed applications kept for the municipality's download. No Individual Number column;
      // the signing certificate inside `signed_data` carries the basic four information.
      await db.schema
        .createTable('onestop_signing_requests')
        .addColumn('request_id', 'varchar(43)', (c) => c.primaryKey())
        .addColumn('person_id', 'varchar(36)', (c) => c.notNull().references('persons.person_id'))
        .addColumn('municipality_id', 'varchar(6)', (c) => c.notNull())
        .addColumn('procedure_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('application_number', 'varchar(17)')
        .execute();
      await db.schema
        .createTable('onestop_applications')
        .addColumn('application_number', 'varchar(17)', (c) => c.primaryKey())
        .addColumn('municipality_id', 'varchar(6)', (c) => c.notNull())
        .addColumn('procedure_id', 'varchar(40)', (c) => c.notNull())
        .addColumn('procedure_name', 'text', (c) => c.notNull())
        .addColumn('legal_procedure_id', 'varchar(64)')
        .addColumn('person_id', 'varchar(36)', (c) => c.notNull().references('persons.person_id'))
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('signed_data', 'text', (c) => c.notNull())
        .addColumn('signing_serial', 'varchar(64)', (c) => c.notNull())
        .addColumn('authentication_serial', 'varchar(64)', (c) => c.notNull())
        .addColumn('received_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('downloaded_at', 'varchar(24)')
        .execute();
      await db.schema
        .createIndex('onestop_applications_by_municipality')
        .on('onestop_applications')
        .columns(['municipality_id', 'received_at'])
        .execute();
      await db.schema
        .createIndex('onestop_applications_by_person')
        .on('onestop_applications')
        .columns(['person_id', 'received_at'])
        .execute();
    },
  },
  '0004-requester-records': {
    async up(db: Kysely<unknown>) {
      // The portal as a requester (わたしの情報): its record of each inquiry, by its own person id and
      // the core's processing number. No code, no Individual Number, no name, no item data.
      await db.schema
        .createTable('requester_records')
        .addColumn('processing_number', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('person_id', 'varchar(36)', (c) => c.notNull().references('persons.person_id'))
        .addColumn('provider_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('clause_no', 'varchar(8)', (c) => c.notNull())
        .addColumn('procedure_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('item_nos', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
        .addColumn('reason', 'varchar(64)')
        .addColumn('answered_at', 'varchar(24)')
        .addColumn('recorded_at', 'varchar(24)', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('requester_records_by_person')
        .on('requester_records')
        .columns(['person_id', 'requested_at'])
        .execute();
    },
  },
  '0005-public-funds': {
    async up(db: Kysely<unknown>) {
      // The public-funds receiving account (公金受取口座), one per person: the account and its
      // holder's name in katakana (the account's, needed to pay into it). No Individual Number.
      await db.schema
        .createTable('public_funds_accounts')
        .addColumn('person_id', 'varchar(36)', (c) => c.primaryKey().references('persons.person_id'))
        .addColumn('bank_code', 'varchar(4)', (c) => c.notNull())
        .addColumn('branch_code', 'varchar(3)', (c) => c.notNull())
        .addColumn('account_type', 'varchar(16)', (c) => c.notNull())
        .addColumn('account_number', 'varchar(7)', (c) => c.notNull())
        .addColumn('holder_name', 'text', (c) => c.notNull())
        .addColumn('registered_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(24)', (c) => c.notNull())
        .execute();
      // A notice's payment request (公金決済) and its payment, paid once.
      await db.schema
        .createTable('payments')
        .addColumn('notice_id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('person_id', 'varchar(36)', (c) => c.notNull().references('persons.person_id'))
        .addColumn('sender_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('amount', 'integer', (c) => c.notNull())
        .addColumn('due_date', 'varchar(10)', (c) => c.notNull())
        .addColumn('payee', 'text', (c) => c.notNull())
        .addColumn('reference', 'varchar(32)', (c) => c.notNull())
        .addColumn('paid_at', 'varchar(24)')
        .addColumn('receipt', 'varchar(64)')
        .addColumn('confirmed_at', 'varchar(24)')
        .execute();
      // The portal's provision records as provider (item 70): one row per event of a processing
      // number, the latest being the record; the person by the portal's own code, as an
      // institution's intermediate server keeps them.
      await db.schema
        .createTable('provider_records')
        .addColumn('record_id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('processing_number', 'varchar(64)', (c) => c.notNull())
        .addColumn('requester_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('person_code', 'varchar(44)', (c) => c.notNull())
        .addColumn('clause_no', 'varchar(8)', (c) => c.notNull())
        .addColumn('procedure_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('item_nos', 'text', (c) => c.notNull())
        .addColumn('provided_item_nos', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('answered_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('non_disclosure', 'integer', (c) => c.notNull())
        .addColumn('recorded_at', 'varchar(24)', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('provider_records_by_number')
        .on('provider_records')
        .columns(['processing_number', 'recorded_at'])
        .execute();
    },
  },
  '0006-self-information-api': {
    async up(db: Kysely<unknown>) {
      // oidc-provider's artifacts (authorization codes, access tokens, grants, interactions,
      // sessions), one row each, as its adapter interface stores them (api/oidc-adapter.ts). The
      // payload names the portal's person id (the grant's account), never a code or a name.
      await db.schema
        .createTable('oidc_artifacts')
        .addColumn('model', 'varchar(40)', (c) => c.notNull())
        .addColumn('id', 'varchar(128)', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'varchar(128)')
        .addColumn('uid', 'varchar(128)')
        .addColumn('expires_at', 'varchar(24)')
        .addColumn('consumed_at', 'varchar(24)')
        .addPrimaryKeyConstraint('oidc_artifacts_pk', ['model', 'id'])
        .execute();
      await db.schema
        .createIndex('oidc_artifacts_by_grant')
        .on('oidc_artifacts')
        .column('grant_id')
        .execute();
      await db.schema.createIndex('oidc_artifacts_by_uid').on('oidc_artifacts').column('uid').execute();
      await db.schema
        .createIndex('oidc_artifacts_by_expiry')
        .on('oidc_artifacts')
        .column('expires_at')
        .execute();
      // A resident's consent to a client (連携サービス): the scopes given, until withdrawn.
      await db.schema
        .createTable('api_grants')
        .addColumn('grant_id', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('person_id', 'varchar(36)', (c) => c.notNull().references('persons.person_id'))
        .addColumn('client_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('granted_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('expires_at', 'varchar(24)', (c) => c.notNull())
        .addColumn('revoked_at', 'varchar(24)')
        .execute();
      await db.schema
        .createIndex('api_grants_by_person')
        .on('api_grants')
        .columns(['person_id', 'granted_at'])
        .execute();
      // Every release of a resident's information to a client: who, which items, from whom, when.
      // Never the information itself.
      await db.schema
        .createTable('api_releases')
        .addColumn('release_id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('person_id', 'varchar(36)', (c) => c.notNull().references('persons.person_id'))
        .addColumn('client_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('grant_id', 'varchar(128)', (c) => c.notNull())
        .addColumn('provider_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('item_nos', 'text', (c) => c.notNull())
        .addColumn('processing_number', 'varchar(36)', (c) => c.notNull())
        .addColumn('released_at', 'varchar(24)', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('api_releases_by_person')
        .on('api_releases')
        .columns(['person_id', 'released_at'])
        .execute();
    },
  },
  '0007-record-log': {
    async up(db: Kysely<unknown>) {
      // The portal's requester and provider records and the notices it received, each change an
      // event of a Merkle log with signed heads, as at every party (record-events.ts). Records made
      // before this migration have no event: `renkei records verify` names them.
      await createRecordLogTables(db);
      await db.schema.alterTable('notices').addColumn('log_index', columnTypes(db).bigint).execute();
    },
  },
};

export function migratePortalDatabase(db: Kysely<PortalDatabase>): Promise<void> {
  return migrateToLatest(db as unknown as Kysely<unknown>, PORTAL_MIGRATIONS);
}
