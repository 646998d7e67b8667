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
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RenkeiError } from '../shared/errors.ts';
import { decryptForRecipient, encryptForRecipient } from '../trust/envelope/item-encryption.ts';
import { importCertificateKey } from '../trust/envelope/keys.ts';
import { signMessage } from '../trust/envelope/sign-message.ts';
import { verifyStoredMessage } from '../trust/envelope/verify-message.ts';
import { partyPaths } from '../trust/pki/files.ts';
import { pemToDer, type NodeTrust } from './node-trust.ts';
import { ResidentNoticeContent } from './resident-notices.ts';

export const RESIDENT_NOTICE = 'ResidentNotice';

const Sealed = z.object({ jws: z.string().max(64 * 1024), certificate: z.string().max(8192) });

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
    async seal(institutionId, content) {
      let pem: string;
      try {
        pem = readFileSync(partyPaths(pkiDir, institutionId).encryptionCert, 'utf8');
      } catch {
        throw new RenkeiError(
          'ERR_CONFIG_INVALID',
          `Institution ${institutionId} has no encryption certificate in the network's PKI directory.`,
          { institutionId },
        );
      }
      const recipient = await trust.verifyPeer(new Uint8Array(pemToDer(pem)), 'encryption');
      if (recipient.partyId !== institutionId) {
        throw new RenkeiError(
          'ERR_IDENTITY_MISMATCH',
          'The encryption certificate found for the institution names another party.',
          { institutionId },
        );
      }
      const jws = await signMessage({
        type: RESIDENT_NOTICE,
        payload: content,
        sender: trust.self.partyId,
        audience: institutionId,
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

export function createResidentNoticeOpener(trust: NodeTrust): ResidentNoticeOpener {
  return {
    async open(noticeId, sealed) {
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
      if (sender.partyId !== 'jlis' || sender.role !== 'jlis') {
        throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The notice is not signed by J-LIS.');
      }
      const verified = await verifyStoredMessage(plain.data.jws, {
        expectedType: RESIDENT_NOTICE,
        audience: trust.self.partyId,
        resolveKey: async (kid, from) =>
          kid === sender.serial && from === sender.partyId ? trust.signingKeyOf(der, sender) : undefined,
      });
      const content = ResidentNoticeContent.safeParse(verified.msg);
      if (!content.success || content.data.noticeId !== noticeId) {
        throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The sealed notice belongs to another notice.');
      }
      return content.data;
    },
  };
}
