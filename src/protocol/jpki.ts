/**
 * J-LIS's JPKI side (公的個人認証サービス) for relying parties (署名検証者) and J-LIS's operators: the
 * registration of relying parties, the links they register with the holder's signed consent, and the
 * linking service (証明書紐付け S→R, 最新性確認 old S → new S). The CRLs and OCSP are not JSON and
 * are served apart, on J-LIS's plain-HTTP publication listener (`GET /jpki/v1/crl/{kind}`,
 * `POST /jpki/v1/ocsp`, `GET /jpki/v1/ca-bundle.pem`). Serials are hexadecimal, any case.
 */
import { z } from 'zod';

const Serial = z
  .string()
  .trim()
  .regex(/^(0x)?[0-9a-fA-F:]{1,96}$/, 'a serial number in hexadecimal');
const Base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64')
  .max(64 * 1024);
/**
 * `held`: on hold (一時保留) while its card is suspended as lost; not usable, as a revoked one, until
 * the suspension is lifted (valid again) or the card revoked (revoked for good).
 */
const CertificateStatus = z.enum(['valid', 'held', 'revoked']);

export const RelyingPartyRegistration = z.object({
  /** The party id of the relying party's network certificate (role business or institution). */
  partyId: z.string().min(1).max(64),
  /** Its name as people know it (e.g. 〇〇銀行). */
  name: z.string().trim().min(1).max(200),
});
export type RelyingPartyRegistration = z.infer<typeof RelyingPartyRegistration>;

export const RelyingPartyView = z.object({
  partyId: z.string(),
  name: z.string(),
  registeredAt: z.string(),
});
export type RelyingPartyView = z.infer<typeof RelyingPartyView>;

export const RelyingPartyList = z.object({ relyingParties: z.array(RelyingPartyView) });
export type RelyingPartyList = z.infer<typeof RelyingPartyList>;

/**
 * A relying party registers its link to a signing certificate: the holder's consent, signed with it,
 * as a CMS SignedData (DER, base64) carrying the certificate and content JSON
 * `{"relyingPartyId": "<the relying party's party id>", …}`.
 */
export const LinkRequest = z.object({ signedConsent: Base64 });
export type LinkRequest = z.infer<typeof LinkRequest>;

export const LinkRegistered = z.object({
  signingSerial: z.string(),
  linkedAt: z.string(),
  /** False when the relying party held this link already. */
  created: z.boolean(),
});
export type LinkRegistered = z.infer<typeof LinkRegistered>;

/** A signing certificate's serial, in the body (never in a URL). */
export const SigningSerialQuery = z.object({ signingSerial: Serial });
export type SigningSerialQuery = z.infer<typeof SigningSerialQuery>;

/** S→R: the user-authentication certificate issued with the signing certificate. */
export const AuthenticationSerialAnswer = z.object({
  signingSerial: z.string(),
  signingStatus: CertificateStatus,
  authenticationSerial: z.string(),
  authenticationStatus: CertificateStatus,
  authenticationNotAfter: z.string(),
});
export type AuthenticationSerialAnswer = z.infer<typeof AuthenticationSerialAnswer>;

/** 最新性確認: the newest signing certificate of the same holder. */
export const NewestSigningAnswer = z.object({
  signingSerial: z.string(),
  signingStatus: CertificateStatus,
  /** Why the certificate asked about was revoked (loss, move, name_change, reissue…), when it was. */
  revocationReason: z.string().optional(),
  /** Whether a newer signing certificate replaced it. */
  replaced: z.boolean(),
  newestSerial: z.string(),
  newestStatus: CertificateStatus,
  /** The newest signing certificate, DER, base64. */
  newestCertificate: z.string(),
  /** Whether the basic four information of the newest differs from the one asked about. */
  fourInformationChanged: z.boolean(),
});
export type NewestSigningAnswer = z.infer<typeof NewestSigningAnswer>;
