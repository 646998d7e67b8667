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
 *
 * And the disk of its data directory (`addDiskCheck`): a node that cannot write cannot record, so it
 * must take no work (every exchange is recorded before it is answered). Unready below
 * `MIN_FREE_BYTES` free, before the disk is full rather than after: 503 ERR_STORAGE_FULL with the
 * bytes free, never the directory's path.
 */
import { statfs } from 'node:fs/promises';
import { sql, type Kysely } from 'kysely';
import { RenkeiError } from './errors.ts';

/**
 * The free space under which a node is unready: room for a WAL checkpoint, a log file's rotation and
 * a few minutes of records, so that what is under way can finish while no new work comes.
 */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;

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
const disksByServer = new WeakMap<object, { dir: string; minFreeBytes: number }[]>();

/** Have `GET /readyz` on this app also check that the disk of `dir` has `minFreeBytes` free. */
export function addDiskCheck(server: object, dir: string, minFreeBytes = MIN_FREE_BYTES): void {
  disksByServer.set(server, [...(disksByServer.get(server) ?? []), { dir, minFreeBytes }]);
}

async function checkDisk({ dir, minFreeBytes }: { dir: string; minFreeBytes: number }): Promise<void> {
  const stats = await statfs(dir);
  const freeBytes = stats.bavail * stats.bsize;
  if (freeBytes >= minFreeBytes) return;
  const mib = (bytes: number) => `${String(Math.floor(bytes / (1024 * 1024)))} MiB`;
  throw new RenkeiError(
    'ERR_STORAGE_FULL',
    `The disk of the node's data directory has ${mib(freeBytes)} free, under the ${mib(minFreeBytes)} it keeps to record what it does: free space there (old logs, backups) and the node is ready again.`,
    { freeBytes, minimumBytes: minFreeBytes },
  );
}

/** Have `GET /readyz` on this app (`app.server`) ask this database as well (`ping`). */
export function addDatabaseCheck(server: object, name: string, ping: () => Promise<unknown>): void {
  const checks = byServer.get(server) ?? [];
  checks.push({ name, ping });
  byServer.set(server, checks);
}

/**
 * Ask every database of the node, side by side, each within the bound, and look at its disks. Throws
 * the first failure: ERR_DATABASE_UNAVAILABLE with `details.database` and, where the database's error
 * has one, its code; ERR_STORAGE_FULL with the bytes free.
 */
export async function checkReadiness(server: object, timeoutMs = READINESS_TIMEOUT_MS): Promise<void> {
  const checks = byServer.get(server) ?? [];
  await Promise.all([
    ...checks.map((c) => check(c, timeoutMs)),
    ...(disksByServer.get(server) ?? []).map(checkDisk),
  ]);
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
