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
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RenkeiError } from '../shared/errors.ts';
import { decryptForRecipient, encryptForRecipient } from '../trust/envelope/item-encryption.ts';
import { importCertificateKey } from '../trust/envelope/keys.ts';
import { signMessage } from '../trust/envelope/sign-message.ts';
import { verifyStoredMessage } from '../trust/envelope/verify-message.ts';
import { partyPaths } from '../trust/pki/files.ts';
import { pemToDer, type NodeTrust } from './node-trust.ts';
import { PortalNoticeContent } from './portal-notices.ts';

export const PORTAL_NOTICE = 'PortalNotice';

const Sealed = z.object({ jws: z.string().max(128 * 1024), certificate: z.string().max(8192) });

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
    async seal(portalId, content) {
      let pem: string;
      try {
        pem = readFileSync(partyPaths(pkiDir, portalId).encryptionCert, 'utf8');
      } catch {
        throw new RenkeiError(
          'ERR_CONFIG_INVALID',
          `The portal ${portalId} has no encryption certificate in the network's PKI directory.`,
          { portalId },
        );
      }
      const recipient = await trust.verifyPeer(new Uint8Array(pemToDer(pem)), 'encryption');
      if (recipient.partyId !== portalId) {
        throw new RenkeiError(
          'ERR_IDENTITY_MISMATCH',
          'The encryption certificate found for the portal names another party.',
          { portalId },
        );
      }
      const jws = await signMessage({
        type: PORTAL_NOTICE,
        payload: content,
        sender: trust.self.partyId,
        audience: portalId,
        key: trust.self.signingKey,
        kid: trust.self.kid,
        clock: trust.clock,
      });
      const key = await importCertificateKey(pem, 'encrypt');
      return encryptForRecipient({ jws, certificate: trust.tls.cert }, key, {
        kid: recipient.serial,
        processingNumber: content.noticeId,
      });
    },
  };
}

export function createPortalNoticeOpener(trust: NodeTrust): PortalNoticeOpener {
  return {
    async open(noticeId, senderId, sealed) {
      const plain = Sealed.safeParse(
        await decryptForRecipient(sealed, trust.self.encryption.key, {
          expectedKid: trust.self.encryption.kid,
          processingNumber: noticeId,
        }),
      );
      if (!plain.success) {
        throw new RenkeiError(
          'ERR_DECRYPTION_FAILED',
          'The notice is not a signed message and a certificate.',
        );
      }
      const der = new Uint8Array(pemToDer(plain.data.certificate));
      const sender = await trust.verifyPeer(der, 'signing');
      if (sender.partyId !== senderId) {
        throw new RenkeiError(
          'ERR_ANSWER_MISMATCH',
          'The notice is not signed by the institution named as its sender.',
        );
      }
      const verified = await verifyStoredMessage(plain.data.jws, {
        expectedType: PORTAL_NOTICE,
        audience: trust.self.partyId,
        resolveKey: async (kid, from) =>
          kid === sender.serial && from === sender.partyId ? trust.signingKeyOf(der, sender) : undefined,
      });
      const content = PortalNoticeContent.safeParse(verified.msg);
      if (!content.success || content.data.noticeId !== noticeId || content.data.senderId !== senderId) {
        throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The sealed notice belongs to another notice.');
      }
      return content.data;
    },
  };
}
