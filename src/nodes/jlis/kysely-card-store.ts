/** The card part of J-LIS's storage adapter: `CardStore` in dialect-agnostic Kysely (migration `0005-cards`). */
import type { Generated, Kysely } from 'kysely';
import type { ErrorCode } from '../../shared/errors.ts';
import type { CardEvent, CardOperation, CardRow, CardState, CardStore, CardCertificates } from './store.ts';

export interface CardsTable {
  card_id: string;
  resident_record_code: string;
  state: string;
  state_reason: string | null;
  applied_on: string;
  issued_on: string | null;
  expires_on: string | null;
  certificates_expire_on: string | null;
  certificates: string;
  signing_serial: string | null;
  authentication_serial: string | null;
  replaces_card_id: string | null;
  updated_at: string;
  /** An operation's claim (migration 0008): its token, and until when it holds. */
  claim_token: Generated<string | null>;
  claimed_until: Generated<string | null>;
}

export interface CardEventsTable {
  id: Generated<number>;
  at: string;
  operation: string;
  card_id: string | null;
  actor: string;
  clerk_id: string | null;
  outcome: string;
  from_state: string | null;
  to_state: string | null;
  reason: string | null;
  error_code: string | null;
}

export interface CardDatabase {
  cards: CardsTable;
  card_events: CardEventsTable;
}

export function createKyselyCardStore(db: Kysely<CardDatabase>): CardStore {
  const insertEvent = (trx: Kysely<CardDatabase>, event: CardEvent) =>
    trx.insertInto('card_events').values(eventRow(event)).execute();
  const update = async (
    trx: Kysely<CardDatabase>,
    cardId: string,
    from: CardState,
    changes: Partial<CardRow>,
  ): Promise<boolean> => {
    const result = await trx
      .updateTable('cards')
      .set(changesRow(changes))
      .where('card_id', '=', cardId)
      .where('state', '=', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  };
  return {
    async insertCard(card, event) {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('cards').values(cardRow(card)).execute();
        await insertEvent(trx, event);
      });
    },

    async findCard(cardId) {
      const row = await db.selectFrom('cards').selectAll().where('card_id', '=', cardId).executeTakeFirst();
      return row && cardOf(row);
    },

    async findLiveCard(residentRecordCode) {
      const row = await db
        .selectFrom('cards')
        .selectAll()
        .where('resident_record_code', '=', residentRecordCode)
        .where('state', '!=', 'revoked')
        .executeTakeFirst();
      return row && cardOf(row);
    },

    async findReplacement(cardId) {
      const row = await db
        .selectFrom('cards')
        .selectAll()
        .where('replaces_card_id', '=', cardId)
        .executeTakeFirst();
      return row && cardOf(row);
    },

    async updateCard(cardId, from, changes, event) {
      return db.transaction().execute(async (trx) => {
        if (!(await update(trx, cardId, from, changes))) return false;
        await insertEvent(trx, event);
        return true;
      });
    },

    async replaceCard(old, replacement, event) {
      return db.transaction().execute(async (trx) => {
        if (!(await update(trx, old.cardId, old.from, old.changes))) return false;
        await insertEvent(trx, old.event);
        await trx.insertInto('cards').values(cardRow(replacement)).execute();
        await insertEvent(trx, event);
        return true;
      });
    },

    async claimCard(cardId, from, claim, now) {
      const result = await db
        .updateTable('cards')
        .set({ claim_token: claim.token, claimed_until: claim.until.toISOString() })
        .where('card_id', '=', cardId)
        .where('state', '=', from)
        .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<', now.toISOString())]))
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async releaseCard(cardId, token) {
      await db
        .updateTable('cards')
        .set({ claim_token: null, claimed_until: null })
        .where('card_id', '=', cardId)
        .where('claim_token', '=', token)
        .execute();
    },

    async recordCardEvent(event) {
      await insertEvent(db, event);
    },

    async listCardEvents(cardId, limit) {
      let query = db.selectFrom('card_events').selectAll().limit(limit);
      query =
        cardId === undefined
          ? query.orderBy('id', 'desc')
          : query.where('card_id', '=', cardId).orderBy('id', 'asc');
      return (await query.execute()).map(eventOf);
    },
  };
}

function cardRow(card: CardRow): Omit<CardsTable, 'claim_token' | 'claimed_until'> {
  return {
    card_id: card.cardId,
    resident_record_code: card.residentRecordCode,
    state: card.state,
    state_reason: card.stateReason ?? null,
    applied_on: card.appliedOn,
    issued_on: card.issuedOn ?? null,
    expires_on: card.expiresOn ?? null,
    certificates_expire_on: card.certificatesExpireOn ?? null,
    certificates: card.certificates,
    signing_serial: card.signingSerial ?? null,
    authentication_serial: card.authenticationSerial ?? null,
    replaces_card_id: card.replacesCardId ?? null,
    updated_at: card.updatedAt.toISOString(),
  };
}

