/**
 * oidc-provider's storage adapter over the portal's database (table `oidc_artifacts`, migration
 * `0006-self-information-api`): authorization codes, access tokens, grants, interactions and the
 * authorization server's sessions survive a restart, and a consent withdrawn on the 連携サービス page
 * revokes every token of its grant (`revokeByGrantId`). We considered oidc-provider's own memory
 * adapter: it is for development only (an LRU of 1,000 entries: a busy portal would forget codes
 * and grants, and a restart would void every consent the resident sees listed).
 *
 * Expiry is kept as a column, and an expired row is never returned (oidc-provider checks `exp` too);
 * `sweep` deletes them.
 */
import type { Kysely } from 'kysely';
import type { AdapterPayload, OidcAdapter } from 'oidc-provider';
import type { Clock } from '../../../shared/clock.ts';
import type { PortalDatabase } from '../kysely-store.ts';

interface OidcArtifactsTable {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  expires_at: string | null;
  consumed_at: string | null;
}

interface OidcDatabase {
  oidc_artifacts: OidcArtifactsTable;
}

/** A factory oidc-provider calls once per model name (`AccessToken`, `Grant`…). */
export function createOidcAdapterFactory(
  portalDb: Kysely<PortalDatabase>,
  clock: Clock,
): { factory: (model: string) => OidcAdapter; sweep: () => Promise<void> } {
  const db = portalDb as unknown as Kysely<OidcDatabase>;
  const live = (row: OidcArtifactsTable | undefined): AdapterPayload | undefined => {
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= clock.now().toISOString()) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    if (row.consumed_at !== null) payload.consumed = Math.floor(new Date(row.consumed_at).getTime() / 1000);
    return payload;
  };
  const factory = (model: string): OidcAdapter => ({
    async upsert(id, payload, expiresIn) {
      const row = {
        model,
        id,
        payload: JSON.stringify(payload),
        grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        expires_at:
          typeof expiresIn === 'number'
            ? new Date(clock.now().getTime() + expiresIn * 1000).toISOString()
            : null,
        consumed_at: null,
      };
      await db
        .insertInto('oidc_artifacts')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['model', 'id']).doUpdateSet({
            payload: row.payload,
            grant_id: row.grant_id,
            uid: row.uid,
            expires_at: row.expires_at,
          }),
        )
        .execute();
    },
    async find(id) {
      return live(
        await db
          .selectFrom('oidc_artifacts')
          .selectAll()
          .where('model', '=', model)
          .where('id', '=', id)
          .executeTakeFirst(),
      );
    },
    async findByUid(uid) {
      return live(
        await db
          .selectFrom('oidc_artifacts')
          .selectAll()
          .where('model', '=', model)
          .where('uid', '=', uid)
          .executeTakeFirst(),
      );
    },
    findByUserCode() {
      // The device flow is not enabled: no artifact has a user code.
      return Promise.resolve(undefined);
    },
    async consume(id) {
      await db
        .updateTable('oidc_artifacts')
        .set({ consumed_at: clock.now().toISOString() })
        .where('model', '=', model)
        .where('id', '=', id)
        .where('consumed_at', 'is', null)
        .execute();
    },
    async destroy(id) {
      await db.deleteFrom('oidc_artifacts').where('model', '=', model).where('id', '=', id).execute();
    },
    async revokeByGrantId(grantId) {
      await db.deleteFrom('oidc_artifacts').where('grant_id', '=', grantId).execute();
    },
  });
  const sweep = async () => {
    await db.deleteFrom('oidc_artifacts').where('expires_at', '<=', clock.now().toISOString()).execute();
  };
  return { factory, sweep };
}
