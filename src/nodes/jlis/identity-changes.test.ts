/**
 * What an identity change does to the resident's certificates and card, with J-LIS's real JPKI CA,
 * over real HTTP, on a real database file (and PostgreSQL with RENKEI_TEST_POSTGRES): the revocation
 * committed with the change or not at all (a failure injected into it, then a restart), a correction
 * of the four information, and the card kept in use after a move (追記, a new signing certificate on
 * the same card).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { certificatePublicKey } from '../../card/test-support.ts';
import { TEST_KDF, VirtualCard } from '../../card/virtual-card.ts';
import { createClient } from '../../protocol/api.ts';
import type { CardIssued, CardView } from '../../protocol/cards.ts';
import { httpTransport } from '../../protocol/http-transport.ts';
import { coreApi } from '../../protocol/routes.ts';
import { fixedClock, jstDate } from '../../shared/clock.ts';
import { nodeDatabase, openDatabase, type PostgresOption } from '../../shared/db.ts';
import type { ErrorBody } from '../../shared/errors.ts';
import { listen } from '../../shared/http.ts';
import { silentLogger } from '../../shared/logger.ts';
import { dropTestSchemas, testPostgres } from '../../shared/test-databases.ts';
import { x509 } from '../../trust/pki/x509.ts';
import { loadCardRules, type CardRules } from './card-rules.ts';
import { createJlis, jpkiStoreOf, type Jlis } from './jlis.ts';
import { openJpkiAuthority, type JpkiAuthority } from './jpki/authority.ts';
import { readFourInformation } from './jpki/profiles.ts';
import { createKyselyJlisStore, type JlisDatabase } from './kysely-store.ts';
import { migrateJlisDatabase } from './migrations.ts';
import { deliveredCardHolder, jsonPost } from './test-support.ts';

const HANAKO = {
  name: '佐藤 花子',
  nameKana: 'サトウ ハナコ',
  address: '東京都千代田区千代田1番1号',
  dateOfBirth: '1990-01-02',
  sex: 'female',
} as const;
const NEW_ADDRESS = '大阪府大阪市北区中之島1丁目3番20号';
const PIN = '1234';
const PASSWORD = 'HANAKO2026';
const NEW_PASSWORD = 'OSAKA2026';

const clock = fixedClock(new Date());
const today = () => jstDate(clock.now());
const transport = httpTransport();
let dir: string;
let authority: JpkiAuthority;
let postgres: PostgresOption | undefined;
let db: Kysely<JlisDatabase>;
let jlis: Jlis;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-identity-changes-'));
  authority = await openJpkiAuthority({ dir: join(dir, 'jpki'), clock });
});
afterAll(async () => {
  await transport.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Start J-LIS over the database (kept between starts: a restart). */
async function start(cardRules?: CardRules): Promise<void> {
  db = await openDatabase<JlisDatabase>(nodeDatabase(postgres, join(dir, 'jlis.sqlite'), 'jlis'));
  await migrateJlisDatabase(db);
  jlis = createJlis({
    store: createKyselyJlisStore(db),
    clock,
    logger: silentLogger(),
    core: createClient(coreApi, { transport, baseUrl: 'http://127.0.0.1:9', peer: 'core' }),
    numberingKey: new Uint8Array(32).fill(5),
    cardKdf: TEST_KDF,
    ...(cardRules ? { cardRules } : {}),
    jpki: { authority, store: jpkiStoreOf(db) },
  });
  url = await listen(jlis.app, 0);
}

async function stop(): Promise<void> {
  await jlis.app.close();
  await jlis.notices.close();
  await db.destroy();
}

beforeEach(async () => {
  postgres = testPostgres();
  rmSync(join(dir, 'jlis.sqlite'), { force: true });
  await start();
});
afterEach(async () => {
  await stop();
  await dropTestSchemas(postgres);
});

const post = jsonPost(() => url);

/** A resident with a delivered card and both certificates: the card id, the holder's file, S and R. */
const holder = () => deliveredCardHolder(post, HANAKO, { pin: PIN, signingPassword: PASSWORD });

const status = async (serial: string) => (await jlis.jpki!.certificates.find(serial))?.status;
const move = (residentRecordCode: string) =>
  post<ErrorBody>('/admin/v1/resident-changes', {
    residentRecordCode,
    change: 'move_in',
    effectiveDate: today(),
    address: NEW_ADDRESS,
  });

