/**
 * `GET /readyz` (`healthApi.ready`): whether the node can do its work now, for a load balancer or an
 * orchestrator that routes to it or not. `/healthz` says the process answers; `/readyz` also asks each
 * of the node's databases a `select 1`, through the same pool or connection its requests use, so a
 * PostgreSQL that went away, a pool whose every connection hangs, or an SQLite connection held by a
 * transaction that never ends, turns the node unready: 503 ERR_DATABASE_UNAVAILABLE naming which of
 * its databases (`details.database`), never the host, user or database name it connects to.
 *
 * Each node's main adds its databases (`addDatabaseCheck`, with `pingDatabase` or a store's `ping`)
 * once it has opened them; `createHttpApp` serves the route. A check that takes longer than
 * `READINESS_TIMEOUT_MS` fails: a probe must not hang for as long as a pool waits.
 */
import { sql, type Kysely } from 'kysely';
import { RenkeiError } from './errors.ts';

export const READINESS_TIMEOUT_MS = 2000;

interface DatabaseCheck {
  /** Which of the node's databases (`core`, `intermediate`…), as `details.database` names it. */
  name: string;
  /** A `select 1` on it (`pingDatabase`). */
  ping: () => Promise<unknown>;
}

/** Ask the database a `select 1`, through its pool or connection as the node's requests use it. */
export async function pingDatabase<DB>(db: Kysely<DB>): Promise<void> {
  await sql`select 1`.execute(db);
}

/** Each node's checks, by its HTTP server (the same object in every Fastify plugin context). */
const byServer = new WeakMap<object, DatabaseCheck[]>();

/** Have `GET /readyz` on this app (`app.server`) ask this database as well (`ping`). */
export function addDatabaseCheck(server: object, name: string, ping: () => Promise<unknown>): void {
  const checks = byServer.get(server) ?? [];
  checks.push({ name, ping });
  byServer.set(server, checks);
}

/**
 * Ask every database of the node, side by side, each within the bound. Throws the first failure as
 * ERR_DATABASE_UNAVAILABLE with `details.database` and, where the database's error has one, its code.
 */
export async function checkReadiness(server: object, timeoutMs = READINESS_TIMEOUT_MS): Promise<void> {
  const checks = byServer.get(server) ?? [];
  await Promise.all(checks.map((c) => check(c, timeoutMs)));
}

async function check({ name, ping }: DatabaseCheck, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RenkeiError(
            'ERR_DATABASE_UNAVAILABLE',
            `The node's ${name} database did not answer within ${timeoutMs / 1000} s; check that it is up and reachable from the node, and the node's log.`,
            { database: name, timeoutMs },
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([ping(), late]);
  } catch (error) {
    if (error instanceof RenkeiError) throw error;
    // The database's own code (a SQLSTATE, a socket's errno, SQLite's), which names no host or person.
    const code = (error as { code?: unknown } | null)?.code;
    const cause =
      typeof code === 'string' && /^[0-9A-Z]{5}$|^E[A-Z]+$|^SQLITE_[A-Z_]+$/.test(code) ? code : undefined;
    throw new RenkeiError(
      'ERR_DATABASE_UNAVAILABLE',
      `The node's ${name} database cannot be used; check that it is up and reachable from the node, and the node's log.`,
      { database: name, ...(cause === undefined ? {} : { cause }) },
    );
  } finally {
    clearTimeout(timer);
  }
}
