/**
 * J-LIS's JPKI CA on a real SQLite file (and PostgreSQL, a storage suite): the two certificates' profiles, what it refuses to certify,
 * revocation (by card, by an identity change), the old → new link of a reissue, the CRLs and OCSP.
 * OpenSSL's own reading of all this is `jpki/openssl.test.ts`; relying parties, `test/jpki.test.ts`.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseResidentRecordCode,
  type ResidentRecordCode,
} from '../../../domain/identifiers/resident-record-code.ts';
import { fixedClock } from '../../../shared/clock.ts';
import { openDatabase, nodeDatabase, type PostgresOption } from '../../../shared/db.ts';
import { dropTestSchemas, testPostgres } from '../../../shared/test-databases.ts';
import { silentLogger } from '../../../shared/logger.ts';
import { pkijs, x509 } from '../../../trust/pki/x509.ts';
import { openJpkiAuthority, jpkiPaths, type JpkiAuthority } from '../jpki/authority.ts';
import { createKyselyJpkiStore } from '../jpki/kysely-store.ts';
import { JPKI_LIFETIME, JPKI_OID, readFourInformation } from '../jpki/profiles.ts';
import { makeTestCard, yearsAfter, type TestCard } from '../jpki/test-support.ts';
import { createKyselyJlisStore, type JlisDatabase } from '../kysely-store.ts';
import { migrateJlisDatabase } from '../migrations.ts';
import { CRL_EXPIRED_GRACE_MS, JpkiCertificateService } from './jpki-certificates.ts';
import { ResidentService } from './residents.ts';

const clock = fixedClock(new Date());
let dir: string;
let db: Kysely<JlisDatabase>;
let authority: JpkiAuthority;
let certificates: JpkiCertificateService;
let residents: ResidentService;
let card: TestCard;
let postgres: PostgresOption | undefined;

const HANAKO = {
  name: '佐藤 花子',
  address: '東京都千代田区千代田1番1号',
  dateOfBirth: '1990-01-02',
  sex: 'female',
} as const;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-jpki-'));
  postgres = testPostgres();
  db = await openDatabase<JlisDatabase>(nodeDatabase(postgres, join(dir, 'jlis.sqlite'), 'jlis'));
  await migrateJlisDatabase(db);
  authority = await openJpkiAuthority({ dir: join(dir, 'jpki'), clock });
  const store = createKyselyJlisStore(db);
  certificates = new JpkiCertificateService({
    store: createKyselyJpkiStore(db),
    residents: store,
    authority,
    clock,
    logger: silentLogger(),
    publicationUrl: 'http://127.0.0.1:7199',
  });
  residents = new ResidentService({
    store,
    clock,
    logger: silentLogger(),
    numberingKey: new Uint8Array(32).fill(3),
    jpki: certificates,
  });
  card = await makeTestCard();
});

afterAll(async () => {
  await db.destroy();
  await dropTestSchemas(postgres);
  rmSync(dir, { recursive: true, force: true });
});

async function newResident(): Promise<ResidentRecordCode> {
  return parseResidentRecordCode((await residents.registerResident({ ...HANAKO })).residentRecordCode);
}

async function issue(residentRecordCode: string, cardId: string, with_: TestCard = card) {
  return certificates.issuePair({
    residentRecordCode,
    cardId,
    fourInformation: { ...HANAKO },
    signingPublicKeySpki: with_.signingPublicKeySpki,
    authenticationPublicKeySpki: with_.authenticationPublicKeySpki,
    notAfter: yearsAfter(clock.now(), 5),
  });
}

describe('the JPKI certification authority', () => {
  it('keeps its keys readable by J-LIS only, and opens the same CA at the next start', async () => {
    const paths = jpkiPaths(join(dir, 'jpki'));
    for (const file of [paths.root.key, paths.ca.signing.key, paths.ca.authentication.key]) {
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(statSync(paths.dir).mode & 0o777).toBe(0o700);
    const again = await openJpkiAuthority({ dir: join(dir, 'jpki'), clock });
    expect(again.ca.signing.certificate.serialNumber).toBe(authority.ca.signing.certificate.serialNumber);
    expect(again.root.signatureAlgorithm).toMatchObject({
      name: 'RSASSA-PKCS1-v1_5',
      hash: { name: 'SHA-256' },
    });
  });

  it('issues a signing certificate carrying the four information under JPKI’s OIDs, for non-repudiation', async () => {
    const issued = await issue(await newResident(), 'card-profile');
    const signing = new x509.X509Certificate(issued.signing.certificateDer);
    expect(readFourInformation(signing)).toEqual({ ...HANAKO });
    const san = Buffer.from(signing.getExtension('2.5.29.17')!.value).toString('latin1');
    // The era digit of 平成 (4) and the Gregorian date, as J-LIS's profile writes a date of birth.
    expect(san).toContain('419900102');
    const usage = signing.getExtension(x509.KeyUsagesExtension)!;
    expect(usage.usages).toBe(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation);
    expect(usage.critical).toBe(true);
    expect(signing.getExtension(x509.CertificatePolicyExtension)!.policies).toEqual([JPKI_OID.signingPolicy]);
    expect(signing.subject).not.toContain('佐藤');
    expect(signing.notAfter.getTime()).toBe(Math.floor(yearsAfter(clock.now(), 5).getTime() / 1000) * 1000);
    expect(
      await signing.verify({ publicKey: authority.ca.signing.certificate.publicKey, signatureOnly: true }),
    ).toBe(true);
    expect(signing.getExtension(x509.CRLDistributionPointsExtension)).toBeDefined();
  });

  it('issues a user-authentication certificate with no personal information at all', async () => {
    const issued = await issue(await newResident(), 'card-auth');
    const der = Buffer.from(issued.authentication.certificateDer);
    const authentication = new x509.X509Certificate(issued.authentication.certificateDer);
    expect(authentication.getExtension('2.5.29.17')).toBeNull();
    for (const value of [HANAKO.name, HANAKO.address, '19900102', '1990-01-02']) {
      expect(der.includes(Buffer.from(value, 'utf8'))).toBe(false);
    }
    expect(authentication.subject).toBe(`C=JP, CN=${issued.authentication.serial.toUpperCase()}`);
    expect(authentication.getExtension(x509.KeyUsagesExtension)!.usages).toBe(
      x509.KeyUsageFlags.digitalSignature,
    );
    expect(authentication.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    expect(authentication.issuer).toBe(authority.ca.authentication.certificate.subject);
  });

  it('refuses to certify a key that is not RSA 2048, one key twice, an unknown or deceased resident', async () => {
    const code = await newResident();
    const ec = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
    const ecSpki = new Uint8Array(await webcrypto.subtle.exportKey('spki', ec.publicKey));
    const small = await webcrypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 1024,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign'],
    );
    const smallSpki = new Uint8Array(await webcrypto.subtle.exportKey('spki', small.publicKey));
    const base = {
      residentRecordCode: code,
      cardId: 'card-refused',
      fourInformation: { ...HANAKO },
      signingPublicKeySpki: card.signingPublicKeySpki,
      authenticationPublicKeySpki: card.authenticationPublicKeySpki,
      notAfter: yearsAfter(clock.now(), 5),
    };
    const refusals = [
      [{ signingPublicKeySpki: ecSpki }, 'ERR_VALIDATION'],
      [{ authenticationPublicKeySpki: smallSpki }, 'ERR_VALIDATION'],
      [{ authenticationPublicKeySpki: card.signingPublicKeySpki }, 'ERR_VALIDATION'],
      [{ notAfter: yearsAfter(clock.now(), 6) }, 'ERR_VALIDATION'],
      [{ notAfter: new Date(clock.now().getTime() - 1000) }, 'ERR_VALIDATION'],
      [{ residentRecordCode: '12345678903' }, 'ERR_UNKNOWN_RESIDENT'],
    ] as const;
    for (const [change, expected] of refusals) {
      await expect(
        certificates.issuePair({ ...base, ...change }),
        JSON.stringify(Object.keys(change)),
      ).rejects.toMatchObject({
        code: expected,
      });
    }
    await residents.recordChange({ residentRecordCode: code, change: 'death', effectiveDate: today() });
    await expect(certificates.issuePair(base)).rejects.toMatchObject({ code: 'ERR_RESIDENT_STATE' });
  });

  it('revokes only the signing certificate on a move or a name change, and both on death', async () => {
    const moving = await newResident();
    const moved = await issue(moving, 'card-move');
    await residents.recordChange({
      residentRecordCode: moving,
      change: 'move_in',
      effectiveDate: today(),
      address: '大阪府大阪市北区中之島1丁目3番20号',
    });
    expect(await certificates.statusOf('signing', moved.signing.serial)).toMatchObject({
      status: 'revoked',
      reason: 'affiliationChanged',
    });
    expect(await certificates.statusOf('authentication', moved.authentication.serial)).toEqual({
      status: 'good',
    });

    const dying = await newResident();
    const died = await issue(dying, 'card-death');
    await residents.recordChange({ residentRecordCode: dying, change: 'death', effectiveDate: today() });
    expect(await certificates.statusOf('signing', died.signing.serial)).toMatchObject({ status: 'revoked' });
    expect(await certificates.statusOf('authentication', died.authentication.serial)).toMatchObject({
      status: 'revoked',
      reason: 'cessationOfOperation',
    });
  });

  it('revokes a lost card’s certificates, and a reissue revokes the old pair and links old to new', async () => {
    const code = await newResident();
    const first = await issue(code, 'card-lost-1');
    await certificates.revokeForCard('card-lost-1', 'loss', 'authentication');
    expect(await certificates.statusOf('authentication', first.authentication.serial)).toMatchObject({
      status: 'revoked',
      reason: 'keyCompromise',
    });
    expect(await certificates.statusOf('signing', first.signing.serial)).toEqual({ status: 'good' });
    const second = await issue(code, 'card-lost-2', await makeTestCard());
    const old = await certificates.find(first.signing.serial);
    expect(old).toMatchObject({ status: 'revoked', reason: 'reissue', replacedBy: second.signing.serial });
    expect((await certificates.find(second.signing.serial))?.authenticationSerial).toBe(
      second.authentication.serial,
    );
    // Revoking again changes nothing: the first reason and time stand.
    await certificates.revokeForCard('card-lost-1', 'request');
    expect((await certificates.find(first.signing.serial))?.reason).toBe('reissue');
  });

  it('publishes each kind’s revocations in its own CRL, signed again with the next number after a revocation', async () => {
    const code = await newResident();
    const issued = await issue(code, 'card-crl');
    const before = new x509.X509Crl(await certificates.crl('signing'));
    expect(before.findRevoked(issued.signing.serial)).toBeNull();
    await certificates.revokeForCard('card-crl', 'request', 'signing');
    const after = new x509.X509Crl(await certificates.crl('signing'));
    expect(after.findRevoked(issued.signing.serial)).not.toBeNull();
    expect(await after.verify({ publicKey: authority.ca.signing.certificate.publicKey })).toBe(true);
    expect(after.issuer).toBe(authority.ca.signing.certificate.subject);
    const authentication = new x509.X509Crl(await certificates.crl('authentication'));
    expect(authentication.findRevoked(issued.signing.serial)).toBeNull();
    expect(crlNumber(after)).toBeGreaterThan(crlNumber(before));
    // Unchanged, the CRL is served as signed until half its day has passed.
    expect(crlNumber(new x509.X509Crl(await certificates.crl('signing')))).toBe(crlNumber(after));
  });

  it('puts a card’s certificates on hold (certificateHold in the CRL and OCSP) and releases the same ones, gone from the next CRL', async () => {
    const issued = await issue(await newResident(), 'card-hold');
    expect(await certificates.holdForCard('card-hold')).toEqual(
      expect.arrayContaining(['signing', 'authentication']),
    );
    expect(await certificates.holdForCard('card-hold')).toEqual([]); // idempotent
    expect(await certificates.certificateStatus(issued.signing.serial)).toBe('held');
    const held = await certificates.statusOf('authentication', issued.authentication.serial);
    expect(held).toMatchObject({ status: 'revoked', reason: 'certificateHold' });
    const listed = new x509.X509Crl(await certificates.crl('signing'));
    expect(listed.findRevoked(issued.signing.serial)?.reason).toBe(x509.X509CrlReason.certificateHold);

    expect(await certificates.releaseForCard('card-hold')).toEqual(
      expect.arrayContaining(['signing', 'authentication']),
    );
    expect(await certificates.statusOf('authentication', issued.authentication.serial)).toEqual({
      status: 'good',
    });
    const released = new x509.X509Crl(await certificates.crl('signing'));
    expect(released.findRevoked(issued.signing.serial)).toBeNull();
    expect(crlNumber(released)).toBeGreaterThan(crlNumber(listed));
    // A revocation of a held certificate is final, dated from the hold.
    await certificates.holdForCard('card-hold');
    const heldAt = (await certificates.find(issued.signing.serial))!.heldAt!;
    await certificates.revokeForCard('card-hold', 'loss');
    expect(await certificates.releaseForCard('card-hold')).toEqual([]);
    expect(await certificates.statusOf('signing', issued.signing.serial)).toEqual({
      status: 'revoked',
      revokedAt: heldAt,
      reason: 'keyCompromise',
    });
  });

  it('drops a revoked certificate from the CRL once it has expired, after one CRL lifetime past its notAfter (RFC 5280 §3.3)', async () => {
    const later = fixedClock(clock.now());
    const service = new JpkiCertificateService({
      store: createKyselyJpkiStore(db),
      residents: createKyselyJlisStore(db),
      authority,
      clock: later,
      logger: silentLogger(),
    });
    const notAfter = new Date(later.now().getTime() + 2 * 3_600_000);
    const short = await service.issuePair({
      residentRecordCode: await newResident(),
      cardId: 'card-expiring',
      fourInformation: { ...HANAKO },
      signingPublicKeySpki: card.signingPublicKeySpki,
      authenticationPublicKeySpki: card.authenticationPublicKeySpki,
      notAfter,
    });
    await service.revokeForCard('card-expiring', 'request', 'signing');
    await service.holdForCard('card-expiring');
    const listed = async (kind: 'signing' | 'authentication', serial: string) =>
      new x509.X509Crl(await service.crl(kind)).findRevoked(serial) !== null;
    expect(await listed('signing', short.signing.serial)).toBe(true);
    expect(await listed('authentication', short.authentication.serial)).toBe(true);
    // Expired, but a CRL lifetime has not passed since: still listed (on a CRL issued after the expiry).
    later.set(new Date(notAfter.getTime() + CRL_EXPIRED_GRACE_MS - 60_000));
    expect(await listed('signing', short.signing.serial)).toBe(true);
    // The next CRL (signed again once half its lifetime has passed) no longer lists it.
    later.advance(JPKI_LIFETIME.crlMs / 2 + 1000);
    expect(await listed('signing', short.signing.serial)).toBe(false);
    expect(await listed('authentication', short.authentication.serial)).toBe(false);
    // Its record stays: OCSP still answers revoked for it.
    expect(await service.statusOf('signing', short.signing.serial)).toMatchObject({ status: 'revoked' });
  });

  it('answers OCSP for both CAs, each through its own responder, and unauthorized for another CA', async () => {
    const issued = await issue(await newResident(), 'card-ocsp');
    for (const kind of ['signing', 'authentication'] as const) {
      const der = kind === 'signing' ? issued.signing.certificateDer : issued.authentication.certificateDer;
      const answer = await certificates.respondOcsp(await ocspRequest(der, authority.ca[kind].certificate));
      const basic = basicOf(answer);
      expect((basic.tbsResponseData.responses[0]?.certStatus as asn1js.BaseBlock).idBlock.tagNumber).toBe(0); // good
      const responder = new x509.X509Certificate(basic.certs![0]!.toSchema().toBER());
      expect(responder.issuer).toBe(authority.ca[kind].certificate.subject);
    }
    const foreign = await openJpkiAuthority({ dir: join(dir, 'foreign'), clock });
    const answer = await certificates.respondOcsp(
      await ocspRequest(issued.signing.certificateDer, foreign.ca.signing.certificate),
    );
    expect(pkijs.OCSPResponse.fromBER(answer).responseStatus.valueBlock.valueDec).toBe(6); // unauthorized
  });
});

function today(): string {
  return new Date(clock.now().getTime() + 9 * 3600_000).toISOString().slice(0, 10);
}

function crlNumber(crl: x509.X509Crl): number {
  const ext = crl.getExtension('2.5.29.20')!;
  return (asn1js.fromBER(ext.value).result as asn1js.Integer).valueBlock.valueDec;
}

async function ocspRequest(certificateDer: Uint8Array, issuer: x509.X509Certificate): Promise<Uint8Array> {
  const request = new pkijs.OCSPRequest();
  await request.createForCertificate(pkijs.Certificate.fromBER(certificateDer), {
    hashAlgorithm: 'SHA-1',
    issuerCertificate: pkijs.Certificate.fromBER(issuer.rawData),
  });
  return new Uint8Array(request.toSchema(true).toBER());
}

function basicOf(answer: Uint8Array): pkijs.BasicOCSPResponse {
  const response = pkijs.OCSPResponse.fromBER(answer);
  expect(response.responseStatus.valueBlock.valueDec).toBe(0);
  return pkijs.BasicOCSPResponse.fromBER(response.responseBytes!.response.valueBlock.valueHexView);
}
