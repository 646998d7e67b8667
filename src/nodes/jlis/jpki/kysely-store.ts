/** JPKI's storage adapter: `JpkiStore` in dialect-agnostic Kysely, in J-LIS's database. */
import type { Generated, Kysely } from 'kysely';
import { isUniqueViolation } from '../../../shared/db.ts';
import type { ErrorCode } from '../../../shared/errors.ts';
import type { JpkiRevocationReason } from './port.ts';
import type { JpkiKind } from './profiles.ts';
import type {
  JpkiCertificateRecord,
  JpkiCertificateStatus,
  JpkiCrlEntry,
  JpkiStore,
  LinkingEvent,
  RelyingParty,
} from './store.ts';

interface JpkiCertificatesTable {
  serial: string;
  kind: string;
  card_id: string;
  resident_record_code: string;
  not_before: string;
  not_after: string;
  issued_at: string;
  status: string;
  /** Migration `0016-certificate-holds`. */
  held_at: string | null;
  revoked_at: string | null;
  reason: string | null;
  authentication_serial: string | null;
  replaced_by: string | null;
  certificate_der: Uint8Array;
}

/** JPKI's tables of J-LIS's database (`JlisDatabase` extends these). */
export interface JpkiTables {
  jpki_certificates: JpkiCertificatesTable;
  jpki_crl_numbers: { kind: string; crl_number: number };
  relying_parties: { party_id: string; name: string; registered_at: string };
  jpki_links: { relying_party_id: string; signing_serial: string; linked_at: string };
  jpki_linking_events: {
    id: Generated<number>;
    at: string;
    relying_party_id: string | null;
    operation: string;
    serial: string | null;
    outcome: string;
    error_code: string | null;
  };
}

