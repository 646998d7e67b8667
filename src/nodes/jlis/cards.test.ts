/**
 * The Individual Number Card's lifecycle at J-LIS over real HTTP, on a real database file, with the
 * test-support JPKI issuer standing in for the CA (src/card/test-support.ts) until the real one is
 * merged. The card files the answers carry are opened with the card module, as a holder's reader would.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestJpkiIssuer, type TestJpkiIssuer } from '../../card/test-support.ts';
import { TEST_KDF, VirtualCard } from '../../card/virtual-card.ts';
import { createClient } from '../../protocol/api.ts';
import type { CardIssued, CardView } from '../../protocol/cards.ts';
import { httpTransport } from '../../protocol/http-transport.ts';
import { coreApi } from '../../protocol/routes.ts';
import { fixedClock } from '../../shared/clock.ts';
import { nodeDatabase, openDatabase, type PostgresOption } from '../../shared/db.ts';
import type { ErrorBody } from '../../shared/errors.ts';
import { listen } from '../../shared/http.ts';
import { silentLogger } from '../../shared/logger.ts';
import { dropTestSchemas, schemaText, testPostgres } from '../../shared/test-databases.ts';
import { createJlis } from './jlis.ts';
import { createKyselyJlisStore, type JlisDatabase } from './kysely-store.ts';
import { migrateJlisDatabase } from './migrations.ts';

const YAMADA = {
  name: '山田 太郎',
  nameKana: 'ヤマダ タロウ',
  address: '新潟県三条市旭町二丁目3番1号',
  dateOfBirth: '1988-05-14',
  sex: 'male',
} as const;
const PASSWORD = 'ZQX9W7K3';

let dir: string;
let db: Kysely<JlisDatabase>;
let postgres: PostgresOption | undefined;
let jpki: TestJpkiIssuer;
let jlis: ReturnType<typeof createJlis>;
let url: string;
const clock = fixedClock('2024-06-01T00:00:00Z');
const transport = httpTransport();
afterAll(() => transport.close());

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-cards-'));
  postgres = testPostgres();
  db = await openDatabase<JlisDatabase>(nodeDatabase(postgres, join(dir, 'jlis.sqlite'), 'jlis'));
  await migrateJlisDatabase(db);
  jpki = await createTestJpkiIssuer();
  clock.set('2024-06-01T00:00:00Z');
  jlis = createJlis({
    store: createKyselyJlisStore(db),
    clock,
    logger: silentLogger(),
    // No code acquisition here: the core is never called.
    core: createClient(coreApi, { transport, baseUrl: 'http://127.0.0.1:9', peer: 'core' }),
    numberingKey: new Uint8Array(32).fill(7),
    cardIssuer: jpki,
    cardKdf: TEST_KDF,
  });
  url = await listen(jlis.app, 0);
});

afterEach(async () => {
  await jlis.app.close();
  await db.destroy();
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

async function post<T = unknown>(path: string, body: unknown): Promise<{ status: number; json: T }> {
  const response = await fetch(new URL(path, url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as T };
}

async function resident(info: Record<string, string> = YAMADA): Promise<string> {
  const { json } = await post<{ residentRecordCode: string }>('/admin/v1/residents', info);
  return json.residentRecordCode;
}

async function applied(residentRecordCode: string): Promise<string> {
  const { status, json } = await post<CardView>('/admin/v1/card-applications', {
    residentRecordCode,
    clerkId: 'clerk-01',
  });
  expect(status).toBe(201);
  return json.cardId;
}

/** A card applied for, issued and delivered: its id and the holder's file. */
async function deliveredCard(): Promise<{ cardId: string; archive: string; residentRecordCode: string }> {
  const residentRecordCode = await resident();
  const cardId = await applied(residentRecordCode);
  const issued = await post<CardIssued>('/admin/v1/card-issuances', {
    cardId,
    pin: '1234',
    signingPassword: PASSWORD,
  });
  expect(issued.status).toBe(201);
  expect((await post('/admin/v1/card-deliveries', { cardId })).status).toBe(200);
  return { cardId, archive: issued.json.archive, residentRecordCode };
}

async function events(cardId: string) {
  const { json } = await post<CardView>('/admin/v1/card-lookups', { cardId });
  return (json.events ?? []).map((e) => [e.operation, e.outcome, e.fromState, e.toState, e.errorCode]);
}

