import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  Migrator,
  PostgresAdapter,
  PostgresDialect,
  PostgresIntrospector,
  SqliteDialect,
  sql,
  type ColumnDataType,
  type Compilable,
  type DatabaseIntrospector,
  type DatabaseMetadataOptions,
  type TableMetadata,
  type Migration,
  type QueryResult,
  type MigrationProvider,
  type PostgresPool,
  type PostgresPoolClient,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';
import pg from 'pg';
import { RenkeiError } from './errors.ts';

/**
 * The storage seam. Every node's store is written against Kysely, which is dialect-agnostic: the
 * embedded default opens a SQLite file; PostgreSQL (production) is the second dialect behind the same
 * store interfaces. Each database of a node is one PostgreSQL *schema* (`core`, `jlis`,
 * `i_152048_intermediate`…), so that a whole network can share one PostgreSQL database as the demo
 * and the tests do, and a real deployment gives each node a database of its own with the same names.
 */
export type DatabaseTarget =
  | { dialect: 'sqlite'; file: string }
  | {
      dialect: 'postgres';
      /** A libpq connection URL: `postgres://user@host:5432/database`. */
      url: string;
      /** The schema this database's tables live in; created when missing. */
      schema: string;
      /** Connections kept open (default 10). */
      poolSize?: number;
      /**
       * Longest wait for a connection, new or from the pool (default `PG_CONNECT_TIMEOUT_MS`): past
       * it the start or the request fails as ERR_DATABASE_UNAVAILABLE instead of waiting for ever.
       */
      connectTimeoutMs?: number;
      /**
       * Longest wait for a statement's answer (default `PG_STATEMENT_TIMEOUT_MS`; 0: none); past it the
       * statement fails as ERR_DATABASE_UNAVAILABLE and its connection is dropped. Migrations and bulk
       * loads run unbounded (`withoutStatementBound`).
       */
      statementTimeoutMs?: number;
    };

/**
 * Without a bound, pg waits for ever for a server that takes the TCP connection and never answers
 * (a hung server, a firewall that drops packets): a node started against it hung at its start, and
 * one whose database went silent later hung every request that needed a new connection. Ten seconds
 * is longer than any wait for a pool's connection under load seen here, and short of a client's
 * deadline.
 */
export const PG_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Without a bound, a statement sent on a connection that then goes silent (a database host gone in a
 * failover, a firewall dropping the packets of an established connection) waits until TCP gives up,
 * a quarter of an hour or never, and so does every request queued behind it on that connection; a
 * pool of them so stuck holds the whole node. A minute is far past any statement of the exchange path
 * (milliseconds) and of the consoles' reports, and short of a stuck node's going unnoticed. What is
 * long by nature (migrations, a bulk load and its index) runs in `withoutStatementBound`. Measured on
 * the client, not PostgreSQL's `statement_timeout`, which a silent server cannot enforce.
 */
export const PG_STATEMENT_TIMEOUT_MS = 60_000;

/** Each bounded PostgreSQL database's twin over the same pool, its statements unbounded. */
const unboundedTwins = new WeakMap<object, object>();

/**
 * The same database with no bound on its PostgreSQL statements (`PG_STATEMENT_TIMEOUT_MS`), for what
 * is long by nature: a migration, a bulk load and the index it builds. It shares the pool (and so the
 * connections) of `db`; SQLite's databases, which have no bound, are returned as they are.
 *
 * A twin rather than a scope (`AsyncLocalStorage`, as it was): on Node 20 a scope's first use turns
 * on the promise hooks of the whole process for good, a cost on every promise of every exchange
 * (`promiseInitHook` in a profile), for what a migration needs once.
 */
export function withoutStatementBound<DB>(db: Kysely<DB>): Kysely<DB> {
  return (unboundedTwins.get(db) as Kysely<DB> | undefined) ?? db;
}

/**
 * The pool as Kysely sees it, each statement bounded by `timeoutMs` (pg's `query_timeout`). pg leaves
 * a connection whose statement timed out waiting for the answer, with the next statement queued
 * behind it: so such a connection is cut (its socket destroyed) and dropped by the pool when released.
 */