export function createKyselyJpkiStore(db: Kysely<JpkiTables>): JpkiStore {
  return {
    async insertPair(signing, authentication, at) {
      const now = at.toISOString();
      return db.transaction().execute(async (trx) => {
        const earlier = await trx
          .selectFrom('jpki_certificates')
          .select(['serial', 'kind', 'status', 'replaced_by'])
          .where('resident_record_code', '=', signing.residentRecordCode)
          .execute();
        // A certificate on hold is revoked as well: the new one supersedes it.
        const stillValid = earlier.filter((c) => c.status !== 'revoked').map((c) => c.serial);
        if (stillValid.length > 0) {
          await trx
            .updateTable('jpki_certificates')
            .set({ status: 'revoked', revoked_at: now, reason: 'reissue' })
            .where('serial', 'in', stillValid)
            .execute();
        }
        const toReplace = earlier
          .filter((c) => c.kind === 'signing' && c.replaced_by === null)
          .map((c) => c.serial);
        if (toReplace.length > 0) {
          await trx
            .updateTable('jpki_certificates')
            .set({ replaced_by: signing.serial })
            .where('serial', 'in', toReplace)
            .execute();
        }
        await trx
          .insertInto('jpki_certificates')
          .values([toRow(signing), toRow(authentication)])
          .execute();
        return { revoked: stillValid.length };
      });
    },

    async findCertificate(serial) {
      const row = await db
        .selectFrom('jpki_certificates')
        .selectAll()
        .where('serial', '=', serial)
        .executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },

    async revoke(which, kinds, reason, at) {
      if (kinds.length === 0) return [];
      return db.transaction().execute((trx) => revokeCertificates(trx, which, kinds, reason, at));
    },

    async insertSigning(signing, at) {
      const now = at.toISOString();
      return db.transaction().execute(async (trx) => {
        const authentication = await trx
          .selectFrom('jpki_certificates')
          .select(['card_id', 'resident_record_code', 'status', 'kind'])
          .where('serial', '=', signing.authenticationSerial ?? '')
          .executeTakeFirst();
        if (
          authentication?.kind !== 'authentication' ||
          authentication.status !== 'valid' ||
          authentication.card_id !== signing.cardId ||
          authentication.resident_record_code !== signing.residentRecordCode
        ) {
          return 'no_authentication';
        }
        const earlier = await trx
          .selectFrom('jpki_certificates')
          .select(['serial', 'status', 'replaced_by'])
          .where('resident_record_code', '=', signing.residentRecordCode)
          .where('kind', '=', 'signing')
          .execute();
        // A certificate on hold is revoked as well: the new one supersedes it.
        const stillValid = earlier.filter((c) => c.status !== 'revoked').map((c) => c.serial);
        if (stillValid.length > 0) {
          await trx
            .updateTable('jpki_certificates')
            .set({ status: 'revoked', revoked_at: now, reason: 'reissue' })
            .where('serial', 'in', stillValid)
            .execute();
        }
        const toReplace = earlier.filter((c) => c.replaced_by === null).map((c) => c.serial);
        if (toReplace.length > 0) {
          await trx
            .updateTable('jpki_certificates')
            .set({ replaced_by: signing.serial })
            .where('serial', 'in', toReplace)
            .execute();
        }
        await trx.insertInto('jpki_certificates').values(toRow(signing)).execute();
        return { revoked: stillValid.length };
      });
    },

    hold(cardId, at) {
      return moveCardCertificates(db, cardId, 'valid', 'held', at);
    },

    release(cardId) {
      return moveCardCertificates(db, cardId, 'held', 'valid', null);
    },

    async listRevoked(kind, expiredBefore) {
      // ISO timestamps of one format compare as text, on both dialects.
      const rows = await db
        .selectFrom('jpki_certificates')
        .select(['serial', 'status', 'held_at', 'revoked_at', 'reason'])
        .where('kind', '=', kind)
        .where('status', 'in', ['held', 'revoked'])
        .where('not_after', '>', expiredBefore.toISOString())
        .orderBy('serial')
        .execute();
      return rows.map((r): JpkiCrlEntry => ({
        serial: r.serial,
        since: new Date(r.held_at ?? r.revoked_at ?? 0),
        reason: r.status === 'held' ? 'hold' : ((r.reason ?? 'request') as JpkiRevocationReason),
      }));
    },

    async nextCrlNumber(kind) {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('jpki_crl_numbers')
          .select('crl_number')
          .where('kind', '=', kind)
          .executeTakeFirst();
        const next = (row?.crl_number ?? 0) + 1;
        if (row) {
          await trx
            .updateTable('jpki_crl_numbers')
            .set({ crl_number: next })
            .where('kind', '=', kind)
            .execute();
        } else {
          await trx.insertInto('jpki_crl_numbers').values({ kind, crl_number: next }).execute();
        }
        return next;
      });
    },

    async registerRelyingParty(party) {
      try {
        await db
          .insertInto('relying_parties')
          .values({
            party_id: party.partyId,
            name: party.name,
            registered_at: party.registeredAt.toISOString(),
          })
          .execute();
        return true;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        await db
          .updateTable('relying_parties')
          .set({ name: party.name })
          .where('party_id', '=', party.partyId)
          .execute();
        return false;
      }
    },

    async findRelyingParty(partyId) {
      const row = await db
        .selectFrom('relying_parties')
        .selectAll()
        .where('party_id', '=', partyId)
        .executeTakeFirst();
      return row ? relyingPartyOf(row) : undefined;
    },

    async listRelyingParties() {
      const rows = await db.selectFrom('relying_parties').selectAll().orderBy('party_id').execute();
      return rows.map(relyingPartyOf);
    },

    async insertLink(relyingPartyId, signingSerial, at) {
      try {
        await db
          .insertInto('jpki_links')
          .values({
            relying_party_id: relyingPartyId,
            signing_serial: signingSerial,
            linked_at: at.toISOString(),
          })
          .execute();
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
        throw error;
      }
    },

    async hasLink(relyingPartyId, signingSerial) {
      const row = await db
        .selectFrom('jpki_links')
        .select('signing_serial')
        .where('relying_party_id', '=', relyingPartyId)
        .where('signing_serial', '=', signingSerial)
        .executeTakeFirst();
      return row !== undefined;
    },

    async isLinked(signingSerial) {
      const row = await db
        .selectFrom('jpki_links')
        .select('signing_serial')
        .where('signing_serial', '=', signingSerial)
        .executeTakeFirst();
      return row !== undefined;
    },

    async recordLinkingEvent(event) {
      await db
        .insertInto('jpki_linking_events')
        .values({
          at: event.at.toISOString(),
          relying_party_id: event.relyingPartyId,
          operation: event.operation,
          serial: event.serial,
          outcome: event.outcome,
          error_code: event.errorCode,
        })
        .execute();
    },

    async listLinkingEvents(limit) {
      const rows = await db
        .selectFrom('jpki_linking_events')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(limit)
        .execute();
      return rows.map((r): LinkingEvent => ({
        at: new Date(r.at),
        relyingPartyId: r.relying_party_id,
        operation: r.operation,
        serial: r.serial,
        outcome: r.outcome as LinkingEvent['outcome'],
        errorCode: r.error_code as ErrorCode | null,
      }));
    },
  };
}

