/**
 * The consoles' store over Kysely (SQLite and PostgreSQL alike), in the node's own database, and the
 * migration that makes its two tables. A node lists `CONSOLE_MIGRATION` in its own migrations under a
 * name of its own (the institution's intermediate database: `0011_console_accounts`).
 *
 * - `console_accounts`: one row per staff account: id, display name, role, institution (clerks), the
 *   scrypt hash, created and disabled times, and the login throttle (failures, next try).
 * - `console_sessions`: browser sessions by the hash of the cookie's token (shared/web/sessions.ts),
 *   kept by the sessions' one store (shared/web/kysely-session-store.ts), as the portal's are.
 */
import type { Kysely, Migration, Selectable } from 'kysely';
import { createKyselySessionStore, type SessionsTable } from '../kysely-session-store.ts';
import type { ConsoleAccountRow, ConsoleRole, ConsoleStore } from './store.ts';

interface AccountsTable {
  account_id: string;
  display_name: string;
  role: string;
  institution_id: string | null;
  password_hash: string;
  created_at: string;
  disabled_at: string | null;
  failed_logins: number;
  not_before: string | null;
}

export interface ConsoleDatabase {
  console_accounts: AccountsTable;
  console_sessions: SessionsTable<'account_id'>;
}

export const CONSOLE_MIGRATION: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('console_accounts')
      .addColumn('account_id', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('display_name', 'text', (c) => c.notNull())
      .addColumn('role', 'varchar(16)', (c) => c.notNull())
      .addColumn('institution_id', 'varchar(32)')
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('disabled_at', 'varchar(24)')
      .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('not_before', 'varchar(24)')
      .execute();
    await db.schema
      .createTable('console_sessions')
      .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('account_id', 'varchar(32)', (c) => c.notNull().references('console_accounts.account_id'))
      .addColumn('csrf_token', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('idle_expires_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('absolute_expires_at', 'varchar(24)', (c) => c.notNull())
      .addColumn('ended_at', 'varchar(24)')
      .execute();
    await db.schema
      .createIndex('console_sessions_by_account')
      .on('console_sessions')
      .column('account_id')
      .execute();
  },
};

const iso = (date: Date) => date.toISOString();
const date = (text: string | null) => (text === null ? undefined : new Date(text));

function toAccount(row: Selectable<AccountsTable>): ConsoleAccountRow {
  return {
    accountId: row.account_id,
    displayName: row.display_name,
    role: row.role as ConsoleRole,
    institutionId: row.institution_id ?? undefined,
    passwordHash: row.password_hash,
    createdAt: new Date(row.created_at),
    disabledAt: date(row.disabled_at),
    failedLogins: Number(row.failed_logins),
    notBefore: date(row.not_before),
  };
}

/** The store over a node's database that holds the console tables (any other tables it has are its own). */
export function createKyselyConsoleStore(db: Kysely<ConsoleDatabase>): ConsoleStore {
  return {
    ...createKyselySessionStore(db, { table: 'console_sessions', subject: 'account_id' }),
    async insertAccount(row) {
      const result = await db
        .insertInto('console_accounts')
        .values({
          account_id: row.accountId,
          display_name: row.displayName,
          role: row.role,
          institution_id: row.institutionId ?? null,
          password_hash: row.passwordHash,
          created_at: iso(row.createdAt),
          disabled_at: row.disabledAt === undefined ? null : iso(row.disabledAt),
          failed_logins: row.failedLogins,
          not_before: row.notBefore === undefined ? null : iso(row.notBefore),
        })
        .onConflict((oc) => oc.column('account_id').doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async findAccount(accountId) {
      const row = await db
        .selectFrom('console_accounts')
        .selectAll()
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      return row && toAccount(row);
    },
    async listAccounts() {
      const rows = await db.selectFrom('console_accounts').selectAll().orderBy('account_id').execute();
      return rows.map(toAccount);
    },
    async disableAccount(accountId, at) {
      return db.transaction().execute(async (trx) => {
        const found = await trx
          .selectFrom('console_accounts')
          .select('disabled_at')
          .where('account_id', '=', accountId)
          .executeTakeFirst();
        if (!found) return false;
        if (found.disabled_at === null) {
          await trx
            .updateTable('console_accounts')
            .set({ disabled_at: iso(at) })
            .where('account_id', '=', accountId)
            .execute();
        }
        await trx
          .updateTable('console_sessions')
          .set({ ended_at: iso(at) })
          .where('account_id', '=', accountId)
          .where('ended_at', 'is', null)
          .execute();
        return true;
      });
    },
    async setLoginThrottle(accountId, failedLogins, notBefore) {
      await db
        .updateTable('console_accounts')
        .set({ failed_logins: failedLogins, not_before: notBefore === undefined ? null : iso(notBefore) })
        .where('account_id', '=', accountId)
        .execute();
    },
  };
}
