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
 * Here each entry's DER is written directly (a Set finds duplicates: asn1js's objects per entry cost
 * 2–3 s for 10,000 entries, most of it allocation), the TBSCertList assembled around them and signed
 * with Node's crypto; for the same input the bytes are the generator's (`crl.test.ts` compares them
 * under RSA, whose signatures are deterministic).
 *
 * Reading is signature first. asn1js refuses more than 10,000 ASN.1 nodes by default (a CRL of about
 * 1,350 entries) to protect a parser from hostile input. A CRL is hostile until its signature is
 * checked, so `openCrl` splits the outer SEQUENCE (three elements, definite lengths, nothing after),
 * verifies the signature over the TBSCertList's raw bytes with the expected CA's key, and only then
 * reads the list: `readCrl` walks its DER once (what a relying party needs: serials, dates, reasons,
 * number, period), `openCrl` parses it into @peculiar/x509's object with asn1js's limits raised to the
 * size of the bytes (some 25 s for 100,000 entries, against under one for `readCrl`).
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
  const entries: Uint8Array[] = [];
  for (const entry of args.revoked) {
    const serial = serialBytes(entry.serial);
    const key = Buffer.from(serial).toString('hex');
    if (seen.has(key)) throw new TypeError(`Certificate serial number ${entry.serial} is listed twice.`);
    seen.add(key);
    entries.push(revokedCertificate(serial, entry));
  }
  const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(args.issuing.publicKey, false);
  const ber = (block: asn1js.AsnType) => new Uint8Array(block.toBER());
  const tbsDer = tlv(0x30, [
    ber(new asn1js.Integer({ value: 1 })), // v2
    ber(algorithmIdentifier(algorithm)),
    new Uint8Array(args.issuing.subjectName.toArrayBuffer()),
    timeDer(thisUpdate),
    timeDer(nextUpdate),
    ...(entries.length > 0 ? [tlv(0x30, entries)] : []),
    ber(
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
    ),
  ]);
  const signature = sign(hashName(algorithm), tbsDer, {
    key: KeyObject.from(args.issuingKey),
    dsaEncoding: 'der',
  });
  return {
    der: tlv(0x30, [
      tbsDer,
      ber(algorithmIdentifier(algorithm)),
      tlv(0x03, [Uint8Array.of(0), new Uint8Array(signature)]),
    ]),
    crlNumber: args.crlNumber,
    thisUpdate,
    nextUpdate,
    entries: entries.length,
  };
}

/**
 * One revokedCertificates entry, DER written directly: SEQUENCE { userCertificate INTEGER,
 * revocationDate Time, crlEntryExtensions (the reasonCode, when not unspecified) }. Built with
 * asn1js's objects, an entry cost some 250 µs (10,000 entries 2–3 s, 100,000 some 25 s); these few
 * fixed shapes are bytes we can write, and `crl.test.ts` compares the result with @peculiar/x509's
 * generator byte for byte.
 */
function revokedCertificate(serial: Uint8Array, entry: RevokedEntry): Uint8Array {
  const parts = [tlv(0x02, [serial]), timeDer(entry.revokedAt)];
  // RFC 5280 §5.3.1: the reasonCode extension is absent rather than "unspecified".
  if (entry.reason !== 'unspecified') {
    const code = CRL_REASON_CODES[entry.reason];
    // Extensions ::= SEQUENCE { Extension ::= SEQUENCE { id-ce-cRLReasons, OCTET STRING { ENUMERATED } } }
    parts.push(
      Uint8Array.of(0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01, code),
    );
  }
  return tlv(0x30, parts);
}

/** A DER tag-length-value around the concatenated parts (definite length, short or long form). */
function tlv(tag: number, parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const header: number[] = [tag];
  if (length < 0x80) header.push(length);
  else {
    const octets: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) octets.unshift(n % 256);
    header.push(0x80 | octets.length, ...octets);
  }
  const out = new Uint8Array(header.length + length);
  out.set(header, 0);
  let at = header.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** Time's DER (RFC 5280 §5.1.2.4): UTCTime YYMMDDHHMMSSZ through 2049, GeneralizedTime from 2050. */
function timeDer(date: Date): Uint8Array {
  const iso = new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, [Buffer.from(digits.slice(2), 'latin1')])
    : tlv(0x18, [Buffer.from(digits, 'latin1')]);
}

