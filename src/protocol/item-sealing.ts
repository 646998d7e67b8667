/**
 * End-to-end protection of an answer's items, from the provider to the requester (issue 6, part 5):
 * the core relays them and cannot read or alter them.
 *
 * - The requester puts its encryption certificate in its (signed) inquiry; the core passes it on in
 *   the provision request. The provider checks it: issued by the network's CA, for encryption,
 *   naming the requester the core names. A core that swapped in a key of its own would need a
 *   certificate from the CA naming the requester.
 * - The provider signs the items to the requester (an `AnsweredItems` message, so that not even the
 *   core, which can encrypt to anyone's public key, can make up items), then encrypts that message
 *   with its identity certificate to the requester's key (JWE, ECDH-ES + A256GCM, bound to the
 *   processing number).
 * - The provider signs, with the items, the hash of the requester's signed inquiry (which the core
 *   passes on in the provision request): the items answer that very message.
 * - The requester decrypts, checks the certificate inside names the provider the inquiry went to,
 *   checks the signature and the processing number, and that the inquiry hash is the hash of an
 *   inquiry it sent, asking what its record says it asked, before its own layout checks.
 *
 * We considered encrypt-only (the core could then forge items under any provider's name) and
 * sign-only (the core would read them): both fail the promise that the core never sees a resident's
 * data and cannot change it.
 */
import { z } from 'zod';
import { MessageHash } from '../trust/envelope/format.ts';
import { encryptForRecipient } from '../trust/envelope/item-encryption.ts';
import { importCertificateKey } from '../trust/envelope/keys.ts';
import { signMessage } from '../trust/envelope/sign-message.ts';
import { verifyStoredMessage } from '../trust/envelope/verify-message.ts';
import { RenkeiError } from '../shared/errors.ts';
import type { MessageArchive } from '../shared/message-archive.ts';
import { AnsweredItem, InquiryBatchRequest, InquiryRequest, MAX_BATCH_MEMBERS } from './messages.ts';
import { decryptToSelf, pemToDer, type NodeTrust } from './node-trust.ts';

export const ANSWERED_ITEMS = 'AnsweredItems';
export const ANSWERED_BATCH = 'AnsweredBatch';

const Sealed = z.object({ jws: z.string().max(8 * 1024 * 1024), certificate: z.string().max(8192) });
const AnsweredItems = z.object({
  processingNumber: z.string(),
  inquiryHash: MessageHash,
  items: z.array(AnsweredItem).max(20),
});

const AnsweredBatch = z.object({
  batchId: z.string(),
  inquiryHash: MessageHash,
  members: z
    .array(z.object({ processingNumber: z.string(), items: z.array(AnsweredItem).max(20) }))
    .max(MAX_BATCH_MEMBERS),
});
export type AnsweredBatch = z.infer<typeof AnsweredBatch>;

export interface ItemSealer {
  /** This party's encryption certificate (PEM), to put in its inquiries. */
  readonly encryptionCertificate: string;
  /**
   * Provider side. Errors: ERR_CERT_* (the requester's certificate is not the network's, not for
   * encryption, expired or revoked), ERR_IDENTITY_MISMATCH (it names another party).
   */
  seal(args: {
    processingNumber: string;
    /** The hash of the requester's signed inquiry, from the provision request: signed with the items. */
    inquiryHash: string;
    requesterId: string;
    requesterCertificate: string;
    items: AnsweredItem[];
  }): Promise<string>;
  /**
   * Requester side: the items, and the inquiry this party signed and sent that they answer (found in
   * its message archive by the hash the provider signed with them). Errors: ERR_DECRYPTION_FAILED,
   * ERR_SIGNATURE_INVALID, ERR_CERT_*, ERR_ANSWER_MISMATCH (another provider's, another processing
   * number's, or answering no inquiry this party sent).
   */
  open(args: {
    processingNumber: string;
    providerId: string | undefined;
    sealed: string;
  }): Promise<{ items: AnsweredItem[]; inquiry: InquiryRequest }>;
  /**
   * Provider side, for a batch: every provided member's items in ONE signed message (with the hash
   * of the requester's batch inquiry) encrypted ONCE to the requester, bound to the batch id. We
   * considered sealing each member apart, as the single path does, but a signature and an ECDH per
   * person is most of a batch's cost; one per batch keeps the same guarantees over all its members.
   * Errors: as `seal`.
   */
  sealBatch(args: {
    batchId: string;
    inquiryHash: string;
    requesterId: string;
    requesterCertificate: string;
    members: AnsweredBatch['members'];
  }): Promise<string>;
  /**
   * Requester side, for a batch: the members' items and the batch inquiry this party sent that they
   * answer. Errors: as `open`.
   */
  openBatch(args: {
    batchId: string;
    providerId: string;
    sealed: string;
  }): Promise<{ members: AnsweredBatch['members']; inquiry: InquiryBatchRequest }>;
}