describe('the revocation an identity change makes', () => {
  it('is committed with the change or not at all: a failed revocation leaves no change, and after a restart both agree', async () => {
    const { residentRecordCode, S } = await holder();
    // The revocation step fails (its table gone for a moment), after the history row was written.
    await db.schema.alterTable('jpki_certificates').renameTo('jpki_certificates_away').execute();
    const failed = await move(residentRecordCode);
    await db.schema.alterTable('jpki_certificates_away').renameTo('jpki_certificates').execute();
    expect(failed.status).toBe(500);

    await stop();
    await start();
    const record = await post<{ address: string }>('/admin/v1/resident-lookups', {
      residentRecordCode,
      history: true,
    });
    expect(record.json.address).toBe(HANAKO.address);
    expect(await status(S)).toBe('valid');
    const notices = await db.selectFrom('resident_notices').select('notice_id').execute();
    expect(notices).toEqual([]);

    expect((await move(residentRecordCode)).status).toBe(201);
    expect(await jlis.jpki!.certificates.find(S)).toMatchObject({ status: 'revoked', reason: 'move' });
    expect(await jlis.jpki!.certificates.statusOf('signing', S)).toMatchObject({
      status: 'revoked',
      reason: 'affiliationChanged',
    });
    const crl = new x509.X509Crl(await jlis.jpki!.certificates.crl('signing'));
    expect(crl.entries.map((e) => e.serialNumber.toLowerCase().replace(/^(00)+/, ''))).toContain(S);
  });

  it('revokes the signing certificate on a correction of the four information (reason correction), not of the reading alone', async () => {
    const { residentRecordCode, S, R } = await holder();
    const kana = await post('/admin/v1/resident-changes', {
      residentRecordCode,
      change: 'correction',
      effectiveDate: today(),
      nameKana: 'サトウ ハナ',
    });
    expect(kana.status).toBe(201);
    expect(await status(S)).toBe('valid');

    const corrected = await post('/admin/v1/resident-changes', {
      residentRecordCode,
      change: 'correction',
      effectiveDate: today(),
      dateOfBirth: '1990-01-03',
    });
    expect(corrected.status).toBe(201);
    expect(await jlis.jpki!.certificates.find(S)).toMatchObject({ status: 'revoked', reason: 'correction' });
    expect(await jlis.jpki!.certificates.statusOf('signing', S)).toMatchObject({
      reason: 'affiliationChanged',
    });
    expect(await status(R)).toBe('valid');
  });

  it('ends the card and both certificates with a death, in the same transaction', async () => {
    const { residentRecordCode, cardId, S, R } = await holder();
    const death = await post('/admin/v1/resident-changes', {
      residentRecordCode,
      change: 'death',
      effectiveDate: today(),
    });
    expect(death.status).toBe(201);
    expect([await status(S), await status(R)]).toEqual(['revoked', 'revoked']);
    const { json } = await post<CardView>('/admin/v1/card-lookups', { cardId });
    expect(json).toMatchObject({ state: 'revoked', stateReason: 'death', certificates: 'revoked' });
  });
});

