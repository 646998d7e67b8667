/**
 * The certificate revocation list (RFC 5280 §5): every revoked certificate of the index, signed by
 * the issuing CA, numbered, and current for LIFETIME.crlMs.
 *
 * Revoked certificates stay on the list after they expire. RFC 5280 allows dropping them, but the
 * network's list stays small (a few thousand parties), and keeping them means an old signed message
 * can still be checked against the list.
 */
import * as asn1js from 'asn1js';
import { CRL_REASON_CODES, type CertificateIndex, type CrlReason } from './ca-index.ts';
import { writePublicFile, type PkiPaths } from './files.ts';
import { LIFETIME, OID_CRL_NUMBER } from './profiles.ts';
import { SIGNING_ALGORITHM, x509 } from './x509.ts';

export async function buildCrl(args: {
  issuing: x509.X509Certificate;
  issuingKey: CryptoKey;
  index: CertificateIndex;
  crlNumber: number;
  now: Date;
}): Promise<x509.X509Crl> {
  const revoked = args.index.certificates
    .filter((c) => c.status === 'revoked' && c.revokedAt !== null)
    .map((c) => ({ serial: c.serial, revokedAt: new Date(c.revokedAt!), reason: c.reason ?? 'unspecified' }));
  return signCrl({ ...args, revoked });
}

/** One entry of a CRL: which certificate, since when, why. */
export interface RevokedEntry {
  /** Lower-case hex, as `normaliseSerial` writes it. */
  serial: string;
  revokedAt: Date;
  /** certificateHold for a certificate on hold (RFC 5280 §5.3.1): listed, and released by leaving the next CRL. */
  reason: CrlReason;
}

/**
 * Sign a CRL of `revoked` under `issuing` (any CA: the network's issuing CA, J-LIS's JPKI CAs), with
 * the cRLNumber given, current for `lifetimeMs` (a day by default). `signingAlgorithm` is the
 * issuer's: ECDSA P-256 for the network, RSASSA-PKCS1-v1_5 for JPKI.
 */
export async function signCrl(args: {
  issuing: x509.X509Certificate;
  issuingKey: CryptoKey;
  revoked: Iterable<RevokedEntry>;
  crlNumber: number;
  now: Date;
  lifetimeMs?: number;
  signingAlgorithm?: { name: string; hash: string };
}): Promise<x509.X509Crl> {
  const entries = [...args.revoked].map((c) => ({
    serialNumber: c.serial,
    revocationDate: c.revokedAt,
    // RFC 5280 §5.3.1: the reasonCode extension is absent rather than "unspecified".
    ...(c.reason !== 'unspecified' ? { reason: CRL_REASON_CODES[c.reason] } : {}),
  }));
  return x509.X509CrlGenerator.create({
    issuer: args.issuing.subjectName,
    thisUpdate: args.now,
    nextUpdate: new Date(args.now.getTime() + (args.lifetimeMs ?? LIFETIME.crlMs)),
    signingAlgorithm: args.signingAlgorithm ?? SIGNING_ALGORITHM,
    signingKey: args.issuingKey,
    entries,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(args.issuing.publicKey, false),
      new x509.Extension(OID_CRL_NUMBER, false, new asn1js.Integer({ value: args.crlNumber }).toBER()),
    ],
  });
}

/** Write the CRL as DER (`crl.der`, what HTTP serves) and PEM (`crl.pem`, what people and OpenSSL read). */
export function writeCrl(paths: PkiPaths, crl: x509.X509Crl): void {
  writePublicFile(paths.crlDer, new Uint8Array(crl.rawData));
  writePublicFile(paths.crlPem, crlPem(crl.rawData));
}

/** A CRL as PEM: OpenSSL reads only the `X509 CRL` label (RFC 7468 §5); @peculiar/x509 writes `CRL`. */
export function crlPem(der: ArrayBuffer | Uint8Array): string {
  return `${x509.PemConverter.encode(der instanceof Uint8Array ? new Uint8Array(der).buffer : der, 'X509 CRL')}\n`;
}

/** The cRLNumber of a CRL, or undefined if it carries none. */
export function crlNumberOf(crl: x509.X509Crl): bigint | undefined {
  const ext = crl.getExtension(OID_CRL_NUMBER);
  if (!ext) return undefined;
  const parsed = asn1js.fromBER(ext.value);
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Integer)) return undefined;
  return parsed.result.toBigInt();
}
