/**
 * The Myna Portal's storage in dialect-agnostic Kysely (SQLite or PostgreSQL). Times are ISO strings
 * (UTC, millisecond precision), which compare in order as text on both.
 */
import type { Kysely, Selectable } from 'kysely';
import { isUniqueViolation } from '../../shared/db.ts';
import { createKyselySessionStore, type SessionsTable } from '../../shared/web/kysely-session-store.ts';
import type { ChallengeRow, ChallengeState, NoticeRow, PortalStore } from './store.ts';
import { noticeEvent } from './record-events.ts';
import type { KyselyPortalRecordLog } from './record-log-store.ts';

interface LoginChallengesTable {
  nonce: string;
  origin: string;
  binding_hash: string;
  issued_at: string;
  expires_at: string;
  state: string;
  person_id: string | null;
}

interface PersonsTable {
  person_id: string;
  person_code: string;
  created_at: string;
}

interface AuthenticationCertificatesTable {
  serial: string;
  person_id: string;
  linked_at: string;
}

interface CodeAcquisitionsTable {
  acquisition_number: string;
  serial: string;
  started_at: string;
}

export interface NoticesTable {
  notice_id: string;
  person_id: string;
  sender_id: string;
  sender_name: string;
  title: string;
  body: string;
  sent_at: string;
  received_at: string;
  read_at: string | null;
  /** The notice's entry in the record log (migration 0007; null before it). */
  log_index: number | null;
}

export interface PortalDatabase {
  notices: NoticesTable;
  login_challenges: LoginChallengesTable;
  persons: PersonsTable;
  authentication_certificates: AuthenticationCertificatesTable;
  code_acquisitions: CodeAcquisitionsTable;
  /** The residents' browser sessions, by the portal's person id. */
  sessions: SessionsTable<'person_id'>;
}

const iso = (date: Date) => date.toISOString();

export function toNotice(row: Selectable<NoticesTable>): NoticeRow {
  return {
    noticeId: row.notice_id,
    personId: row.person_id,
    senderId: row.sender_id,
    senderName: row.sender_name,
    title: row.title,
    body: row.body,
    sentAt: new Date(row.sent_at),
    receivedAt: new Date(row.received_at),
    readAt: row.read_at === null ? undefined : new Date(row.read_at),
    ...(row.log_index === null ? {} : { logIndex: Number(row.log_index) }),
  };
}

function toChallenge(row: Selectable<LoginChallengesTable>): ChallengeRow {
  return {
    nonce: row.nonce,
    origin: row.origin,
    bindingHash: row.binding_hash,
    issuedAt: new Date(row.issued_at),
    expiresAt: new Date(row.expires_at),
    state: row.state as ChallengeState,
    personId: row.person_id ?? undefined,
  };
}

