/**
 * Each node's record of what its trust layer refused (a certificate from another CA, a forged
 * signature, a replayed message, a party acting in another's name…): one row per refusal, in a
 * database of its own (`<node dir>/security.sqlite`), so that an attempt is recorded like any
 * exchange, and an auditor or operator reads it with `renkei security events` without touching the
 * node's business data. A row never holds a body: the route, the caller's party when known, the
 * error code, the peer's address and the time.
 *
 * `party_id` is only ever a party the trust layer verified. When it refused the certificate itself,
 * the party that certificate names goes in `claimed_party_id` instead: who the caller claimed to be,
 * unverified, kept in its own column so that no query or report can take it for a verified party.
 */
import type { Kysely, Migration } from 'kysely';
import { columnTypes, migrateToLatest, openSqlite } from './db.ts';

export interface SecurityEventRow {
  at: string;
  route: string;
  /** Verified by the trust layer. */
  partyId: string | null;
  /** Named by a refused certificate: unverified. */
  claimedPartyId: string | null;
  code: string;
  remoteAddress: string | null;
}

interface SecurityDatabase {
  security_events: {
    id?: number;
    at: string;
    route: string;
    party_id: string | null;
    claimed_party_id: string | null;
    code: string;
    remote_address: string | null;
  };
}

const MIGRATIONS: Record<string, Migration> = {
  '0001-security-events': {
    async up(db: Kysely<unknown>) {
      const { serial, serialAutoIncrement } = columnTypes(db);
      await db.schema
        .createTable('security_events')
        .addColumn('id', serial, (c) =>
          serialAutoIncrement ? c.primaryKey().autoIncrement() : c.primaryKey(),
        )
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('party_id', 'text')
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('remote_address', 'text')
        .execute();
      await db.schema.createIndex('security_events_at').on('security_events').column('at').execute();
    },
  },
  '0002-claimed-party': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('security_events').addColumn('claimed_party_id', 'text').execute();
    },
  },
};

export interface SecurityLog {
  record(event: SecurityEventRow): Promise<void>;
  /** Newest first. */
  list(limit: number): Promise<SecurityEventRow[]>;
  close(): Promise<void>;
}

export async function openSecurityLog(file: string): Promise<SecurityLog> {
  const db = openSqlite<SecurityDatabase>(file);
  try {
    await migrateToLatest(db as unknown as Kysely<unknown>, MIGRATIONS);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return {
    async record(event) {
      await db
        .insertInto('security_events')
        .values({
          at: event.at,
          route: event.route,
          party_id: event.partyId,
          claimed_party_id: event.claimedPartyId,
          code: event.code,
          remote_address: event.remoteAddress,
        })
        .execute();
    },
    async list(limit) {
      const rows = await db
        .selectFrom('security_events')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        at: r.at,
        route: r.route,
        partyId: r.party_id,
        claimedPartyId: r.claimed_party_id,
        code: r.code,
        remoteAddress: r.remote_address,
      }));
    },
    close: () => db.destroy(),
  };
}
