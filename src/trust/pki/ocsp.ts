/**
 * The OCSP responder (RFC 6960): a DER OCSPRequest in, a DER OCSPResponse out, signed by the
 * delegated responder certificate, with each certificate's status read from the index as it is on
 * disk at that moment. The core mounts it at `POST /pki/v1/ocsp` (application/ocsp-request →
 * application/ocsp-response).
 *
 * Built on pkijs and asn1js; the only structure assembled by hand is the CertStatus CHOICE, which
 * pkijs leaves to the caller.
 */
import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import type { Clock } from '../../shared/clock.ts';
import { CRL_REASON_CODES, type CrlReason } from './ca-index.ts';
import type { OcspResponder, PkiView } from './view.ts';
import { pkijs, type x509 } from './x509.ts';

/** OCSPResponseStatus (RFC 6960 §4.2.1). */
export const OCSP_RESPONSE_STATUS = {
  successful: 0,
  malformedRequest: 1,
  internalError: 2,
  tryLater: 3,
  sigRequired: 5,
  unauthorized: 6,
} as const;

const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';
const ID_PKIX_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';

/** The hash algorithms a CertID may use (OpenSSL sends SHA-1 unless told otherwise). */
const CERT_ID_HASHES: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

/** Limits on what one request may ask, so a request cannot make the responder sign a huge answer. */
const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_CERT_IDS = 32;
/** RFC 8954 §2.1: a nonce is 1 to 32 octets; its extension value is that OCTET STRING (2 bytes more). */
const MAX_NONCE_EXTENSION_BYTES = 34;

/**
 * How long a relying party may cache an answer (nextUpdate − thisUpdate). Five minutes, the same
 * bound as the nodes' revocation cache, so a revocation reaches every verifier within it.
 */
export const OCSP_ANSWER_VALIDITY_MS = 5 * 60_000;

/** What an OCSP answer says of one certificate (RFC 6960's three answers). */
export type OcspCertStatus =
  | { status: 'good' }
  /** `revoked` with certificateHold is a certificate on hold (RFC 6960 §2.2): it may be good again later. */
  | { status: 'revoked'; revokedAt: Date; reason: CrlReason }
  | { status: 'unknown' };

/**
 * One CA an OCSP responder answers for: its certificate, its delegated responder (a certificate that
 * CA issued with id-kp-OCSPSigning) and where the status of its certificates is read. The network has
 * one; J-LIS's JPKI has two (the signing and the user-authentication CAs).
 */
export interface OcspAuthority {
  readonly issuing: x509.X509Certificate;
  responder(): Promise<OcspResponder>;
  /** The status of the certificate with this serial (lower-case hex without leading zero bytes). */
  statusOf(serial: string): OcspCertStatus | Promise<OcspCertStatus>;
}

/**
 * Answer an OCSP request about the network's certificates, from the PKI as the core serves it
 * (`answerOcsp` with the network's one issuing CA).
 */
export async function respondOcsp(requestDer: Uint8Array, view: PkiView): Promise<Uint8Array> {
  return answerOcsp(requestDer, {
    clock: view.clock,
    authorities: [
      { issuing: view.issuing, responder: () => view.ocspResponder(), statusOf: (s) => view.statusOf(s) },
    ],
  });
}

/**
 * Answer an OCSP request. Never throws for what the request contains: a request that is not DER,
 * not an OCSPRequest, carries trailing bytes, asks about too many certificates or carries an
 * oversized nonce gets a `malformedRequest` response; a request about certificates none of which our
 * CAs issued gets `unauthorized` (RFC 6960 §2.3). Otherwise each CertID is answered `good`,
 * `revoked` (with time and reason) or `unknown` (a serial the CA never issued, a hash algorithm we do
 * not support, or another issuer's certificate asked alongside ours). A nonce is echoed.
 *
 * The answer is signed by the delegated responder of the CA of the first CertID that is ours: a
 * delegated responder speaks only for the CA that certified it (RFC 6960 §4.2.2.2), so CertIDs of
 * our other CAs asked in the same request are answered `unknown`.
 *
 * Rejects (a programmer's or operator's problem, not the requester's) only if signing fails.
 */
