/**
 * A node whose PostgreSQL goes away while it runs answers ERR_DATABASE_UNAVAILABLE (503), counted in
 * its metrics, rather than ERR_INTERNAL; and answers again once the database is back. Its `/readyz`
 * says so too (a load balancer stops sending it work), while `/healthz` still says it is up; and a
 * database that does not answer at all (a silent host, an SQLite transaction that never ends) makes
 * it unready within the probe's bound, rather than hanging the probe. With pg's real errors: a port
 * nothing listens on, one that takes the connection and never speaks, and a TCP proxy to the test
 * PostgreSQL cut while it runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, type Generated, type Transaction } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openDatabase, openSqlite, withoutStatementBound } from './db.ts';
import { RenkeiError } from './errors.ts';
import { GroupCommit } from './group-commit.ts';
import { createHttpApp } from './http.ts';
import { silentLogger } from './logger.ts';
import { metricsOf } from './metrics.ts';
import { READINESS_TIMEOUT_MS, addDatabaseCheck, addDiskCheck, pingDatabase } from './readiness.ts';

const postgres = process.env.RENKEI_TEST_POSTGRES;

/** A node's app with one route that reads its database, which its `/readyz` checks. */
function over(db: Kysely<unknown>) {
  const app = createHttpApp({ logger: silentLogger(), node: 'test' });
  app.get('/one', async () => ({
    one: (await sql<{ one: number }>`select 1 as one`.execute(db)).rows[0]?.one,
  }));
  addDatabaseCheck(app.server, 'intermediate', () => pingDatabase(db));
  return {
    app,
    ask: () => app.inject({ method: 'GET', url: '/one' }),
    ready: () => app.inject({ method: 'GET', url: '/readyz' }),
    healthy: () => app.inject({ method: 'GET', url: '/healthz' }),
    close: async () => {
      await app.close();
      await db.destroy();
    },
  };
}

/** Drop a test's schema from the test PostgreSQL, directly (the proxy may be cut). */
async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgres });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
}

/**
 * A node over a fresh schema of the test PostgreSQL, reached through a proxy (`proxyTo`) that the test
 * cuts, silences or stalls, with these bounds; `dispose` closes the node, cuts the proxy and drops
 * the schema.
 */
async function proxiedNode(
  name: string,
  bounds: { connectTimeoutMs?: number; statementTimeoutMs?: number; poolSize?: number } = {},
) {
  const proxy = await proxyTo(new URL(postgres ?? ''));
  const schema = `t${randomBytes(5).toString('hex')}_${name}`;
  const node = over(
    await openDatabase<unknown>({ dialect: 'postgres', url: proxy.url(), schema, ...bounds }),
  );
  return {
    proxy,
    schema,
    node,
    dispose: async () => {
      await node.close();
      await proxy.cut();
      await dropSchema(schema);
    },
  };
}

const codeOf = (answer: { json: () => unknown }) =>
  (answer.json() as { error?: { code?: string } }).error?.code;

