/**
 * The CA on disk: what `initPki`, `issuePartyCertificates`, `revokeCertificate` and
 * `listCertificates` write, and what they refuse. One PKI for the whole file (in a temporary
 * directory), with a fixed clock.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import {
  initPki,
  issuePartyCertificates,
  listCertificates,
  loadPki,
  partyPaths,
  pkiPaths,
  renewOcspResponder,
  revokeCertificate,
  x509,
  type IssuedParty,
} from './index.ts';
import { readIndex } from './ca-index.ts';

const temp = mkdtempSync(join(tmpdir(), 'renkei-pki-'));
const dir = join(temp, 'pki');
const clock = fixedClock('2030-04-01T09:00:00Z');
let chiyoda: IssuedParty;

beforeAll(async () => {
  await initPki({ dir, clock, publicationUrl: 'https://core.renkei.example/' });
  chiyoda = await issuePartyCertificates({
    dir,
    partyId: '131016',
    role: 'institution',
    hosts: ['localhost', '127.0.0.1', 'Chiyoda.renkei.example'],
    clock,
  });
});
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function codeOf(error: unknown): string | undefined {
  return error instanceof RenkeiError ? error.code : undefined;
}

/** Every file under `root`, recursively, as paths relative to it. */
function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((p) =>
    statSync(join(root, p)).isFile(),
  );
}

describe('initPki', () => {
  it('creates a root CA and an issuing CA under it, with the bundle verifiers load', async () => {
    const paths = pkiPaths(dir);
    const root = new x509.X509Certificate(readFileSync(paths.rootCert, 'utf8'));
    const issuing = new x509.X509Certificate(readFileSync(paths.issuingCert, 'utf8'));
    expect(await root.isSelfSigned()).toBe(true);
    expect(root.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: true, critical: true });
    expect(root.getExtension(x509.KeyUsagesExtension)?.usages).toBe(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    );
    expect(await issuing.verify({ publicKey: root.publicKey, signatureOnly: true })).toBe(true);
    expect(issuing.getExtension(x509.BasicConstraintsExtension)).toMatchObject({ ca: true, pathLength: 0 });
    expect(root.notAfter.getUTCFullYear()).toBe(2050);
    expect(issuing.notAfter.getUTCFullYear()).toBe(2040);
    const bundle = x509.PemConverter.decode(readFileSync(paths.caBundle, 'utf8'));
    expect(bundle.map((der) => new x509.X509Certificate(der).subject)).toEqual([
      issuing.subject,
      root.subject,
    ]);
  });

  it('issues a delegated OCSP responder certificate, so the core answers OCSP without the issuing CA key', async () => {
    const view = await loadPki({ dir, clock });
    const responder = (await view.ocspResponder()).certificate;
    expect(await responder.verify({ publicKey: view.issuing.publicKey, signatureOnly: true })).toBe(true);
    expect(responder.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.ocspSigning,
    ]);
    expect(responder.getExtension('1.3.6.1.5.5.7.48.1.5')).not.toBeNull();
    expect(responder.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
  });

  it('refuses to overwrite an existing PKI, leaving its root key as it was', async () => {
    const rootKey = readFileSync(pkiPaths(dir).rootKey, 'utf8');
    const error: unknown = await initPki({ dir, clock }).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('ERR_PKI_EXISTS');
    expect(readFileSync(pkiPaths(dir).rootKey, 'utf8')).toBe(rootKey);
  });

  it('writes the first CRL, number 1, signed by the issuing CA and current for a day', async () => {
    const view = await loadPki({ dir, clock });
    const crl = new x509.X509Crl(view.crl());
    expect(await crl.verify({ publicKey: view.issuing.publicKey })).toBe(true);
    expect(crl.thisUpdate).toEqual(clock.now());
    expect(crl.nextUpdate).toEqual(new Date(clock.now().getTime() + 86_400_000));
  });
});