export async function answerOcsp(
  requestDer: Uint8Array,
  source: { clock: Clock; authorities: readonly OcspAuthority[] },
): Promise<Uint8Array> {
  const request = parseRequest(requestDer);
  if (!request) return statusOnly(OCSP_RESPONSE_STATUS.malformedRequest);

  const now = wholeSeconds(source.clock.now());
  const nextUpdate = new Date(now.getTime() + OCSP_ANSWER_VALIDITY_MS);
  const issuers = source.authorities.map((authority) => ({
    authority,
    identity: issuerIdentity(authority.issuing),
  }));
  const issuerOf = (certID: pkijs.CertID) => {
    const hash = CERT_ID_HASHES[certID.hashAlgorithm.algorithmId];
    if (hash === undefined) return undefined;
    return issuers.find(
      ({ identity }) =>
        equalBytes(certID.issuerNameHash.valueBlock.valueHexView, identity.nameHash(hash)) &&
        equalBytes(certID.issuerKeyHash.valueBlock.valueHexView, identity.keyHash(hash)),
    )?.authority;
  };
  const answering = request.certIds.map(issuerOf).find((a) => a !== undefined);
  if (!answering) return statusOnly(OCSP_RESPONSE_STATUS.unauthorized);

  const responses = await Promise.all(
    request.certIds.map(async (certID) => {
      const serial = Buffer.from(certID.serialNumber.valueBlock.valueHexView).toString('hex');
      const status: OcspCertStatus =
        issuerOf(certID) === answering
          ? await answering.statusOf(normalisedHex(serial))
          : { status: 'unknown' };
      return new pkijs.SingleResponse({
        certID,
        certStatus: certStatus(status),
        thisUpdate: now,
        nextUpdate,
      });
    }),
  );

  const responder = await answering.responder();
  const responderCert = pkijs.Certificate.fromBER(responder.certificate.rawData);
  const responseData = new pkijs.ResponseData({
    // ResponderID byKey: the SHA-1 of the responder's public key (RFC 6960 §4.2.1).
    responderID: new asn1js.OctetString({
      valueHex: sha(responderCert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView, 'sha1'),
    }),
    producedAt: now,
    responses,
    ...(request.nonce
      ? {
          responseExtensions: [new pkijs.Extension({ extnID: ID_PKIX_OCSP_NONCE, extnValue: request.nonce })],
        }
      : {}),
  });
  const basic = new pkijs.BasicOCSPResponse({ tbsResponseData: responseData, certs: [responderCert] });
  await basic.sign(responder.privateKey, 'SHA-256');
  const response = new pkijs.OCSPResponse({
    responseStatus: new asn1js.Enumerated({ value: OCSP_RESPONSE_STATUS.successful }),
    responseBytes: new pkijs.ResponseBytes({
      responseType: ID_PKIX_OCSP_BASIC,
      response: new asn1js.OctetString({ valueHex: basic.toSchema().toBER() }),
    }),
  });
  return new Uint8Array(response.toSchema().toBER());
}

/** A serial's hex without leading zero bytes (a CertID's INTEGER may carry one). */
function normalisedHex(hex: string): string {
  const stripped = hex.replace(/^(?:00)+(?=[0-9a-f])/, '');
  return stripped.length % 2 === 1 ? `0${stripped}` : stripped;
}

interface ParsedRequest {
  certIds: pkijs.CertID[];
  /** The nonce extension's value (the DER OCTET STRING), to echo as it came. */
  nonce: ArrayBuffer | undefined;
}

function parseRequest(der: Uint8Array): ParsedRequest | undefined {
  if (der.byteLength === 0 || der.byteLength > MAX_REQUEST_BYTES) return undefined;
  try {
    const asn1 = asn1js.fromBER(der);
    if (asn1.offset !== der.byteLength) return undefined; // not BER, or trailing bytes
    const request = new pkijs.OCSPRequest({ schema: asn1.result });
    const certIds = request.tbsRequest.requestList.map((r) => r.reqCert);
    if (certIds.length === 0 || certIds.length > MAX_CERT_IDS) return undefined;
    const nonces = (request.tbsRequest.requestExtensions ?? []).filter(
      (e) => e.extnID === ID_PKIX_OCSP_NONCE,
    );
    if (nonces.length > 1) return undefined;
    const nonce = nonces[0]?.extnValue.valueBlock.valueHexView;
    if (nonce && (nonce.byteLength === 0 || nonce.byteLength > MAX_NONCE_EXTENSION_BYTES)) return undefined;
    return { certIds, nonce: nonce ? new Uint8Array(nonce).slice().buffer : undefined };
  } catch {
    return undefined;
  }
}

function certStatus(status: OcspCertStatus): asn1js.BaseBlock {
  switch (status.status) {
    case 'good':
      return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 } });
    case 'unknown':
      return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 2 } });
    case 'revoked': {
      // RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
      const reason =
        status.reason === 'unspecified'
          ? []
          : [
              new asn1js.Constructed({
                idBlock: { tagClass: 3, tagNumber: 0 },
                value: [new asn1js.Enumerated({ value: CRL_REASON_CODES[status.reason] })],
              }),
            ];
      return new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 1 },
        value: [new asn1js.GeneralizedTime({ valueDate: wholeSeconds(status.revokedAt) }), ...reason],
      });
    }
  }
}

/** The issuing CA's name and key hashes as CertIDs carry them, per hash algorithm. */
function issuerIdentity(issuing: x509.X509Certificate) {
  const cert = pkijs.Certificate.fromBER(issuing.rawData);
  const name = new Uint8Array(cert.subject.toSchema().toBER());
  const key = cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
  return {
    nameHash: (hash: string) => sha(name, hash),
    keyHash: (hash: string) => sha(key, hash),
  };
}

function statusOnly(status: number): Uint8Array {
  const response = new pkijs.OCSPResponse({ responseStatus: new asn1js.Enumerated({ value: status }) });
  return new Uint8Array(response.toSchema().toBER());
}

function sha(data: Uint8Array, algorithm: string): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(data).digest());
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a).equals(Buffer.from(b));
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