function boundedPool(pool: pg.Pool, timeoutMs: number): PostgresPool {
  if (timeoutMs <= 0) return pool;
  return {
    connect: async () => {
      const client = await pool.connect();
      let cut = false;
      const query = (text: unknown, values?: readonly unknown[]) => {
        if (typeof text !== 'string') {
          return client.query(text as string, values as unknown[]);
        }
        // pg reads `query_timeout` from a query's config; its types do not declare it.
        const config = { text, values: values as unknown[], query_timeout: timeoutMs } as pg.QueryConfig;
        return client.query(config).catch((error: unknown) => {
          if (!(error instanceof Error) || error.message !== 'Query read timeout') throw error;
          cut = true;
          (
            client as unknown as { connection?: { stream?: { destroy(): void } } }
          ).connection?.stream?.destroy();
          throw Object.assign(
            new Error(`PostgreSQL did not answer a statement within ${String(timeoutMs)} ms.`),
            { code: 'ETIMEDOUT' },
          );
        });
      };
      return {
        query: query as unknown as PostgresPoolClient['query'],
        release: () => client.release(cut || undefined),
      };
    },
    end: () => pool.end(),
  };
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A PostgreSQL schema name from parts (`i`, `152048`, `intermediate` → `i_152048_intermediate`). */
export function schemaName(...parts: string[]): string {
  const name = parts
    .join('_')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  return /^[a-z_]/.test(name) ? name : `s_${name}`;
}

/**
 * Open a node's database: a SQLite file (created with its directory when missing), or a schema of a
 * PostgreSQL database (created when missing). Errors: ERR_CONFIG_INVALID (a URL that is not
 * PostgreSQL's, a bad schema name), ERR_DATABASE_UNAVAILABLE (PostgreSQL cannot be reached: the
 * message names host and database, never the password).
 */
export async function openDatabase<DB>(target: DatabaseTarget): Promise<Kysely<DB>> {
  if (target.dialect === 'sqlite') return openSqlite<DB>(target.file);
  if (!SCHEMA_NAME.test(target.schema)) {
    throw new RenkeiError('ERR_CONFIG_INVALID', `"${target.schema}" is not a usable PostgreSQL schema name.`);
  }
  const where = describePostgres(target.url);
  const connectionTimeoutMillis = target.connectTimeoutMs ?? PG_CONNECT_TIMEOUT_MS;
  const client = new pg.Client({ connectionString: target.url, connectionTimeoutMillis });
  try {
    await client.connect();
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${target.schema}"`);
  } catch (error) {
    throw unavailable(where, error);
  } finally {
    await client.end().catch(() => undefined);
  }
  const pool = new pg.Pool({
    connectionString: target.url,
    max: target.poolSize ?? 10,
    connectionTimeoutMillis,
    options: `-c search_path=${target.schema}`,
    // pg_stat_activity then says which node's schema a connection serves (an operator's first
    // question; the bench adds up these connections' CPU by it).
    application_name: target.schema,
  });
  // An idle connection that breaks (PostgreSQL restarted) must not crash the node: the next query
  // opens a new one, and a query that fails says so.
  pool.on('error', () => undefined);
  // Nor one that breaks while it is checked out: pg then emits 'error' on the client itself, which the
  // pool listens to only while the client is idle, and Kysely not at all, so the node died of an
  // uncaught exception when a query went to a connection whose socket had just been cut (found by
  // src/shared/database-unreachable.test.ts). The query itself still fails (ERR_DATABASE_UNAVAILABLE),
  // and the pool drops the broken client when it is released.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const timeoutMs = target.statementTimeoutMs ?? PG_STATEMENT_TIMEOUT_MS;
  const db = new Kysely<DB>({
    dialect: new SchemaPostgresDialect({ pool: boundedPool(pool, timeoutMs) }, target.schema),
  });
  if (timeoutMs > 0) {
    // Never destroyed itself: `db`'s destroy ends the pool they share.
    const twin = new Kysely<DB>({ dialect: new SchemaPostgresDialect({ pool }, target.schema) });
    unboundedTwins.set(db, twin);
  }
  return db;
}

/** The first key of our migration locks (two-key advisory locks: apart from `lockForAppend`'s). */
const MIGRATION_LOCK_CLASS = 0x52_4b_4d; // "RKM"

/**
 * Kysely's PostgreSQL adapter serialises migrations under ONE advisory lock for the whole database
 * (a fixed key), so nodes migrating different schemas of one database queue behind each other: the
 * demo network's 22 schemas, every test file's own, and, on the shared test database, every other
 * run's. Under load that queue made a test file's start-up wait out its hook's timeout. The lock is
 * there so that two processes never migrate the same schema at once (core workers starting together):
 * keyed by the schema, it still does that, and nothing more.
 */
class SchemaMigrationLockAdapter extends PostgresAdapter {
  constructor(private readonly schema: string) {
    super();
  }

  override async acquireMigrationLock(db: Kysely<unknown>): Promise<void> {
    await sql`select pg_advisory_lock(${sql.lit(MIGRATION_LOCK_CLASS)}, hashtext(${this.schema}))`.execute(
      db,
    );
  }

  override async releaseMigrationLock(db: Kysely<unknown>): Promise<void> {
    await sql`select pg_advisory_unlock(${sql.lit(MIGRATION_LOCK_CLASS)}, hashtext(${this.schema}))`.execute(
      db,
    );
  }
}

class SchemaPostgresDialect extends PostgresDialect {
  constructor(
    config: ConstructorParameters<typeof PostgresDialect>[0],
    private readonly schema: string,
  ) {
    super(config);
  }

  override createAdapter(): PostgresAdapter {
    return new SchemaMigrationLockAdapter(this.schema);
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SchemaIntrospector(db, this.schema);
  }
}

/**
 * Kysely's PostgreSQL introspector lists the tables of EVERY schema of the database (its migrator asks
 * it whether the migration table exists), and its query fails with `schema "…" does not exist` when
 * another schema is dropped while it runs: test files side by side, each dropping its own schemas,
 * broke each other's start-up that way. A node only ever needs its own schema's tables.
 */
class SchemaIntrospector extends PostgresIntrospector {
  constructor(
    private readonly database: Kysely<unknown>,
    private readonly schema: string,
  ) {
    super(database);
  }

  override async getTables(
    options: DatabaseMetadataOptions = { withInternalKyselyTables: false },
  ): Promise<TableMetadata[]> {
    const { rows } = await sql<{
      table: string;
      kind: string;
      column: string | null;
      type: string | null;
      nullable: boolean | null;
      hasDefault: boolean | null;
      autoIncrementing: boolean | null;
    }>`
      select c.relname as "table", c.relkind as kind, a.attname as "column", t.typname as type,
             not a.attnotnull as nullable, a.atthasdef as "hasDefault",
             coalesce(pg_get_expr(d.adbin, d.adrelid) like 'nextval(%', false) as "autoIncrementing"
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace
        left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        left join pg_type t on t.oid = a.atttypid
        left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
       where n.nspname = ${this.schema} and c.relkind in ('r', 'v', 'p')
       order by c.relname, a.attnum`.execute(this.database);
    const tables = new Map<string, TableMetadata>();
    for (const row of rows) {
      if (!options.withInternalKyselyTables && row.table.startsWith('kysely_migration')) continue;
      let table = tables.get(row.table);
      if (!table) {
        table = { name: row.table, schema: this.schema, isView: row.kind === 'v', columns: [] };
        tables.set(row.table, table);
      }
      if (row.column === null) continue;
      table.columns.push({
        name: row.column,
        dataType: row.type ?? '',
        isNullable: row.nullable ?? true,
        hasDefaultValue: row.hasDefault ?? false,
        isAutoIncrementing: row.autoIncrementing ?? false,
      });
    }
    return [...tables.values()];
  }
}

/** `host:port/database` of a PostgreSQL URL: for messages (never the user's password). */
export function describePostgres(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      'The database URL is not a URL (postgres://user@host:5432/db).',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      'The database URL must start with postgres:// (SQLite is the default without one).',
    );
  }
  return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
}