/** A TCP proxy to `target` (host:port) that can be cut (every connection dropped, none taken) and restored. */
async function proxyTo(target: URL) {
  const sockets = new Set<Socket>();
  const pipes = new Set<{ client: Socket; upstream: Socket }>();
  let server: Server | undefined;
  let port = 0;
  let silent = false;
  const open = async () => {
    server = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      if (silent) return; // taken, and never a byte forwarded either way
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      pipes.add({ client, upstream });
    });
    await new Promise<void>((resolve) => server?.listen(port, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  };
  await open();
  return {
    url: () => {
      const url = new URL(target);
      url.host = `127.0.0.1:${port}`;
      return url.toString();
    },
    cut: async () => {
      const closed = new Promise<void>((resolve) => server?.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: open,
    /** Every connection dropped; new ones taken and left silent (a hung server, a black hole). */
    silence: () => {
      silent = true;
      for (const socket of sockets) socket.destroy();
    },
    /**
     * Nothing forwarded any more either way, on the connections open (left open: no FIN, no RST, as
     * when a firewall starts dropping an established connection's packets) and on new ones.
     */
    stall: () => {
      silent = true;
      for (const { client, upstream } of pipes) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
      pipes.clear();
    },
    /** New connections forwarded again. */
    resume: () => {
      silent = false;
    },
  };
}

describe('a node whose database goes away', () => {
  it('answers ERR_DATABASE_UNAVAILABLE when PostgreSQL refuses the connection, naming neither host nor port', async () => {
    const pool = new pg.Pool({ connectionString: 'postgres://renkei:secret@127.0.0.1:1/nowhere' });
    pool.on('error', () => undefined);
    const node = over(new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }));
    try {
      const answer = await node.ask();
      expect(answer.statusCode).toBe(503);
      expect(codeOf(answer)).toBe('ERR_DATABASE_UNAVAILABLE');
      expect(answer.body).not.toMatch(/127\.0\.0\.1|secret|nowhere/);
      expect(await metricsOf(node.app.server)?.text()).toContain(
        'renkei_errors_total{code="ERR_DATABASE_UNAVAILABLE"} 1',
      );
      const unready = await node.ready();
      expect(unready.statusCode).toBe(503);
      expect(unready.json()).toMatchObject({
        error: {
          code: 'ERR_DATABASE_UNAVAILABLE',
          details: { database: 'intermediate', cause: 'ECONNREFUSED' },
        },
      });
      expect(unready.body).not.toMatch(/127\.0\.0\.1|secret|nowhere|renkei:/);
      expect((await node.healthy()).statusCode).toBe(200);
    } finally {
      await node.close();
    }
  });

  it.runIf(postgres)(
    'as the node opens it (openDatabase): answers it while the connection is cut, without dying, and again once it is back',
    async () => {
      const { proxy, node, dispose } = await proxiedNode('cut');
      try {
        expect((await node.ask()).json()).toEqual({ one: 1 });
        expect((await node.ready()).json()).toEqual({ status: 'ready', node: 'test' });
        await proxy.cut();
        expect((await node.ready()).statusCode).toBe(503);
        expect((await node.healthy()).statusCode).toBe(200);
        // The first goes to the pooled connection whose socket was just cut, the second to a new one.
        for (let i = 0; i < 2; i++) {
          const cut = await node.ask();
          expect(cut.statusCode).toBe(503);
          expect(codeOf(cut)).toBe('ERR_DATABASE_UNAVAILABLE');
        }
        await proxy.restore();
        expect((await node.ask()).json()).toEqual({ one: 1 });
        expect((await node.ready()).json()).toEqual({ status: 'ready', node: 'test' });
      } finally {
        await dispose();
      }
    },
  );
  it('is unready within the bound when PostgreSQL takes the connection and never speaks', async () => {
    // A host that accepts and stays silent (a hung server, a firewall that eats packets): pg waits.
    const silent = new Set<Socket>();
    const server = createServer((socket) => silent.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const pool = new pg.Pool({ connectionString: `postgres://renkei@127.0.0.1:${port}/silent` });
    pool.on('error', () => undefined);
    const node = over(new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }));
    try {
      const started = Date.now();
      const unready = await node.ready();
      const took = Date.now() - started;
      expect(unready.statusCode).toBe(503);
      expect(unready.json()).toMatchObject({
        error: { code: 'ERR_DATABASE_UNAVAILABLE', details: { database: 'intermediate' } },
      });
      expect(took).toBeGreaterThanOrEqual(READINESS_TIMEOUT_MS - 50);
      expect(took).toBeLessThan(READINESS_TIMEOUT_MS + 3000);
      expect((await node.healthy()).statusCode).toBe(200);
    } finally {
      for (const socket of silent) socket.destroy();
      server.close();
      await node.app.close();
      await pool.end().catch(() => undefined);
    }
  });

  it('is unready while an SQLite transaction holds its connection, and ready once it ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'renkei-readiness-'));
    const db = openSqlite<unknown>(join(dir, 'node.sqlite'));
    const node = over(db);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = db.transaction().execute(async () => held);
    try {
      expect((await node.ready()).json()).toMatchObject({
        error: { code: 'ERR_DATABASE_UNAVAILABLE', details: { database: 'intermediate' } },
      });
      release();
      await transaction;
      expect((await node.ready()).json()).toEqual({ status: 'ready', node: 'test' });
    } finally {
      release();
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it.runIf(postgres)(
    'waits for a connection no longer than its bound: at start, and for a request once the host goes silent',
    async () => {
      const connectTimeoutMs = 500;
      const { proxy, schema, node, dispose } = await proxiedNode('silent', { connectTimeoutMs });
      try {
        expect((await node.ask()).json()).toEqual({ one: 1 });
        proxy.silence();
        // The pooled connection was dropped: the first request fails on it, the next waits for a new one.
        for (let i = 0; i < 2; i++) {
          const started = Date.now();
          const answer = await node.ask();
          expect(answer.statusCode).toBe(503);
          expect(codeOf(answer)).toBe('ERR_DATABASE_UNAVAILABLE');
          expect(Date.now() - started).toBeLessThan(connectTimeoutMs + 2000);
        }
        // A node started against the silent host fails its start, naming where, instead of hanging.
        const started = Date.now();
        const error = await openDatabase<unknown>({
          dialect: 'postgres',
          url: proxy.url(),
          schema,
          connectTimeoutMs,
        }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(RenkeiError);
        expect((error as RenkeiError).code).toBe('ERR_DATABASE_UNAVAILABLE');
        expect(Date.now() - started).toBeLessThan(connectTimeoutMs + 2000);
      } finally {
        await dispose();
      }
    },
  );

  it.runIf(postgres)(
    'bounds how long a statement is waited for (503), except where it is long by nature, and answers again at once',
    async () => {
      const schema = `t${randomBytes(5).toString('hex')}_slow`;
      const statementTimeoutMs = 400;
      const db = await openDatabase<unknown>({
        dialect: 'postgres',
        url: postgres ?? '',
        schema,
        statementTimeoutMs,
        poolSize: 1,
      });
      const node = over(db);
      node.app.get('/slow', async () => {
        await sql`select pg_sleep(1)`.execute(db);
        return { slept: true };
      });
      try {
        const started = Date.now();
        const slow = await node.app.inject({ method: 'GET', url: '/slow' });
        expect(Date.now() - started).toBeLessThan(statementTimeoutMs + 500);
        expect(slow.statusCode).toBe(503);
        expect(codeOf(slow)).toBe('ERR_DATABASE_UNAVAILABLE');
        // The one connection of the pool was cut, not left waiting for the slow statement's end.
        expect((await node.ask()).json()).toEqual({ one: 1 });
        // A migration, a bulk load: unbounded.
        await expect(
          sql`select pg_sleep(0.6) as slept`.execute(withoutStatementBound(db)),
        ).resolves.toMatchObject({ rows: [{ slept: '' }] });
        await expect(sql`select pg_sleep(0.6)`.execute(db)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      } finally {
        await node.close();
        await dropSchema(schema);
      }
    },
  );

  it.runIf(postgres)(
    'drops a connection that goes silent in the middle of a statement, answering 503 within the bound, and goes on over a new one',
    async () => {
      const statementTimeoutMs = 500;
      const { proxy, node, dispose } = await proxiedNode('stall', {
        statementTimeoutMs,
        connectTimeoutMs: 500,
        poolSize: 2,
      });
      try {
        expect((await node.ask()).json()).toEqual({ one: 1 });
        proxy.stall();
        // Before the bound, this waited until TCP gave up: a quarter of an hour or, here, for ever.
        const started = Date.now();
        const stalled = await node.ask();
        expect(Date.now() - started).toBeLessThan(statementTimeoutMs + 1500);
        expect(stalled.statusCode).toBe(503);
        expect(codeOf(stalled)).toBe('ERR_DATABASE_UNAVAILABLE');
        expect((await node.ready()).statusCode).toBe(503);
        proxy.resume();
        expect((await node.ask()).json()).toEqual({ one: 1 });
        expect((await node.ready()).json()).toEqual({ status: 'ready', node: 'test' });
      } finally {
        await dispose();
      }
    },
  );
});

/**
 * A SQLite file with a table `kept`, which `cap` lets grow by two pages only (SQLite answers
 * SQLITE_FULL past them, as on a full disk) and `uncap` lets grow again.
 */
async function cappedSqlite(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `renkei-${name}-`));
  const db = openSqlite<{ kept: { id: Generated<number>; body: Uint8Array } }>(join(dir, 'node.sqlite'));
  await sql`create table kept (id integer primary key, body blob not null)`.execute(db);
  return {
    dir,
    db,
    cap: async () => {
      const pages =
        (await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows[0]?.page_count ?? 0;
      await sql.raw(`pragma max_page_count = ${String(pages + 2)}`).execute(db);
    },
    uncap: () => sql.raw('pragma max_page_count = 1073741823').execute(db),
    count: async () => (await sql<{ n: number }>`select count(*) as n from kept`.execute(db)).rows[0]?.n,
    insert: (trx: Transaction<{ kept: { id: Generated<number>; body: Uint8Array } }>, bytes: number) =>
      trx
        .insertInto('kept')
        .values({ body: Buffer.alloc(bytes) })
        .execute(),
  };
}

describe('a node whose storage is full or locked', () => {
  it('answers ERR_STORAGE_FULL when its SQLite file cannot grow, keeping nothing of the request', async () => {
    const file = await cappedSqlite('full');
    const node = over(file.db as unknown as Kysely<unknown>);
    node.app.post('/record', async () => {
      await file.db.transaction().execute(async (trx) => {
        await file.insert(trx, 16);
        await file.insert(trx, 256 * 1024);
      });
      return { recorded: true };
    });
    try {
      await file.cap();
      const full = await node.app.inject({ method: 'POST', url: '/record' });
      expect(full.statusCode).toBe(503);
      expect(codeOf(full)).toBe('ERR_STORAGE_FULL');
      expect(full.body).not.toContain(file.dir);
      // The transaction was rolled back whole: not its first row either.
      expect(await file.count()).toBe(0);
      expect(await metricsOf(node.app.server)?.text()).toContain(
        'renkei_errors_total{code="ERR_STORAGE_FULL"} 1',
      );
    } finally {
      await node.close();
      rmSync(file.dir, { recursive: true, force: true });
    }
  });

  it('fails a whole group commit with SQLITE_FULL when the disk fills under one of its works, nothing of it written', async () => {
    const file = await cappedSqlite('full-group');
    const group = new GroupCommit(file.db, {
      begin: () => Promise.resolve(undefined),
      mark: () => 0,
      rewind: () => undefined,
      beforeCommit: () => Promise.resolve(),
    });
    const write = (bytes: number) => group.transaction((trx) => file.insert(trx, bytes));
    try {
      await file.cap();
      // Issued together: one group, whose second work cannot fit. SQLite rolls the whole transaction
      // back, the first work's row with it: every caller hears the cause, not "no such savepoint".
      const settled = await Promise.allSettled([write(16), write(256 * 1024), write(16)]);
      expect(
        settled.map((s) => (s.status === 'rejected' ? (s.reason as { code?: string }).code : 'ok')),
      ).toEqual(['SQLITE_FULL', 'SQLITE_FULL', 'SQLITE_FULL']);
      expect(await file.count()).toBe(0);
      // Space again: the next group commits.
      await file.uncap();
      await Promise.all([write(16), write(16)]);
      expect(await file.count()).toBe(2);
    } finally {
      await group.drain();
      await file.db.destroy();
      rmSync(file.dir, { recursive: true, force: true });
    }
  });

  it('is unready while the disk of its data directory has less free than it keeps, naming the bytes and no path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'renkei-disk-'));
    const db = openSqlite<unknown>(join(dir, 'node.sqlite'));
    const node = over(db);
    const roomy = over(openSqlite<unknown>(join(dir, 'other.sqlite')));
    // This disk as one that has less free than asked for (nothing short of filling it makes it so).
    addDiskCheck(node.app.server, dir, Number.MAX_SAFE_INTEGER);
    addDiskCheck(roomy.app.server, dir, 1);
    try {
      const unready = await node.ready();
      expect(unready.statusCode).toBe(503);
      const body = unready.json<{
        error: { code: string; details: { freeBytes: number; minimumBytes: number } };
      }>();
      expect(body.error.code).toBe('ERR_STORAGE_FULL');
      expect(body.error.details.freeBytes).toBeGreaterThan(0);
      expect(body.error.details.minimumBytes).toBe(Number.MAX_SAFE_INTEGER);
      expect(unready.body).not.toContain(dir);
      expect((await node.healthy()).statusCode).toBe(200);
      expect((await roomy.ready()).json()).toEqual({ status: 'ready', node: 'test' });
    } finally {
      await node.close();
      await roomy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers ERR_DATABASE_BUSY when another process holds its SQLite file locked past the wait', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'renkei-busy-'));
    const file = join(dir, 'node.sqlite');
    const db = openSqlite<unknown>(file);
    await sql`create table kept (id integer primary key)`.execute(db);
    await sql`pragma busy_timeout = 0`.execute(db);
    const node = over(db);
    node.app.post('/record', async () => {
      await sql`insert into kept default values`.execute(db);
      return { recorded: true };
    });
    // Another process's writer (here another connection) holds the write lock.
    const other = new Database(file);
    other.exec('begin immediate');
    try {
      const busy = await node.app.inject({ method: 'POST', url: '/record' });
      expect(busy.statusCode).toBe(503);
      expect(codeOf(busy)).toBe('ERR_DATABASE_BUSY');
      other.exec('rollback');
      expect((await node.app.inject({ method: 'POST', url: '/record' })).json()).toEqual({ recorded: true });
    } finally {
      other.close();
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
