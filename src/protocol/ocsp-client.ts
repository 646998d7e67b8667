/**
 * (In the protocol layer, not J-LIS's node, because every relying party uses it: the demo bank, the
 * Myna Portal.) A relying party's OCSP check (RFC 6960) of a JPKI certificate at J-LIS's publication listener
 * (`POST <publication URL>/jpki/v1/ocsp`), what a bank does at ⑤⑥ of seed 002's flow (有効性確認の
 * 依頼・結果): a request for one certificate with a nonce, and an answer believed only when it is
 * signed by the delegated responder that the certificate's own issuing CA certified (id-kp-OCSPSigning),
 * answers for that very certificate, echoes the nonce and is current.
 */
import { webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import { RenkeiError } from '../shared/errors.ts';
import { pkijs, x509 } from '../trust/pki/x509.ts';

const ID_PKIX_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';
const ID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

/** RFC 5280 CRLReason codes, as an OCSP `revoked` answer carries them. */
const CRL_REASONS = [
  'unspecified',
  'keyCompromise',
  'cACompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'certificateHold',
  '',
  'removeFromCRL',
  'privilegeWithdrawn',
  'aACompromise',
];

export interface OcspAnswer {
  status: 'good' | 'revoked' | 'unknown';
  /** With `revoked`: when, and the RFC 5280 reason when the answer gives one. */
  revokedAt?: Date;
  reason?: string;
  /** The responder that signed the answer (its subject). */
  responder: string;
  producedAt: Date;
}

/**
 * Ask `url` about `certificate`, issued by `issuer`. Errors: ERR_UPSTREAM_UNAVAILABLE (nothing
 * answered, or not 200), ERR_SIGNATURE_INVALID (an answer that is not a successful OCSP response
 * signed by the issuer's delegated responder for this certificate and nonce).
 */
export async function checkOcsp(args: {
  url: string;
  certificate: x509.X509Certificate;
  issuer: x509.X509Certificate;
  at?: Date;
  timeoutMs?: number;
}): Promise<OcspAnswer> {
  const certificate = pkijs.Certificate.fromBER(args.certificate.rawData);
  const issuer = pkijs.Certificate.fromBER(args.issuer.rawData);
  const request = new pkijs.OCSPRequest();
  await request.createForCertificate(certificate, { hashAlgorithm: 'SHA-1', issuerCertificate: issuer });
  const nonce = webcrypto.getRandomValues(new Uint8Array(16));
  request.tbsRequest.requestExtensions = [
    new pkijs.Extension({
      extnID: ID_PKIX_OCSP_NONCE,
      extnValue: new asn1js.OctetString({ valueHex: nonce }).toBER(false),
    }),
  ];
  let body: Uint8Array;
  try {
    const response = await fetch(args.url, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: Buffer.from(request.toSchema(true).toBER(false)),
      signal: AbortSignal.timeout(args.timeoutMs ?? 10_000),
    });
    if (response.status !== 200) {
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `The OCSP responder answered ${response.status}.`, {
        status: response.status,
      });
    }
    body = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    if (error instanceof RenkeiError) throw error;
    throw new RenkeiError(
      'ERR_UPSTREAM_UNAVAILABLE',
      `The OCSP responder could not be reached at ${args.url}.`,
    );
  }
  return readAnswer(body, args.certificate, certificate, issuer, nonce, args.at ?? new Date());
}

async function readAnswer(
  der: Uint8Array,
  asked: x509.X509Certificate,
  certificate: pkijs.Certificate,
  issuer: pkijs.Certificate,
  nonce: Uint8Array,
  at: Date,
): Promise<OcspAnswer> {
  const refuse = (why: string): never => {
    throw new RenkeiError('ERR_SIGNATURE_INVALID', `The OCSP answer is not to be believed: ${why}.`);
  };
  let basic: pkijs.BasicOCSPResponse;
  try {
    const response = pkijs.OCSPResponse.fromBER(der);
    const status = response.responseStatus.valueBlock.valueDec;
    if (status !== 0 || !response.responseBytes) return refuse(`response status ${status}`);
    basic = pkijs.BasicOCSPResponse.fromBER(response.responseBytes.response.valueBlock.valueHexView);
  } catch (error) {
    if (error instanceof RenkeiError) throw error;
    return refuse('not an OCSP response');
  }
  // The delegated responder: certified by the certificate's own issuing CA for OCSP signing.
  const signer = basic.certs?.[0];
  if (!signer) return refuse('no responder certificate');
  const responder = new x509.X509Certificate(signer.toSchema().toBER(false));
  const issuerX509 = new x509.X509Certificate(issuer.toSchema().toBER(false));
  const eku = responder.getExtension(x509.ExtendedKeyUsageExtension);
  const certified =
    responder.issuer === asked.issuer &&
    (eku?.usages.map(String).includes(ID_KP_OCSP_SIGNING) ?? false) &&
    (await responder.verify({ publicKey: issuerX509.publicKey, date: at }));
  if (!certified) return refuse('its responder is not the issuing CA’s');
  const key = await responder.publicKey.export(
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    ['verify'],
    webcrypto,
  );
  const signed = await webcrypto.subtle.verify(
    'RSASSA-PKCS1-v1_5',
    key,
    new Uint8Array(basic.signature.valueBlock.valueHexView),
    new Uint8Array(basic.tbsResponseData.tbsView),
  );
  if (!signed) return refuse('its signature does not verify');
  const echoed = basic.tbsResponseData.responseExtensions?.find((e) => e.extnID === ID_PKIX_OCSP_NONCE);
  const echoedNonce = echoed ? asn1js.fromBER(echoed.extnValue.valueBlock.valueHexView).result : undefined;
  if (
    !(echoedNonce instanceof asn1js.OctetString) ||
    !Buffer.from(echoedNonce.valueBlock.valueHexView).equals(Buffer.from(nonce))
  ) {
    return refuse('its nonce is not ours');
  }
  const { isForCertificate, status } = await basic.getCertificateStatus(certificate, issuer);
  if (!isForCertificate) return refuse('it answers for another certificate');
  const single = basic.tbsResponseData.responses.find((r) =>
    r.certID.serialNumber.isEqual(certificate.serialNumber),
  );
  if (single?.nextUpdate && single.nextUpdate < at) return refuse('it is out of date');
  const base = { responder: responder.subject, producedAt: basic.tbsResponseData.producedAt };
  if (status === 0) return { status: 'good', ...base };
  if (status !== 1) return { status: 'unknown', ...base };
  // RevokedInfo ::= SEQUENCE { revocationTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
  const revoked = single?.certStatus as asn1js.Constructed | undefined;
  const [time, reasonTagged] = revoked?.valueBlock.value ?? [];
  const reasonValue =
    reasonTagged instanceof asn1js.Constructed ? reasonTagged.valueBlock.value[0] : undefined;
  const reason =
    reasonValue instanceof asn1js.Enumerated ? CRL_REASONS[reasonValue.valueBlock.valueDec] : undefined;
  return {
    status: 'revoked',
    ...base,
    ...(time instanceof asn1js.GeneralizedTime ? { revokedAt: time.toDate() } : {}),
    ...(reason ? { reason } : {}),
  };
}
