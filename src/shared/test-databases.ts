/**
 * Which database the storage tests run on, for the test suites only. The same test files run once per
 * dialect (vitest.config.ts's projects, Kysely's way): on SQLite files always, and again on PostgreSQL
 * when `RENKEI_TEST_POSTGRES` names one (`postgres://postgres@127.0.0.1:5432/test`; `.ci/run` sets it
 * when PostgreSQL answers there). The `postgres` project sets `RENKEI_TEST_DIALECT=postgres`.
 *
 * Each test database gets schemas of its own under a random prefix, dropped by `dropTestSchemas`, so
 * that test files running side by side never meet.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { PostgresOption } from './db.ts';

export type TestDialect = 'sqlite' | 'postgres';

/** The dialect this test run is for. */
export function testDialect(): TestDialect {
  return process.env.RENKEI_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
}

/**
 * A PostgreSQL option with a fresh schema prefix when this run is the PostgreSQL one, undefined on
 * SQLite. Few connections per database by default: a demo network has 22 databases, and two test
 * files may run at once against PostgreSQL's default of 100 connections. A test of one node alone
 * asks for more (`poolSize`): with 2, a core answering hundreds of inquiries at once had every query
 * queue for a connection (up to 8 waiting, measured), and its tests ran past their timeouts under load.
 */
export function testPostgres(options: { poolSize?: number } = {}): PostgresOption | undefined {
  if (testDialect() !== 'postgres') return undefined;
  const url = process.env.RENKEI_TEST_POSTGRES;
  if (!url) throw new Error('RENKEI_TEST_DIALECT=postgres needs RENKEI_TEST_POSTGRES (a postgres:// URL).');
  return { url, schemaPrefix: `t${randomBytes(5).toString('hex')}_`, poolSize: options.poolSize ?? 2 };
}

/** Drop every schema the option's prefix made (nothing for SQLite). */
export async function dropTestSchemas(option: PostgresOption | undefined): Promise<void> {
  if (!option?.schemaPrefix) return;
  const client = new pg.Client({ connectionString: option.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      'select nspname from pg_namespace where starts_with(nspname, $1)',
      [option.schemaPrefix],
    );
    for (const { nspname } of rows) await client.query(`drop schema "${nspname}" cascade`);
  } finally {
    await client.end();
  }
}

/**
 * Every row of every table of one schema, as text: what a test searches for data that must not be
 * there (the PostgreSQL counterpart of reading a SQLite file's bytes).
 */
export async function schemaText(option: PostgresOption, schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: option.url });
  await client.connect();
  try {
    const { rows: tables } = await client.query<{ tablename: string }>(
      'select tablename from pg_tables where schemaname = $1',
      [schema],
    );
    const parts: string[] = [];
    for (const { tablename } of tables) {
      const { rows } = await client.query(`select * from "${schema}"."${tablename}"`);
      parts.push(JSON.stringify(rows));
    }
    return parts.join('\n');
  } finally {
    await client.end();
  }
}
