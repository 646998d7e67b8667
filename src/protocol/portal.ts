/**
 * What the Myna Portal (マイナポータル), the resident's card reader and J-LIS agree on: the login
 * challenge the card signs with its user-authentication key (利用者証明用電子証明書), and the portal's
 * code acquisition at J-LIS, which carries that signature as proof that the person logged in.
 *
 * The card signs `loginMessage(challenge)`: a fixed prefix (so that a login signature can never be
 * taken for a signature of anything else the key signs), the portal's origin (so that a signature
 * obtained by another site is worth nothing at the portal), the random nonce and the expiry. We
 * considered signing the bare nonce, as some relying parties do, but then a page posing as the
 * portal could pass a real portal's challenge to the reader and replay the answer there.
 */
import { z } from 'zod';
import { AcquisitionNumber, InstitutionId } from './identifiers.ts';

export const LOGIN_MESSAGE_PREFIX = 'renkei.portal-login.v1';

/** 32 random bytes, base64url (43 characters). */
export const LoginNonce = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a login challenge');
export type LoginNonce = z.infer<typeof LoginNonce>;

/** An http(s) origin: scheme, host and port, nothing else. */
export const WebOrigin = z.string().refine((text) => {
  try {
    return new URL(text).origin === text && /^https?:$/.test(new URL(text).protocol);
  } catch {
    return false;
  }
}, 'must be an origin such as https://portal.example');
export type WebOrigin = z.infer<typeof WebOrigin>;

export const LoginChallenge = z.object({
  origin: WebOrigin,
  nonce: LoginNonce,
  expiresAt: z.iso.datetime(),
});
export type LoginChallenge = z.infer<typeof LoginChallenge>;

/** The bytes the card signs for a login. */
export function loginMessage(challenge: LoginChallenge): Uint8Array {
  const text = [LOGIN_MESSAGE_PREFIX, challenge.origin, challenge.nonce, challenge.expiresAt].join('\n');
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** Base64 (standard alphabet) of at most `max` characters. */
const Base64 = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');

/**
 * Portal → J-LIS: `POST /v1/portal-code-acquisitions`. The user-authentication certificate (DER,
 * base64) and the card's signature over the login challenge it answered: J-LIS relays a code
 * acquisition only for a person who has just logged in with their card.
 */
export const PortalCodeAcquisitionRequest = z.object({
  institutionId: InstitutionId,
  acquisitionNumber: AcquisitionNumber,
  authenticationCertificate: Base64(8192),
  challenge: LoginChallenge,
  signature: Base64(1024),
});
export type PortalCodeAcquisitionRequest = z.infer<typeof PortalCodeAcquisitionRequest>;

/**
 * The certificate policy of a JPKI user-authentication certificate (利用者証明用, class 30), as J-LIS's
 * CA writes it (`JPKI_OID.authenticationPolicy` in src/nodes/jlis/jpki/profiles.ts; the portal's
 * tests check the two agree). A relying party checks it so that a signing certificate, or any other
 * certificate of the same CA hierarchy, is never taken for a login.
 */
export const AUTHENTICATION_CERTIFICATE_POLICY = '1.2.392.200149.8.5.1.3.30';
