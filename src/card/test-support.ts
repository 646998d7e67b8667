/**
 * TEST SUPPORT ONLY: a stand-in for J-LIS's JPKI certification authority (`JpkiIssuer`), so that the
 * card and its lifecycle can be tested before the real CA (branch `jpki`) is merged. It signs RSA-2048
 * certificates for the card's public keys with a self-signed RSA test CA, and remembers what it
 * issued and revoked for the tests to read. Never wired into a running node.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type {
  JpkiIssued,
  JpkiIssueRequest,
  JpkiIssuer,
  JpkiRevocationReason,
} from '../nodes/jlis/jpki/port.ts';

x509.cryptoProvider.set(webcrypto);

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

export interface TestJpkiIssuer extends JpkiIssuer {
  /** Every issuance, in order. */
  readonly issued: (JpkiIssueRequest & { serials: { signing: string; authentication: string } })[];
  /** Every revocation asked, in order. */
  readonly revocations: { cardId: string; reason: JpkiRevocationReason; which: string }[];
  /** Signing certificates issued alone (after an identity change), in order. */
  readonly signingIssued: { cardId: string; serial: string; authenticationSerial: string }[];
  /** The cards whose certificates are on hold now. */
  readonly held: Set<string>;
  /** Fail the next `issuePair` (the CA unreachable). */
  failNext: boolean;
}

export async function createTestJpkiIssuer(): Promise<TestJpkiIssuer> {
  const caKeys = await webcrypto.subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['sign', 'verify'],
  );
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Test JPKI CA (test support only)',
    keys: caKeys,
    serialNumber: '01',
    notBefore: new Date('2015-01-01T00:00:00Z'),
    notAfter: new Date('2050-01-01T00:00:00Z'),
    signingAlgorithm: RSA,
  });
  let serial = 0x1000;
  /** How many revocations had been asked when each serial was issued: only later ones touch it. */
  const revocationsAtIssue = new Map<string, number>();
  const certify = async (spki: Uint8Array, subject: string, notAfter: Date) => {
    const publicKey = await webcrypto.subtle.importKey('spki', new Uint8Array(spki), RSA, true, ['verify']);
    const serialNumber = (serial++).toString(16);
    const certificate = await x509.X509CertificateGenerator.create({
      subject,
      issuer: ca.subject,
      publicKey,
      signingKey: caKeys.privateKey,
      serialNumber,
      notBefore: new Date('2015-01-01T00:00:00Z'),
      notAfter,
      signingAlgorithm: RSA,
    });
    revocationsAtIssue.set(serialNumber, issuer.revocations.length);
    return { serial: serialNumber, certificateDer: new Uint8Array(certificate.rawData) };
  };
  const issuer: TestJpkiIssuer = {
    issued: [],
    revocations: [],
    signingIssued: [],
    held: new Set(),
    failNext: false,
    async issuePair(request): Promise<JpkiIssued> {
      if (issuer.failNext) {
        issuer.failNext = false;
        throw new Error('test issuer: unavailable');
      }
      const signing = await certify(request.signingPublicKeySpki, 'CN=signing', request.notAfter);
      const authentication = await certify(
        request.authenticationPublicKeySpki,
        'CN=authentication',
        request.notAfter,
      );
      issuer.issued.push({
        ...request,
        serials: { signing: signing.serial, authentication: authentication.serial },
      });
      return { signing, authentication };
    },
    revokeForCard(cardId, reason, which = 'both') {
      issuer.revocations.push({ cardId, reason, which });
      issuer.held.delete(cardId);
      return Promise.resolve();
    },
    holdForCard(cardId) {
      issuer.held.add(cardId);
      return Promise.resolve(['signing', 'authentication']);
    },
    releaseForCard(cardId) {
      const was = issuer.held.delete(cardId);
      return Promise.resolve(was ? ['signing', 'authentication'] : []);
    },
    async issueSigning(request) {
      const signing = await certify(request.signingPublicKeySpki, 'CN=signing', request.notAfter);
      issuer.signingIssued.push({
        cardId: request.cardId,
        serial: signing.serial,
        authenticationSerial: request.authenticationSerial,
      });
      return signing;
    },
    /** A serial it issued is valid until a later revocation of its card names its kind (or both). */
    certificateStatus(serial) {
      const pair = issuer.issued.find(
        (i) => i.serials.signing === serial || i.serials.authentication === serial,
      );
      const alone = issuer.signingIssued.find((i) => i.serial === serial);
      const cardId = pair?.cardId ?? alone?.cardId;
      if (cardId === undefined) return Promise.resolve(undefined);
      const kind = alone || pair?.serials.signing === serial ? 'signing' : 'authentication';
      const revoked = issuer.revocations
        .slice(revocationsAtIssue.get(serial) ?? 0)
        .some((r) => r.cardId === cardId && (r.which === 'both' || r.which === kind));
      return Promise.resolve(revoked ? 'revoked' : issuer.held.has(cardId) ? 'held' : 'valid');
    },
  };
  return issuer;
}

/** The public key of a DER certificate, for verifying a card's signature in a test. */
export async function certificatePublicKey(der: Uint8Array): Promise<webcrypto.CryptoKey> {
  return new x509.X509Certificate(der).publicKey.export(RSA, ['verify']);
}