function unavailable(where: string, error: unknown): RenkeiError {
  const code = (error as { code?: unknown } | undefined)?.code;
  return new RenkeiError(
    'ERR_DATABASE_UNAVAILABLE',
    `PostgreSQL at ${where} cannot be used${typeof code === 'string' ? ` (${code})` : ''}: check that it runs, that the database exists and that this user may create a schema in it.`,
    { database: where },
  );
}

/** Which dialect a Kysely instance speaks. */
export function dialectOf(db: Kysely<unknown>): 'sqlite' | 'postgres' {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * Column types that differ between the dialects, for migrations: bytes (`blob` / `bytea`), a 64-bit
 * integer (SQLite's `integer` is 64-bit already; PostgreSQL's is 32-bit), and an id that numbers
 * itself (SQLite's `integer primary key autoincrement` / PostgreSQL's `bigserial primary key`).
 */
export function columnTypes(db: Kysely<unknown>): {
  bytes: ColumnDataType;
  bigint: ColumnDataType;
  serial: ColumnDataType;
  serialAutoIncrement: boolean;
} {
  return dialectOf(db) === 'postgres'
    ? { bytes: 'bytea', bigint: 'bigint', serial: 'bigserial', serialAutoIncrement: false }
    : { bytes: 'blob', bigint: 'integer', serial: 'integer', serialAutoIncrement: true };
}

/** The first key of our append locks (two-key advisory locks: apart from the migration locks'). */
const APPEND_LOCK_CLASS = 0x52_4b_41; // "RKA"

/**
 * Serialise writers of one log within a transaction: on PostgreSQL a transaction-scoped advisory lock
 * (held until commit, across processes sharing the database); on SQLite nothing, since a write
 * transaction holds the whole database already. The lock is keyed by the log's schema as well as its
 * name: advisory locks belong to the whole database, and keyed by the name alone every node sharing
 * one database (the demo network's 22 schemas, test files side by side) queued behind one lock.
 */
export async function lockForAppend(db: Kysely<unknown>, name: string): Promise<void> {
  if (dialectOf(db) !== 'postgres') return;
  await sql`select pg_advisory_xact_lock(${sql.lit(APPEND_LOCK_CLASS)}, hashtext(current_schema() || '.' || ${name}))`.execute(
    db,
  );
}

export function openSqlite<DB>(file: string): Kysely<DB> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const database = new SQLite(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  // The group commit runs each work of a group in a savepoint, whose sub-journal (the pages' prior
  // content) SQLite keeps in memory only up to 64 KiB and then spills to a file it creates and unlinks
  // in /var/tmp: under load, about one file per batch of inquiries at the core (found with
  // `strace -k`: memjrnlWrite → unixOpen). In memory, a sub-journal is freed at each RELEASE. The
  // large sorts (J-LIS's index over every resident) set it back to files for their run.
  database.pragma('temp_store = MEMORY');
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
  // On PostgreSQL, Kysely looks for its migration tables in any schema unless told which: name ours.
  const schema =
    dialectOf(db) === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(db)).rows[0]?.schema
      : undefined;
  // A migration over a large table (an index built, rows rewritten) may take minutes: unbounded.
  const migrator = new Migrator({
    db: withoutStatementBound(db),
    provider,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    // Kysely refuses, before running anything, a database that ran migrations it was not given: one a
    // newer version migrated. Looked for only then, so a normal start reads nothing more.
    const newer = (await executedMigrations(db)).filter((name) => !(name in migrations));
    if (newer.length > 0) {
      throw new RenkeiError(
        'ERR_DATABASE_NEWER',
        `This database was migrated by a newer version of Renkei: it has ${String(newer.length)} migration(s) this version does not know (the latest ${newer.sort().at(-1) ?? ''}). Run that version or a later one, or restore the backup taken before the upgrade.`,
        { unknownMigrations: newer },
      );
    }
    const failed = results?.find((r) => r.status === 'Error');
    const cause = error instanceof Error ? error.message : JSON.stringify(error);
    throw new Error(`database migration ${failed?.migrationName ?? '(unknown)'} failed: ${cause}`);
  }
}

/**
 * The migrations a database has run, by name; none for a database never migrated. Each node's migration
 * table is in its own schema on PostgreSQL (the connection's search path names only that schema).
 */
async function executedMigrations(db: Kysely<unknown>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === 'kysely_migration')) return [];
  const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
  return rows.map((row) => row.name);
}

