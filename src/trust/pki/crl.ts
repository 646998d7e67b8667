/**
 * The certificate revocation list (RFC 5280 §5): every revoked certificate of the index, signed by
 * the issuing CA, numbered, and current for LIFETIME.crlMs.
 *
 * Revoked certificates stay on the list after they expire. RFC 5280 allows dropping them, but the
 * network's list stays small (a few thousand parties), and keeping them means an old signed message
 * can still be checked against the list.
 */
import * as asn1js from 'asn1js';
import { REVOCATION_REASONS, type CertificateIndex } from './ca-index.ts';
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
  const entries = args.index.certificates
    .filter((c) => c.status === 'revoked' && c.revokedAt !== null)
    .map((c) => ({
      serialNumber: c.serial,
      revocationDate: new Date(c.revokedAt!),
      // RFC 5280 §5.3.1: the reasonCode extension is absent rather than "unspecified".
      ...(c.reason && c.reason !== 'unspecified' ? { reason: REVOCATION_REASONS[c.reason] } : {}),
    }));
  return x509.X509CrlGenerator.create({
    issuer: args.issuing.subjectName,
    thisUpdate: args.now,
    nextUpdate: new Date(args.now.getTime() + LIFETIME.crlMs),
    signingAlgorithm: SIGNING_ALGORITHM,
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
  // OpenSSL reads only the `X509 CRL` PEM label (RFC 7468 §5); @peculiar/x509 writes `CRL`.
  writePublicFile(paths.crlPem, `${x509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`);
}

/** The cRLNumber of a CRL, or undefined if it carries none. */
export function crlNumberOf(crl: x509.X509Crl): bigint | undefined {
  const ext = crl.getExtension(OID_CRL_NUMBER);
  if (!ext) return undefined;
  const parsed = asn1js.fromBER(ext.value);
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Integer)) return undefined;
  return parsed.result.toBigInt();
}
