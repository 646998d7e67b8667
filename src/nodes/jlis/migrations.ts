import { sql, type Kysely, type Migration } from 'kysely';
import { columnTypes, dialectOf, migrateToLatest } from '../../shared/db.ts';
import type { JlisDatabase } from './kysely-store.ts';

/**
 * J-LIS's database, in order. Each migration is dialect-agnostic Kysely schema building, so the same
 * list runs on the embedded SQLite default and on PostgreSQL. Never edit a migration once shipped: add one.
 *
 * - `residents`: the identity records (本人確認情報) as they stand now. The Individual Number is
 *   derived from the resident record code; `numbering_counter` is the counter that derivation used
 *   (0 unless the first derived number was already taken), kept so the derivation can be re-checked.
 * - `resident_history`: append-only; one row per change of a resident's basic four info, holding the
 *   values after the change (`created` is the first row). The store offers no update or delete on it.
 * - `code_acquisition_relays`: one row per code acquisition J-LIS relayed or refused: when, for which
 *   institution, the acquisition number, the outcome and the error code. Never the Individual Number
 *   nor the resident record code: this log says who asked, not about whom.
 */
export const JLIS_MIGRATIONS: Record<string, Migration> = {
  '0001-identity-records': {
    async up(db: Kysely<unknown>) {
      const { serial, serialAutoIncrement } = columnTypes(db);
      await db.schema
        .createTable('residents')
        .addColumn('resident_record_code', 'varchar(11)', (c) => c.primaryKey())
        .addColumn('individual_number', 'varchar(12)', (c) => c.notNull().unique())
        .addColumn('numbering_counter', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_kana', 'text')
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('date_of_birth', 'varchar(10)', (c) => c.notNull())
        .addColumn('sex', 'varchar(8)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('resident_history')
        .addColumn('id', serial, (c) =>
          serialAutoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('resident_record_code', 'varchar(11)', (c) =>
          c.notNull().references('residents.resident_record_code'),
        )
        .addColumn('changed_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('change', 'varchar(32)', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('name_kana', 'text')
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('date_of_birth', 'varchar(10)', (c) => c.notNull())
        .addColumn('sex', 'varchar(8)', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('resident_history_by_resident')
        .on('resident_history')
        .columns(['resident_record_code', 'id'])
        .execute();
    },
  },
  '0002-code-acquisition-relays': {
    async up(db: Kysely<unknown>) {
      const { serial, serialAutoIncrement } = columnTypes(db);
      await db.schema
        .createTable('code_acquisition_relays')
        .addColumn('id', serial, (c) =>
          serialAutoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('relayed_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('institution_id', 'varchar(32)', (c) => c.notNull())
        .addColumn('acquisition_number', 'varchar(32)', (c) => c.notNull())
        .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
        .addColumn('error_code', 'varchar(64)')
        .execute();
      await db.schema
        .createIndex('code_acquisition_relays_by_time')
        .on('code_acquisition_relays')
        .column('relayed_at')
        .execute();
    },
  },
  /**
   * Identity records dated (issue 8): each history row says on which day it took effect
   * (`effective_date`, 異動日), apart from when J-LIS recorded it, and where the resident stood after
   * it (`status`: resident, moved_out, deceased), so a record can be read as of any day. Rows before
   * this migration took effect when they were recorded. `replaced_numbers` keeps every Individual
   * Number replaced by a number change (番号の変更): never given again, refused for any new use.
   */
  '0003-dated-identity-records': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('resident_history').addColumn('effective_date', 'varchar(10)').execute();
      await db.schema.alterTable('resident_history').addColumn('status', 'varchar(16)').execute();
      // Which of name, nameKana, address, dateOfBirth, sex and status the entry sets: a record as
      // of a day applies, in order of effective date, only what each entry changed.
      await db.schema.alterTable('resident_history').addColumn('changed_fields', 'varchar(64)').execute();
      await db
        .updateTable('resident_history' as never)
        .set({
          effective_date: sql`substr(changed_at, 1, 10)`,
          status: 'resident',
          changed_fields: 'name,nameKana,address,dateOfBirth,sex,status',
        } as never)
        .execute();
      await db.schema
        .alterTable('residents')
        .addColumn('status', 'varchar(16)', (c) => c.notNull().defaultTo('resident'))
        .execute();
      await db.schema
        .createTable('replaced_numbers')
        .addColumn('individual_number', 'varchar(12)', (c) => c.primaryKey())
        .addColumn('resident_record_code', 'varchar(11)', (c) =>
          c.notNull().references('residents.resident_record_code'),
        )
        .addColumn('replaced_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('reason', 'varchar(16)', (c) => c.notNull())
        .execute();
    },
  },
  /**
   * JPKI (issue 8, part 5): the certificates J-LIS's JPKI CAs issued, relying parties, their links.
   *
   * - `jpki_certificates`: one row per certificate: serial (hex), kind (`signing`, `authentication`),
   *   the card and the resident it was issued for, validity, status, revocation time and reason; on a
   *   signing certificate, the user-authentication certificate issued with it
   *   (`authentication_serial`, 証明書紐付け) and the signing certificate that replaced it
   *   (`replaced_by`, 新旧紐付け); and the certificate itself (DER), which J-LIS hands to a linked
   *   relying party asking for the newest signing certificate.
   * - `jpki_crl_numbers`: the last cRLNumber signed, per kind.
   * - `relying_parties`: 署名検証者 registered by an operator, by the party id of their network
   *   certificate.
   * - `jpki_links`: which relying party registered which signing certificate (the holder's signed
   *   consent, verified by J-LIS); only those it may ask about.
   * - `jpki_linking_events`: every linking request, answered or refused: who, what, which serial.
   */
  '0004-jpki': {
    async up(db: Kysely<unknown>) {
      const { bytes, serial, serialAutoIncrement } = columnTypes(db);
      await db.schema
        .createTable('jpki_certificates')
        .addColumn('serial', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('card_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('resident_record_code', 'varchar(11)', (c) =>
          c.notNull().references('residents.resident_record_code'),
        )
        .addColumn('not_before', 'varchar(32)', (c) => c.notNull())
        .addColumn('not_after', 'varchar(32)', (c) => c.notNull())
        .addColumn('issued_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('revoked_at', 'varchar(32)')
        .addColumn('reason', 'varchar(16)')
        .addColumn('authentication_serial', 'varchar(64)')
        .addColumn('replaced_by', 'varchar(64)')
        .addColumn('certificate_der', bytes, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('jpki_certificates_by_card')
        .on('jpki_certificates')
        .column('card_id')
        .execute();
      await db.schema
        .createIndex('jpki_certificates_by_resident')
        .on('jpki_certificates')
        .columns(['resident_record_code', 'kind'])
        .execute();
      await db.schema
        .createIndex('jpki_certificates_revoked')
        .on('jpki_certificates')
        .columns(['kind', 'status'])
        .execute();
      await db.schema
        .createTable('jpki_crl_numbers')
        .addColumn('kind', 'varchar(16)', (c) => c.primaryKey())
        .addColumn('crl_number', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('relying_parties')
        .addColumn('party_id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('registered_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('jpki_links')
        .addColumn('relying_party_id', 'varchar(64)', (c) =>
          c.notNull().references('relying_parties.party_id'),
        )
        .addColumn('signing_serial', 'varchar(64)', (c) => c.notNull().references('jpki_certificates.serial'))
        .addColumn('linked_at', 'varchar(32)', (c) => c.notNull())
        .addPrimaryKeyConstraint('jpki_links_pk', ['relying_party_id', 'signing_serial'])
        .execute();
      await db.schema.createIndex('jpki_links_by_serial').on('jpki_links').column('signing_serial').execute();
      await db.schema
        .createTable('jpki_linking_events')
        .addColumn('id', serial, (c) =>
          serialAutoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        .addColumn('relying_party_id', 'varchar(64)')
        .addColumn('operation', 'varchar(32)', (c) => c.notNull())
        .addColumn('serial', 'varchar(64)')
        .addColumn('outcome', 'varchar(16)', (c) => c.notNull())
        .addColumn('error_code', 'varchar(64)')
        .execute();
    },
  },
  /**
   * The Individual Number Card (issue 8, part 4): `cards` holds each card's state, dates and the
   * serial numbers of its certificates, never a key, a PIN or the card's contents (the card itself is
   * the holder's file); `card_events` records every card operation, done, refused or failed: when,
   * which operation, the caller's party and clerk, the card, the states before and after, the reason,
   * the error code. It says nothing of the holder beyond the card id, which only `cards` ties to a
   * resident record code.
   */
  '0005-cards': {
    async up(db: Kysely<unknown>) {
      const { serial, serialAutoIncrement } = columnTypes(db);
      await db.schema
        .createTable('cards')
        .addColumn('card_id', 'varchar(16)', (c) => c.primaryKey())
        .addColumn('resident_record_code', 'varchar(11)', (c) =>
          c.notNull().references('residents.resident_record_code'),
        )
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('state_reason', 'varchar(32)')
        .addColumn('applied_on', 'varchar(10)', (c) => c.notNull())
        .addColumn('issued_on', 'varchar(10)')
        .addColumn('expires_on', 'varchar(10)')
        .addColumn('certificates_expire_on', 'varchar(10)')
        .addColumn('certificates', 'varchar(8)', (c) => c.notNull())
        .addColumn('signing_serial', 'varchar(64)')
        .addColumn('authentication_serial', 'varchar(64)')
        .addColumn('replaces_card_id', 'varchar(16)')
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('cards_by_resident')
        .on('cards')
        .columns(['resident_record_code', 'state'])
        .execute();
      await db.schema.createIndex('cards_by_replaced').on('cards').column('replaces_card_id').execute();
      await db.schema
        .createTable('card_events')
        .addColumn('id', serial, (c) =>
          serialAutoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        .addColumn('operation', 'varchar(16)', (c) => c.notNull())
        .addColumn('card_id', 'varchar(16)')
        .addColumn('actor', 'varchar(64)', (c) => c.notNull())
        .addColumn('clerk_id', 'varchar(64)')
        .addColumn('outcome', 'varchar(8)', (c) => c.notNull())
        .addColumn('from_state', 'varchar(16)')
        .addColumn('to_state', 'varchar(16)')
        .addColumn('reason', 'varchar(32)')
        .addColumn('error_code', 'varchar(64)')
        .execute();
      await db.schema
        .createIndex('card_events_by_card')
        .on('card_events')
        .columns(['card_id', 'id'])
        .execute();
    },
  },
  /**
   * Notices of change to send (issue 8): written in the transaction that commits a number change or
   * an identity change, so that a change committed is told even if J-LIS stops before the core has
   * the notice; sent again at start until the core accepts it (`state` `sent`, with how many holders
   * it went to), or `failed` with the error code. `content` is what is sealed to each holder (the
   * old and new Individual Numbers, or the changed fields and the effective date): J-LIS's own data,
   * cleared once the notice is sent.
   */
  '0006-resident-notices': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('resident_notices')
        .addColumn('notice_id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('resident_record_code', 'varchar(11)', (c) =>
          c.notNull().references('residents.resident_record_code'),
        )
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('content', 'text')
        .addColumn('state', 'varchar(8)', (c) => c.notNull())
        .addColumn('holders', 'integer')
        .addColumn('error_code', 'varchar(64)')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('ended_at', 'varchar(32)')
        .execute();
      await db.schema.createIndex('resident_notices_state').on('resident_notices').column('state').execute();
    },
  },
  /**
   * Bulk numbering of a whole population (issue 8: 10 million residents in a minute).
   *
   * - `registered_change`, `registered_on`: a resident numbered in bulk gets no `resident_history` row;
   *   their first history entry (that change, effective that day, recorded at `created_at`, the
   *   values of the row) is read from their `residents` row, which holds exactly those values until
   *   their first later change. That change (or a number change) first writes the entry into
   *   `resident_history` and clears both columns, in its own transaction. Null for every other
   *   resident. The history row repeated the basic four information and cost a second table and index
   *   insert per resident: half of the bulk write.
   * - The uniqueness of `individual_number` moves from a column constraint (which SQLite cannot drop)
   *   to the named unique index `residents_by_individual_number`, so a bulk run can drop it, load
   *   (checking uniqueness in memory) and build it once, sorted, at the end: inserting ten million
   *   random keys into a live B-tree cost four times the load itself. `ensureNumberIndex` builds it
   *   again at every start, should a run have stopped half-way.
   *
   * On SQLite the table is rebuilt (the documented twelve steps: foreign keys off, copy, drop, rename);
   * on PostgreSQL the constraint is dropped and the columns added.
   */
  '0007-bulk-numbering': {
    async up(db: Kysely<unknown>) {
      if (dialectOf(db) === 'postgres') {
        await sql`alter table residents add column registered_change varchar(32), add column registered_on varchar(10)`.execute(
          db,
        );
        await sql`alter table residents drop constraint residents_individual_number_key`.execute(db);
      } else {
        // Kysely runs SQLite migrations outside a transaction (no transactional DDL), and the
        // foreign keys pragma is a no-op inside one: off first, then one transaction for the rebuild.
        await sql`pragma foreign_keys = off`.execute(db);
        try {
          await sql`begin`.execute(db);
          await sql`create table residents_0007 (
            resident_record_code varchar(11) primary key,
            individual_number varchar(12) not null,
            numbering_counter integer not null,
            name text not null,
            name_kana text,
            address text not null,
            date_of_birth varchar(10) not null,
            sex varchar(8) not null,
            created_at varchar(32) not null,
            updated_at varchar(32) not null,
            status varchar(16) not null default 'resident',
            registered_change varchar(32),
            registered_on varchar(10))`.execute(db);
          await sql`insert into residents_0007 (resident_record_code, individual_number, numbering_counter, name, name_kana, address, date_of_birth, sex, created_at, updated_at, status)
            select resident_record_code, individual_number, numbering_counter, name, name_kana, address, date_of_birth, sex, created_at, updated_at, status from residents`.execute(
            db,
          );
          await sql`drop table residents`.execute(db);
          await sql`alter table residents_0007 rename to residents`.execute(db);
          const broken = await sql`pragma foreign_key_check`.execute(db);
          if (broken.rows.length > 0) throw new Error('foreign keys broken by the rebuild of residents');
          await sql`commit`.execute(db);
        } catch (error) {
          await sql`rollback`.execute(db).catch(() => undefined);
          throw error;
        } finally {
          await sql`pragma foreign_keys = on`.execute(db);
        }
      }
      await ensureNumberIndex(db);
    },
  },
  /**
   * A card operation's claim on its card (issue 8): a token and until when, set with a compare-and-set
   * before the operation revokes or issues anything, cleared when it ends, so that two operations on
   * one card (two re-keys at two counters) cannot revoke each other's certificates; the later is
   * refused. Until when: a J-LIS that stops mid-operation leaves a claim that lapses by itself.
   */
  '0008-identity-card-claims': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('cards').addColumn('claim_token', 'varchar(36)').execute();
      await db.schema.alterTable('cards').addColumn('claimed_until', 'varchar(32)').execute();
    },
  },
  /**
   * Certificate holds (電子証明書の一時保留, issue 8): a lost card's certificates are put on hold, not
   * revoked, and the lift at the municipality releases them. `jpki_certificates.status` takes a third
   * value, `held` (the column is wide enough already); `held_at` is when the hold began, kept when the
   * hold becomes a revocation (the certificate is unusable since then: the CRL entry's date), cleared
   * when it is released. `cards.certificates` takes `held` likewise. The index serves the CRL, which
   * lists a kind's revoked and held certificates not yet expired.
   */
  '0016-certificate-holds': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('jpki_certificates').addColumn('held_at', 'varchar(32)').execute();
      await db.schema
        .createIndex('jpki_certificates_crl')
        .on('jpki_certificates')
        .columns(['kind', 'status', 'not_after'])
        .execute();
    },
  },
};

/** The unique index of Individual Numbers, built again if a bulk numbering stopped without it. */
export async function ensureNumberIndex(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex(NUMBER_INDEX)
    .ifNotExists()
    .unique()
    .on('residents')
    .column('individual_number')
    .execute();
}

/** Dropped by a bulk numbering while it loads, built again when it ends (migration 0007). */
export const NUMBER_INDEX = 'residents_by_individual_number';

/** Bring a J-LIS database to the latest migration. */
export async function migrateJlisDatabase(db: Kysely<JlisDatabase>): Promise<void> {
  // Kysely<JlisDatabase> is not assignable to Kysely<unknown> (its `fn` helpers are invariant).
  await migrateToLatest(db as unknown as Kysely<unknown>, JLIS_MIGRATIONS);
  await ensureNumberIndex(db as unknown as Kysely<unknown>);
}