/**
 * @param archive this party's message archive, where the requester finds the inquiry it sent under
 *   the hash the provider signed.
 */
export function createItemSealer(trust: NodeTrust, archive: MessageArchive): ItemSealer {
  /**
   * Requesters' encryption keys by certificate serial: importing one parses the certificate anew
   * (a sixteenth of a provider's time under load). The certificate is checked (`verifyPeer`, with
   * its revocation) on every seal before its key is used; a serial names one certificate of the CA.
   */
  const encryptionKeys = new Map<string, Promise<CryptoKey>>();
  const encryptionKeyOf = (serial: string, certificate: string): Promise<CryptoKey> => {
    let key = encryptionKeys.get(serial);
    if (key === undefined) {
      if (encryptionKeys.size >= 10_000) encryptionKeys.clear();
      key = importCertificateKey(certificate, 'encrypt');
      encryptionKeys.set(serial, key);
      key.catch(() => encryptionKeys.delete(serial));
    }
    return key;
  };
  /**
   * The provider's side of both seals, an inquiry's items (`AnsweredItems`) and a batch's
   * (`AnsweredBatch`): checks the requester's encryption certificate (the CA's, for encryption,
   * naming the requester, else `ERR_IDENTITY_MISMATCH`), signs `payload` as a `type` message to the
   * requester, and encrypts that to the certificate's key, bound to `boundTo` (the processing number,
   * or the batch id), with the key kept by the certificate's serial.
   */
  const sealTo = async (
    type: typeof ANSWERED_ITEMS | typeof ANSWERED_BATCH,
    payload: Record<string, unknown>,
    boundTo: string,
    { requesterId, requesterCertificate }: { requesterId: string; requesterCertificate: string },
  ): Promise<string> => {
    const batch = type === ANSWERED_BATCH;
    const der = new Uint8Array(pemToDer(requesterCertificate));
    const requester = await trust.verifyPeer(der, 'encryption');
    if (requester.partyId !== requesterId) {
      throw new RenkeiError(
        'ERR_IDENTITY_MISMATCH',
        batch
          ? 'The encryption certificate in the provision batch does not name its requester.'
          : 'The encryption certificate in the provision request does not name its requester.',
        { field: 'requesterEncryptionCertificate' },
      );
    }
    const jws = await signMessage({
      type,
      payload,
      sender: trust.self.partyId,
      audience: requesterId,
      key: trust.self.signingKey,
      kid: trust.self.kid,
      clock: trust.clock,
    });
    const key = await encryptionKeyOf(requester.serial, requesterCertificate);
    return encryptForRecipient({ jws, certificate: trust.tls.cert }, key, {
      kid: requester.serial,
      processingNumber: boundTo,
    });
  };
  return {
    encryptionCertificate: trust.self.encryption.certificatePem,

    seal(args) {
      const { processingNumber, inquiryHash, items } = args;
      return sealTo(ANSWERED_ITEMS, { processingNumber, inquiryHash, items }, processingNumber, args);
    },

    async open({ processingNumber, providerId, sealed }) {
      const plain = Sealed.safeParse(await decryptToSelf(trust, sealed, processingNumber));
      if (!plain.success) {
        throw new RenkeiError(
          'ERR_DECRYPTION_FAILED',
          'The sealed items are not a signed message and a certificate.',
        );
      }
      const der = new Uint8Array(pemToDer(plain.data.certificate));
      const provider = await trust.verifyPeer(der, 'signing');
      if (providerId !== undefined && provider.partyId !== providerId) {
        throw new RenkeiError(
          'ERR_ANSWER_MISMATCH',
          'The items are signed by another institution than the provider asked.',
        );
      }
      const verified = await verifyStoredMessage(plain.data.jws, {
        expectedType: ANSWERED_ITEMS,
        audience: trust.self.partyId,
        resolveKey: async (kid, sender) =>
          kid === provider.serial && sender === provider.partyId
            ? trust.signingKeyOf(der, provider)
            : undefined,
      });
      const answered = AnsweredItems.safeParse(verified.msg);
      if (!answered.success || answered.data.processingNumber !== processingNumber) {
        throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The sealed items belong to another inquiry.');
      }
      const inquiry = await sentInquiry(archive, answered.data.inquiryHash, trust.self.partyId);
      if (!inquiry || inquiry.providerId !== provider.partyId) {
        throw new RenkeiError(
          'ERR_ANSWER_MISMATCH',
          'The sealed items answer no inquiry this institution sent to their provider.',
        );
      }
      return { items: answered.data.items, inquiry };
    },

    sealBatch(args) {
      const { batchId, inquiryHash, members } = args;
      return sealTo(ANSWERED_BATCH, { batchId, inquiryHash, members }, batchId, args);
    },

    async openBatch({ batchId, providerId, sealed }) {
      const plain = Sealed.safeParse(await decryptToSelf(trust, sealed, batchId));
      if (!plain.success) {
        throw new RenkeiError(
          'ERR_DECRYPTION_FAILED',
          'The sealed items are not a signed message and a certificate.',
        );
      }
      const der = new Uint8Array(pemToDer(plain.data.certificate));
      const provider = await trust.verifyPeer(der, 'signing');
      if (provider.partyId !== providerId) {
        throw new RenkeiError(
          'ERR_ANSWER_MISMATCH',
          'The items are signed by another institution than the provider asked.',
        );
      }
      const verified = await verifyStoredMessage(plain.data.jws, {
        expectedType: ANSWERED_BATCH,
        audience: trust.self.partyId,
        resolveKey: async (kid, sender) =>
          kid === provider.serial && sender === provider.partyId
            ? trust.signingKeyOf(der, provider)
            : undefined,
      });
      const answered = AnsweredBatch.safeParse(verified.msg);
      if (!answered.success || answered.data.batchId !== batchId) {
        throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The sealed items belong to another batch.');
      }
      const kept = await archive.findByHash(answered.data.inquiryHash);
      const inquiry =
        kept?.direction === 'sent' &&
        kept.type === 'InquiryBatchRequest' &&
        kept.sender === trust.self.partyId
          ? claimsOf(kept.jws, InquiryBatchRequest)
          : undefined;
      if (!inquiry || inquiry.providerId !== provider.partyId || inquiry.batchId !== batchId) {
        throw new RenkeiError(
          'ERR_ANSWER_MISMATCH',
          'The sealed items answer no inquiry batch this institution sent to their provider.',
        );
      }
      return { members: answered.data.members, inquiry };
    },
  };
}

/** A message's claims as this party signed them (not checked again: it made them); undefined if other. */
function claimsOf<T extends z.ZodType>(jws: string, schema: T): z.output<T> | undefined {
  const claims = jws.split('.')[1] ?? '';
  try {
    const { msg } = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { msg?: unknown };
    const parsed = schema.safeParse(msg);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The inquiry `self` signed and sent under `hash`, from its own archive: its claims are read without
 * checking the signature again, since this party made it; undefined if it sent no such inquiry.
 */
async function sentInquiry(
  archive: MessageArchive,
  hash: string,
  self: string,
): Promise<InquiryRequest | undefined> {
  const kept = await archive.findByHash(hash);
  if (!kept || kept.direction !== 'sent' || kept.type !== 'InquiryRequest' || kept.sender !== self) {
    return undefined;
  }
  const claims = kept.jws.split('.')[1] ?? '';
  try {
    const { msg } = JSON.parse(Buffer.from(claims, 'base64url').toString()) as { msg?: unknown };
    const parsed = InquiryRequest.safeParse(msg);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
