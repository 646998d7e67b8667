/**
 * Payments from a notice (公金決済), and the confirmation going back to the institution that asked:
 *
 *   institution ──notice with a PaymentRequest──▶ core ──▶ portal   (portal-notices.ts)
 *   resident pays at the payment provider; the provider tells the portal
 *   portal ──PaymentConfirmationSubmission──▶ core                   (sealed to the notice's sender)
 *   core ──PaymentConfirmationDelivery──▶ institution                (to the notice's sender only)
 *
 * The confirmation is the notice relay run backwards, with the same sealing (party-sealing.ts): the
 * portal signs it to the institution and encrypts it to the institution's key, so the core relays
 * what it cannot read or make up. The core routes it by the notice id to the institution that sent
 * that notice through it, never to an institution the portal names, and keeps nothing: the portal
 * holds the confirmation until the core answers that the institution took it.
 */
import { z } from 'zod';
import { RenkeiError } from '../shared/errors.ts';
import { AddresseeNumber, InstitutionId } from './identifiers.ts';
import { SealedItems } from './messages.ts';
import type { NodeTrust } from './node-trust.ts';
import { openFromParty, sealToParty } from './party-sealing.ts';
import { PaymentRequest, PortalNoticeId } from './portal-notices.ts';

export const PAYMENT_CONFIRMATION = 'PaymentConfirmation';

/** What the portal seals to the institution: the notice paid, how much, when, the provider's receipt. */
export const PaymentConfirmationContent = z.object({
  noticeId: PortalNoticeId,
  institutionId: InstitutionId,
  amount: PaymentRequest.shape.amount,
  reference: PaymentRequest.shape.reference,
  paidAt: z.iso.datetime(),
  /** The payment provider's receipt number for this payment. */
  receipt: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
});
export type PaymentConfirmationContent = z.infer<typeof PaymentConfirmationContent>;

/** Portal → core: `POST /v1/payment-confirmations` (signed; `portalId` bound to the certificate). */
export const PaymentConfirmationSubmission = z.object({
  portalId: InstitutionId,
  noticeId: PortalNoticeId,
  sealed: SealedItems,
});
export type PaymentConfirmationSubmission = z.infer<typeof PaymentConfirmationSubmission>;

/** Core → the notice's sender: `POST /network/v1/payment-confirmations`. */
export const PaymentConfirmationDelivery = z.object({
  noticeId: PortalNoticeId,
  portalId: InstitutionId,
  sealed: SealedItems,
});
export type PaymentConfirmationDelivery = z.infer<typeof PaymentConfirmationDelivery>;

export const PaymentRequestParams = z.object({ noticeId: PortalNoticeId });
export type PaymentRequestParams = z.infer<typeof PaymentRequestParams>;

/** A payment request as the institution's business system reads it. */
export const PaymentRequestStatus = PaymentRequest.extend({
  noticeId: PortalNoticeId,
  addresseeNumber: AddresseeNumber,
  status: z.enum(['requested', 'paid']),
  requestedAt: z.string(),
  paidAt: z.string().optional(),
  receipt: z.string().optional(),
});
export type PaymentRequestStatus = z.infer<typeof PaymentRequestStatus>;

/**
 * The confirmation sealed to the institution. Errors: ERR_CONFIG_INVALID (no encryption certificate
 * for it in the PKI directory), ERR_CERT_*, ERR_IDENTITY_MISMATCH.
 */
export function sealPaymentConfirmation(
  trust: NodeTrust,
  pkiDir: string,
  content: PaymentConfirmationContent,
): Promise<string> {
  return sealToParty(trust, pkiDir, {
    recipientId: content.institutionId,
    type: PAYMENT_CONFIRMATION,
    payload: content,
    id: content.noticeId,
    missing: `The institution ${content.institutionId} has no encryption certificate in the network's PKI directory.`,
    recipientKind: 'the institution',
    details: { institutionId: content.institutionId },
  });
}

/**
 * The confirmation, checked: decrypted with this institution's key, signed by the portal named
 * `portalId`, addressed here, for this notice. Errors: ERR_DECRYPTION_FAILED, ERR_SIGNATURE_INVALID,
 * ERR_CERT_*, ERR_ANSWER_MISMATCH (another signer, another notice, or another institution's).
 */
export async function openPaymentConfirmation(
  trust: NodeTrust,
  delivery: PaymentConfirmationDelivery,
): Promise<PaymentConfirmationContent> {
  const msg = await openFromParty(trust, delivery.sealed, {
    type: PAYMENT_CONFIRMATION,
    id: delivery.noticeId,
    maxJwsChars: 16 * 1024,
    isSender: (sender) => sender.partyId === delivery.portalId && sender.role === 'portal',
    wrongSender: 'The payment confirmation is not signed by the portal.',
  });
  const content = PaymentConfirmationContent.safeParse(msg);
  if (
    !content.success ||
    content.data.noticeId !== delivery.noticeId ||
    content.data.institutionId !== trust.self.partyId
  ) {
    throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The sealed confirmation belongs to another notice.');
  }
  return content.data;
}
