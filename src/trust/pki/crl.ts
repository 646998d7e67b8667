/**
 * The certificate revocation list (RFC 5280 §5): signed by a CA (the network's issuing CA, J-LIS's
 * JPKI CAs), numbered, current for a lifetime; and read back by a verifier.
 *
 * The network's list holds every revoked certificate of the index until a CRL lifetime (a day) after
 * its notAfter, as JPKI's does: RFC 5280 §3.3 lets an entry leave "after appearing on one regularly
 * scheduled CRL issued beyond the revoked certificate's validity period". Past that, every verifier
 * refuses the certificate as expired anyway, and OCSP still answers `revoked` from the index, which
 * keeps every certificate. Without the bound the list grew by every revocation ever made, and every
 * node fetches it every five minutes.
 *
 * Signing is linear in the entries. We first used @peculiar/x509's `X509CrlGenerator`, which checks
 * each new entry against every earlier one for a duplicate serial: 10,000 entries took 41 s to sign.
 * Here the TBSCertList is assembled from asn1js's own types (a Set finds duplicates), encoded once,
 * and signed with Node's crypto; for the same input the bytes are the generator's
 * (`crl.test.ts` compares them under RSA, whose signatures are deterministic).
 *
 * Reading is signature first. asn1js refuses more than 10,000 ASN.1 nodes by default (a CRL of about
 * 1,350 entries) to protect a parser from hostile input. A CRL is hostile until its signature is
 * checked, so `openCrl` splits the outer SEQUENCE (three elements, definite lengths, nothing after),
 * verifies the signature over the TBSCertList's raw bytes with the expected CA's key, and only then
 * parses the whole list, with asn1js's limits raised to the size of the bytes.
 */
import { KeyObject, createPublicKey, sign, verify } from 'node:crypto';
import * as asn1js from 'asn1js';
import { CRL_REASON_CODES, type CertificateIndex, type CrlReason } from './ca-index.ts';
import { writePublicFile, type PkiPaths } from './files.ts';
import { LIFETIME, OID_CRL_NUMBER } from './profiles.ts';
import { SIGNING_ALGORITHM, x509 } from './x509.ts';

/** A signed CRL: its DER, and what its signer already knows of it (parsing it again is not needed). */
export interface SignedCrl {
  der: Uint8Array;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: number;
}

/** The network's CRL: the index's revoked certificates not expired a CRL lifetime ago. */
export async function buildCrl(args: {
  issuing: x509.X509Certificate;
  issuingKey: CryptoKey;
  index: CertificateIndex;
  crlNumber: number;
  now: Date;
}): Promise<SignedCrl> {
  const expiredBefore = args.now.getTime() - LIFETIME.crlMs;
  const revoked = args.index.certificates
    .filter((c) => c.status === 'revoked' && c.revokedAt !== null)
    .filter((c) => new Date(c.notAfter).getTime() > expiredBefore)
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

/** The signature algorithms we sign CRLs with, and accept on one (RFC 5758 §3.2, RFC 4055 §5). */
const SIGNATURE_ALGORITHMS = [
  { name: 'ECDSA', hash: 'SHA-256', oid: '1.2.840.10045.4.3.2', key: 'ec', nullParameters: false },
  { name: 'ECDSA', hash: 'SHA-384', oid: '1.2.840.10045.4.3.3', key: 'ec', nullParameters: false },
  {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    oid: '1.2.840.113549.1.1.11',
    key: 'rsa',
    nullParameters: true,
  },
  {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-384',
    oid: '1.2.840.113549.1.1.12',
    key: 'rsa',
    nullParameters: true,
  },
  {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-512',
    oid: '1.2.840.113549.1.1.13',
    key: 'rsa',
    nullParameters: true,
  },
] as const;
type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

const OID_CRL_REASON = '2.5.29.21';

/**
 * Sign a CRL of `revoked` under `issuing` (any CA: the network's issuing CA, J-LIS's JPKI CAs), with
 * the cRLNumber given, current for `lifetimeMs` (a day by default). `signingAlgorithm` is the
 * issuer's: ECDSA P-256 for the network, RSASSA-PKCS1-v1_5 for JPKI. Time and memory are linear in
 * the entries. A serial listed twice is a TypeError (a bug of the caller, as in X509CrlGenerator).
 */
export async function signCrl(args: {
  issuing: x509.X509Certificate;
  issuingKey: CryptoKey;
  revoked: Iterable<RevokedEntry>;
  crlNumber: number;
  now: Date;
  lifetimeMs?: number;
  signingAlgorithm?: { name: string; hash: string };
}): Promise<SignedCrl> {
  const wanted = args.signingAlgorithm ?? SIGNING_ALGORITHM;
  const algorithm = SIGNATURE_ALGORITHMS.find((a) => a.name === wanted.name && a.hash === wanted.hash);
  if (!algorithm) throw new TypeError(`No CRL signature with ${wanted.name} and ${wanted.hash}.`);
  const thisUpdate = args.now;
  const nextUpdate = new Date(args.now.getTime() + (args.lifetimeMs ?? LIFETIME.crlMs));
  const seen = new Set<string>();
  const entries: asn1js.Sequence[] = [];
  for (const entry of args.revoked) {
    const serial = serialBytes(entry.serial);
    const key = Buffer.from(serial).toString('hex');
    if (seen.has(key)) throw new TypeError(`Certificate serial number ${entry.serial} is listed twice.`);
    seen.add(key);
    entries.push(
      new asn1js.Sequence({
        value: [
          new asn1js.Integer({ valueHex: serial }),
          time(entry.revokedAt),
          // RFC 5280 §5.3.1: the reasonCode extension is absent rather than "unspecified".
          ...(entry.reason !== 'unspecified'
            ? [
                new asn1js.Sequence({
                  value: [
                    extension(
                      OID_CRL_REASON,
                      new asn1js.Enumerated({ value: CRL_REASON_CODES[entry.reason] }).toBER(),
                    ),
                  ],
                }),
              ]
            : []),
        ],
      }),
    );
  }
  const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(args.issuing.publicKey, false);
  const tbs = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 1 }), // v2
      algorithmIdentifier(algorithm),
      fromDer(args.issuing.subjectName.toArrayBuffer()),
      time(thisUpdate),
      time(nextUpdate),
      ...(entries.length > 0 ? [new asn1js.Sequence({ value: entries })] : []),
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [
          new asn1js.Sequence({
            value: [
              fromDer(authorityKeyId.rawData),
              extension(OID_CRL_NUMBER, new asn1js.Integer({ value: args.crlNumber }).toBER()),
            ],
          }),
        ],
      }),
    ],
  });
  const tbsDer = new Uint8Array(tbs.toBER());
  const signature = sign(hashName(algorithm), tbsDer, {
    key: KeyObject.from(args.issuingKey),
    dsaEncoding: 'der',
  });
  const certificateList = new asn1js.Sequence({
    value: [
      tbs,
      algorithmIdentifier(algorithm),
      new asn1js.BitString({ valueHex: new Uint8Array(signature), unusedBits: 0 }),
    ],
  });
  return {
    der: new Uint8Array(certificateList.toBER()),
    crlNumber: args.crlNumber,
    thisUpdate,
    nextUpdate,
    entries: entries.length,
  };
}

