/**
 * Checking a peer's certificate, as every node does on every mutual-TLS connection and signed
 * message: that our issuing CA signed it, that it is in its validity period, that it was issued for
 * the use it is put to, and that it has not been revoked. A party's identity is then read from the
 * certificate, never from what the peer says.
 *
 * node:tls checks the chain itself when given `ca` and `requestCert`; this is the check that also
 * knows our profile (the party URN, the two certificate kinds) and revocation, run on
 * `socket.getPeerCertificate().raw`. Both run: TLS refuses strangers before any byte of a request
 * is read, this one decides who the peer is.
 */
import type { Clock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { PARTY_URN_PREFIX, PARTY_ROLES, isPartyId, normaliseSerial, type PartyRole } from './profiles.ts';
import type { RevocationCache } from './revocation-cache.ts';
import type { TrustBundle } from './trust-bundle.ts';
import { x509 } from './x509.ts';

/**
 * What a certificate is being used for:
 * - `tls-client` / `tls-server`: the identity certificate in a TLS handshake (digitalSignature and
 *   the clientAuth / serverAuth purpose);
 * - `signing`: the identity certificate's key verifying a signed message (digitalSignature);
 * - `encryption`: the encryption certificate's key, to encrypt an answer to (keyAgreement).
 */
export type CertificateUse = 'tls-client' | 'tls-server' | 'signing' | 'encryption';

export interface VerifyPartyOptions {
  bundle: TrustBundle;
  clock: Clock;
  revocation: RevocationCache;
  use: CertificateUse;
}

export interface VerifiedParty {
  /** From the certificate's `urn:renkei:party:` SubjectAltName. */
  partyId: string;
  /** From the certificate's OU. */
  role: PartyRole;
  serial: string;
  notAfter: Date;
  certificate: x509.X509Certificate;
}

/** The extensions our profile marks critical; a certificate with any other critical extension is refused (RFC 5280 §4.2). */
const UNDERSTOOD_CRITICAL = new Set(['2.5.29.19', '2.5.29.15', '2.5.29.37', '2.5.29.17']);

/**
 * Verify a party's certificate (DER bytes, or PEM text) for one use, and return who it names.
 *
 * Errors, in the order checked:
 * - ERR_CERT_UNTRUSTED: not a certificate; not signed by our issuing CA (another CA's, or a forged
 *   copy of ours); a critical extension we do not understand; no party identity or role in it.
 * - ERR_CERT_EXPIRED / ERR_CERT_NOT_YET_VALID: outside its validity period (or the issuing CA or
 *   root outside theirs), at `clock.now()`.
 * - ERR_CERT_WRONG_USAGE: a CA certificate, or a key usage or purpose that does not allow `use`
 *   (an encryption certificate presented for TLS, an identity certificate to encrypt to).
 * - ERR_CERT_REVOKED: on the CRL the revocation cache holds (refreshed within its bound).
 * - ERR_REVOCATION_UNAVAILABLE: no current CRL could be had.
 */
export async function verifyPartyCertificate(
  certificate: Uint8Array | string,
  options: VerifyPartyOptions,
): Promise<VerifiedParty> {
  const { bundle, clock, revocation, use } = options;
  if (!sameCertificate(revocation.issuing, bundle.issuing)) {
    throw new TypeError('the revocation cache is for another issuing CA than the bundle');
  }
  const cert = parseCertificate(certificate);

  const issuedByUs =
    sameBytes(cert.issuerName.toArrayBuffer(), bundle.issuing.subjectName.toArrayBuffer()) &&
    (await cert.verify({ publicKey: bundle.issuing.publicKey, signatureOnly: true }).catch(() => false));
  if (!issuedByUs) throw untrusted('it is not issued by the network’s issuing CA');
  if (cert.extensions.some((e) => e.critical && !UNDERSTOOD_CRITICAL.has(e.type))) {
    throw untrusted('it has a critical extension this network does not use');
  }

  const now = clock.now();
  for (const [which, c] of [
    ['root CA', bundle.root],
    ['issuing CA', bundle.issuing],
    ['certificate', cert],
  ] as const) {
    if (now < c.notBefore) {
      throw new RenkeiError('ERR_CERT_NOT_YET_VALID', `The ${which} is not valid yet.`, {
        notBefore: c.notBefore.toISOString(),
      });
    }
    if (now > c.notAfter) {
      throw new RenkeiError('ERR_CERT_EXPIRED', `The ${which} has expired.`, {
        notAfter: c.notAfter.toISOString(),
      });
    }
  }

  assertUsage(cert, use);
  const partyId = partyIdOf(cert);
  const role = roleOf(cert);
  const serial = normaliseSerial(cert.serialNumber);
  await revocation.assertNotRevoked(serial);
  return { partyId, role, serial, notAfter: cert.notAfter, certificate: cert };
}

/**
 * The party a certificate names: its one `urn:renkei:party:<id>` SubjectAltName. Reads, does not
 * verify: call it on a certificate `verifyPartyCertificate` accepted (which returns the id anyway).
 *
 * Errors: ERR_CERT_UNTRUSTED if it is not a certificate, or names no party, several, or one that is
 * not a valid party id (fails closed: never a default, never the CN).
 */
export function partyIdOf(certificate: x509.X509Certificate | Uint8Array | string): string {
  const cert = certificate instanceof x509.X509Certificate ? certificate : parseCertificate(certificate);
  let names: readonly x509.GeneralName[];
  try {
    names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  } catch {
    throw untrusted('its SubjectAltName cannot be read');
  }
  const ids = names
    .filter((n) => n.type === 'url' && n.value.startsWith(PARTY_URN_PREFIX))
    .map((n) => n.value.slice(PARTY_URN_PREFIX.length));
  const [id] = ids;
  if (ids.length !== 1 || id === undefined || !isPartyId(id))
    throw untrusted('it does not name exactly one party');
  return id;
}

function roleOf(cert: x509.X509Certificate): PartyRole {
  const ous = cert.subjectName.getField('OU');
  const role = PARTY_ROLES.find((r) => r === ous[0]);
  if (ous.length !== 1 || role === undefined) throw untrusted('it does not name one party role');
  return role;
}

function assertUsage(cert: x509.X509Certificate, use: CertificateUse): void {
  const wrong = (why: string) =>
    new RenkeiError('ERR_CERT_WRONG_USAGE', `The certificate is not for this use: ${why}.`, { use });
  if (cert.getExtension(x509.BasicConstraintsExtension)?.ca) throw wrong('it is a CA certificate');
  const keyUsage = cert.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
  const purposes = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [];
  const has = (flag: x509.KeyUsageFlags) => (keyUsage & flag) !== 0;
  if (use === 'encryption') {
    if (!has(x509.KeyUsageFlags.keyAgreement)) throw wrong('its key is not for key agreement');
    return;
  }
  if (!has(x509.KeyUsageFlags.digitalSignature)) throw wrong('its key does not sign');
  if (use === 'tls-client' && !purposes.includes(x509.ExtendedKeyUsage.clientAuth)) {
    throw wrong('it lacks the TLS client purpose');
  }
  if (use === 'tls-server' && !purposes.includes(x509.ExtendedKeyUsage.serverAuth)) {
    throw wrong('it lacks the TLS server purpose');
  }
}

function parseCertificate(certificate: Uint8Array | string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(
      typeof certificate === 'string' ? certificate : new Uint8Array(certificate),
    );
  } catch {
    throw untrusted('it cannot be read as an X.509 certificate');
  }
}

function untrusted(why: string): RenkeiError {
  return new RenkeiError('ERR_CERT_UNTRUSTED', `The certificate is not trusted: ${why}.`);
}

function sameBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function sameCertificate(a: x509.X509Certificate, b: x509.X509Certificate): boolean {
  return sameBytes(a.rawData, b.rawData);
}