describe('issuePartyCertificates', () => {
  it('names the party in the subject and, machine-readably, in a URI SubjectAltName beside its hosts', () => {
    const cert = chiyoda.identity.certificate;
    expect(cert.subject).toBe('O=Renkei network, OU=institution, CN=131016');
    const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
    expect(names).toEqual([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'dns', value: 'chiyoda.renkei.example' },
      { type: 'url', value: 'urn:renkei:party:131016' },
    ]);
  });

  it('gives the identity certificate digitalSignature and TLS server and client purposes', () => {
    const cert = chiyoda.identity.certificate;
    expect(cert.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ]);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
  });

  it('gives the encryption certificate keyAgreement only, no TLS purpose, and the same identity', () => {
    const cert = chiyoda.encryption.certificate;
    expect(cert.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.keyAgreement);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)).toBeNull();
    expect(cert.subject).toBe(chiyoda.identity.certificate.subject);
    expect(cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'url', value: 'urn:renkei:party:131016' },
    ]);
    expect(cert.publicKey.algorithm).toMatchObject({ name: 'ECDSA', namedCurve: 'P-256' });
  });

  it('uses random, positive 16-byte serial numbers', () => {
    for (const { serial } of [chiyoda.identity, chiyoda.encryption]) {
      expect(serial).toMatch(/^[4-7][0-9a-f]{31}$/);
    }
    expect(chiyoda.identity.serial).not.toBe(chiyoda.encryption.serial);
  });

  it('names the CRL and the OCSP responder under the publication URL', () => {
    const cert = chiyoda.identity.certificate;
    const aia = cert.getExtension(x509.AuthorityInfoAccessExtension);
    expect(aia?.ocsp.map((n) => n.value)).toEqual(['https://core.renkei.example/pki/v1/ocsp']);
    const cdp = cert.getExtension(x509.CRLDistributionPointsExtension);
    expect(JSON.stringify(cdp?.toTextObject())).toContain('https://core.renkei.example/pki/v1/crl');
  });

  it('writes the keys as PKCS#8 PEM with mode 0600, in directories of mode 0700', () => {
    const files = partyPaths(dir, '131016');
    for (const key of [files.identityKey, files.encryptionKey]) {
      expect(statSync(key).mode & 0o777).toBe(0o600);
      expect(readFileSync(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    }
    const paths = pkiPaths(dir);
    for (const key of [paths.rootKey, paths.issuingKey, paths.ocspKey])
      expect(statSync(key).mode & 0o777).toBe(0o600);
    for (const d of [
      paths.dir,
      paths.rootDir,
      paths.issuingDir,
      paths.ocspDir,
      paths.partiesDir,
      files.dir,
    ]) {
      expect(statSync(d).mode & 0o777).toBe(0o700);
    }
  });

  it('writes keys jose can use: ES256 with the identity key, ECDH-ES to the encryption certificate', async () => {
    const files = partyPaths(dir, '131016');
    const signingKey = await jose.importPKCS8(readFileSync(files.identityKey, 'utf8'), 'ES256');
    const jws = await new jose.CompactSign(new TextEncoder().encode('hello'))
      .setProtectedHeader({ alg: 'ES256' })
      .sign(signingKey);
    const verifyKey = await jose.importX509(readFileSync(files.identityCert, 'utf8'), 'ES256');
    expect(new TextDecoder().decode((await jose.compactVerify(jws, verifyKey)).payload)).toBe('hello');

    const recipient = await jose.importX509(readFileSync(files.encryptionCert, 'utf8'), 'ECDH-ES');
    const jwe = await new jose.CompactEncrypt(new TextEncoder().encode('answer'))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM' })
      .encrypt(recipient);
    const decryptionKey = await jose.importPKCS8(readFileSync(files.encryptionKey, 'utf8'), 'ECDH-ES');
    expect(new TextDecoder().decode((await jose.compactDecrypt(jwe, decryptionKey)).plaintext)).toBe(
      'answer',
    );
  });

  it('keeps the files of a person’s party id apart from any other id (operator:alice)', async () => {
    const alice = await issuePartyCertificates({ dir, partyId: 'operator:alice', role: 'operator', clock });
    expect(alice.files.dir).toBe(join(pkiPaths(dir).partiesDir, 'operator%3Aalice'));
    expect(readFileSync(alice.files.identityCert, 'utf8')).toContain('BEGIN CERTIFICATE');
  });

  it('records both certificates in the index, and on re-issue keeps the earlier ones valid', async () => {
    const again = await issuePartyCertificates({ dir, partyId: '131016', role: 'institution', clock });
    const records = readIndex(pkiPaths(dir).index).certificates.filter((c) => c.partyId === '131016');
    expect(records.map((r) => [r.serial, r.kind, r.status])).toEqual([
      [chiyoda.identity.serial, 'identity', 'valid'],
      [chiyoda.encryption.serial, 'encryption', 'valid'],
      [again.identity.serial, 'identity', 'valid'],
      [again.encryption.serial, 'encryption', 'valid'],
    ]);
    expect(records[0]).toMatchObject({
      role: 'institution',
      notBefore: '2030-04-01T08:00:00.000Z',
      notAfter: '2031-04-01T09:00:00.000Z',
      revokedAt: null,
      reason: null,
    });
    // The files now hold the new certificate.
    const onDisk = new x509.X509Certificate(readFileSync(again.files.identityCert, 'utf8'));
    expect(onDisk.serialNumber.toLowerCase()).toBe(again.identity.serial);
  });

  it('refuses a malformed party id, an unknown role and a host that is neither a name nor an address', async () => {
    for (const [partyId, role, hosts] of [
      ['../etc', 'institution', []],
      ['Chiyoda', 'institution', []],
      ['131016', 'mayor', []],
      ['131016', 'institution', ['*.renkei.example']],
      ['131016', 'institution', ['core renkei']],
    ] as const) {
      const error: unknown = await issuePartyCertificates({ dir, partyId, role, hosts, clock }).catch(
        (e: unknown) => e,
      );
      expect(codeOf(error), `${partyId} ${role} ${hosts.join()}`).toBe('ERR_VALIDATION');
    }
  });

  it('refuses a lifetime beyond the issuing CA’s', async () => {
    const error: unknown = await issuePartyCertificates({
      dir,
      partyId: 'jps',
      role: 'institution',
      validityDays: 3650,
      clock: fixedClock('2030-04-02T09:00:00Z'),
    }).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('ERR_VALIDATION');
  });

  it('says to run `renkei pki init` when there is no PKI', async () => {
    const error: unknown = await issuePartyCertificates({
      dir: join(temp, 'none'),
      partyId: 'jps',
      role: 'institution',
      clock,
    }).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('ERR_NO_PKI');
    expect((error as Error).message).toContain('renkei pki init');
  });
});

