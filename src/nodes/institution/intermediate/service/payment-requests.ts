/**
 * Payment requests this institution sent with a notice (公金決済), and the portal's confirmations
 * that a resident paid one. The confirmation comes through the core (which routes it by the notice
 * to its sender, this institution), sealed by the portal to this institution: opened here, matched
 * to what was asked (amount, reference), recorded paid once. The business systems read the status
 * by notice id.
 */
import {
  openPaymentConfirmation,
  type PaymentConfirmationDelivery,
  type PaymentRequestStatus,
} from '../../../../protocol/payments.ts';
import type { NodeTrust } from '../../../../protocol/node-trust.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { IntermediateStore } from '../store.ts';

export interface PaymentRequestServiceDeps {
  store: IntermediateStore;
  /** Absent without the trust layer: no confirmation can be opened, so none is taken. */
  trust?: NodeTrust | undefined;
  logger: Logger;
}

export class PaymentRequestService {
  constructor(private readonly deps: PaymentRequestServiceDeps) {}

  /**
   * The portal's confirmation, relayed by the core. Idempotent: a request paid already changes
   * nothing. Errors: ERR_ENCRYPTION_REQUIRED, the opener's (ERR_DECRYPTION_FAILED,
   * ERR_SIGNATURE_INVALID, ERR_CERT_*, ERR_ANSWER_MISMATCH), ERR_UNKNOWN_NOTICE (no payment request
   * with this notice), ERR_ANSWER_MISMATCH (not the amount or reference asked for).
   */
  async confirm(delivery: PaymentConfirmationDelivery): Promise<void> {
    const { store, trust, logger } = this.deps;
    if (!trust)
      throw new RenkeiError('ERR_ENCRYPTION_REQUIRED', 'This node cannot open sealed confirmations.');
    const content = await openPaymentConfirmation(trust, delivery);
    const request = await store.findPaymentRequest(delivery.noticeId);
    if (!request) {
      throw new RenkeiError('ERR_UNKNOWN_NOTICE', 'No payment request was sent with this notice.');
    }
    if (request.amount !== content.amount || request.reference !== content.reference) {
      logger.warn({ noticeId: delivery.noticeId }, 'payment confirmation does not match the request');
      throw new RenkeiError(
        'ERR_ANSWER_MISMATCH',
        'The confirmation is not for the amount and reference asked.',
      );
    }
    const marked = await store.markPaymentRequestPaid(delivery.noticeId, content.paidAt, content.receipt);
    logger.info({ noticeId: delivery.noticeId, first: marked }, 'payment confirmed');
  }

  /** The request and its status. Errors: ERR_UNKNOWN_NOTICE. */
  async get(noticeId: string): Promise<PaymentRequestStatus> {
    const request = await this.deps.store.findPaymentRequest(noticeId);
    if (!request)
      throw new RenkeiError(
        'ERR_UNKNOWN_NOTICE',
        'This institution sent no payment request with that notice.',
      );
    return { ...request, status: request.paidAt === undefined ? 'requested' : 'paid' };
  }
}
