/**
 * What each certificate of the network says: names, extensions and lifetimes, one profile per kind.
 * Kept apart from the code that signs, so a reviewer can read the whole certificate policy here.
 */
import { isIP } from 'node:net';
import { RenkeiError } from '../../shared/errors.ts';
import { x509 } from './x509.ts';

/** The roles a party of the network can hold; written into the certificate's OU. */
export const PARTY_ROLES = ['core', 'jlis', 'institution', 'portal', 'operator', 'business'] as const;
export type PartyRole = (typeof PARTY_ROLES)[number];

/** The two certificates every party holds. */
export type PartyCertificateKind = 'identity' | 'encryption';
/** Every kind of certificate the issuing CA signs, as the index records it. */
export type IssuedKind = PartyCertificateKind | 'ocsp-responder';

/** The organisation in every subject name. */
export const ORGANISATION = 'Renkei network';

/** The URI SAN prefix that carries a party's identity: `urn:renkei:party:131016`. */
export const PARTY_URN_PREFIX = 'urn:renkei:party:';

/**
 * A party id: lower-case letters, digits, `.`, `_` and `-`, in up to three `:`-separated segments
 * (`131016`, `jps`, `core`, `operator:alice`, `131016:clerk-1`), at most 64 characters. Narrow on
 * purpose: the id is a directory name, a URN and a CN, and must mean one thing in all three.
 */
const PARTY_ID = /^[a-z0-9][a-z0-9._-]*(?::[a-z0-9][a-z0-9._-]*){0,2}$/;

export function isPartyId(value: string): boolean {
  return value.length <= 64 && PARTY_ID.test(value);
}

/** ERR_VALIDATION unless `value` is a party id. */
export function assertPartyId(value: string): void {
  if (!isPartyId(value)) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      'A party id is lower-case letters, digits, ".", "_" and "-", in up to three ":"-separated parts (e.g. 131016, core, operator:alice), at most 64 characters.',
      { field: 'partyId' },
    );
  }
}

/** ERR_VALIDATION unless `value` is one of PARTY_ROLES. */
export function assertPartyRole(value: string): asserts value is PartyRole {
  if (!(PARTY_ROLES as readonly string[]).includes(value)) {
    throw new RenkeiError('ERR_VALIDATION', `A role is one of: ${PARTY_ROLES.join(', ')}.`, {
      field: 'role',
    });
  }
}

/** A host for a SubjectAltName: an IP address, or a DNS name (`localhost`, `core.renkei.example`). */
const DNS_NAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** The SubjectAltName entries for `hosts`; ERR_VALIDATION naming the first that is neither an IP nor a DNS name. */
export function hostNames(hosts: readonly string[]): x509.JsonGeneralName[] {
  return hosts.map((host) => {
    if (isIP(host) !== 0) return { type: 'ip', value: host };
    const name = host.toLowerCase();
    if (DNS_NAME.test(name)) return { type: 'dns', value: name };
    throw new RenkeiError(
      'ERR_VALIDATION',
      'A host is an IP address or a DNS name (wildcards are not issued).',
      {
        field: 'hosts',
        host,
      },
    );
  });
}

export const ROOT_NAME: x509.JsonName = [{ O: [ORGANISATION] }, { CN: ['Renkei network root CA'] }];
export const ISSUING_NAME: x509.JsonName = [{ O: [ORGANISATION] }, { CN: ['Renkei network issuing CA'] }];
export const OCSP_RESPONDER_NAME: x509.JsonName = [
  { O: [ORGANISATION] },
  { CN: ['Renkei network OCSP responder'] },
];

/** `O=Renkei network, OU=<role>, CN=<partyId>`: most general first, as DER orders it. */
export function partyName(partyId: string, role: PartyRole): x509.JsonName {
  return [{ O: [ORGANISATION] }, { OU: [role] }, { CN: [partyId] }];
}

const DAY_MS = 86_400_000;

/** Lifetimes. The root outlives the issuing CA, which outlives anything it issues. */
export const LIFETIME = {
  rootDays: 20 * 365,
  issuingDays: 10 * 365,
  /** The OCSP responder's certificate carries id-pkix-ocsp-nocheck, so it cannot be revoked in effect: keep it short. */
  ocspResponderDays: 365,
  partyDays: 365,
  /** How long a CRL is current: verifiers refuse to rely on one past its nextUpdate. */
  crlMs: DAY_MS,
} as const;

/**
 * Certificates start one hour before they are made, so a party whose clock is a little behind the
 * CA's does not refuse a certificate issued a moment ago. We considered no allowance (a fresh
 * certificate then fails on any machine whose clock lags) and a day (needlessly wide).
 */
export const BACKDATE_MS = 3_600_000;

export function validity(now: Date, days: number): { notBefore: Date; notAfter: Date } {
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
  };
}

/**
 * A random serial: 16 bytes, positive and without a leading zero byte (first byte 0x40–0x7f), so
 * 126 random bits, well above the 64 the CA/Browser Forum asks for, and always 32 hex digits.
 */
