/**
 * What a node checks on a peer's certificate, and the revocation cache behind it. Two PKIs: ours,
 * and another with the very same names, as an impostor CA would have.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock, type Clock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import {
  RevocationCache,
  initPki,
  issuePartyCertificates,
  loadTrustBundle,
  parseTrustBundle,
  partyIdOf,
  pkiPaths,
  revokeCertificate,
  verifyPartyCertificate,
  type CertificateUse,
  type IssuedParty,
  type TrustBundle,
} from './index.ts';

const temp = mkdtempSync(join(tmpdir(), 'renkei-pki-verify-'));
const ours = join(temp, 'ours');
const theirs = join(temp, 'theirs');
const T0 = '2030-04-01T09:00:00Z';
const clock = fixedClock(T0);
let bundle: TrustBundle;
let chiyoda: IssuedParty;
let impostor: IssuedParty;
let firstCrl: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  await initPki({ dir: ours, clock });
  await initPki({ dir: theirs, clock });
  bundle = await loadTrustBundle(pkiPaths(ours).caBundle);
  chiyoda = await issuePartyCertificates({ dir: ours, partyId: '131016', role: 'institution', clock });
  impostor = await issuePartyCertificates({ dir: theirs, partyId: '131016', role: 'institution', clock });
  firstCrl = new Uint8Array(readFileSync(pkiPaths(ours).crlDer));
});
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const readOurCrl = () => Promise.resolve(new Uint8Array(readFileSync(pkiPaths(ours).crlDer)));

function cacheAt(at: Clock, load: () => Promise<Uint8Array> = readOurCrl): RevocationCache {
  return new RevocationCache({ load, issuing: bundle.issuing, clock: at });
}

function verify(cert: Uint8Array | string, use: CertificateUse, at: Clock = clock, revocation = cacheAt(at)) {
  return verifyPartyCertificate(cert, { bundle, clock: at, revocation, use });
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => (error instanceof RenkeiError ? error.code : String(error)),
  );
}

describe('verifyPartyCertificate', () => {
  it('accepts our party’s identity certificate for TLS and signing, naming the party from its certificate', async () => {
    for (const use of ['tls-client', 'tls-server', 'signing'] as const) {
      const party = await verify(chiyoda.identity.certificate.toString('pem'), use);
      expect(party).toMatchObject({
        partyId: '131016',
        role: 'institution',
        serial: chiyoda.identity.serial,
      });
    }
    const fromDer = await verify(new Uint8Array(chiyoda.identity.certificate.rawData), 'tls-client');
    expect(fromDer.partyId).toBe('131016');
  });

  it('accepts the encryption certificate to encrypt to', async () => {
    const party = await verify(chiyoda.encryption.certificate.toString('pem'), 'encryption');
    expect(party.partyId).toBe('131016');
  });

  it('refuses a certificate from another CA that copies our CA’s names (an impostor CA)', async () => {
    expect(impostor.identity.certificate.issuer).toBe(chiyoda.identity.certificate.issuer);
    expect(await codeOf(verify(impostor.identity.certificate.toString('pem'), 'tls-client'))).toBe(
      'ERR_CERT_UNTRUSTED',
    );
  });

  it('refuses our own CA certificates and the OCSP responder’s presented as a party', async () => {
    const paths = pkiPaths(ours);
    for (const path of [paths.issuingCert, paths.rootCert]) {
      expect(await codeOf(verify(readFileSync(path, 'utf8'), 'signing')), path).toBe('ERR_CERT_UNTRUSTED');
    }
    // Issued by our issuing CA and able to sign, but it names no party.
    expect(await codeOf(verify(readFileSync(paths.ocspCert, 'utf8'), 'signing'))).toBe('ERR_CERT_UNTRUSTED');
  });

  it('refuses bytes that are not a certificate', async () => {
    expect(await codeOf(verify(new Uint8Array([0x30, 0x82, 0xff]), 'tls-client'))).toBe('ERR_CERT_UNTRUSTED');
    expect(
      await codeOf(verify('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----', 'signing')),
    ).toBe('ERR_CERT_UNTRUSTED');
  });

  it('refuses an expired certificate, and one not yet valid', async () => {
    const pem = chiyoda.identity.certificate.toString('pem');
    expect(await codeOf(verify(pem, 'tls-client', fixedClock('2031-04-01T09:00:01Z')))).toBe(
      'ERR_CERT_EXPIRED',
    );
    expect(await codeOf(verify(pem, 'tls-client', fixedClock('2030-04-01T07:59:59Z')))).toBe(
      'ERR_CERT_NOT_YET_VALID',
    );
  });

  it('refuses the encryption certificate used as an identity, and the identity certificate to encrypt to', async () => {
    const encryption = chiyoda.encryption.certificate.toString('pem');
    for (const use of ['tls-client', 'tls-server', 'signing'] as const) {
      expect(await codeOf(verify(encryption, use)), use).toBe('ERR_CERT_WRONG_USAGE');
    }
    expect(await codeOf(verify(chiyoda.identity.certificate.toString('pem'), 'encryption'))).toBe(
      'ERR_CERT_WRONG_USAGE',
    );
  });

  it('refuses a revoked certificate once the revocation cache has refreshed, within its five-minute bound', async () => {
    const at = fixedClock(T0);
    const jlis = await issuePartyCertificates({ dir: ours, partyId: 'jlis', role: 'jlis', clock: at });
    const pem = jlis.identity.certificate.toString('pem');
    const revocation = cacheAt(at);
    await verify(pem, 'tls-client', at, revocation); // the cache fetches the CRL now

    await revokeCertificate({ dir: ours, partyId: 'jlis', reason: 'keyCompromise', clock: at });
    at.advance(5 * 60_000 - 1);
    expect((await verify(pem, 'tls-client', at, revocation)).partyId).toBe('jlis'); // still the CRL it holds
    at.advance(1);
    expect(await codeOf(verify(pem, 'tls-client', at, revocation))).toBe('ERR_CERT_REVOKED');
    expect(
      await codeOf(verify(jlis.encryption.certificate.toString('pem'), 'encryption', at, revocation)),
    ).toBe('ERR_CERT_REVOKED');
  });
});

describe('RevocationCache', () => {
  it('fails closed when it has never been able to fetch the CRL', async () => {
    const revocation = cacheAt(clock, () => Promise.reject(new Error('connection refused')));
    expect(await codeOf(revocation.statusOf(chiyoda.identity.serial))).toBe('ERR_REVOCATION_UNAVAILABLE');
  });

  it('keeps using the CRL it holds while a refresh fails, and fails closed past its nextUpdate', async () => {
    const at = fixedClock(T0);
    let reachable = true;
    const revocation = cacheAt(at, () => (reachable ? readOurCrl() : Promise.reject(new Error('timeout'))));
    expect(await revocation.statusOf(chiyoda.identity.serial)).toEqual({ revoked: false });
    reachable = false;
    at.advance(6 * 60_000);
    expect(await revocation.statusOf(chiyoda.identity.serial)).toEqual({ revoked: false });
    at.advance(86_400_000);
    expect(await codeOf(revocation.statusOf(chiyoda.identity.serial))).toBe('ERR_REVOCATION_UNAVAILABLE');
    reachable = true;
    // The CRL on disk is itself past its nextUpdate by now: still refused, until the CA signs a fresh one.
    expect(await codeOf(revocation.statusOf(chiyoda.identity.serial))).toBe('ERR_REVOCATION_UNAVAILABLE');
  });

  it('refuses a CRL signed by another CA (a forged list that hides revocations)', async () => {
    const forged = () => Promise.resolve(new Uint8Array(readFileSync(pkiPaths(theirs).crlDer)));
    expect(await codeOf(cacheAt(clock, forged).statusOf(chiyoda.identity.serial))).toBe(
      'ERR_REVOCATION_UNAVAILABLE',
    );
  });

  it('refuses an older CRL replayed after a newer one (a rollback that un-revokes)', async () => {
    const at = fixedClock(T0);
    const portal = await issuePartyCertificates({ dir: ours, partyId: 'portal', role: 'portal', clock: at });
    await revokeCertificate({ dir: ours, partyId: 'portal', reason: 'keyCompromise', clock: at });
    let replay = false;
    const revocation = cacheAt(at, () => (replay ? Promise.resolve(firstCrl) : readOurCrl()));
    expect((await revocation.statusOf(portal.identity.serial)).revoked).toBe(true);
    replay = true;
    at.advance(10 * 60_000);
    expect((await revocation.statusOf(portal.identity.serial)).revoked).toBe(true);
  });

  it('accepts the CRL as PEM as well as DER', async () => {
    const pem = () => Promise.resolve(new Uint8Array(readFileSync(pkiPaths(ours).crlPem)));
    expect(await cacheAt(clock, pem).statusOf(chiyoda.identity.serial)).toEqual({ revoked: false });
  });
});

describe('partyIdOf', () => {
  it('reads the party from the URI SubjectAltName', () => {
    expect(partyIdOf(chiyoda.identity.certificate)).toBe('131016');
    expect(partyIdOf(chiyoda.encryption.certificate.toString('pem'))).toBe('131016');
  });

  it('fails closed on a certificate that names no party, never falling back to the CN', () => {
    const responder = readFileSync(pkiPaths(ours).ocspCert, 'utf8');
    expect(() => partyIdOf(responder)).toThrow(expect.objectContaining({ code: 'ERR_CERT_UNTRUSTED' }));
    expect(() => partyIdOf(new Uint8Array([1, 2, 3]))).toThrow(
      expect.objectContaining({ code: 'ERR_CERT_UNTRUSTED' }),
    );
  });
});

describe('parseTrustBundle', () => {
  it('refuses a bundle that is not our issuing CA and root', async () => {
    const root = readFileSync(pkiPaths(ours).rootCert, 'utf8');
    const otherIssuing = readFileSync(pkiPaths(theirs).issuingCert, 'utf8');
    for (const pem of ['', root, `${otherIssuing}${root}`]) {
      expect(await codeOf(parseTrustBundle(pem))).toBe('ERR_CONFIG_INVALID');
    }
  });
});
