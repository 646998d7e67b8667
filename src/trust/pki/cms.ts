/**
 * CMS SignedData (RFC 5652), what a relying party receives from a card holder, as in the real JPKI:
 * an application, a consent or a contract signed with the signing certificate's key arrives as a
 * CMS/PKCS#7 SignedData carrying the signing certificate, and the relying party checks the signature,
 * the certificate's chain to the JPKI root and its status (OCSP or CRL, or J-LIS's own records).
 *
 * `createSignedData` never sees a private key: it calls `sign(tbs)` with the DER of the signed
 * attributes, so the card's module signs inside the card (RSASSA-PKCS1-v1_5 with SHA-256 over those
 * bytes). Built on pkijs and asn1js; OpenSSL's `cms -verify` reads what it makes.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import { RenkeiError } from '../../shared/errors.ts';
import { pkijs, x509 } from './x509.ts';

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
} as const;

/** Signs the DER of the signed attributes: RSASSA-PKCS1-v1_5 with SHA-256, the hashing included. */
export type SignCallback = (tbs: Uint8Array) => Promise<Uint8Array>;

/**
 * A CMS SignedData (DER ContentInfo) over `content`, signed by the holder of `certificate` (DER)
 * through `sign`. `detached`: the content is not carried (the relying party has it already).
 */
export async function createSignedData(args: {
  content: Uint8Array;
  certificate: Uint8Array;
  sign: SignCallback;
  detached?: boolean;
  signingTime?: Date;
}): Promise<Uint8Array> {
  const certificate = pkijs.Certificate.fromBER(args.certificate);
  const digest = new Uint8Array(createHash('sha256').update(args.content).digest());
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({
    type: 0,
    attributes: [
      new pkijs.Attribute({
        type: OID.contentType,
        values: [new asn1js.ObjectIdentifier({ value: OID.data })],
      }),
      new pkijs.Attribute({
        type: OID.messageDigest,
        values: [new asn1js.OctetString({ valueHex: digest })],
      }),
      new pkijs.Attribute({
        type: OID.signingTime,
        values: [new asn1js.UTCTime({ valueDate: args.signingTime ?? new Date() })],
      }),
    ],
  });
  // RFC 5652 §5.4: the signature is over the DER of the attributes as a SET (tag 0x31), not [0].
  const tbs = new Uint8Array(signedAttrs.toSchema().toBER(false));
  tbs[0] = 0x31;
  const signature = await args.sign(tbs);
  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({
      issuer: certificate.issuer,
      serialNumber: certificate.serialNumber,
    }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
    signedAttrs,
    signatureAlgorithm: new pkijs.AlgorithmIdentifier({
      algorithmId: OID.sha256WithRSAEncryption,
      algorithmParams: new asn1js.Null(),
    }),
    signature: new asn1js.OctetString({ valueHex: signature }),
  });
  const signedData = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: OID.data,
      ...(args.detached ? {} : { eContent: new asn1js.OctetString({ valueHex: args.content }) }),
    }),
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 })],
    certificates: [certificate],
    signerInfos: [signerInfo],
  });
  const contentInfo = new pkijs.ContentInfo({
    contentType: OID.signedData,
    content: signedData.toSchema(true),
  });
  return new Uint8Array(contentInfo.toSchema().toBER(false));
}

export interface VerifiedSignedData {
  /** What was signed: the carried content, or the detached content given. */
  content: Uint8Array;
  /** The signer's certificate, as carried in the SignedData. */
  certificate: x509.X509Certificate;
  /** Its serial, lower-case hex. */
  serial: string;
  signingTime: Date | undefined;
}

export type CertificateStatusCheck = (
  certificate: x509.X509Certificate,
) => Promise<'good' | 'revoked' | 'unknown'>;

/**
 * Verify a CMS SignedData: one signer, whose certificate it carries; the signature over the signed
 * attributes and the content's digest; the certificate's chain to `root` through one of `issuers`
 * (the JPKI signing CA) at `at`; and, with `status`, that the certificate is not revoked.
 *
 * Errors: ERR_VALIDATION (not a SignedData, no content), ERR_SIGNATURE_INVALID, ERR_CERT_UNTRUSTED
 * (not issued by `issuers` under `root`), ERR_CERT_EXPIRED, ERR_CERT_NOT_YET_VALID, ERR_CERT_REVOKED.
 */