/** Only the fields given: `undefined` leaves a column as it is, so a change names what it sets. */
function changesRow(changes: Partial<CardRow>): Partial<Omit<CardsTable, 'claim_token' | 'claimed_until'>> {
  const row = cardRow({
    cardId: '',
    residentRecordCode: '',
    state: 'applied',
    appliedOn: '',
    certificates: 'none',
    updatedAt: new Date(0),
    ...changes,
  });
  const keys: Record<keyof CardRow, keyof ReturnType<typeof cardRow>> = {
    cardId: 'card_id',
    residentRecordCode: 'resident_record_code',
    state: 'state',
    stateReason: 'state_reason',
    appliedOn: 'applied_on',
    issuedOn: 'issued_on',
    expiresOn: 'expires_on',
    certificatesExpireOn: 'certificates_expire_on',
    certificates: 'certificates',
    signingSerial: 'signing_serial',
    authenticationSerial: 'authentication_serial',
    replacesCardId: 'replaces_card_id',
    updatedAt: 'updated_at',
  };
  const out: Partial<Record<keyof CardsTable, unknown>> = {};
  for (const key of Object.keys(changes) as (keyof CardRow)[]) out[keys[key]] = row[keys[key]];
  return out as Partial<ReturnType<typeof cardRow>>;
}

function cardOf(row: Omit<CardsTable, 'claim_token' | 'claimed_until'>): CardRow {
  return {
    cardId: row.card_id,
    residentRecordCode: row.resident_record_code,
    state: row.state as CardState,
    stateReason: row.state_reason ?? undefined,
    appliedOn: row.applied_on,
    issuedOn: row.issued_on ?? undefined,
    expiresOn: row.expires_on ?? undefined,
    certificatesExpireOn: row.certificates_expire_on ?? undefined,
    certificates: row.certificates as CardCertificates,
    signingSerial: row.signing_serial ?? undefined,
    authenticationSerial: row.authentication_serial ?? undefined,
    replacesCardId: row.replaces_card_id ?? undefined,
    updatedAt: new Date(row.updated_at),
  };
}

function eventRow(event: CardEvent): Omit<CardEventsTable, 'id'> {
  return {
    at: event.at.toISOString(),
    operation: event.operation,
    card_id: event.cardId ?? null,
    actor: event.actor,
    clerk_id: event.clerkId ?? null,
    outcome: event.outcome,
    from_state: event.fromState ?? null,
    to_state: event.toState ?? null,
    reason: event.reason ?? null,
    error_code: event.errorCode ?? null,
  };
}

function eventOf(row: Omit<CardEventsTable, 'id'> & { id: number }): CardEvent {
  return {
    at: new Date(row.at),
    operation: row.operation as CardOperation,
    cardId: row.card_id ?? undefined,
    actor: row.actor,
    clerkId: row.clerk_id ?? undefined,
    outcome: row.outcome as CardEvent['outcome'],
    fromState: (row.from_state ?? undefined) as CardState | undefined,
    toState: (row.to_state ?? undefined) as CardState | undefined,
    reason: row.reason ?? undefined,
    errorCode: (row.error_code ?? undefined) as ErrorCode | undefined,
  };
}

/**
 * 廃止 on death, inside the identity change's transaction: the resident's card not yet revoked, if
 * any, revoked (reason `death`, its certificates marked revoked when it had any, as the change's
 * own revocation revoked them) with `event` recorded, its states filled in. The card id, or undefined.
 */
export async function revokeLiveCard(
  trx: Kysely<CardDatabase>,
  residentRecordCode: string,
  event: CardEvent,
): Promise<string | undefined> {
  const live = await trx
    .selectFrom('cards')
    .select(['card_id', 'state', 'certificates'])
    .where('resident_record_code', '=', residentRecordCode)
    .where('state', '!=', 'revoked')
    .executeTakeFirst();
  if (!live) return undefined;
  await trx
    .updateTable('cards')
    .set({
      state: 'revoked',
      state_reason: 'death',
      certificates: live.certificates === 'none' ? 'none' : 'revoked',
      updated_at: event.at.toISOString(),
    })
    .where('card_id', '=', live.card_id)
    .execute();
  await trx
    .insertInto('card_events')
    .values(
      eventRow({
        ...event,
        cardId: live.card_id,
        fromState: live.state as CardState,
        toState: 'revoked',
        reason: 'death',
      }),
    )
    .execute();
  return live.card_id;
}
