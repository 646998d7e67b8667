/**
 * Payments from a notice (公金決済), service D: a notice may carry a payment request (amount, due
 * date, payee, the institution's reference); the resident pays it through a payment provider (here
 * `DemoPaymentProvider`), which tells the portal; the portal marks it paid **once** and sends the
 * institution a confirmation it signs and seals to it, through the core (`coreApi.
 * relayPaymentConfirmation`; src/protocol/payments.ts says why the core keeps nothing).
 *
 * Paying twice is impossible: the payment row moves from unpaid to paid by compare-and-set, and the
 * provider charges only when the portal accepted the payment (`settle`), so a second checkout of the
 * same request (another tab, a replayed form) is refused and nothing is charged.
 *
 * The confirmation is sent until the core answers that the institution took it: in the background
 * with growing waits, and again at the next start for any left (`resume`).
 */
import type { Client } from '../../../protocol/api.ts';
import type { PaymentConfirmationContent } from '../../../protocol/payments.ts';
import type { PaymentRequest } from '../../../protocol/portal-notices.ts';
import type { coreApi } from '../../../protocol/routes.ts';
import type { Clock } from '../../../shared/clock.ts';
import { DurableSends, warnEveryTenthRetry } from '../../../shared/durable-sends.ts';
import { HTTP_STATUS, RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { MoneyStore, PaymentRow } from '../money-store.ts';

/** What a payment provider offers the portal: a checkout page for one payment. */
export interface PaymentProvider {
  createCheckout(input: {
    personId: string;
    noticeId: string;
    amount: number;
    payee: string;
    dueDate: string;
    reference: string;
  }): Promise<{ url: string }>;
}

export interface PaymentServiceDeps {
  portalId: string;
  store: MoneyStore;
  core: Client<typeof coreApi>;
  /** Seals the confirmation to the institution; absent without the trust layer (nothing is sent). */
  seal?: ((content: PaymentConfirmationContent) => Promise<string>) | undefined;
  clock: Clock;
  logger: Logger;
  retryDelaysMs?: readonly number[] | undefined;
}

export class PaymentService {
  private readonly sends: DurableSends;
  private readonly sending = new Set<string>();

  constructor(private readonly deps: PaymentServiceDeps) {
    this.sends = new DurableSends({
      retryDelaysMs: deps.retryDelaysMs,
      maxRetryDelayMs: 60_000,
      onError: warnEveryTenthRetry(deps.logger, 'payment confirmation not yet taken; retrying'),
    });
  }

  /** A notice arrived with a payment request: kept for its person (idempotent on the notice id). */
  async requested(notice: { noticeId: string; personId: string; senderId: string }, payment: PaymentRequest) {
    await this.deps.store.insertPayment({
      ...notice,
      ...payment,
      paidAt: undefined,
      receipt: undefined,
      confirmedAt: undefined,
    });
  }

  find(personId: string, noticeId: string): Promise<PaymentRow | undefined> {
    return this.deps.store.findPayment(personId, noticeId);
  }

  /**
   * The provider's checkout for the person's payment request. Errors: ERR_UNKNOWN_NOTICE (none, or
   * another person's), ERR_ALREADY_PAID.
   */
  async checkout(personId: string, noticeId: string, provider: PaymentProvider): Promise<{ url: string }> {
    const payment = await this.deps.store.findPayment(personId, noticeId);
    if (!payment) throw new RenkeiError('ERR_UNKNOWN_NOTICE', 'There is no such payment request.');
    if (payment.paidAt !== undefined) throw new RenkeiError('ERR_ALREADY_PAID', 'This was paid already.');
    return provider.createCheckout({
      personId,
      noticeId,
      amount: payment.amount,
      payee: payment.payee,
      dueDate: payment.dueDate,
      reference: payment.reference,
    });
  }

  /**
   * The provider tells the portal the resident confirmed the payment: marked paid once, then
   * confirmed to the institution in the background. Errors: ERR_UNKNOWN_NOTICE, ERR_ANSWER_MISMATCH
   * (not the amount asked), ERR_ALREADY_PAID (paid already: the provider must not charge).
   */
  async settle(input: {
    personId: string;
    noticeId: string;
    amount: number;
    receipt: string;
  }): Promise<PaymentRow> {
    const { store, clock, logger } = this.deps;
    const payment = await store.findPayment(input.personId, input.noticeId);
    if (!payment) throw new RenkeiError('ERR_UNKNOWN_NOTICE', 'There is no such payment request.');
    if (payment.amount !== input.amount) {
      throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The amount paid is not the amount asked.');
    }
    const paidAt = clock.now();
    if (!(await store.markPaid(input.noticeId, paidAt, input.receipt))) {
      logger.warn({ noticeId: input.noticeId }, 'a second payment of a paid request refused');
      throw new RenkeiError('ERR_ALREADY_PAID', 'This was paid already.');
    }
    logger.info({ noticeId: input.noticeId }, 'payment made');
    const paid = { ...payment, paidAt, receipt: input.receipt };
    this.confirm(paid);
    return paid;
  }

  /** Send again every confirmation a previous run left untaken. */
  async resume(): Promise<number> {
    const left = await this.deps.store.listUnconfirmedPayments();
    for (const payment of left) this.confirm(payment);
    return left.length;
  }

  whenConfirmed(): Promise<void> {
    return this.sends.whenIdle();
  }

  close(): Promise<void> {
    return this.sends.close();
  }

  private confirm(payment: PaymentRow): void {
    const { seal, core, store, clock, logger, portalId } = this.deps;
    if (!seal || payment.paidAt === undefined || payment.receipt === undefined) return;
    if (this.sending.has(payment.noticeId)) return;
    this.sending.add(payment.noticeId);
    const content: PaymentConfirmationContent = {
      noticeId: payment.noticeId,
      institutionId: payment.senderId,
      amount: payment.amount,
      reference: payment.reference,
      paidAt: payment.paidAt.toISOString(),
      receipt: payment.receipt,
    };
    this.sends.send(async () => {
      try {
        await core.relayPaymentConfirmation({
          body: { portalId, noticeId: payment.noticeId, sealed: await seal(content) },
        });
      } catch (error) {
        // A refusal (4xx) will not change by sending again: kept unconfirmed, logged for an operator.
        if (error instanceof RenkeiError && HTTP_STATUS[error.code] < 500) {
          logger.warn({ noticeId: payment.noticeId, code: error.code }, 'payment confirmation refused');
          this.sending.delete(payment.noticeId);
          return 'done';
        }
        throw error;
      }
      await store.markConfirmed(payment.noticeId, clock.now());
      logger.info({ noticeId: payment.noticeId }, 'payment confirmed to the institution');
      this.sending.delete(payment.noticeId);
      return 'done';
    });
  }
}