describe('the card kept in use after a move (追記, a new signing certificate on the same card)', () => {
  it('writes the new address on the card, keeping the old one as 追記, and issues a new S onto it linked to the same R', async () => {
    const { residentRecordCode, cardId, archive, S, R } = await holder();
    expect((await move(residentRecordCode)).status).toBe(201);

    const endorsed = await post<CardIssued>('/admin/v1/card-endorsements', {
      cardId,
      card: archive,
      pin: PIN,
    });
    expect(endorsed.status).toBe(200);
    const card = VirtualCard.fromBytes(Buffer.from(endorsed.json.archive, 'base64'));
    const face = await card.readCardFace(PIN);
    expect(face.address).toBe(NEW_ADDRESS);
    expect(face.endorsements).toEqual([
      { endorsedOn: today(), field: 'address', previous: HANAKO.address, current: NEW_ADDRESS },
    ]);
    expect((await card.readCardFaceAssist(PIN)).address).toBe(NEW_ADDRESS);

    const signed = await post<CardIssued>('/admin/v1/signing-certificate-issuances', {
      cardId,
      card: endorsed.json.archive,
      signingPassword: NEW_PASSWORD,
    });
    expect(signed.status).toBe(201);
    const S2 = signed.json.card.signingSerial!;
    expect(S2).not.toBe(S);
    expect(signed.json.card).toMatchObject({ cardId, state: 'delivered', authenticationSerial: R });
    expect(await jlis.jpki!.certificates.find(S)).toMatchObject({ reason: 'move', replacedBy: S2 });
    expect(await jlis.jpki!.certificates.find(S2)).toMatchObject({
      status: 'valid',
      cardId,
      authenticationSerial: R,
    });
    expect(await status(R)).toBe('valid');

    // The same card: it logs in with R as before, and signs with the new key under the new password.
    const renewed = VirtualCard.fromBytes(Buffer.from(signed.json.archive, 'base64'));
    expect((await renewed.readCertificate('authentication')).serial).toBe(R);
    const certificate = await renewed.readCertificate('signing', NEW_PASSWORD);
    expect(readFourInformation(new x509.X509Certificate(certificate.certificateDer)).address).toBe(
      NEW_ADDRESS,
    );
    const data = new TextEncoder().encode('口座開設');
    const signature = await renewed.signWithSigningKey(NEW_PASSWORD, data);
    const key = await certificatePublicKey(certificate.certificateDer);
    expect(await webcrypto.subtle.verify('RSASSA-PKCS1-v1_5', key, new Uint8Array(signature), data)).toBe(
      true,
    );
    await expect(renewed.signWithSigningKey(PASSWORD, data)).rejects.toMatchObject({ code: 'ERR_WRONG_PIN' });

    const { json: shown } = await post<CardView>('/admin/v1/card-lookups', { cardId });
    expect(shown.events?.map((e) => [e.operation, e.outcome, e.reason])).toEqual(
      expect.arrayContaining([
        ['endorse', 'done', 'address'],
        ['issue_signing', 'done', undefined],
      ]),
    );
  });

  it('refuses when the record did not change, with a wrong PIN, for a card not delivered, or once the holder died', async () => {
    const { residentRecordCode, cardId, archive } = await holder();
    const unchanged = await post<ErrorBody>('/admin/v1/card-endorsements', {
      cardId,
      card: archive,
      pin: PIN,
    });
    expect([unchanged.status, unchanged.json.error.code]).toEqual([409, 'ERR_CARD_STATE']);
    const signing = await post<ErrorBody>('/admin/v1/signing-certificate-issuances', {
      cardId,
      card: archive,
      signingPassword: NEW_PASSWORD,
    });
    expect([signing.status, signing.json.error.code]).toEqual([409, 'ERR_CARD_STATE']);

    await move(residentRecordCode);
    const wrong = await post<ErrorBody>('/admin/v1/card-endorsements', {
      cardId,
      card: archive,
      pin: '9999',
    });
    expect(wrong.json.error.code).toBe('ERR_WRONG_PIN');

    await post('/admin/v1/card-suspensions', { cardId, reason: 'loss' });
    const suspended = await post<ErrorBody>('/admin/v1/card-endorsements', {
      cardId,
      card: archive,
      pin: PIN,
    });
    expect([suspended.status, suspended.json.error.code]).toEqual([409, 'ERR_CARD_STATE']);

    const other = await holder();
    await move(other.residentRecordCode);
    await post('/admin/v1/resident-changes', {
      residentRecordCode: other.residentRecordCode,
      change: 'death',
      effectiveDate: today(),
    });
    const dead = await post<ErrorBody>('/admin/v1/signing-certificate-issuances', {
      cardId: other.cardId,
      card: other.archive,
      signingPassword: NEW_PASSWORD,
    });
    expect([dead.status, dead.json.error.code]).toEqual([409, 'ERR_CARD_STATE']);

    const { json } = await post<CardView>('/admin/v1/card-lookups', { cardId });
    expect(
      json.events?.filter((e) => e.outcome === 'refused').map((e) => [e.operation, e.errorCode]),
    ).toEqual([
      ['endorse', 'ERR_CARD_STATE'],
      ['issue_signing', 'ERR_CARD_STATE'],
      ['endorse', 'ERR_WRONG_PIN'],
      ['endorse', 'ERR_CARD_STATE'],
    ]);
  });
});

