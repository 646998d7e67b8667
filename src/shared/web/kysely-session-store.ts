/**
 * The browser sessions' store (`SessionStore`, sessions.ts) over Kysely (SQLite and PostgreSQL alike),
 * for every node that keeps sessions: the Myna Portal (its `sessions` table, by `person_id`) and the
 * consoles (`console_sessions`, by `account_id`).
 *
 * The two tables are the same but for their names and the name of the column that says whose session
 * it is, and both exist already in deployed databases under those names: so the table and that column
 * are parameters here, and each node's migration that made its table stays as it is. We considered one
 * table for both, but that would be a new migration moving live sessions for no gain to anyone.
 */
import { sql, type Kysely } from 'kysely';
import type { SessionRow, SessionStore } from './sessions.ts';

/** A sessions table's columns, all but the subject's (whose name is the node's). */
export interface SessionColumns {
  token_hash: string;
  csrf_token: string;
  created_at: string;
  idle_expires_at: string;
  absolute_expires_at: string;
  ended_at: string | null;
}

/** A sessions table, its subject column named `Subject` (the portal's `person_id`, a console's `account_id`). */
export type SessionsTable<Subject extends string> = SessionColumns & Record<Subject, string>;

/** Where a node keeps its sessions: the table and the column of the subject (the node's id for them). */
export interface SessionTableNames<Table extends string, Subject extends string> {
  table: Table;
  subject: Subject;
}

const iso = (date: Date) => date.toISOString();

/**
 * The store over the node's sessions table `names.table`, whose subject column is `names.subject`;
 * the database's other tables are the node's own.
 */
export function createKyselySessionStore<Table extends string, Subject extends string>(
  database: Kysely<Record<Table, SessionsTable<Subject>>>,
  names: SessionTableNames<Table, Subject>,
): SessionStore {
  // Kysely's types cannot follow a table and a column named by a parameter, so the queries below see
  // a table of any name whose subject column is reached by reference (`sql.ref`).
  const db = database as unknown as Kysely<Record<string, SessionColumns>>;
  const table: string = names.table;
  const subject = sql.ref(names.subject);
  /** An update of the session, if it has not ended (an ended one is never touched or ended again). */
  const live = (tokenHash: string) =>
    db.updateTable(table).where('token_hash', '=', tokenHash).where('ended_at', 'is', null);
  return {
    async insertSession(row: SessionRow) {
      await db
        .insertInto(table)
        .values({
          token_hash: row.tokenHash,
          [names.subject]: row.subjectId,
          csrf_token: row.csrfToken,
          created_at: iso(row.createdAt),
          idle_expires_at: iso(row.idleExpiresAt),
          absolute_expires_at: iso(row.absoluteExpiresAt),
          ended_at: row.endedAt === undefined ? null : iso(row.endedAt),
        })
        .execute();
    },
    async findSession(tokenHash) {
      const row = await db
        .selectFrom(table)
        .select([
          'token_hash',
          subject.$castTo<string>().as('subject_id'),
          'csrf_token',
          'created_at',
          'idle_expires_at',
          'absolute_expires_at',
          'ended_at',
        ])
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      return (
        row && {
          tokenHash: row.token_hash,
          subjectId: row.subject_id,
          csrfToken: row.csrf_token,
          createdAt: new Date(row.created_at),
          idleExpiresAt: new Date(row.idle_expires_at),
          absoluteExpiresAt: new Date(row.absolute_expires_at),
          endedAt: row.ended_at === null ? undefined : new Date(row.ended_at),
        }
      );
    },
    async touchSession(tokenHash, idleExpiresAt) {
      await live(tokenHash)
        .set({ idle_expires_at: iso(idleExpiresAt) })
        .execute();
    },
    async endSession(tokenHash, at) {
      await live(tokenHash)
        .set({ ended_at: iso(at) })
        .execute();
    },
  };
}
