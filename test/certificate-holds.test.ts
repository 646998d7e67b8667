/**
 * Certificate holds (電子証明書の一時保留) with J-LIS's real JPKI CA, over real HTTP, on a real database
 * (and PostgreSQL with RENKEI_TEST_POSTGRES): a lost card's suspension puts both certificates on hold,
 * which the CRL, OCSP, the portal's login check and the linking service all treat as unusable; the
 * lift releases the same certificates; a card not found has them revoked for good. OpenSSL's reading
 * of a hold is in src/nodes/jlis/jpki/openssl.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_KDF, VirtualCard } from '../src/card/virtual-card.ts';
import { createJlis, jpkiStoreOf, type Jlis } from '../src/nodes/jlis/jlis.ts';
import { openJpkiAuthority, type JpkiAuthority } from '../src/nodes/jlis/jpki/authority.ts';
import { createSignedData } from '../src/nodes/jlis/jpki/cms.ts';
import { createJpkiPublicationApp } from '../src/nodes/jlis/jpki-publication.ts';
import { createKyselyJlisStore, type JlisDatabase } from '../src/nodes/jlis/kysely-store.ts';
import { migrateJlisDatabase } from '../src/nodes/jlis/migrations.ts';
import { readJpkiTrust, verifyAuthenticationSignature } from '../src/nodes/portal/service/jpki-verifier.ts';
import { createClient } from '../src/protocol/api.ts';
import type { CardIssued, CardView } from '../src/protocol/cards.ts';
import { httpTransport } from '../src/protocol/http-transport.ts';
import { checkOcsp } from '../src/protocol/ocsp-client.ts';
import { coreApi } from '../src/protocol/routes.ts';
import { fixedClock, jstDate } from '../src/shared/clock.ts';
import { nodeDatabase, openDatabase, type PostgresOption } from '../src/shared/db.ts';
import type { ErrorBody } from '../src/shared/errors.ts';
import { listen } from '../src/shared/http.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { dropTestSchemas, testPostgres } from '../src/shared/test-databases.ts';
import { x509 } from '../src/trust/pki/x509.ts';
import { deliveredCardHolder, jsonPost } from '../src/nodes/jlis/test-support.ts';

const HANAKO = {
  name: '佐藤 花子',
  nameKana: 'サトウ ハナコ',
  address: '東京都千代田区千代田1番1号',
  dateOfBirth: '1990-01-02',
  sex: 'female',
} as const;
const PIN = '1234';
const PASSWORD = 'HANAKO2026';
const BANK = 'demobank:business';

const clock = fixedClock(new Date());
const transport = httpTransport();
let dir: string;
let authority: JpkiAuthority;
let postgres: PostgresOption | undefined;
let db: Kysely<JlisDatabase>;
let jlis: Jlis;
let publication: FastifyInstance;
let url: string;
let publicationUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-holds-'));
  authority = await openJpkiAuthority({ dir: join(dir, 'jpki'), clock });
});
afterAll(async () => {
  await transport.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  postgres = testPostgres();
  rmSync(join(dir, 'jlis.sqlite'), { force: true });
  db = await openDatabase<JlisDatabase>(nodeDatabase(postgres, join(dir, 'jlis.sqlite'), 'jlis'));
  await migrateJlisDatabase(db);
  jlis = createJlis({
    store: createKyselyJlisStore(db),
    clock,
    logger: silentLogger(),
    core: createClient(coreApi, { transport, baseUrl: 'http://127.0.0.1:9', peer: 'core' }),
    numberingKey: new Uint8Array(32).fill(6),
    cardKdf: TEST_KDF,
    jpki: { authority, store: jpkiStoreOf(db) },
  });
  url = await listen(jlis.app, 0);
  publication = createJpkiPublicationApp(jlis.jpki!.certificates, authority, silentLogger());
  publicationUrl = await listen(publication, 0);
});
afterEach(async () => {
  await publication.close();
  await jlis.app.close();
  await jlis.notices.close();
  await db.destroy();
  await dropTestSchemas(postgres);
});

const post = jsonPost(() => url);

/** A resident with a delivered card: the card id, the holder's file, S and R. */
async function holder() {
  const held = await deliveredCardHolder(post, HANAKO, { pin: PIN, signingPassword: PASSWORD });
  return { ...held, card: VirtualCard.fromBytes(Buffer.from(held.archive, 'base64')) };
}

type Holder = Awaited<ReturnType<typeof holder>>;

const status = async (serial: string) => (await jlis.jpki!.certificates.find(serial))?.status;

