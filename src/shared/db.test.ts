/**
 * Nodes sharing one PostgreSQL database (the demo network's schemas, core workers, test files side by
 * side) must not reach into each other's schemas: not by a lock, not by a catalogue query. On SQLite
 * each node has a file of its own, so these checks are PostgreSQL's only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { sql, type Migration } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockForAppend, migrateToLatest, nodeDatabase, openDatabase } from './db.ts';
import { dropTestSchemas, testDialect, testPostgres } from './test-databases.ts';

const postgres = testPostgres({ poolSize: 4 });
let dir: string;

const migrations: Record<string, Migration> = {
  '0001': {
    up: async (db) => {
      await db.schema
        .createTable('entries')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .execute();
    },
  },
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-db-'));
});
afterAll(async () => {
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

async function open(name: string): Promise<Kysely<unknown>> {
  return openDatabase<unknown>(nodeDatabase(postgres, join(dir, `${name}.sqlite`), name));
}

describe(`a node's database on ${testDialect()}`, () => {
  it('migrates once: a second run finds its migration table and changes nothing', async () => {
    const db = await open('twice');
    try {
      await migrateToLatest(db, migrations);
      await migrateToLatest(db, migrations);
      const tables = await db.introspection.getTables();
      expect(tables.map((t) => t.name)).toEqual(['entries']);
    } finally {
      await db.destroy();
    }
  });

  it('refuses a database that a newer version migrated, saying what to do, and changes nothing', async () => {
    const db = await open('newer');
    const later: Record<string, Migration> = {
      ...migrations,
      '0002': {
        up: async (db) => {
          await db.schema.createTable('later').addColumn('id', 'integer').execute();
        },
      },
    };
    try {
      await migrateToLatest(db, later);
      const refused = await migrateToLatest(db, migrations).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({
        code: 'ERR_DATABASE_NEWER',
        message:
          'This database was migrated by a newer version of Renkei: it has 1 migration(s) this version does not know (the latest 0002). Run that version or a later one, or restore the backup taken before the upgrade.',
        details: { unknownMigrations: ['0002'] },
      });
      // The newer version still runs on it, finding nothing to do.
      await migrateToLatest(db, later);
      const tables = await db.introspection.getTables();
      expect(tables.map((t) => t.name).sort()).toEqual(['entries', 'later']);
    } finally {
      await db.destroy();
    }
  });

  it.skipIf(!postgres)(
    "sees its own schema's tables only, and starts while other schemas come and go",
    async () => {
      const other = await open('other');
      await migrateToLatest(other, migrations);
      const churn = new pg.Client({ connectionString: postgres!.url });
      await churn.connect();
      let churning = true;
      const churned = (async () => {
        for (let i = 0; churning; i++) {
          const name = `${postgres!.schemaPrefix}churn_${i}`;
          await churn.query(`create schema "${name}"`);
          await churn.query(`create table "${name}".t (id serial primary key, v text)`);
          await churn.query(`drop schema "${name}" cascade`);
        }
      })();
      try {
        for (let i = 0; i < 15; i++) {
          const db = await open(`mine_${i}`);
          try {
            await migrateToLatest(db, migrations);
            const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
            expect(tables.map((t) => `${t.schema}.${t.name}`).sort()).toEqual(
              [
                `${postgres!.schemaPrefix}mine_${i}.entries`,
                `${postgres!.schemaPrefix}mine_${i}.kysely_migration`,
                `${postgres!.schemaPrefix}mine_${i}.kysely_migration_lock`,
              ].sort(),
            );
          } finally {
            await db.destroy();
          }
        }
      } finally {
        churning = false;
        await churned;
        await churn.end();
        await other.destroy();
      }
    },
  );

  it.skipIf(!postgres)(
    "appends to one schema's log without waiting for another schema's writer of the same log",
    async () => {
      const a = await open('append_a');
      const b = await open('append_b');
      try {
        let releaseA!: () => void;
        const held = new Promise<void>((resolve) => (releaseA = resolve));
        let lockedA!: () => void;
        const aLocked = new Promise<void>((resolve) => (lockedA = resolve));
        const writerA = a.transaction().execute(async (trx) => {
          await lockForAppend(trx, 'record_log');
          lockedA();
          await held;
        });
        await aLocked;
        // The other schema's writer goes through at once…
        await b.transaction().execute(async (trx) => {
          await lockForAppend(trx, 'record_log');
        });
        // …while a second writer of the same schema's log waits for the first to commit.
        let secondDone = false;
        const secondA = a
          .transaction()
          .execute(async (trx) => {
            await lockForAppend(trx, 'record_log');
          })
          .then(() => (secondDone = true));
        await sql`select pg_sleep(0.2)`.execute(b);
        expect(secondDone).toBe(false);
        releaseA();
        await writerA;
        await secondA;
        expect(secondDone).toBe(true);
      } finally {
        await a.destroy();
        await b.destroy();
      }
    },
  );
});