/** An INTEGER's content octets for a positive serial in hex: a leading zero byte if the top bit is set. */
function serialBytes(hex: string): Uint8Array {
  const bytes = Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex');
  if (bytes.length === 0 || bytes.length * 2 < hex.length)
    throw new TypeError(`Not a serial number: ${hex}.`);
  return (bytes[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.of(0), bytes]) : bytes;
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
  const der = checkedCrl(bytes, issuing).der;
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

/** What a relying party needs of a CRL: its number, its period, and each entry by serial. */
export interface CrlContents {
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
  /** By serial in lower-case hex without leading zero octets (`normaliseSerial`'s form). */
  entries: Map<string, { revokedAt: Date; reason: x509.X509CrlReason | undefined }>;
}

/**
 * `openCrl` for a relying party that needs only the list: the same checks (signature over the raw
 * TBSCertList first, then the issuer), then the TBSCertList read directly, DER only. @peculiar/x509
 * builds an object tree per entry (100,000 entries took about 25 s to take in); this walks the bytes
 * once (well under a second). Fails closed: a version other than v2, a missing cRLNumber or
 * nextUpdate, or a critical extension it does not know (RFC 5280 §5.2, §5.3) refuses the CRL.
 */
export function readCrl(bytes: Uint8Array, issuing: x509.X509Certificate): CrlContents {
  const { der, tbs } = checkedCrl(bytes, issuing);
  try {
    return readTbsCertList(der, tbs, new Uint8Array(issuing.subjectName.toArrayBuffer()));
  } catch (error) {
    throw error instanceof CrlRefused ? error : new CrlRefused('it is not a CRL');
  }
}

/** The DER of a CRL whose signature is `issuing`'s, and its TBSCertList's place; otherwise CrlRefused. */
function checkedCrl(
  bytes: Uint8Array,
  issuing: x509.X509Certificate,
): { der: Uint8Array; tbs: { start: number; end: number } } {
  let der: Uint8Array;
  let parts: ReturnType<typeof splitCertificateList>;
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
  return { der, tbs: parts.tbsAt };
}

/** The OIDs' DER: cRLNumber 2.5.29.20, reasonCode 2.5.29.21, authorityKeyIdentifier 2.5.29.35. */
const OID_CRL_NUMBER_DER = Buffer.from('0603551d14', 'hex');
const OID_CRL_REASON_DER = Buffer.from('0603551d15', 'hex');
/** CRL extensions we know (cRLNumber, authorityKeyIdentifier); anything else critical refuses the CRL. */
const KNOWN_CRL_EXTENSIONS = [OID_CRL_NUMBER_DER, Buffer.from('0603551d23', 'hex')];

function readTbsCertList(
  der: Uint8Array,
  at: { start: number; end: number },
  issuer: Uint8Array,
): CrlContents {
  const tbs = readTlv(der, at.start);
  let next = tbs.contentStart;
  const version = readTlv(der, next);
  if (version.tag !== 0x02 || version.end - version.contentStart !== 1 || der[version.contentStart] !== 1)
    throw new CrlRefused('it is not a version 2 CRL');
  const algorithm = readTlv(der, version.end);
  const name = readTlv(der, algorithm.end);
  if (!Buffer.from(der.subarray(name.start, name.end)).equals(issuer))
    throw new CrlRefused('it is not signed by the issuing CA');
  const thisUpdate = readTlv(der, name.end);
  next = thisUpdate.end;
  // Then, in this order, each optional: nextUpdate, revokedCertificates, [0] crlExtensions.
  const element = () => (next < tbs.end ? readTlv(der, next) : undefined);
  let nextUpdate: Date | undefined;
  let current = element();
  if (current && (current.tag === 0x17 || current.tag === 0x18)) {
    nextUpdate = timeOf(der, current);
    next = current.end;
    current = element();
  }
  const entries: CrlContents['entries'] = new Map();
  if (current?.tag === 0x30) {
    for (let e = current.contentStart; e < current.end;) {
      const entry = readTlv(der, e);
      e = entry.end;
      const serial = readTlv(der, entry.contentStart);
      const date = readTlv(der, serial.end);
      if (entry.tag !== 0x30 || serial.tag !== 0x02) throw new Error('not an entry');
      let reason: x509.X509CrlReason | undefined;
      if (date.end < entry.end) {
        const extensions = readTlv(der, date.end);
        if (extensions.tag !== 0x30 || extensions.end !== entry.end) throw new Error('not extensions');
        forEachExtension(der, extensions, (oid, value) => {
          if (!oid.equals(OID_CRL_REASON_DER)) return false;
          const enumerated = readTlv(der, value.contentStart);
          if (enumerated.tag !== 0x0a || enumerated.end - enumerated.contentStart !== 1)
            throw new Error('not a reason');
          reason = der[enumerated.contentStart];
          return true;
        });
      } else if (date.end !== entry.end) throw new Error('not an entry');
      const hex = Buffer.from(der.subarray(serial.contentStart, serial.end)).toString('hex');
      entries.set(hex.replace(/^(?:00)+(?=[0-9a-f])/, ''), { revokedAt: timeOf(der, date), reason });
    }
    next = current.end;
    current = element();
  }
  let crlNumber: bigint | undefined;
  if (current?.tag === 0xa0) {
    const extensions = readTlv(der, current.contentStart);
    if (extensions.tag !== 0x30 || extensions.end !== current.end) throw new Error('not extensions');
    forEachExtension(der, extensions, (oid, value) => {
      if (oid.equals(OID_CRL_NUMBER_DER)) {
        const integer = readTlv(der, value.contentStart);
        if (integer.tag !== 0x02) throw new Error('not a cRLNumber');
        crlNumber = BigInt(
          `0x${Buffer.from(der.subarray(integer.contentStart, integer.end)).toString('hex')}`,
        );
      }
      return KNOWN_CRL_EXTENSIONS.some((known) => known.equals(oid));
    });
    next = current.end;
  }
  if (next !== tbs.end) throw new Error('unexpected element');
  if (crlNumber === undefined || nextUpdate === undefined)
    throw new CrlRefused('it lacks a CRL number or nextUpdate');
  return { crlNumber, thisUpdate: timeOf(der, thisUpdate), nextUpdate, entries };
}

/**
 * Each Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } in
 * `extensions`; `known` says whether it understood the extension. A critical one it did not refuses.
 */
function forEachExtension(
  der: Uint8Array,
  extensions: { contentStart: number; end: number },
  known: (oid: Buffer, value: { contentStart: number; end: number }) => boolean,
): void {
  for (let at = extensions.contentStart; at < extensions.end;) {
    const extension = readTlv(der, at);
    at = extension.end;
    const oid = readTlv(der, extension.contentStart);
    let value = readTlv(der, oid.end);
    let critical = false;
    if (value.tag === 0x01) {
      critical = der[value.contentStart] !== 0;
      value = readTlv(der, value.end);
    }
    if (extension.tag !== 0x30 || oid.tag !== 0x06 || value.tag !== 0x04 || value.end !== extension.end)
      throw new Error('not an extension');
    const understood = known(Buffer.from(der.subarray(oid.start, oid.end)), value);
    if (critical && !understood) throw new CrlRefused('it has a critical extension we do not know');
  }
}

/** A UTCTime (YYMMDDHHMMSSZ, 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), as DER writes them. */
function timeOf(der: Uint8Array, element: { tag: number; contentStart: number; end: number }): Date {
  const text = Buffer.from(der.subarray(element.contentStart, element.end)).toString('latin1');
  let full: string;
  if (element.tag === 0x17 && /^\d{12}Z$/.test(text)) {
    full = `${Number(text.slice(0, 2)) >= 50 ? '19' : '20'}${text}`;
  } else if (element.tag === 0x18 && /^\d{14}Z$/.test(text)) {
    full = text;
  } else throw new Error('not a time');
  const date = new Date(
    `${full.slice(0, 4)}-${full.slice(4, 6)}-${full.slice(6, 8)}T${full.slice(8, 10)}:${full.slice(10, 12)}:${full.slice(12, 14)}Z`,
  );
  if (Number.isNaN(date.getTime())) throw new Error('not a time');
  return date;
}

/**
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING }: the
 * three elements' bytes (the TBS whole, as signed; the signature without its unused-bits octet).
 * DER only: definite lengths, nothing after the list; anything else throws.
 */
function splitCertificateList(der: Uint8Array): {
  tbs: Uint8Array;
  tbsAt: { start: number; end: number };
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
    tbsAt: { start: tbs.start, end: tbs.end },
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