describe('the expiry of a signing certificate issued onto a card three years after it', () => {
  // Hanako (born 1990-01-02) gets her card on 2027-01-10: the card to her 10th birthday after it
  // (2037-01-02), the pair to her 5th (2032-01-02). She moves on 2030-01-10; the new signing
  // certificate's own 5th birthday after its issuance is 2035-01-02.
  const CARD_ISSUED = '2027-01-10T01:00:00Z';
  const MOVED = '2030-01-10T01:00:00Z';
  const OPENSSL = '/usr/bin/openssl';

  /** The card issued on CARD_ISSUED, then moved, endorsed and given a new S on MOVED: S2 and R's records. */
  async function signingAfterMove() {
    clock.set(CARD_ISSUED);
    const { residentRecordCode, cardId, archive, R } = await holder();
    clock.set(MOVED);
    expect((await move(residentRecordCode)).status).toBe(201);
    const endorsed = await post<CardIssued>('/admin/v1/card-endorsements', {
      cardId,
      card: archive,
      pin: PIN,
    });
    const signed = await post<CardIssued>('/admin/v1/signing-certificate-issuances', {
      cardId,
      card: endorsed.json.archive,
      signingPassword: NEW_PASSWORD,
    });
    expect(signed.status).toBe(201);
    return {
      card: signed.json.card,
      signing: (await jlis.jpki!.certificates.find(signed.json.card.signingSerial!))!,
      authentication: (await jlis.jpki!.certificates.find(R))!,
    };
  }

  /** What OpenSSL reads as the certificate's notAfter (undefined where OpenSSL is absent). */
  function opensslEndDate(der: Uint8Array): Date | undefined {
    if (!existsSync(OPENSSL)) return undefined;
    const file = join(dir, 'certificate.der');
    writeFileSync(file, der);
    const output = execFileSync(OPENSSL, ['x509', '-inform', 'DER', '-noout', '-enddate', '-in', file], {
      encoding: 'utf8',
    });
    return new Date(output.trim().replace(/^notAfter=/, ''));
  }

  afterEach(() => clock.set(new Date()));

  it('ends with the card’s user-authentication certificate under the rule in force, which stays as it was', async () => {
    const { card, signing, authentication } = await signingAfterMove();
    expect(signing.notAfter).toEqual(new Date('2032-01-02T23:59:59+09:00'));
    expect(authentication).toMatchObject({
      status: 'valid',
      notAfter: new Date('2032-01-02T23:59:59+09:00'),
    });
    expect(authentication.issuedAt.toISOString()).toBe(new Date(CARD_ISSUED).toISOString());
    expect(card).toMatchObject({ expiresOn: '2037-01-02', certificatesExpireOn: '2032-01-02' });
    const end = opensslEndDate(signing.certificateDer);
    if (end) expect(end.toISOString()).toBe(signing.notAfter.toISOString());
  });

  it('runs to the 5th birthday after its own issuance under a rule that does not tie it to the other certificate', async () => {
    const rules = loadCardRules();
    await stop();
    await start({
      ...rules,
      certificateValidity: rules.certificateValidity.map((r) => ({
        ...r,
        signingWithinAuthentication: false,
      })),
    });
    const { card, signing, authentication } = await signingAfterMove();
    expect(signing.notAfter).toEqual(new Date('2035-01-02T23:59:59+09:00'));
    expect(authentication.notAfter).toEqual(new Date('2032-01-02T23:59:59+09:00'));
    expect(card.certificatesExpireOn).toBe('2032-01-02');
    const end = opensslEndDate(signing.certificateDer);
    if (end) expect(end).toEqual(signing.notAfter);
    const authenticationEnd = opensslEndDate(authentication.certificateDer);
    if (authenticationEnd) expect(authenticationEnd).toEqual(authentication.notAfter);
  });
});

describe('two re-keys of one card at once (a forgotten signing password, at two counters)', () => {
  it('lets one through and refuses the other, so that the card J-LIS records holds the certificates in force', async () => {
    const { residentRecordCode, cardId, archive } = await holder();
    const rekey = (pin: string) =>
      post<CardIssued | ErrorBody>('/admin/v1/card-pin-unlocks', {
        cardId,
        card: archive,
        which: 'password',
        pin,
        signingPassword: NEW_PASSWORD,
      });
    const answers = await Promise.all([rekey('1111'), rekey('2222')]);
    const done = answers.filter((a) => a.status === 200).map((a) => a.json as CardIssued);
    const refused = answers.filter((a) => a.status !== 200).map((a) => (a.json as ErrorBody).error.code);
    expect(done).toHaveLength(1);
    expect(refused).toEqual(['ERR_CARD_STATE']);

    const winner = done[0]!;
    const { json: recorded } = await post<CardView>('/admin/v1/card-lookups', { cardId });
    expect(recorded).toMatchObject({
      signingSerial: winner.card.signingSerial,
      authenticationSerial: winner.card.authenticationSerial,
    });
    const card = VirtualCard.fromBytes(Buffer.from(winner.archive, 'base64'));
    expect((await card.readCertificate('authentication')).serial).toBe(winner.card.authenticationSerial);
    expect([
      await status(winner.card.signingSerial!),
      await status(winner.card.authenticationSerial!),
    ]).toEqual(['valid', 'valid']);
    // One holder, one valid pair: nothing the loser made is left in force.
    const valid = await db
      .selectFrom('jpki_certificates')
      .select('serial')
      .where('resident_record_code', '=', residentRecordCode)
      .where('status', '=', 'valid')
      .execute();
    expect(valid.map((v) => v.serial).sort()).toEqual(
      [winner.card.signingSerial, winner.card.authenticationSerial].sort(),
    );
  });
});
