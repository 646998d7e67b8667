/**
 * What JPKI's certificates say (公的個人認証サービス): names, extensions, lifetimes and the encoding of
 * the basic four information (基本４情報) in the signing certificate, one place for a reviewer to read
 * the whole certificate policy. The network's PKI (`src/trust/pki/profiles.ts`) is a separate CA with
 * other keys; only building blocks are shared.
 *
 * Sources of the JPKI identifiers (J-LIS's 「証明書プロファイル」, as public JPKI client code reads
 * real cards): the arc 1.2.392.200149.8.5 is J-LIS's JPKI; 1.2.392.200149.8.5.5.x carry the four
 * information in SubjectAltName otherName entries (UTF8String values), and 1.2.392.200149.8.5.1.x
 * are the certificate policies. See src/nodes/jlis/README.md, "JPKI".
 */
import * as asn1js from 'asn1js';
import { RenkeiError } from '../../../shared/errors.ts';
import { x509 } from '../../../trust/pki/x509.ts';
import type { FourInformation } from './port.ts';

/** RSASSA-PKCS1-v1_5 with SHA-256 over RSA 2048 keys: the algorithm of the real JPKI, for every key here. */
export const JPKI_SIGNING_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
export const JPKI_KEY_ALGORITHM = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
} as const;

/** The two kinds of certificate on a card. */
export type JpkiKind = 'signing' | 'authentication';
export const JPKI_KINDS = ['signing', 'authentication'] as const satisfies readonly JpkiKind[];

/** The JPKI object identifiers (J-LIS's arc 1.2.392.200149.8.5). */
export const JPKI_OID = {
  /** 氏名 (name), UTF8String. */
  name: '1.2.392.200149.8.5.5.1',
  /** 氏名代替文字の使用位置情報: where substitute characters stand in the name (not issued here). */
  nameSubstitutes: '1.2.392.200149.8.5.5.2',
  /** 性別 (sex), UTF8String: "1" male, "2" female, "3" other (see SEX_CODE). */
  sex: '1.2.392.200149.8.5.5.3',
  /** 生年月日 (date of birth), UTF8String: an era digit and the Gregorian YYYYMMDD (see ERAS). */
  dateOfBirth: '1.2.392.200149.8.5.5.4',
  /** 住所 (address), UTF8String. */
  address: '1.2.392.200149.8.5.5.5',
  /** 住所代替文字の使用位置情報 (not issued here). */
  addressSubstitutes: '1.2.392.200149.8.5.5.6',
  /** Certificate policy of the signing certificate (署名用, class 20). */
  signingPolicy: '1.2.392.200149.8.5.1.1.20',
  /** Certificate policy of the user-authentication certificate (利用者証明用, class 30). */
  authenticationPolicy: '1.2.392.200149.8.5.1.3.30',
} as const;

/**
 * 性別 as the certificate writes it. "1" and "2" are the resident register's codes for male and
 * female; "3" for other is our choice (the register has no third code we could find published).
 */
export const SEX_CODE = { male: '1', female: '2', other: '3' } as const;

/**
 * 元号 (era) digits of the date of birth, and the first day of each era. The digit is followed by the
 * Gregorian date (`EYYYYMMDD`, e.g. 平成2年1月2日 → `419900102`), as J-LIS's profile writes it.
 */
export const ERAS = [
  { digit: '5', from: '2019-05-01' }, // 令和
  { digit: '4', from: '1989-01-08' }, // 平成
  { digit: '3', from: '1926-12-25' }, // 昭和
  { digit: '2', from: '1912-07-30' }, // 大正
  { digit: '1', from: '1868-01-25' }, // 明治
] as const;

export function encodeDateOfBirth(date: string): string {
  const era = ERAS.find((e) => date >= e.from);
  if (!era) throw new RenkeiError('ERR_VALIDATION', 'A date of birth before 明治 cannot be written.');
  return `${era.digit}${date.replaceAll('-', '')}`;
}