/**
 * Revoke the valid or held certificates matching `which` (a hold becomes final), inside the caller's transaction: J-LIS's identity
 * change calls it in the transaction that records the change (`kysely-store.ts`), so that a change
 * committed never leaves a certificate in force that it made wrong. Returns the kinds revoked.
 */
export async function revokeCertificates(
  trx: Kysely<JpkiTables>,
  which: { cardId: string } | { residentRecordCode: string },
  kinds: readonly JpkiKind[],
  reason: JpkiRevocationReason,
  at: Date,
): Promise<JpkiKind[]> {
  if (kinds.length === 0) return [];
  let query = trx
    .selectFrom('jpki_certificates')
    .select(['serial', 'kind'])
    .where('status', 'in', ['valid', 'held'])
    .where('kind', 'in', [...kinds]);
  query =
    'cardId' in which
      ? query.where('card_id', '=', which.cardId)
      : query.where('resident_record_code', '=', which.residentRecordCode);
  const rows = await query.execute();
  if (rows.length === 0) return [];
  await trx
    .updateTable('jpki_certificates')
    .set({ status: 'revoked', revoked_at: at.toISOString(), reason })
    .where(
      'serial',
      'in',
      rows.map((r) => r.serial),
    )
    .execute();
  return kindsOf(rows);
}

/**
 * A hold of a card's certificates (`valid` to `held`, at `heldAt`) or its release (`held` to `valid`,
 * no hold time), in one transaction: the kinds it moved, none when the card had none in `from`.
 */
async function moveCardCertificates(
  db: Kysely<JpkiTables>,
  cardId: string,
  from: 'valid' | 'held',
  to: 'held' | 'valid',
  heldAt: Date | null,
): Promise<JpkiKind[]> {
  return db.transaction().execute(async (trx) => {
    const rows = await trx
      .selectFrom('jpki_certificates')
      .select(['serial', 'kind'])
      .where('card_id', '=', cardId)
      .where('status', '=', from)
      .execute();
    if (rows.length === 0) return [];
    await trx
      .updateTable('jpki_certificates')
      .set({ status: to, held_at: heldAt === null ? null : heldAt.toISOString() })
      .where(
        'serial',
        'in',
        rows.map((r) => r.serial),
      )
      .where('status', '=', from)
      .execute();
    return kindsOf(rows);
  });
}

function kindsOf(rows: { kind: string }[]): JpkiKind[] {
  return [...new Set(rows.map((r) => r.kind as JpkiKind))];
}

function toRow(c: JpkiCertificateRecord): JpkiCertificatesTable {
  return {
    serial: c.serial,
    kind: c.kind,
    card_id: c.cardId,
    resident_record_code: c.residentRecordCode,
    not_before: c.notBefore.toISOString(),
    not_after: c.notAfter.toISOString(),
    issued_at: c.issuedAt.toISOString(),
    status: c.status,
    held_at: c.heldAt?.toISOString() ?? null,
    revoked_at: c.revokedAt?.toISOString() ?? null,
    reason: c.reason ?? null,
    authentication_serial: c.authenticationSerial ?? null,
    replaced_by: c.replacedBy ?? null,
    certificate_der: c.certificateDer,
  };
}

function fromRow(r: JpkiCertificatesTable): JpkiCertificateRecord {
  return {
    serial: r.serial,
    kind: r.kind as JpkiKind,
    cardId: r.card_id,
    residentRecordCode: r.resident_record_code,
    notBefore: new Date(r.not_before),
    notAfter: new Date(r.not_after),
    issuedAt: new Date(r.issued_at),
    status: r.status as JpkiCertificateStatus,
    heldAt: r.held_at === null ? undefined : new Date(r.held_at),
    revokedAt: r.revoked_at === null ? undefined : new Date(r.revoked_at),
    reason: (r.reason ?? undefined) as JpkiRevocationReason | undefined,
    authenticationSerial: r.authentication_serial ?? undefined,
    replacedBy: r.replaced_by ?? undefined,
    certificateDer: new Uint8Array(r.certificate_der),
  };
}

function relyingPartyOf(r: { party_id: string; name: string; registered_at: string }): RelyingParty {
  return { partyId: r.party_id, name: r.name, registeredAt: new Date(r.registered_at) };
}