export function createKyselyPortalStore(db: Kysely<PortalDatabase>, log: KyselyPortalRecordLog): PortalStore {
  return {
    ...createKyselySessionStore(db, { table: 'sessions', subject: 'person_id' }),
    async insertChallenge(row) {
      await db
        .insertInto('login_challenges')
        .values({
          nonce: row.nonce,
          origin: row.origin,
          binding_hash: row.bindingHash,
          issued_at: iso(row.issuedAt),
          expires_at: iso(row.expiresAt),
          state: row.state,
          person_id: row.personId ?? null,
        })
        .execute();
    },
    async findChallenge(nonce) {
      const row = await db
        .selectFrom('login_challenges')
        .selectAll()
        .where('nonce', '=', nonce)
        .executeTakeFirst();
      return row && toChallenge(row);
    },
    async moveChallenge(nonce, from, to, personId) {
      const result = await db
        .updateTable('login_challenges')
        .set({ state: to, ...(personId === undefined ? {} : { person_id: personId }) })
        .where('nonce', '=', nonce)
        .where('state', '=', from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async purgeChallenges(before) {
      const result = await db
        .deleteFrom('login_challenges')
        .where('expires_at', '<', iso(before))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async findPersonBySerial(serial) {
      const row = await db
        .selectFrom('authentication_certificates')
        .select('person_id')
        .where('serial', '=', serial)
        .executeTakeFirst();
      return row?.person_id;
    },
    async beginAcquisition(acquisitionNumber, serial, at) {
      await db
        .insertInto('code_acquisitions')
        .values({ acquisition_number: acquisitionNumber, serial, started_at: iso(at) })
        .execute();
    },
    async completeAcquisition(input) {
      const attempt = () =>
        db.transaction().execute(async (trx) => {
          const pending = await trx
            .deleteFrom('code_acquisitions')
            .where('acquisition_number', '=', input.acquisitionNumber)
            .where('started_at', '>=', iso(input.notBefore))
            .returning('serial')
            .executeTakeFirst();
          if (!pending) return 'unknown' as const;
          const held = await trx
            .selectFrom('persons')
            .select('person_id')
            .where('person_code', '=', input.personCode)
            .executeTakeFirst();
          let personId = held?.person_id;
          if (personId === undefined) {
            personId = input.newPersonId;
            await trx
              .insertInto('persons')
              .values({ person_id: personId, person_code: input.personCode, created_at: iso(input.at) })
              .execute();
          }
          await trx
            .insertInto('authentication_certificates')
            .values({ serial: pending.serial, person_id: personId, linked_at: iso(input.at) })
            .onConflict((oc) => oc.column('serial').doNothing())
            .execute();
          return 'completed' as const;
        });
      try {
        return await attempt();
      } catch (error) {
        // Two first logins of one person at once (two new cards, the same code): the second insert of
        // the person lost the race; run again and it finds the person the first one made.
        if (isUniqueViolation(error)) return attempt();
        throw error;
      }
    },
    async endAcquisition(acquisitionNumber) {
      await db.deleteFrom('code_acquisitions').where('acquisition_number', '=', acquisitionNumber).execute();
    },
    async findPersonCode(personId) {
      const row = await db
        .selectFrom('persons')
        .select('person_code')
        .where('person_id', '=', personId)
        .executeTakeFirst();
      return row?.person_code;
    },
    async findPersonByCode(personCode) {
      const row = await db
        .selectFrom('persons')
        .select('person_id')
        .where('person_code', '=', personCode)
        .executeTakeFirst();
      return row?.person_id;
    },
    async insertNotice(row) {
      // The notice and its log entry in one transaction; the row names its entry (page A shows it).
      const event = noticeEvent(row);
      return log.write(async (trx, append) => {
        const result = await trx
          .insertInto('notices')
          .values({
            notice_id: row.noticeId,
            person_id: row.personId,
            sender_id: row.senderId,
            sender_name: row.senderName,
            title: row.title,
            body: row.body,
            sent_at: iso(row.sentAt),
            received_at: iso(row.receivedAt),
            read_at: row.readAt === undefined ? null : iso(row.readAt),
            log_index: null,
          })
          .onConflict((oc) => oc.column('notice_id').doNothing())
          .executeTakeFirst();
        if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
        const logIndex = await append([event]);
        await trx
          .updateTable('notices')
          .set({ log_index: logIndex })
          .where('notice_id', '=', row.noticeId)
          .execute();
        return true;
      });
    },
    async listNotices(personId, limit) {
      const rows = await db
        .selectFrom('notices')
        .selectAll()
        .where('person_id', '=', personId)
        .orderBy('sent_at', 'desc')
        .orderBy('notice_id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toNotice);
    },
    async findNotice(personId, noticeId) {
      const row = await db
        .selectFrom('notices')
        .selectAll()
        .where('person_id', '=', personId)
        .where('notice_id', '=', noticeId)
        .executeTakeFirst();
      return row && toNotice(row);
    },
    async markNoticeRead(personId, noticeId, at) {
      await db
        .updateTable('notices')
        .set({ read_at: iso(at) })
        .where('person_id', '=', personId)
        .where('notice_id', '=', noticeId)
        .where('read_at', 'is', null)
        .execute();
    },
    async countUnreadNotices(personId) {
      const row = await db
        .selectFrom('notices')
        .select((eb) => eb.fn.countAll<string | number>().as('count'))
        .where('person_id', '=', personId)
        .where('read_at', 'is', null)
        .executeTakeFirstOrThrow();
      return Number(row.count);
    },
    async countPersons() {
      const row = await db
        .selectFrom('persons')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