export function decodeDateOfBirth(value: string): string {
  const match = /^[1-5](\d{4})(\d{2})(\d{2})$/.exec(value);
  if (!match) throw new RenkeiError('ERR_VALIDATION', 'Not a JPKI date of birth.');
  return `${match[1]}-${match[2]}-${match[3]}`;
}

const ORGANISATION = 'Renkei JPKI';

export const JPKI_ROOT_NAME: x509.JsonName = [
  { C: ['JP'] },
  { O: [ORGANISATION] },
  { CN: ['Renkei JPKI root CA'] },
];

/** The issuing CAs: one per kind, as the real JPKI's 署名用認証局 and 利用者証明用認証局. */
export const JPKI_CA_NAME: Record<JpkiKind, x509.JsonName> = {
  signing: [{ C: ['JP'] }, { O: [ORGANISATION] }, { OU: ['JPKI for digital signature'] }],
  authentication: [{ C: ['JP'] }, { O: [ORGANISATION] }, { OU: ['JPKI for user authentication'] }],
};

export function responderName(kind: JpkiKind): x509.JsonName {
  return [...JPKI_CA_NAME[kind], { CN: ['OCSP responder'] }];
}

/** A card holder's subject: only an identifier made of the serial, never a name (the real JPKI's too). */
export function holderName(serial: string): x509.JsonName {
  return [{ C: ['JP'] }, { CN: [serial.toUpperCase()] }];
}

const DAY_MS = 86_400_000;

export const JPKI_LIFETIME = {
  rootDays: 20 * 365,
  caDays: 12 * 365,
  /** The delegated OCSP responders carry ocsp-nocheck: short-lived, renewed at start when near expiry. */
  responderDays: 365,
  responderRenewDays: 30,
  /** A CRL is current for a day; J-LIS signs a new one after each revocation and when it ages. */
  crlMs: DAY_MS,
  /** The longest a card certificate may run: to the fifth birthday after issuance, so five years at most. */
  holderMaxMs: 5 * 366 * DAY_MS,
} as const;

/** Where relying parties find the CRLs and the OCSP responder, when J-LIS publishes them at a URL. */
export function publicationExtensions(base: string | undefined, kind: JpkiKind): x509.Extension[] {
  if (base === undefined) return [];
  const root = base.replace(/\/+$/, '');
  return [
    new x509.CRLDistributionPointsExtension([`${root}/jpki/v1/crl/${kind}`]),
    new x509.AuthorityInfoAccessExtension({ ocsp: `${root}/jpki/v1/ocsp` }),
  ];
}

const { KeyUsageFlags } = x509;

async function keyIds(subject: CryptoKey, issuer: CryptoKey | undefined): Promise<x509.Extension[]> {
  return [
    await x509.SubjectKeyIdentifierExtension.create(subject, false),
    ...(issuer ? [await x509.AuthorityKeyIdentifierExtension.create(issuer, false)] : []),
  ];
}

export async function rootExtensions(rootKey: CryptoKey): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    ...(await keyIds(rootKey, undefined)),
  ];
}

export async function caExtensions(caKey: CryptoKey, rootKey: CryptoKey): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, 0, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
    ...(await keyIds(caKey, rootKey)),
  ];
}

/** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1). */
const OID_OCSP_NOCHECK = '1.3.6.1.5.5.7.48.1.5';

export async function responderExtensions(key: CryptoKey, caKey: CryptoKey): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.ocspSigning], false),
    new x509.Extension(OID_OCSP_NOCHECK, false, new Uint8Array([0x05, 0x00])),
    ...(await keyIds(key, caKey)),
  ];
}

/**
 * 署名用電子証明書: the four information in SubjectAltName otherName entries, keyUsage
 * digitalSignature and nonRepudiation (a signature the holder cannot later deny), the signing policy.
 */
