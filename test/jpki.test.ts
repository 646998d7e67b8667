/**
 * The seeds' relying-party flow (seed 002, 公的個人認証 ①–⑧) against J-LIS over real HTTPS on the
 * trust layer: a bank registered with J-LIS receives an account opening signed with a card's signing
 * certificate, verifies it, links the certificate at J-LIS with the holder's consent, learns the
 * user-authentication certificate issued with it (S→R) and so recognises the holder's later logins;
 * after a move and a reissue it asks for the newest signing certificate (old S → new S) and learns
 * that the four information changed. The card's keys are made in the test, as a card would make them;
 * J-LIS's CA issues through the port the card's lifecycle uses. Every abuse gets its stable error and
 * is recorded.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJlis, jpkiStoreOf, type Jlis } from '../src/nodes/jlis/jlis.ts';
import { openJpkiAuthority } from '../src/nodes/jlis/jpki/authority.ts';
import { createSignedData, verifySignedData } from '../src/nodes/jlis/jpki/cms.ts';
import { JPKI_SIGNING_ALGORITHM, readFourInformation } from '../src/nodes/jlis/jpki/profiles.ts';
import type { FourInformation, JpkiIssued } from '../src/nodes/jlis/jpki/port.ts';
import { makeTestCard, signer, yearsAfter, type TestCard } from '../src/nodes/jlis/jpki/test-support.ts';
import { createJpkiPublicationApp } from '../src/nodes/jlis/jpki-publication.ts';
import { createKyselyJlisStore, type JlisDatabase } from '../src/nodes/jlis/kysely-store.ts';
import { migrateJlisDatabase } from '../src/nodes/jlis/migrations.ts';
import { createClient } from '../src/protocol/api.ts';
import { httpTransport } from '../src/protocol/http-transport.ts';
import { openNodeSecurity, type OpenedNodeSecurity } from '../src/protocol/node-security.ts';
import { coreApi } from '../src/protocol/routes.ts';
import { systemClock } from '../src/shared/clock.ts';
import { nodeDatabase, openDatabase } from '../src/shared/db.ts';
import { listen } from '../src/shared/http.ts';
import { silentLogger } from '../src/shared/logger.ts';
import { initPki, issuePartyCertificates } from '../src/trust/pki/authority.ts';
import { pkiPaths } from '../src/trust/pki/files.ts';
import { x509 } from '../src/trust/pki/x509.ts';
import { attemptWith, credentialOf, type Attempt, type Credential } from './support/attacker.ts';

const dir = mkdtempSync(join(tmpdir(), 'renkei-jpki-flow-'));
const pkiDir = join(dir, 'pki');
const transport = httpTransport();
let db: Kysely<JlisDatabase>;
let security: OpenedNodeSecurity;
let jlis: Jlis;
let publication: FastifyInstance;
let base: string;
let publicationUrl: string;
let ca: string;

const BANK = 'mizuho:business';
const OTHER_BANK = 'shinsei:business';
const as: Record<string, Credential> = {};
const call = (path: string, party: string | undefined, options: Attempt = {}) =>
  attemptWith(ca, `${base}${path}`, { ...options, ...(party === undefined ? {} : { as: as[party] }) });
const json = <T>(result: { text: string }) => JSON.parse(result.text) as T;

const TARO: FourInformation = {
  name: '渡辺 太郎',
  address: '東京都新宿区西新宿2丁目8番1号',
  dateOfBirth: '1985-10-10',
  sex: 'male',
};

beforeAll(async () => {
  await initPki({ dir: pkiDir, clock: systemClock });
  await issuePartyCertificates({
    dir: pkiDir,
    partyId: 'jlis',
    role: 'jlis',
    hosts: ['localhost', '127.0.0.1'],
    clock: systemClock,
  });
  for (const [partyId, role] of [
    [BANK, 'business'],
    [OTHER_BANK, 'business'],
    ['131041', 'institution'],
    ['131041:business', 'business'],
    ['operator:registry:demo', 'operator'],
  ] as const) {
    await issuePartyCertificates({ dir: pkiDir, partyId, role, clock: systemClock });
    as[partyId] = credentialOf(pkiDir, partyId);
  }
  ca = readFileSync(pkiPaths(pkiDir).caBundle, 'utf8');
  const nodeDir = join(dir, 'jlis');
  security = await openNodeSecurity({
    security: { pkiDir, crl: { file: pkiPaths(pkiDir).crlDer } },
    partyId: 'jlis',
    nodeDir,
  });
  db = await openDatabase<JlisDatabase>(nodeDatabase(undefined, join(nodeDir, 'jlis.sqlite'), 'jlis'));
  await migrateJlisDatabase(db);
  const authority = await openJpkiAuthority({ dir: join(nodeDir, 'jpki'), clock: systemClock });
  jlis = createJlis({
    store: createKyselyJlisStore(db),
    clock: systemClock,
    logger: silentLogger(),
    core: createClient(coreApi, { transport, baseUrl: 'http://127.0.0.1:9', peer: 'core' }),
    security,
    jpki: { authority, store: jpkiStoreOf(db) },
  });
  base = (await listen(jlis.app, 0)).replace('127.0.0.1', 'localhost');
  publication = createJpkiPublicationApp(jlis.jpki!.certificates, authority, silentLogger());
  publicationUrl = await listen(publication, 0);
});

afterAll(async () => {
  await jlis.app.close();
  await publication.close();
  await security.close();
  await db.destroy();
  await transport.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The municipality numbers the resident; the card (keys made inside it) gets its two certificates. */
