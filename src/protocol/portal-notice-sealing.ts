/**
 * Sealing an institution's notice to the Myna Portal, so that the core relays it without reading it.
 * The construction of resident-notice-sealing.ts (J-LIS's notices of change), the other way round:
 * the institution signs the content to the portal (so that not even the core, which can encrypt to
 * anyone's public key, can make up a notice in an institution's name), then encrypts that message
 * with its identity certificate to the portal's encryption key (JWE, ECDH-ES + A256GCM), the notice
 * id bound into the authenticated header. The portal finds the sender in the signature, and refuses
 * a notice whose signer is not the sender the core named.
 *
 * The portal's encryption certificate comes from the network's PKI directory
 * (`parties/portal/encryption-cert.pem`), checked like any peer's, as J-LIS finds an institution's.
 */
import { RenkeiError } from '../shared/errors.ts';
import type { NodeTrust } from './node-trust.ts';
import { openFromParty, sealToParty } from './party-sealing.ts';
import { PortalNoticeContent } from './portal-notices.ts';

export const PORTAL_NOTICE = 'PortalNotice';

/** The sending institution's side. */
export interface PortalNoticeSealer {
  /**
   * The notice sealed to `portalId`. Errors: ERR_CONFIG_INVALID (no encryption certificate for it in
   * the PKI directory), ERR_CERT_* , ERR_IDENTITY_MISMATCH (the certificate names another party).
   */
  seal(portalId: string, content: PortalNoticeContent): Promise<string>;
}

/** The portal's side. */
export interface PortalNoticeOpener {
  /**
   * The content, checked: decrypted with the portal's key, signed by `senderId`'s certificate from
   * the network's CA, addressed here, for this notice. Errors: ERR_DECRYPTION_FAILED,
   * ERR_SIGNATURE_INVALID, ERR_CERT_*, ERR_ANSWER_MISMATCH (another sender's, or another notice's).
   */
  open(noticeId: string, senderId: string, sealed: string): Promise<PortalNoticeContent>;
}

export function createPortalNoticeSealer(trust: NodeTrust, pkiDir: string): PortalNoticeSealer {
  return {
    seal: (portalId, content) =>
      sealToParty(trust, pkiDir, {
        recipientId: portalId,
        type: PORTAL_NOTICE,
        payload: content,
        id: content.noticeId,
        missing: `The portal ${portalId} has no encryption certificate in the network's PKI directory.`,
        recipientKind: 'the portal',
        details: { portalId },
      }),
  };
}

export function createPortalNoticeOpener(trust: NodeTrust): PortalNoticeOpener {
  return {
    async open(noticeId, senderId, sealed) {
      const msg = await openFromParty(trust, sealed, {
        type: PORTAL_NOTICE,
        id: noticeId,
        maxJwsChars: 128 * 1024,
        isSender: (sender) => sender.partyId === senderId,
        wrongSender: 'The notice is not signed by the institution named as its sender.',
      });
      const content = PortalNoticeContent.safeParse(msg);
      if (!content.success || content.data.noticeId !== noticeId || content.data.senderId !== senderId) {
        throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The sealed notice belongs to another notice.');
      }
      return content.data;
    },
  };
}