export async function signingExtensions(args: {
  holderKey: CryptoKey;
  caKey: CryptoKey;
  fourInformation: FourInformation;
  publicationUrl: string | undefined;
}): Promise<x509.Extension[]> {
  const info = args.fourInformation;
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation, true),
    new x509.Extension(
      '2.5.29.17',
      false,
      otherNames([
        [JPKI_OID.name, info.name],
        [JPKI_OID.sex, SEX_CODE[info.sex]],
        [JPKI_OID.dateOfBirth, encodeDateOfBirth(info.dateOfBirth)],
        [JPKI_OID.address, info.address],
      ]),
    ),
    new x509.CertificatePolicyExtension([JPKI_OID.signingPolicy], false),
    ...(await keyIds(args.holderKey, args.caKey)),
    ...publicationExtensions(args.publicationUrl, 'signing'),
  ];
}

/** 利用者証明用電子証明書: no personal information at all; a TLS client or a login signature. */
export async function authenticationExtensions(args: {
  holderKey: CryptoKey;
  caKey: CryptoKey;
  publicationUrl: string | undefined;
}): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
    new x509.CertificatePolicyExtension([JPKI_OID.authenticationPolicy], false),
    ...(await keyIds(args.holderKey, args.caKey)),
    ...publicationExtensions(args.publicationUrl, 'authentication'),
  ];
}

/**
 * GeneralNames of otherName entries (RFC 5280 §4.2.1.6): `[0] IMPLICIT SEQUENCE { type-id OID,
 * [0] EXPLICIT value }`, each value a UTF8String. Built from asn1js's types: @peculiar/x509's
 * GeneralName has no otherName of an arbitrary type.
 */
function otherNames(entries: readonly (readonly [string, string])[]): ArrayBuffer {
  return new asn1js.Sequence({
    value: entries.map(
      ([oid, value]) =>
        new asn1js.Constructed({
          idBlock: { tagClass: 3, tagNumber: 0 },
          value: [
            new asn1js.ObjectIdentifier({ value: oid }),
            new asn1js.Constructed({
              idBlock: { tagClass: 3, tagNumber: 0 },
              value: [new asn1js.Utf8String({ value })],
            }),
          ],
        }),
    ),
  }).toBER();
}

/**
 * The four information a signing certificate carries, read from its SubjectAltName (what a relying
 * party does with a certificate it received). ERR_VALIDATION if it carries none.
 */
export function readFourInformation(certificate: x509.X509Certificate): FourInformation {
  const ext = certificate.getExtension('2.5.29.17');
  if (!ext) throw new RenkeiError('ERR_VALIDATION', 'The certificate carries no four information.');
  const parsed = asn1js.fromBER(ext.value);
  const values = new Map<string, string>();
  if (parsed.offset !== -1 && parsed.result instanceof asn1js.Sequence) {
    for (const name of parsed.result.valueBlock.value) {
      if (!(name instanceof asn1js.Constructed) || name.idBlock.tagNumber !== 0) continue;
      const [oid, wrapped] = name.valueBlock.value;
      const inner = wrapped instanceof asn1js.Constructed ? wrapped.valueBlock.value[0] : undefined;
      if (oid instanceof asn1js.ObjectIdentifier && inner instanceof asn1js.Utf8String) {
        values.set(oid.valueBlock.toString(), inner.valueBlock.value);
      }
    }
  }
  const name = values.get(JPKI_OID.name);
  const sexCode = values.get(JPKI_OID.sex);
  const dateOfBirth = values.get(JPKI_OID.dateOfBirth);
  const address = values.get(JPKI_OID.address);
  const sex = (Object.keys(SEX_CODE) as (keyof typeof SEX_CODE)[]).find((k) => SEX_CODE[k] === sexCode);
  if (name === undefined || sex === undefined || dateOfBirth === undefined || address === undefined) {
    throw new RenkeiError('ERR_VALIDATION', 'The certificate does not carry the four information.');
  }
  return { name, address, dateOfBirth: decodeDateOfBirth(dateOfBirth), sex };
}