export function randomSerial(random: (size: number) => Uint8Array): string {
  const bytes = random(16);
  if (bytes.length !== 16) throw new TypeError('random(16) must return 16 bytes');
  bytes[0] = (bytes[0]! & 0x3f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}

/**
 * A serial number as people and tools write it (`4A:1B…`, `0x4a1b…`, upper case, leading zeros), in
 * the one form the index uses: lower-case hex without separators or leading zero bytes.
 * ERR_VALIDATION if it is not hex at all.
 */
export function normaliseSerial(text: string): string {
  const hex = text.trim().replace(/^0x/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 64) {
    throw new RenkeiError('ERR_VALIDATION', 'A serial number is written in hexadecimal digits.', {
      field: 'serial',
    });
  }
  const stripped = hex.replace(/^(?:00)+(?=[0-9a-f])/, '');
  return stripped.length % 2 === 1 ? `0${stripped}` : stripped;
}

/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): a client need not check the responder's own status. */
export const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';
/** cRLNumber (RFC 5280 §5.2.3). */
export const OID_CRL_NUMBER = '2.5.29.20';

const { KeyUsageFlags } = x509;

async function keyIdentifiers(
  subjectPublicKey: CryptoKey,
  issuerPublicKey: CryptoKey | undefined,
): Promise<x509.Extension[]> {
  const ski = await x509.SubjectKeyIdentifierExtension.create(subjectPublicKey, false);
  const aki = issuerPublicKey
    ? [await x509.AuthorityKeyIdentifierExtension.create(issuerPublicKey, false)]
    : [];
  return [ski, ...aki];
}

/** Where a relying party finds the CRL and the OCSP responder, when the network publishes them. */
export interface PublicationUrls {
  crl: string;
  ocsp: string;
}

export function publicationUrls(base: string | undefined): PublicationUrls | undefined {
  if (base === undefined) return undefined;
  const root = base.replace(/\/+$/, '');
  return { crl: `${root}/pki/v1/crl`, ocsp: `${root}/pki/v1/ocsp` };
}

function publicationExtensions(urls: PublicationUrls | undefined): x509.Extension[] {
  if (!urls) return [];
  return [
    new x509.CRLDistributionPointsExtension([urls.crl]),
    new x509.AuthorityInfoAccessExtension({ ocsp: urls.ocsp }),
  ];
}

export async function rootExtensions(rootPublicKey: CryptoKey): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    ...(await keyIdentifiers(rootPublicKey, undefined)),
  ];
}

/** pathLen 0: the issuing CA signs end-entity certificates only, never another CA. */
export async function issuingExtensions(
  issuingPublicKey: CryptoKey,
  rootPublicKey: CryptoKey,
): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    ...(await keyIdentifiers(issuingPublicKey, rootPublicKey)),
  ];
}

/**
 * A delegated OCSP responder (RFC 6960 §4.2.2.2): signed by the issuing CA with id-kp-OCSPSigning,
 * so the core answers OCSP without holding the issuing CA's key.
 */
export async function ocspResponderExtensions(
  responderPublicKey: CryptoKey,
  issuingPublicKey: CryptoKey,
): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning], false),
    // The extension's value is an ASN.1 NULL: the two bytes 05 00.
    new x509.Extension(OID_OCSP_NOCHECK, false, new Uint8Array([0x05, 0x00])),
    ...(await keyIdentifiers(responderPublicKey, issuingPublicKey)),
  ];
}

/**
 * A party's identity certificate: TLS server and client, and the key its messages are signed with.
 *
 * No extended key usage marks message signing. We considered id-kp-documentSigning (RFC 9336), but
 * it is defined for human-readable documents, and a private OID needs an arc the network does not
 * own. A verifier of a signed message instead requires keyUsage digitalSignature and the party URN,
 * which the encryption certificate (keyAgreement only) and the CAs lack.
 */
export async function identityExtensions(args: {
  partyId: string;
  hosts: readonly string[];
  subjectPublicKey: CryptoKey;
  issuingPublicKey: CryptoKey;
  urls: PublicationUrls | undefined;
}): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    new x509.SubjectAlternativeNameExtension([
      ...hostNames(args.hosts),
      { type: 'url', value: `${PARTY_URN_PREFIX}${args.partyId}` },
    ]),
    ...(await keyIdentifiers(args.subjectPublicKey, args.issuingPublicKey)),
    ...publicationExtensions(args.urls),
  ];
}

/**
 * A party's encryption certificate: the ECDH key others encrypt answers to (JWE ECDH-ES). Key
 * agreement only and no TLS purpose, so it can never stand in for the identity certificate.
 */
export async function encryptionExtensions(args: {
  partyId: string;
  subjectPublicKey: CryptoKey;
  issuingPublicKey: CryptoKey;
  urls: PublicationUrls | undefined;
}): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.keyAgreement, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `${PARTY_URN_PREFIX}${args.partyId}` }]),
    ...(await keyIdentifiers(args.subjectPublicKey, args.issuingPublicKey)),
    ...publicationExtensions(args.urls),
  ];
}
