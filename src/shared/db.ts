import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  SqliteDialect,
  type Migration,
  type MigrationProvider,
  type SqliteDatabase,
} from 'kysely';

/**
 * The storage seam. Every node's store is written against Kysely, which is dialect-agnostic: the
 * embedded default opens a SQLite file here; PostgreSQL (production) plugs in as a second dialect
 * behind the same store interfaces, with no store code changed.
 */
export function openSqlite<DB>(file: string): Kysely<DB> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new SQLite(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
}

/**
 * Open an existing SQLite file read-only, without migrating it: for verifiers (`renkei records verify`)
 * that must not change what they check. The node that owns the file may be running or not. Throws
 * (better-sqlite3's own error) when the file does not exist.
 */
export function openSqliteReadOnly<DB>(file: string): Kysely<DB> {
  const database = new SQLite(file, { readonly: true, fileMustExist: true });
  database.pragma('busy_timeout = 5000');
  return new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
}

/** Bring a database to the latest of the given migrations, failing loudly with the one that broke. */
export async function migrateToLatest(
  db: Kysely<unknown>,
  migrations: Record<string, Migration>,
): Promise<void> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations) };
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error) {
    const cause = error instanceof Error ? error.message : JSON.stringify(error);
    throw new Error(`database migration ${failed?.migrationName ?? '(unknown)'} failed: ${cause}`);
  }
}

/**
 * Kysely prepares every query anew; on the exchange path the same few statements run thousands of
 * times a second, so keep each prepared statement by its SQL text. Safe because better-sqlite3 is
 * synchronous and Kysely never iterates two results of one statement at once here.
 */
function withStatementCache(database: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (cache.size < 2_000) cache.set(sql, statement);
      }
      return statement;
    },
  };
}