/** The serials a CRL lists, with each entry's reason code (RFC 5280: 1 keyCompromise, 6 certificateHold). */
async function crlEntries(kind: 'signing' | 'authentication'): Promise<Map<string, number | undefined>> {
  const response = await fetch(`${publicationUrl}/jpki/v1/crl/${kind}`);
  const crl = new x509.X509Crl(new Uint8Array(await response.arrayBuffer()));
  expect(await crl.verify({ publicKey: authority.ca[kind].certificate.publicKey })).toBe(true);
  return new Map(
    crl.entries.map((e) => [
      e.serialNumber.toLowerCase().replace(/^(00)+/, ''),
      e.reason as number | undefined,
    ]),
  );
}

/** What a relying party's OCSP check says of the holder's certificate (the portal's and the bank's client). */
async function ocsp(h: Holder, kind: 'signing' | 'authentication') {
  const der =
    kind === 'authentication'
      ? (await h.card.readCertificate('authentication')).certificateDer
      : (await h.card.readCertificate('signing', PASSWORD)).certificateDer;
  return checkOcsp({
    url: `${publicationUrl}/jpki/v1/ocsp`,
    certificate: new x509.X509Certificate(der),
    issuer: authority.ca[kind].certificate,
    at: clock.now(),
  });
}

/** The Myna Portal's login check of the card (its own code): a signature over a challenge, and OCSP. */
async function portalLogin(h: Holder) {
  const trust = await readJpkiTrust(authority.bundlePem, `${publicationUrl}/jpki/v1/ocsp`);
  const message = new TextEncoder().encode(`login challenge ${clock.now().toISOString()}`);
  return verifyAuthenticationSignature({
    trust,
    der: (await h.card.readCertificate('authentication')).certificateDer,
    message,
    signature: await h.card.signWithAuthenticationKey(PIN, message),
    at: clock.now(),
  });
}

/** A consent to the bank, signed with the card's signing key (CMS SignedData), registered as the link. */
async function link(h: Holder) {
  const links = jlis.jpki!.links;
  const signedConsent = await createSignedData({
    content: new TextEncoder().encode(JSON.stringify({ relyingPartyId: BANK, purpose: '口座開設' })),
    certificate: (await h.card.readCertificate('signing', PASSWORD)).certificateDer,
    sign: (tbs) => h.card.signWithSigningKey(PASSWORD, tbs),
  });
  return links.link(BANK, { signedConsent: Buffer.from(signedConsent).toString('base64') });
}

const sToR = (S: string) => jlis.jpki!.links.authenticationSerial(BANK, { signingSerial: S });