/** An INTEGER's content octets for a positive serial in hex: a leading zero byte if the top bit is set. */
function serialBytes(hex: string): Uint8Array {
  const bytes = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
  if (bytes.length === 0 || bytes.length * 2 < hex.length)
    throw new TypeError(`Not a serial number: ${hex}.`);
  return (bytes[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
}

/** RFC 5280 §5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050, whole seconds, in UTC. */
function time(date: Date): asn1js.UTCTime | asn1js.GeneralizedTime {
  const valueDate = new Date(Math.floor(date.getTime() / 1000) * 1000);
  return valueDate.getUTCFullYear() < 2050
    ? new asn1js.UTCTime({ valueDate })
    : new asn1js.GeneralizedTime({ valueDate });
}

function extension(oid: string, value: ArrayBuffer): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [new asn1js.ObjectIdentifier({ value: oid }), new asn1js.OctetString({ valueHex: value })],
  });
}

function algorithmIdentifier(algorithm: SignatureAlgorithm): asn1js.Sequence {
  return new asn1js.Sequence({
    value: [
      new asn1js.ObjectIdentifier({ value: algorithm.oid }),
      ...(algorithm.nullParameters ? [new asn1js.Null()] : []),
    ],
  });
}

/** DER we produced ourselves (a name, an extension, our TBS) as an asn1js block, to be encoded as is. */
function fromDer(der: ArrayBuffer | Uint8Array): asn1js.AsnType {
  const parsed = asn1js.fromBER(der, { maxNodes: der.byteLength, maxContentLength: der.byteLength });
  if (parsed.offset === -1) throw new TypeError(`Not DER: ${parsed.result.error}`);
  return parsed.result;
}

function hashName(algorithm: SignatureAlgorithm): string {
  return algorithm.hash.replace('SHA-', 'sha');
}

/** Why `openCrl` refused a CRL, in words that end "it is …". */
export class CrlRefused extends Error {}

/**
 * A CRL (DER, or PEM bytes) whose signature is `issuing`'s, parsed; otherwise CrlRefused. The
 * signature is checked over the raw TBSCertList before anything else is parsed (the module comment
 * says why), and the list is then read with asn1js's node and length limits raised to its size.
 */