export async function verifySignedData(
  der: Uint8Array,
  options: {
    root: x509.X509Certificate;
    issuers: readonly x509.X509Certificate[];
    at: Date;
    detachedContent?: Uint8Array;
    status?: CertificateStatusCheck;
  },
): Promise<VerifiedSignedData> {
  const signedData = parseSignedData(der);
  const signer = signedData.signerInfos[0];
  const carried = signedData.encapContentInfo.eContent?.getValue();
  const content = options.detachedContent ?? (carried ? new Uint8Array(carried) : undefined);
  if (!signer || signedData.signerInfos.length !== 1 || content === undefined) {
    throw new RenkeiError('ERR_VALIDATION', 'A signed document has one signer and its content.');
  }
  const sid = signer.sid as pkijs.IssuerAndSerialNumber;
  const holder = (signedData.certificates ?? []).find(
    (c): c is pkijs.Certificate =>
      c instanceof pkijs.Certificate &&
      sid instanceof pkijs.IssuerAndSerialNumber &&
      c.serialNumber.isEqual(sid.serialNumber) &&
      c.issuer.isEqual(sid.issuer),
  );
  if (!holder)
    throw new RenkeiError(
      'ERR_CERT_UNTRUSTED',
      'The signed document does not carry its signer’s certificate.',
    );
  const verified = await signedData
    .verify({ signer: 0, data: content.slice().buffer, checkChain: false, checkDate: options.at })
    .catch(() => false);
  if (!verified) throw new RenkeiError('ERR_SIGNATURE_INVALID', 'The signature does not verify.');
  const certificate = new x509.X509Certificate(holder.toSchema().toBER(false));
  await checkChain(certificate, options);
  if (options.status) {
    const status = await options.status(certificate);
    if (status !== 'good') {
      throw new RenkeiError(
        status === 'revoked' ? 'ERR_CERT_REVOKED' : 'ERR_CERT_UNTRUSTED',
        status === 'revoked'
          ? 'The signer’s certificate is revoked.'
          : 'The signer’s certificate is unknown to its CA.',
      );
    }
  }
  return {
    content,
    certificate,
    serial: certificate.serialNumber.toLowerCase().replace(/^(?:00)+(?=[0-9a-f])/, ''),
    signingTime: signingTimeOf(signer),
  };
}

/** The certificate under one of `issuers` under `root`, each valid at `at`. */
async function checkChain(
  certificate: x509.X509Certificate,
  options: { root: x509.X509Certificate; issuers: readonly x509.X509Certificate[]; at: Date },
): Promise<void> {
  const issuer = options.issuers.find((ca) => ca.subject === certificate.issuer);
  const trusted =
    issuer !== undefined &&
    (await certificate.verify({ publicKey: issuer.publicKey, signatureOnly: true })) &&
    (await issuer.verify({ publicKey: options.root.publicKey, signatureOnly: true }));
  if (!trusted)
    throw new RenkeiError('ERR_CERT_UNTRUSTED', 'The signer’s certificate is not from the JPKI CA.');
  for (const c of [certificate, issuer, options.root]) {
    if (options.at < c.notBefore)
      throw new RenkeiError('ERR_CERT_NOT_YET_VALID', 'The certificate is not valid yet.');
    if (options.at > c.notAfter) throw new RenkeiError('ERR_CERT_EXPIRED', 'The certificate has expired.');
  }
}

function parseSignedData(der: Uint8Array): pkijs.SignedData {
  try {
    const asn1 = asn1js.fromBER(der);
    if (asn1.offset === -1 || asn1.offset !== der.byteLength) throw new Error('not DER');
    const info = new pkijs.ContentInfo({ schema: asn1.result });
    if (info.contentType !== OID.signedData) throw new Error('not SignedData');
    return new pkijs.SignedData({ schema: info.content });
  } catch {
    throw new RenkeiError('ERR_VALIDATION', 'Not a CMS SignedData.');
  }
}

function signingTimeOf(signer: pkijs.SignerInfo): Date | undefined {
  const attribute = signer.signedAttrs?.attributes.find((a) => a.type === OID.signingTime);
  const value = attribute?.values[0] as unknown;
  return value instanceof asn1js.UTCTime || value instanceof asn1js.GeneralizedTime
    ? value.toDate()
    : undefined;
}