describe('a lost card’s certificates on hold (電子証明書の一時保留)', () => {
  it('are unusable from the suspension (CRL certificateHold, OCSP revoked, portal login and S→R refuse them) and the same certificates are valid again after the lift', async () => {
    await jlis.jpki!.links.registerRelyingParty({ partyId: BANK, name: 'デモ銀行' });
    const h = await holder();
    await link(h);
    expect(await portalLogin(h)).toEqual({ serial: h.R });

    const suspended = await post<CardView>('/admin/v1/card-suspensions', {
      cardId: h.cardId,
      reason: 'loss',
    });
    expect(suspended.json).toMatchObject({ state: 'suspended', certificates: 'held' });
    expect([await status(h.S), await status(h.R)]).toEqual(['held', 'held']);
    expect((await crlEntries('signing')).get(h.S)).toBe(6);
    expect((await crlEntries('authentication')).get(h.R)).toBe(6);
    expect(await ocsp(h, 'authentication')).toMatchObject({ status: 'revoked', reason: 'certificateHold' });
    expect(await ocsp(h, 'signing')).toMatchObject({ status: 'revoked', reason: 'certificateHold' });
    await expect(portalLogin(h)).rejects.toMatchObject({ code: 'ERR_CERT_REVOKED' });
    expect(await sToR(h.S)).toMatchObject({ signingStatus: 'held', authenticationStatus: 'held' });
    // A signature made while on hold is refused by J-LIS's own check as by any relying party's.
    await expect(link(h)).rejects.toMatchObject({ code: 'ERR_CERT_REVOKED' });

    const lifted = await post<CardIssued>('/admin/v1/card-suspension-lifts', {
      cardId: h.cardId,
      card: h.archive,
      clerkId: 'clerk-09',
    });
    expect(lifted.status).toBe(200);
    expect(lifted.json.card).toMatchObject({
      state: 'delivered',
      certificates: 'valid',
      signingSerial: h.S,
      authenticationSerial: h.R,
    });
    expect(lifted.json.archive).toBe(h.archive);
    expect([await status(h.S), await status(h.R)]).toEqual(['valid', 'valid']);
    expect((await crlEntries('signing')).has(h.S)).toBe(false);
    expect((await crlEntries('authentication')).has(h.R)).toBe(false);
    expect(await ocsp(h, 'authentication')).toMatchObject({ status: 'good' });
    expect(await ocsp(h, 'signing')).toMatchObject({ status: 'good' });
    expect(await portalLogin(h)).toEqual({ serial: h.R });
    expect(await sToR(h.S)).toMatchObject({ signingStatus: 'valid', authenticationStatus: 'valid' });
    expect((await link(h)).created).toBe(false);

    const { json } = await post<CardView>('/admin/v1/card-lookups', { cardId: h.cardId });
    expect(json.events?.map((e) => [e.operation, e.outcome, e.fromState, e.toState, e.reason])).toEqual([
      ['apply', 'done', undefined, 'applied', undefined],
      ['issue', 'done', 'applied', 'issued', undefined],
      ['deliver', 'done', 'issued', 'delivered', undefined],
      ['suspend', 'done', 'delivered', 'suspended', 'loss'],
      ['lift', 'done', 'suspended', 'delivered', 'released'],
      ['show', 'done', undefined, undefined, undefined],
    ]);
  });

  it('are revoked for good (keyCompromise, dated from the hold) when the card is not found and revoked; nothing lifts them after', async () => {
    const h = await holder();
    await post('/admin/v1/card-suspensions', { cardId: h.cardId, reason: 'loss' });
    const heldAt = (await jlis.jpki!.certificates.find(h.S))!.heldAt!;
    clock.advance(3 * 86_400_000);
    const revoked = await post<CardView>('/admin/v1/card-revocations', {
      cardId: h.cardId,
      reason: 'return',
    });
    expect(revoked.json).toMatchObject({ state: 'revoked', certificates: 'revoked' });
    for (const [kind, serial] of [
      ['signing', h.S],
      ['authentication', h.R],
    ] as const) {
      expect(await jlis.jpki!.certificates.find(serial)).toMatchObject({ status: 'revoked', reason: 'loss' });
      expect(await jlis.jpki!.certificates.statusOf(kind, serial)).toEqual({
        status: 'revoked',
        revokedAt: heldAt,
        reason: 'keyCompromise',
      });
      expect((await crlEntries(kind)).get(serial)).toBe(1);
    }
    await expect(portalLogin(h)).rejects.toMatchObject({ code: 'ERR_CERT_REVOKED' });
    const lift = await post<ErrorBody>('/admin/v1/card-suspension-lifts', {
      cardId: h.cardId,
      card: h.archive,
    });
    expect([lift.status, lift.json.error.code]).toEqual([409, 'ERR_CARD_STATE']);
    expect(await status(h.R)).toBe('revoked');
  });

  it('are revoked as compromised when the lost card is reissued instead of found', async () => {
    const h = await holder();
    await post('/admin/v1/card-suspensions', { cardId: h.cardId, reason: 'loss' });
    const reissued = await post<CardIssued>('/admin/v1/card-reissues', {
      cardId: h.cardId,
      reason: 'loss',
      pin: '5555',
      signingPassword: PASSWORD,
    });
    expect(reissued.status).toBe(201);
    expect(await jlis.jpki!.certificates.find(h.R)).toMatchObject({ status: 'revoked', reason: 'loss' });
    expect(await jlis.jpki!.certificates.find(h.S)).toMatchObject({
      status: 'revoked',
      reason: 'loss',
      replacedBy: reissued.json.card.signingSerial,
    });
  });

  it('lose the signing certificate for good on a move during the hold; the lift releases the user-authentication one only', async () => {
    const h = await holder();
    await post('/admin/v1/card-suspensions', { cardId: h.cardId, reason: 'theft' });
    const moved = await post('/admin/v1/resident-changes', {
      residentRecordCode: h.residentRecordCode,
      change: 'move_in',
      effectiveDate: jstDate(clock.now()),
      address: '大阪府大阪市北区中之島1丁目3番20号',
    });
    expect(moved.status).toBe(201);
    expect(await jlis.jpki!.certificates.find(h.S)).toMatchObject({ status: 'revoked', reason: 'move' });
    const lifted = await post<CardIssued>('/admin/v1/card-suspension-lifts', {
      cardId: h.cardId,
      card: h.archive,
    });
    expect(lifted.json.card).toMatchObject({ state: 'delivered', certificates: 'valid' });
    expect([await status(h.S), await status(h.R)]).toEqual(['revoked', 'valid']);
    expect((await crlEntries('signing')).get(h.S)).toBe(3); // affiliationChanged
    expect(await portalLogin(h)).toEqual({ serial: h.R });
  });
});