async function issueCard(residentRecordCode: string, cardId: string, info: FourInformation) {
  const card = await makeTestCard();
  const issued = await jlis.jpki!.certificates.issuePair({
    residentRecordCode,
    cardId,
    fourInformation: info,
    signingPublicKeySpki: card.signingPublicKeySpki,
    authenticationPublicKeySpki: card.authenticationPublicKeySpki,
    notAfter: yearsAfter(new Date(), 5),
  });
  return { card, issued };
}

/** ② The holder signs with the signing key inside the card: a CMS SignedData naming the bank. */
async function signConsent(card: TestCard, issued: JpkiIssued, relyingPartyId: string): Promise<string> {
  const content = new TextEncoder().encode(
    JSON.stringify({ relyingPartyId, purpose: '口座開設', account: { branch: '001', type: 'ordinary' } }),
  );
  const signed = await createSignedData({
    content,
    certificate: issued.signing.certificateDer,
    sign: signer(card.signing.privateKey),
  });
  return Buffer.from(signed).toString('base64');
}

describe('the relying-party flow ①–⑧ (seed 002): a bank, a card and J-LIS', () => {
  let residentRecordCode: string;
  let first: { card: TestCard; issued: JpkiIssued };
  let consent: string;
  /** The bank's own table: user-authentication serial → its customer. */
  const customers = new Map<string, string>();

  it('① a municipality numbers the resident and the card gets its certificates; an operator registers the bank', async () => {
    const registered = await call('/admin/v1/residents', '131041:business', { json: TARO });
    expect(registered.status).toBe(201);
    residentRecordCode = json<{ residentRecordCode: string }>(registered).residentRecordCode;
    first = await issueCard(residentRecordCode, 'card-1', TARO);

    const bank = await call('/admin/v1/relying-parties', 'operator:registry:demo', {
      json: { partyId: BANK, name: 'みずほ銀行' },
    });
    expect(bank.status).toBe(201);
    // Only the registry operators register relying parties.
    expect((await call('/admin/v1/relying-parties', BANK, { json: { partyId: BANK, name: 'x' } })).code).toBe(
      'ERR_CALLER_NOT_ALLOWED',
    );
    const listed = await call('/admin/v1/relying-parties', 'operator:registry:demo');
    expect(
      json<{ relyingParties: { partyId: string }[] }>(listed).relyingParties.map((p) => p.partyId),
    ).toEqual([BANK]);
  });

  it('②–④ the bank verifies the signed account opening itself: signature, chain to the JPKI root, CRL', async () => {
    consent = await signConsent(first.card, first.issued, BANK);
    const bundle = await (await fetch(`${publicationUrl}/jpki/v1/ca-bundle.pem`)).text();
    const [signingCa, , root] = x509.PemConverter.decodeWithHeaders(bundle).map(
      (p) => new x509.X509Certificate(p.rawData),
    );
    const crl = new x509.X509Crl(
      new Uint8Array(await (await fetch(`${publicationUrl}/jpki/v1/crl/signing`)).arrayBuffer()),
    );
    const verified = await verifySignedData(new Uint8Array(Buffer.from(consent, 'base64')), {
      root: root!,
      issuers: [signingCa!],
      at: new Date(),
      status: (certificate) => Promise.resolve(crl.findRevoked(certificate) ? 'revoked' : 'good'),
    });
    expect(JSON.parse(Buffer.from(verified.content).toString('utf8'))).toMatchObject({ purpose: '口座開設' });
    // The four information the bank needs for the account comes from the certificate itself.
    expect(readFourInformation(verified.certificate)).toEqual(TARO);
  });

  it('⑤ the bank registers its link to the signing certificate with the consent; J-LIS checks it', async () => {
    const linked = await call('/jpki/v1/links', BANK, { json: { signedConsent: consent } });
    expect(linked.status).toBe(201);
    expect(json<{ signingSerial: string; created: boolean }>(linked)).toMatchObject({
      signingSerial: first.issued.signing.serial,
      created: true,
    });
    const again = await call('/jpki/v1/links', BANK, { json: { signedConsent: consent } });
    expect(json<{ created: boolean }>(again).created).toBe(false);
  });

  it('⑥–⑧ S→R: the bank learns R and recognises the holder’s later logins made with the authentication key', async () => {
    const lookup = await call('/jpki/v1/authentication-serial-lookups', BANK, {
      json: { signingSerial: first.issued.signing.serial.toUpperCase() },
    });
    expect(lookup.status).toBe(200);
    const answer = json<{
      authenticationSerial: string;
      authenticationStatus: string;
      signingStatus: string;
    }>(lookup);
    expect(answer).toMatchObject({
      authenticationSerial: first.issued.authentication.serial,
      authenticationStatus: 'valid',
      signingStatus: 'valid',
    });
    customers.set(answer.authenticationSerial, 'customer-0001');

    // A later login: the bank's challenge, signed with the user-authentication key (4-digit PIN on a card).
    const challenge = webcrypto.getRandomValues(new Uint8Array(32));
    const signature = await webcrypto.subtle.sign(
      JPKI_SIGNING_ALGORITHM,
      first.card.authentication.privateKey,
      challenge,
    );
    const presented = new x509.X509Certificate(first.issued.authentication.certificateDer);
    const key = await presented.publicKey.export(JPKI_SIGNING_ALGORITHM, ['verify']);
    expect(await webcrypto.subtle.verify(JPKI_SIGNING_ALGORITHM, key, signature, challenge)).toBe(true);
    expect(customers.get(presented.serialNumber.toLowerCase())).toBe('customer-0001');
  });

  it('refuses, with stable errors, whoever may not ask, and records every refusal', async () => {
    const before = await jlis.jpki!.links.recordedEvents();
    const serial = first.issued.signing.serial;
    const lookup = (party: string | undefined, signingSerial = serial) =>
      call('/jpki/v1/authentication-serial-lookups', party, { json: { signingSerial } });
    expect((await lookup(undefined)).code).toBe('ERR_CLIENT_CERT_REQUIRED');
    expect((await lookup('operator:registry:demo')).code).toBe('ERR_CALLER_NOT_ALLOWED');
    // A party of the network that J-LIS never registered as a relying party.
    expect((await lookup(OTHER_BANK)).code).toBe('ERR_NOT_REGISTERED_RELYING_PARTY');
    expect((await lookup('131041')).code).toBe('ERR_NOT_REGISTERED_RELYING_PARTY');
    await call('/admin/v1/relying-parties', 'operator:registry:demo', {
      json: { partyId: OTHER_BANK, name: '新生銀行' },
    });
    // Registered, but asking about another relying party's link; replaying its consent; an unknown serial.
    const foreign = await lookup(OTHER_BANK);
    expect([foreign.status, foreign.code]).toEqual([403, 'ERR_CERTIFICATE_NOT_LINKED']);
    expect(
      (await call('/jpki/v1/newest-signing-lookups', OTHER_BANK, { json: { signingSerial: serial } })).code,
    ).toBe('ERR_CERTIFICATE_NOT_LINKED');
    expect((await call('/jpki/v1/links', OTHER_BANK, { json: { signedConsent: consent } })).code).toBe(
      'ERR_VALIDATION',
    );
    expect((await lookup(OTHER_BANK, '7'.repeat(32))).code).toBe('ERR_UNKNOWN_CERTIFICATE');
    // A consent whose signature does not match (the signature's last byte flipped).
    const forged = Buffer.from(consent, 'base64');
    forged[forged.length - 1] = forged[forged.length - 1]! ^ 1;
    const refused = await call('/jpki/v1/links', BANK, {
      json: { signedConsent: forged.toString('base64') },
    });
    expect(refused.code).toBe('ERR_SIGNATURE_INVALID');
    const after = await jlis.jpki!.links.recordedEvents();
    const refusals = after.slice(0, after.length - before.length).filter((e) => e.outcome === 'refused');
    // The trust layer refused the first two (no certificate, an operator's) in its own security log.
    expect(refusals.map((e) => e.errorCode).sort()).toEqual(
      [
        'ERR_NOT_REGISTERED_RELYING_PARTY',
        'ERR_NOT_REGISTERED_RELYING_PARTY',
        'ERR_CERTIFICATE_NOT_LINKED',
        'ERR_CERTIFICATE_NOT_LINKED',
        'ERR_VALIDATION',
        'ERR_UNKNOWN_CERTIFICATE',
        'ERR_SIGNATURE_INVALID',
      ].sort(),
    );
    expect(refusals.find((e) => e.errorCode === 'ERR_NOT_REGISTERED_RELYING_PARTY')?.relyingPartyId).toBe(
      '131041',
    );
  });

  it('after a move and a new card, old S → new S says the four information changed; S→R follows the new pair', async () => {
    const moved = { ...TARO, address: '大阪府大阪市北区梅田1丁目1番1号' };
    const change = await call('/admin/v1/resident-changes', '131041:business', {
      json: { residentRecordCode, change: 'move_in', effectiveDate: todayInJapan(), address: moved.address },
    });
    expect(change.status).toBe(201);
    const afterMove = json<{ replaced: boolean; signingStatus: string; revocationReason: string }>(
      await call('/jpki/v1/newest-signing-lookups', BANK, {
        json: { signingSerial: first.issued.signing.serial },
      }),
    );
    expect(afterMove).toMatchObject({ replaced: false, signingStatus: 'revoked', revocationReason: 'move' });

    const second = await issueCard(residentRecordCode, 'card-2', moved);
    const newest = await call('/jpki/v1/newest-signing-lookups', BANK, {
      json: { signingSerial: first.issued.signing.serial },
    });
    expect(newest.status).toBe(200);
    const answer = json<{
      replaced: boolean;
      newestSerial: string;
      newestStatus: string;
      newestCertificate: string;
      fourInformationChanged: boolean;
    }>(newest);
    expect(answer).toMatchObject({
      replaced: true,
      newestSerial: second.issued.signing.serial,
      newestStatus: 'valid',
      fourInformationChanged: true,
    });
    const certificate = new x509.X509Certificate(Buffer.from(answer.newestCertificate, 'base64'));
    expect(readFourInformation(certificate).address).toBe(moved.address);
    // The bank's link carried over to the new certificate: S→R now names the new card's R.
    const lookup = json<{ authenticationSerial: string }>(
      await call('/jpki/v1/authentication-serial-lookups', BANK, {
        json: { signingSerial: second.issued.signing.serial },
      }),
    );
    expect(lookup.authenticationSerial).toBe(second.issued.authentication.serial);

    // A lost card replaced by one with the same four information: replaced, nothing changed.
    await jlis.jpki!.certificates.revokeForCard('card-2', 'loss');
    const third = await issueCard(residentRecordCode, 'card-3', moved);
    const unchanged = json<{ newestSerial: string; fourInformationChanged: boolean }>(
      await call('/jpki/v1/newest-signing-lookups', BANK, {
        json: { signingSerial: second.issued.signing.serial },
      }),
    );
    expect(unchanged).toEqual(
      expect.objectContaining({ newestSerial: third.issued.signing.serial, fourInformationChanged: false }),
    );
  });
});

function todayInJapan(): string {
  return new Date(Date.now() + 9 * 3600_000).toISOString().slice(0, 10);
}