describe('revokeCertificate', () => {
  it('marks a certificate revoked with time and reason, and publishes a CRL with the next number listing it', async () => {
    const jlis = await issuePartyCertificates({ dir, partyId: 'jlis', role: 'jlis', clock });
    const before = readIndex(pkiPaths(dir).index).crlNumber;
    clock.advance(60_000);
    // OpenSSL's form of the serial: upper case with colons.
    const serial = jlis.identity.serial.toUpperCase().replace(/(..)(?!$)/g, '$1:');
    const result = await revokeCertificate({ dir, serial, reason: 'keyCompromise', clock });
    expect(result.revoked.map((r) => r.serial)).toEqual([jlis.identity.serial]);
    expect(result.crlNumber).toBe(before + 1);

    const record = readIndex(pkiPaths(dir).index).certificates.find((c) => c.serial === jlis.identity.serial);
    expect(record).toMatchObject({
      status: 'revoked',
      revokedAt: clock.now().toISOString(),
      reason: 'keyCompromise',
    });
    const view = await loadPki({ dir, clock });
    const crl = new x509.X509Crl(view.crl());
    expect(crl.findRevoked(jlis.identity.serial)?.reason).toBe(x509.X509CrlReason.keyCompromise);
    expect(crl.findRevoked(jlis.encryption.serial)).toBeNull();
    expect(view.statusOf(jlis.identity.serial)).toMatchObject({ status: 'revoked', reason: 'keyCompromise' });
    expect(view.statusOf(jlis.encryption.serial).status).toBe('good');
  });

  it('revokes every certificate of a party, earlier ones included, and leaves a revoked one as it was', async () => {
    const first = await issuePartyCertificates({ dir, partyId: 'portal', role: 'portal', clock });
    await issuePartyCertificates({ dir, partyId: 'portal', role: 'portal', clock });
    await revokeCertificate({ dir, serial: first.identity.serial, reason: 'superseded', clock });
    const result = await revokeCertificate({ dir, partyId: 'portal', reason: 'cessationOfOperation', clock });
    expect(result.revoked).toHaveLength(3);
    expect(result.alreadyRevoked.map((r) => [r.serial, r.reason])).toEqual([
      [first.identity.serial, 'superseded'],
    ]);
    const again = await revokeCertificate({ dir, partyId: 'portal', reason: 'keyCompromise', clock });
    expect(again.revoked).toEqual([]);
    expect(again.crlNumber).toBe(result.crlNumber);
  });

  it('refuses an unknown reason, serial or party with a stable code', async () => {
    const cases = [
      () => revokeCertificate({ dir, partyId: '131016', reason: 'certificateHold', clock }),
      () => revokeCertificate({ dir, serial: 'not-hex', reason: 'superseded', clock }),
      () => revokeCertificate({ dir, serial: '7fffffff', reason: 'superseded', clock }),
      () => revokeCertificate({ dir, partyId: '999999', reason: 'superseded', clock }),
    ];
    const codes = await Promise.all(cases.map((c) => c().then(() => undefined, codeOf)));
    expect(codes).toEqual([
      'ERR_VALIDATION',
      'ERR_VALIDATION',
      'ERR_UNKNOWN_CERTIFICATE',
      'ERR_UNKNOWN_CERTIFICATE',
    ]);
  });
});