export function openCrl(bytes: Uint8Array, issuing: x509.X509Certificate): x509.X509Crl {
  let der: Uint8Array;
  let parts: { tbs: Uint8Array; algorithm: Uint8Array; signature: Uint8Array };
  try {
    der =
      bytes.byteLength > 0 && bytes[0] === 0x2d
        ? new Uint8Array(x509.PemConverter.decodeFirst(Buffer.from(bytes).toString('latin1')))
        : bytes;
    parts = splitCertificateList(der);
  } catch {
    throw new CrlRefused('it is not a CRL');
  }
  const algorithm = signatureAlgorithmOf(parts.algorithm);
  const key = createPublicKey({ key: Buffer.from(issuing.publicKey.rawData), format: 'der', type: 'spki' });
  if (
    algorithm === undefined ||
    key.asymmetricKeyType !== algorithm.key ||
    !verify(hashName(algorithm), parts.tbs, { key, dsaEncoding: 'der' }, parts.signature)
  ) {
    throw new CrlRefused('it is not signed by the issuing CA');
  }
  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(der, {
      berOptions: { maxNodes: der.byteLength, maxContentLength: der.byteLength },
    });
  } catch {
    throw new CrlRefused('it is not a CRL');
  }
  const sameIssuer = Buffer.from(crl.issuerName.toArrayBuffer()).equals(
    Buffer.from(issuing.subjectName.toArrayBuffer()),
  );
  if (!sameIssuer) throw new CrlRefused('it is not signed by the issuing CA');
  return crl;
}

/**
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }: the
 * three elements' bytes (the TBS whole, as signed; the signature without its unused-bits octet).
 * DER only: definite lengths, nothing after the list; anything else throws.
 */
function splitCertificateList(der: Uint8Array): {
  tbs: Uint8Array;
  algorithm: Uint8Array;
  signature: Uint8Array;
} {
  const outer = readTlv(der, 0);
  if (outer.tag !== 0x30 || outer.end !== der.byteLength) throw new Error('not one SEQUENCE');
  const tbs = readTlv(der, outer.contentStart);
  const algorithm = readTlv(der, tbs.end);
  const signature = readTlv(der, algorithm.end);
  if (tbs.tag !== 0x30 || algorithm.tag !== 0x30 || signature.tag !== 0x03 || signature.end !== outer.end)
    throw new Error('not tbsCertList, signatureAlgorithm, signatureValue');
  if (signature.end - signature.contentStart < 2 || der[signature.contentStart] !== 0)
    throw new Error('signature with unused bits');
  // The TBS's own (signed) copy of the algorithm, after the version, must be the outer one (RFC 5280 §5.1.2.2).
  const first = readTlv(der, tbs.contentStart);
  const inner = first.tag === 0x02 ? readTlv(der, first.end) : first;
  if (!Buffer.from(der.subarray(inner.start, inner.end)).equals(der.subarray(algorithm.start, algorithm.end)))
    throw new Error('two signature algorithms');
  return {
    tbs: der.subarray(tbs.start, tbs.end),
    algorithm: der.subarray(algorithm.start, algorithm.end),
    signature: der.subarray(signature.contentStart + 1, signature.end),
  };
}

/** One DER tag-length-value at `start`: a one-byte tag, a definite length of at most four octets. */
function readTlv(
  der: Uint8Array,
  start: number,
): { tag: number; start: number; contentStart: number; end: number } {
  const tag = der[start];
  let at = start + 1;
  const first = der[at++];
  if (tag === undefined || first === undefined || (tag & 0x1f) === 0x1f) throw new Error('truncated');
  let length = first;
  if (first & 0x80) {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) throw new Error('indefinite or huge length');
    length = 0;
    for (let i = 0; i < octets; i++) {
      const octet = der[at++];
      if (octet === undefined) throw new Error('truncated');
      length = length * 256 + octet;
    }
  }
  const end = at + length;
  if (end > der.byteLength) throw new Error('truncated');
  return { tag, start, contentStart: at, end };
}

/** The signature algorithm an AlgorithmIdentifier names, if it is one we accept (with its parameters as specified). */
function signatureAlgorithmOf(der: Uint8Array): SignatureAlgorithm | undefined {
  const parsed = asn1js.fromBER(der);
  if (parsed.offset === -1 || !(parsed.result instanceof asn1js.Sequence)) return undefined;
  const [oid, parameters, ...rest] = parsed.result.valueBlock.value;
  if (!(oid instanceof asn1js.ObjectIdentifier) || rest.length > 0) return undefined;
  const algorithm = SIGNATURE_ALGORITHMS.find((a) => a.oid === oid.valueBlock.toString());
  if (!algorithm) return undefined;
  const parametersOk = algorithm.nullParameters
    ? parameters instanceof asn1js.Null
    : parameters === undefined;
  return parametersOk ? algorithm : undefined;
}

/** Write the CRL as DER (`crl.der`, what HTTP serves) and PEM (`crl.pem`, what people and OpenSSL read). */
export function writeCrl(paths: PkiPaths, crl: SignedCrl): void {
  writePublicFile(paths.crlDer, crl.der);
  writePublicFile(paths.crlPem, crlPem(crl.der));
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