function holders(archive: string): VirtualCard {
  return VirtualCard.fromBytes(Buffer.from(archive, 'base64'));
}

describe('the card lifecycle at J-LIS', () => {
  it('takes a card from application through issuance to delivery, with its certificates from JPKI', async () => {
    const residentRecordCode = await resident();
    const cardId = await applied(residentRecordCode);
    const issued = await post<CardIssued>('/admin/v1/card-issuances', {
      cardId,
      pin: '1234',
      signingPassword: PASSWORD,
      clerkId: 'clerk-02',
    });
    expect(issued.status).toBe(201);
    expect(issued.json.card).toMatchObject({
      state: 'issued',
      issuedOn: '2024-06-01',
      expiresOn: '2034-05-14',
      certificatesExpireOn: '2029-05-14',
      certificates: 'valid',
      expired: false,
    });
    // JPKI was asked for the pair with the card's public keys, to the end of the 5th birthday (JST).
    expect(jpki.issued).toHaveLength(1);
    expect(jpki.issued[0]).toMatchObject({
      cardId,
      residentRecordCode,
      fourInformation: { name: YAMADA.name },
    });
    expect(jpki.issued[0]?.notAfter.toISOString()).toBe('2029-05-14T14:59:59.000Z');
    expect(issued.json.card.signingSerial).toBe(jpki.issued[0]?.serials.signing);

    // The card file holds the Individual Number for the PIN, the same keys JPKI certified.
    const card = holders(issued.json.archive);
    const assist = await card.readCardFaceAssist('1234');
    expect(assist).toMatchObject({ name: YAMADA.name, address: YAMADA.address });
    expect(assist.individualNumber).toMatch(/^[0-9]{12}$/);
    expect((await card.readCertificate('signing', PASSWORD)).serial).toBe(issued.json.card.signingSerial);

    const delivered = await post<CardView>('/admin/v1/card-deliveries', { cardId });
    expect(delivered.json.state).toBe('delivered');
    expect(await events(cardId)).toEqual([
      ['apply', 'done', undefined, 'applied', undefined],
      ['issue', 'done', 'applied', 'issued', undefined],
      ['deliver', 'done', 'issued', 'delivered', undefined],
      ['show', 'done', undefined, undefined, undefined],
    ]);
  });

  it('refuses a transition the card’s state does not allow with ERR_CARD_STATE, records it, and changes nothing', async () => {
    const cardId = await applied(await resident());
    const refused = await post<ErrorBody>('/admin/v1/card-deliveries', { cardId, clerkId: 'clerk-03' });
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatchObject({ code: 'ERR_CARD_STATE', details: { state: 'applied' } });
    expect((await post('/admin/v1/card-suspensions', { cardId, reason: 'loss' })).status).toBe(409);
    const { json } = await post<CardView>('/admin/v1/card-lookups', { cardId });
    expect(json.state).toBe('applied');
    expect(json.events?.[1]).toMatchObject({
      operation: 'deliver',
      outcome: 'refused',
      errorCode: 'ERR_CARD_STATE',
      clerkId: 'clerk-03',
      actor: 'unauthenticated',
    });
  });

  it('answers ERR_UNKNOWN_CARD for a card id no card has', async () => {
    const answer = await post<ErrorBody>('/admin/v1/card-deliveries', { cardId: '0123456789ABCDEF' });
    expect(answer.status).toBe(404);
    expect(answer.json.error.code).toBe('ERR_UNKNOWN_CARD');
    const recorded = await createKyselyJlisStore(db).listCardEvents(undefined, 1);
    expect(recorded[0]).toMatchObject({
      operation: 'deliver',
      outcome: 'refused',
      errorCode: 'ERR_UNKNOWN_CARD',
    });
    expect(recorded[0]?.cardId).toBeUndefined();
  });

  it('refuses a second application while the resident holds a card', async () => {
    const { residentRecordCode, cardId } = await deliveredCard();
    const answer = await post<ErrorBody>('/admin/v1/card-applications', { residentRecordCode });
    expect(answer.status).toBe(409);
    expect(answer.json.error).toMatchObject({ code: 'ERR_CARD_STATE', details: { cardId } });
  });

  it('suspends a lost card, putting both certificates on hold, and lifts it when found: the same certificates valid again', async () => {
    const { cardId, archive } = await deliveredCard();
    const serials = {
      signing: (await holders(archive).readCertificate('signing', PASSWORD)).serial,
      authentication: (await holders(archive).readCertificate('authentication')).serial,
    };
    const suspended = await post<CardView>('/admin/v1/card-suspensions', { cardId, reason: 'loss' });
    expect(suspended.json).toMatchObject({
      state: 'suspended',
      stateReason: 'loss',
      certificates: 'held',
    });
    expect(jpki.revocations).toEqual([]);
    expect(await jpki.certificateStatus(serials.authentication)).toBe('held');

    const lifted = await post<CardIssued>('/admin/v1/card-suspension-lifts', { cardId, card: archive });
    expect(lifted.status).toBe(200);
    expect(lifted.json.card).toMatchObject({
      state: 'delivered',
      certificates: 'valid',
      expiresOn: '2034-05-14',
      signingSerial: serials.signing,
      authenticationSerial: serials.authentication,
    });
    expect(lifted.json.card.stateReason).toBeUndefined();
    // No new keys: the card file comes back as it was brought, its certificates in force again.
    expect(lifted.json.archive).toBe(archive);
    expect(jpki.issued).toHaveLength(1);
    expect(jpki.revocations).toEqual([]);
    expect(await jpki.certificateStatus(serials.authentication)).toBe('valid');
    expect(await events(cardId)).toContainEqual(['lift', 'done', 'suspended', 'delivered', undefined]);
  });

  it('lifts a card suspended before holds (its certificates revoked) only with new secrets, re-keying it', async () => {
    const { cardId, archive } = await deliveredCard();
    const oldSerial = (await holders(archive).readCertificate('authentication')).serial;
    await post('/admin/v1/card-suspensions', { cardId, reason: 'loss' });
    // As a suspension left it before migration 0016-certificate-holds: the certificates revoked.
    await jpki.revokeForCard(cardId, 'loss');
    await db.updateTable('cards').set({ certificates: 'revoked' }).where('card_id', '=', cardId).execute();

    const bare = await post<ErrorBody>('/admin/v1/card-suspension-lifts', { cardId, card: archive });
    expect([bare.status, bare.json.error.code]).toEqual([409, 'ERR_CARD_STATE']);
    const lifted = await post<CardIssued>('/admin/v1/card-suspension-lifts', {
      cardId,
      card: archive,
      pin: '4321',
      signingPassword: PASSWORD,
    });
    expect(lifted.status).toBe(200);
    expect(lifted.json.card).toMatchObject({ state: 'delivered', certificates: 'valid' });
    const card = holders(lifted.json.archive);
    expect(card.cardId).toBe(cardId);
    expect((await card.readCertificate('authentication')).serial).not.toBe(oldSerial);
    expect((await card.readCardFaceAssist('4321')).name).toBe(YAMADA.name);
  });

  it('refuses to lift a suspension with another card’s file', async () => {
    const first = await deliveredCard();
    await post('/admin/v1/card-suspensions', { cardId: first.cardId, reason: 'loss' });
    const other = await post<CardIssued>('/admin/v1/card-issuances', {
      cardId: await applied(await resident({ ...YAMADA, name: '山田 花子' })),
      pin: '1111',
    });
    const answer = await post<ErrorBody>('/admin/v1/card-suspension-lifts', {
      cardId: first.cardId,
      card: other.json.archive,
      pin: '4321',
    });
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('ERR_VALIDATION');
  });

  it('revokes a card on death with its certificates, and refuses anything after', async () => {
    const { cardId } = await deliveredCard();
    const revoked = await post<CardView>('/admin/v1/card-revocations', { cardId, reason: 'death' });
    expect(revoked.json).toMatchObject({ state: 'revoked', stateReason: 'death', certificates: 'revoked' });
    expect(jpki.revocations).toEqual([{ cardId, reason: 'death', which: 'both' }]);
    for (const [path, body] of [
      ['/admin/v1/card-revocations', { cardId, reason: 'return' }],
      ['/admin/v1/card-suspensions', { cardId, reason: 'loss' }],
      ['/admin/v1/card-reissues', { cardId, reason: 'damage', pin: '1234' }],
    ] as const) {
      expect((await post(path, body)).status).toBe(409);
    }
  });

  it('revokes the card of a resident whose death is recorded, with J-LIS as the actor', async () => {
    const { cardId, residentRecordCode } = await deliveredCard();
    const death = await post('/admin/v1/resident-changes', {
      residentRecordCode,
      change: 'death',
      effectiveDate: '2024-06-01',
    });
    expect(death.status).toBe(201);
    const { json } = await post<CardView>('/admin/v1/card-lookups', { cardId });
    expect(json).toMatchObject({ state: 'revoked', stateReason: 'death', certificates: 'revoked' });
    // The certificates were revoked in J-LIS's records in the death's own transaction, not asked of
    // the issuer afterwards (identity-changes.test.ts checks them with the real CA).
    expect(jpki.revocations).toEqual([]);
    expect(json.events).toContainEqual(
      expect.objectContaining({ operation: 'revoke', actor: 'jlis', reason: 'death', toState: 'revoked' }),
    );
    expect(await events(cardId)).toContainEqual(['revoke', 'done', 'delivered', 'revoked', undefined]);
  });

  it('reissues a new card with new keys, the old one revoked with reason reissue', async () => {
    const { cardId, residentRecordCode } = await deliveredCard();
    await post('/admin/v1/card-suspensions', { cardId, reason: 'loss' });
    const reissued = await post<CardIssued>('/admin/v1/card-reissues', {
      cardId,
      reason: 'loss',
      pin: '5555',
      signingPassword: PASSWORD,
    });
    expect(reissued.status).toBe(201);
    const fresh = reissued.json.card;
    expect(fresh).toMatchObject({ state: 'issued', replacesCardId: cardId, residentRecordCode });
    expect(fresh.cardId).not.toBe(cardId);
    expect(holders(reissued.json.archive).cardId).toBe(fresh.cardId);
    const old = await post<CardView>('/admin/v1/card-lookups', { cardId });
    expect(old.json).toMatchObject({
      state: 'revoked',
      stateReason: 'reissue',
      replacedByCardId: fresh.cardId,
    });
    // Suspended: its certificates were on hold, and are revoked now as a lost card's (keyCompromise).
    expect(jpki.revocations).toEqual([{ cardId, reason: 'loss', which: 'both' }]);
  });

  it('revokes the certificates of a card in use with reason reissue when it is reissued for damage', async () => {
    const { cardId } = await deliveredCard();
    const reissued = await post<CardIssued>('/admin/v1/card-reissues', {
      cardId,
      reason: 'damage',
      pin: '5555',
    });
    // No signing password given: the holder declined the signing certificate on the new card.
    expect(jpki.revocations).toEqual([
      { cardId, reason: 'reissue', which: 'both' },
      { cardId: reissued.json.card.cardId, reason: 'request', which: 'signing' },
    ]);
  });

  it('renews a card only from three months before it expires', async () => {
    const { cardId } = await deliveredCard();
    const early = await post<ErrorBody>('/admin/v1/card-renewals', { cardId, pin: '1234' });
    expect(early.status).toBe(409);
    expect(early.json.error.details).toEqual({ renewableFrom: '2034-02-14' });
    clock.set('2034-02-14T00:00:00Z');
    const renewed = await post<CardIssued>('/admin/v1/card-renewals', {
      cardId,
      pin: '1234',
      signingPassword: PASSWORD,
    });
    expect(renewed.status).toBe(201);
    // Issued 2034-02-14 at 45: the 1st birthday after is 2034-05-14, the 10th 2043-05-14.
    expect(renewed.json.card).toMatchObject({ expiresOn: '2043-05-14', replacesCardId: cardId });
    const old = await post<CardView>('/admin/v1/card-lookups', { cardId });
    expect(old.json).toMatchObject({ state: 'revoked', stateReason: 'renewal' });
  });

  it('unlocks a locked PIN with the PIN the holder still knows, or re-keys the card when it is forgotten', async () => {
    const { cardId, archive } = await deliveredCard();
    // The holder's reader locks the PIN.
    let bytes = Buffer.from(archive, 'base64') as Uint8Array;
    const card = VirtualCard.fromBytes(bytes, (b) => (bytes = b));
    for (const pin of ['0000', '0001', '0002']) await card.readCardFace(pin).catch(() => undefined);
    await expect(card.readCardFace('1234')).rejects.toThrow(/locked/);
    const locked = Buffer.from(bytes).toString('base64');

    const wrong = await post<ErrorBody>('/admin/v1/card-pin-unlocks', {
      cardId,
      card: locked,
      which: 'pin',
      currentSecret: '9999',
    });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('ERR_WRONG_PIN');

    const unlocked = await post<CardIssued>('/admin/v1/card-pin-unlocks', {
      cardId,
      card: locked,
      which: 'pin',
      currentSecret: '1234',
    });
    expect(unlocked.status).toBe(200);
    expect((await holders(unlocked.json.archive).readCardFace('1234')).name).toBe(YAMADA.name);
    expect(jpki.issued).toHaveLength(1);

    const rekeyed = await post<CardIssued>('/admin/v1/card-pin-unlocks', {
      cardId,
      card: locked,
      which: 'pin',
      pin: '8642',
      signingPassword: PASSWORD,
    });
    expect(rekeyed.status).toBe(200);
    expect(jpki.revocations).toEqual([{ cardId, reason: 'request', which: 'both' }]);
    expect(rekeyed.json.card.authenticationSerial).toBe(jpki.issued[1]?.serials.authentication);
    expect(await holders(rekeyed.json.archive).readResidentRecordCode('8642')).toMatch(/^[0-9]{11}$/);
    expect((await events(cardId)).filter(([op]) => op === 'unlock_pin')).toEqual([
      ['unlock_pin', 'refused', undefined, undefined, 'ERR_WRONG_PIN'],
      ['unlock_pin', 'done', 'delivered', 'delivered', undefined],
      ['unlock_pin', 'done', 'delivered', 'delivered', undefined],
    ]);
  });

  it('issues no signing certificate to a holder under 15', async () => {
    const child = await resident({ ...YAMADA, name: '山田 次郎', dateOfBirth: '2012-01-10' });
    const cardId = await applied(child);
    const issued = await post<CardIssued>('/admin/v1/card-issuances', {
      cardId,
      pin: '2580',
      signingPassword: PASSWORD,
    });
    // 12 at issuance: the card and the certificates to the 5th birthday after; no signing key.
    expect(issued.json.card).toMatchObject({ expiresOn: '2029-01-10', certificatesExpireOn: '2029-01-10' });
    expect(issued.json.card.signingSerial).toBeUndefined();
    // The port issues a pair: the signing certificate is revoked at once.
    expect(jpki.revocations).toEqual([{ cardId, reason: 'request', which: 'signing' }]);
    await expect(
      holders(issued.json.archive).signWithSigningKey(PASSWORD, new Uint8Array([1])),
    ).rejects.toThrow(/no signing certificate/);
  });

  it('records a JPKI failure as failed and changes nothing', async () => {
    const cardId = await applied(await resident());
    jpki.failNext = true;
    const failed = await post<ErrorBody>('/admin/v1/card-issuances', { cardId, pin: '1234' });
    expect(failed.status).toBe(502);
    expect(failed.json.error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    const { json } = await post<CardView>('/admin/v1/card-lookups', { cardId });
    expect(json.state).toBe('applied');
    expect(json.events?.[1]).toMatchObject({
      operation: 'issue',
      outcome: 'failed',
      errorCode: 'ERR_UPSTREAM_UNAVAILABLE',
    });
  });

  it('never echoes a PIN or password it refuses', async () => {
    const cardId = await applied(await resident());
    const response = await fetch(new URL('/admin/v1/card-issuances', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cardId, pin: '98765', signingPassword: 'secret77' }),
    });
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: { code: 'ERR_VALIDATION' } });
    expect(text).not.toContain('98765');
    expect(text).not.toContain('secret77');
  });

  it('keeps no PIN, password, key or card contents in J-LIS’s database', async () => {
    const { archive } = await deliveredCard();
    await db.destroy();
    const stored =
      postgres === undefined
        ? readFileSync(join(dir, 'jlis.sqlite')).toString('latin1')
        : await schemaText(postgres, `${postgres.schemaPrefix}jlis`);
    const sealed = JSON.parse(Buffer.from(archive, 'base64').toString('utf8')) as {
      pin: { sealed: { data: string } };
    };
    expect(stored).not.toContain(PASSWORD);
    expect(stored).not.toContain(sealed.pin.sealed.data.slice(0, 40));
    expect(stored).not.toContain('PRIVATE KEY');
    db = await openDatabase<JlisDatabase>(nodeDatabase(postgres, join(dir, 'jlis.sqlite'), 'jlis'));
  });
});