describe('listCertificates', () => {
  it('shows a certificate as expired once past its notAfter, and a revoked one as revoked', () => {
    const later = fixedClock('2031-06-01T00:00:00Z');
    const listed = listCertificates({ dir, clock: later });
    expect(listed.find((c) => c.serial === chiyoda.identity.serial)?.status).toBe('expired');
    expect(listed.filter((c) => c.partyId === 'portal').every((c) => c.status === 'revoked')).toBe(true);
    expect(listCertificates({ dir, clock }).find((c) => c.serial === chiyoda.identity.serial)?.status).toBe(
      'valid',
    );
  });
});

describe('renewOcspResponder', () => {
  it('gives the responder a new key and certificate, which a loaded view then answers with', async () => {
    const view = await loadPki({ dir, clock });
    const before = await view.ocspResponder();
    const renewed = await renewOcspResponder({ dir, clock });
    const after = await view.ocspResponder();
    expect(after.certificate.serialNumber).toBe(renewed.serialNumber);
    expect(renewed.serialNumber).not.toBe(before.certificate.serialNumber);
    expect(Buffer.from(after.certificate.publicKey.rawData)).not.toEqual(
      Buffer.from(before.certificate.publicKey.rawData),
    );
    const responders = readIndex(pkiPaths(dir).index).certificates.filter((c) => c.kind === 'ocsp-responder');
    expect(responders.map((c) => c.status)).toEqual(['valid', 'valid']);
  });
});

describe('private keys', () => {
  it('never appear in the index, the CRL, the bundle or any certificate file', () => {
    const keys = filesUnder(dir)
      .filter((p) => p.endsWith('key.pem'))
      .map((p) => readFileSync(join(dir, p), 'utf8'));
    expect(keys.length).toBeGreaterThanOrEqual(9);
    const keyBodies = keys.map((k) => k.split('\n').slice(1, -2).join(''));
    const others = filesUnder(dir).filter((p) => !p.endsWith('key.pem') && !p.endsWith('.lock'));
    expect(others).toEqual(
      expect.arrayContaining(['index.json', 'crl.der', 'crl.pem', 'ca-bundle.pem', 'pki.json']),
    );
    for (const path of others) {
      const text = readFileSync(join(dir, path), 'latin1');
      expect(text, path).not.toContain('PRIVATE KEY');
      for (const body of keyBodies) expect(text.replace(/\n/g, ''), path).not.toContain(body);
    }
  });

  it('are written only as files named *key.pem: the CRL and index files sit beside none', () => {
    const top = readdirSync(dir);
    expect(top.filter((f) => /key/i.test(f))).toEqual([]);
  });
});
