/**
 * The 自己情報取得API's own records (migration `0006-self-information-api`): each resident's consents to
 * registered clients (連携サービス), and every release of their information to a client. Privacy in the
 * types: the person by the portal's own id; a release names the items and the institution they came
 * from, never the information.
 */
import type { Kysely } from 'kysely';
import type { PortalDatabase } from './kysely-store.ts';

/** A resident's consent to a client: the scopes given, until withdrawn. */
export interface ApiGrant {
  grantId: string;
  personId: string;
  clientId: string;
  scopes: string[];
  grantedAt: Date;
  /** The consent's period: after it, the client must ask the resident again. */
  expiresAt: Date;
  revokedAt: Date | undefined;
}

/** One release of a resident's information to a client. */
export interface ApiRelease {
  releaseId: string;
  personId: string;
  clientId: string;
  grantId: string;
  providerId: string;
  itemNos: number[];
  /** The inquiry the information came back on (the portal's requester record, page A). */
  processingNumber: string;
  releasedAt: Date;
}

export interface ApiStore {
  /** A consent given; a second one under its id replaces the scopes (the same grant, extended). */
  saveGrant(grant: Omit<ApiGrant, 'revokedAt'>): Promise<void>;
  findGrant(grantId: string): Promise<ApiGrant | undefined>;
  /** Withdraw a consent of this person: `revoked` once, `unknown` for another's or an unknown one. */
  revokeGrant(personId: string, grantId: string, at: Date): Promise<'revoked' | 'unknown'>;
  /** The person's consents, newest first, withdrawn ones included. */
  listGrants(personId: string): Promise<ApiGrant[]>;
  recordRelease(release: ApiRelease): Promise<void>;
  /** The person's releases, newest first. */
  listReleases(personId: string, limit: number): Promise<ApiRelease[]>;
}

interface ApiGrantsTable {
  grant_id: string;
  person_id: string;
  client_id: string;
  scopes: string;
  granted_at: string;
  expires_at: string;
  revoked_at: string | null;
}

interface ApiReleasesTable {
  release_id: string;
  person_id: string;
  client_id: string;
  grant_id: string;
  provider_id: string;
  item_nos: string;
  processing_number: string;
  released_at: string;
}

/** The tables of migration `0006-self-information-api` this store uses. */
export interface ApiDatabase {
  api_grants: ApiGrantsTable;
  api_releases: ApiReleasesTable;
}

const toGrant = (row: ApiGrantsTable): ApiGrant => ({
  grantId: row.grant_id,
  personId: row.person_id,
  clientId: row.client_id,
  scopes: row.scopes.split(' ').filter(Boolean),
  grantedAt: new Date(row.granted_at),
  expiresAt: new Date(row.expires_at),
  revokedAt: row.revoked_at === null ? undefined : new Date(row.revoked_at),
});

const toRelease = (row: ApiReleasesTable): ApiRelease => ({
  releaseId: row.release_id,
  personId: row.person_id,
  clientId: row.client_id,
  grantId: row.grant_id,
  providerId: row.provider_id,
  itemNos: JSON.parse(row.item_nos) as number[],
  processingNumber: row.processing_number,
  releasedAt: new Date(row.released_at),
});

/** The Kysely adapter (SQLite or PostgreSQL), over the portal's own database. */
export function createKyselyApiStore(portalDb: Kysely<PortalDatabase>): ApiStore {
  const db = portalDb as unknown as Kysely<ApiDatabase>;
  return {
    async saveGrant(grant) {
      const row = {
        grant_id: grant.grantId,
        person_id: grant.personId,
        client_id: grant.clientId,
        scopes: grant.scopes.join(' '),
        granted_at: grant.grantedAt.toISOString(),
        expires_at: grant.expiresAt.toISOString(),
        revoked_at: null,
      };
      await db
        .insertInto('api_grants')
        .values(row)
        .onConflict((oc) =>
          oc
            .column('grant_id')
            .doUpdateSet({ scopes: row.scopes, granted_at: row.granted_at, expires_at: row.expires_at }),
        )
        .execute();
    },
    async findGrant(grantId) {
      const row = await db
        .selectFrom('api_grants')
        .selectAll()
        .where('grant_id', '=', grantId)
        .executeTakeFirst();
      return row && toGrant(row);
    },
    async revokeGrant(personId, grantId, at) {
      const result = await db
        .updateTable('api_grants')
        .set({ revoked_at: at.toISOString() })
        .where('grant_id', '=', grantId)
        .where('person_id', '=', personId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n ? 'revoked' : 'unknown';
    },
    async listGrants(personId) {
      const rows = await db
        .selectFrom('api_grants')
        .selectAll()
        .where('person_id', '=', personId)
        .orderBy('granted_at', 'desc')
        .execute();
      return rows.map(toGrant);
    },
    async recordRelease(release) {
      await db
        .insertInto('api_releases')
        .values({
          release_id: release.releaseId,
          person_id: release.personId,
          client_id: release.clientId,
          grant_id: release.grantId,
          provider_id: release.providerId,
          item_nos: JSON.stringify(release.itemNos),
          processing_number: release.processingNumber,
          released_at: release.releasedAt.toISOString(),
        })
        .execute();
    },
    async listReleases(personId, limit) {
      const rows = await db
        .selectFrom('api_releases')
        .selectAll()
        .where('person_id', '=', personId)
        .orderBy('released_at', 'desc')
        .orderBy('release_id', 'desc')
        .limit(limit)
        .execute();
      return rows.map(toRelease);
    },
  };
}
