/**
 * Sealing a notice of change from J-LIS to one institution, so that the core relays it without
 * reading it (the Individual Numbers of a number change, the changed fields of an identity change).
 * The same construction as an answer's items (item-sealing.ts): J-LIS signs the content to the
 * institution (so not even the core, which can encrypt to anyone's public key, can make up a notice),
 * then encrypts that message with its identity certificate to the institution's encryption key (JWE,
 * ECDH-ES + A256GCM), the notice id bound into the authenticated header.
 *
 * Where J-LIS finds the institution's encryption certificate: in the network's PKI directory
 * (`parties/<id>/encryption-cert.pem`, public), checked like any peer's (issued by the network's CA,
 * for encryption, naming that institution, not revoked). We considered the core passing on
 * certificates with the list of holders, as it passes on a requester's in a provision request; but
 * the core would then choose the keys J-LIS encrypts to, and a certificate naming the institution
 * is all the check could ask of it anyway. The directory is what the CA publishes.
 */
import { RenkeiError } from '../shared/errors.ts';
import type { NodeTrust } from './node-trust.ts';
import { openFromParty, sealToParty } from './party-sealing.ts';
import { ResidentNoticeContent } from './resident-notices.ts';

export const RESIDENT_NOTICE = 'ResidentNotice';

/** J-LIS's side. */
export interface ResidentNoticeSealer {
  /**
   * The notice sealed to `institutionId`. Errors: ERR_CONFIG_INVALID (no encryption certificate for
   * it in the PKI directory), ERR_CERT_* (not the network's, not for encryption, expired, revoked),
   * ERR_IDENTITY_MISMATCH (the certificate names another party).
   */
  seal(institutionId: string, content: ResidentNoticeContent): Promise<string>;
}

/** The institution's side. */
export interface ResidentNoticeOpener {
  /**
   * The content, checked: decrypted with this party's key, signed by J-LIS's certificate, addressed
   * here, for this notice id. Errors: ERR_DECRYPTION_FAILED, ERR_SIGNATURE_INVALID, ERR_CERT_*,
   * ERR_ANSWER_MISMATCH (not J-LIS's, or another notice's).
   */
  open(noticeId: string, sealed: string): Promise<ResidentNoticeContent>;
}

export function createResidentNoticeSealer(trust: NodeTrust, pkiDir: string): ResidentNoticeSealer {
  return {
    seal: (institutionId, content) =>
      sealToParty(trust, pkiDir, {
        recipientId: institutionId,
        type: RESIDENT_NOTICE,
        payload: content,
        id: content.noticeId,
        missing: `Institution ${institutionId} has no encryption certificate in the network's PKI directory.`,
        recipientKind: 'the institution',
        details: { institutionId },
      }),
  };
}

export function createResidentNoticeOpener(trust: NodeTrust): ResidentNoticeOpener {
  return {
    async open(noticeId, sealed) {
      const msg = await openFromParty(trust, sealed, {
        type: RESIDENT_NOTICE,
        id: noticeId,
        maxJwsChars: 64 * 1024,
        isSender: (sender) => sender.partyId === 'jlis' && sender.role === 'jlis',
        wrongSender: 'The notice is not signed by J-LIS.',
      });
      const content = ResidentNoticeContent.safeParse(msg);
      if (!content.success || content.data.noticeId !== noticeId) {
        throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The sealed notice belongs to another notice.');
      }
      return content.data;
    },
  };
}