/**
 * Kysely prepares every query anew; on the exchange path the same few statements run thousands of
 * times a second, so keep each prepared statement by its SQL text. Safe because better-sqlite3 is
 * synchronous and Kysely never iterates two results of one statement at once here.
 */
function withStatementCache(database: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  // SQLite rolls a whole transaction back itself on some errors (SQLITE_FULL, SQLITE_IOERR,
  // SQLITE_NOMEM…); Kysely's ROLLBACK after the error then failed with "cannot rollback - no
  // transaction is active", and that error, not the cause, reached the caller: a full disk answered
  // ERR_INTERNAL. With no transaction open there is nothing to roll back.
  let rollback: SQLite.Statement | undefined;
  const rollbackIfOpen: SqliteStatement = {
    reader: false,
    all: () => [],
    run: () =>
      database.inTransaction
        ? (rollback ??= database.prepare('rollback')).run()
        : { changes: 0, lastInsertRowid: 0 },
    iterate: () => [][Symbol.iterator](),
  };
  return {
    close: () => database.close(),
    prepare(sql: string) {
      if (sql === 'rollback') return rollbackIfOpen;
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = database.prepare(sql);
        if (cache.size < 2_000) cache.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * Where a node keeps its databases when not in SQLite files under its directory: schemas of one
 * PostgreSQL database (`renkei node … --database postgres://…`, or a node's config file).
 */
export interface PostgresOption {
  url: string;
  /** Put before every schema name, so that several networks (or test runs) can share one database. */
  schemaPrefix?: string;
  /** Connections per database of the node (default 10). */
  poolSize?: number;
  /** Longest wait for a statement's answer, ms (default `PG_STATEMENT_TIMEOUT_MS`; 0: none). */
  statementTimeoutMs?: number;
}

/** The database refused a row for a primary key or unique constraint, on either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  // SQLite (better-sqlite3): SQLITE_CONSTRAINT_PRIMARYKEY / _UNIQUE; PostgreSQL: 23505.
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

/** A node database's target: the SQLite file by default, the schema `prefix + parts` on PostgreSQL. */
export function nodeDatabase(
  postgres: PostgresOption | undefined,
  sqliteFile: string,
  ...schemaParts: string[]
): DatabaseTarget {
  if (!postgres) return { dialect: 'sqlite', file: sqliteFile };
  return {
    dialect: 'postgres',
    url: postgres.url,
    schema: `${postgres.schemaPrefix ?? ''}${schemaName(...schemaParts)}`,
    ...(postgres.poolSize === undefined ? {} : { poolSize: postgres.poolSize }),
    ...(postgres.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: postgres.statementTimeoutMs }),
  };
}

/** Stands for a parameter while a `precompiled` query is compiled: no value of ours starts so. */
const PARAMETER_MARK = '\u0000renkei-parameter:';

/**
 * A query of fixed shape built and compiled by Kysely once per dialect, then run with each call's
 * values: for the statements of the exchange path, which run thousands of times a second and which
 * Kysely would otherwise build (immutable node trees) and compile (a visitor) anew every time, about
 * a tenth of a node's time under load. `build` makes the query with `parameter(name)` where a value
 * goes; the compiled SQL has a placeholder there, and each run binds `values[name]` to it.
 *
 * Only values may be parameters (not identifiers, not a list whose length varies), and the query
 * must not depend on the values; a query whose shape varies stays a plain Kysely query. On SQLite
 * the statement itself is prepared once too (`withStatementCache`).
 */
export function precompiled<DB, P extends Record<string, unknown>, R>(
  build: (db: Kysely<DB>, parameter: <K extends keyof P & string>(name: K) => P[K]) => Compilable<R>,
): (db: Kysely<DB>, values: P) => Promise<QueryResult<R>> {
  const compiled = new Map<string, { sql: string; slots: ({ name: string } | { value: unknown })[] }>();
  return (db, values) => {
    const dialect = dialectOf(db as unknown as Kysely<unknown>);
    let query = compiled.get(dialect);
    if (query === undefined) {
      const built = build(db, (name) => `${PARAMETER_MARK}${name}` as never).compile();
      query = {
        sql: built.sql,
        slots: built.parameters.map((value) =>
          typeof value === 'string' && value.startsWith(PARAMETER_MARK)
            ? { name: value.slice(PARAMETER_MARK.length) }
            : { value },
        ),
      };
      compiled.set(dialect, query);
    }
    const parameters = query.slots.map((slot) => ('name' in slot ? values[slot.name] : slot.value));
    return db.executeQuery<R>(CompiledQuery.raw(query.sql, parameters));
  };
}
