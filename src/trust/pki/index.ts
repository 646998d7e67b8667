/**
 * The network's own PKI: a root and an issuing CA on disk, party certificates, revocation (CRL and
 * OCSP), and the checks nodes run on each other's certificates. See README.md.
 */
export {
  initPki,
  issuePartyCertificates,
  renewPartyCertificates,
  listCertificates,
  readPkiConfig,
  refreshCrl,
  renewOcspResponder,
  revokeCertificate,
  type InitPkiOptions,
  type InitializedPki,
  type IssuePartyOptions,
  type IssuedCertificate,
  type IssuedParty,
  type ListedCertificate,
  type PkiConfig,
  type RandomBytes,
  type RevokeOptions,
  type RevokeResult,
} from './authority.ts';
export {
  CRL_REASON_CODES,
  REVOCATION_REASONS,
  assertRevocationReason,
  isRevocationReason,
  type CertificateRecord,
  type CrlReason,
  type RevocationReason,
} from './ca-index.ts';
export { CrlRefused, openCrl, type SignedCrl } from './crl.ts';
export { partyPaths, pkiPaths } from './files.ts';
export { OCSP_ANSWER_VALIDITY_MS, OCSP_RESPONSE_STATUS, respondOcsp } from './ocsp.ts';
export {
  PARTY_ROLES,
  PARTY_URN_PREFIX,
  isPartyId,
  normaliseSerial,
  type PartyCertificateKind,
  type PartyRole,
} from './profiles.ts';
export {
  DEFAULT_REVOCATION_MAX_AGE_MS,
  RevocationCache,
  type RevocationCacheOptions,
  type RevocationStatus,
} from './revocation-cache.ts';
export { partyHeadKey, partyIdentityKey, type HeadKey, type HeadKeyRefusal } from './party-key.ts';
export { loadTrustBundle, parseTrustBundle, type TrustBundle } from './trust-bundle.ts';
export {
  partyIdOf,
  verifyPartyCertificate,
  type CertificateUse,
  type VerifiedParty,
  type VerifyPartyOptions,
} from './verify.ts';
export { loadPki, type CertificateStatus, type OcspResponder, type PkiView } from './view.ts';
export { x509 } from './x509.ts';
