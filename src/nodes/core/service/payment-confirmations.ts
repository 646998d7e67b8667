/**
 * Payment confirmations from the Myna Portal to the institution that asked for the payment
 * (公金決済): the notice relay run backwards. The portal sealed the confirmation to the notice's
 * sender; the core finds the notice it relayed to that portal and forwards the confirmation to that
 * notice's sender, and to nobody else: the portal names a notice, not a recipient, so it cannot use
 * the relay to reach an institution that never asked it for anything.
 *
 * The core keeps nothing here: it answers once the sender took the confirmation, and the portal,
 * which holds the fact of the payment, sends again until then. We considered a durable queue at the
 * core as for notices, but there the core must hold the notice because the portal may not know the
 * person yet; here the sender always exists and the portal already keeps the confirmation.
 */
import type { PaymentConfirmationSubmission } from '../../../protocol/payments.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { CoreStore } from '../store.ts';
import type { InstitutionReach } from './reach.ts';
import type { Registry } from './registry.ts';

export interface PaymentConfirmationRelayDeps {
  store: CoreStore;
  registry: Registry;
  reach: InstitutionReach;
  logger: Logger;
}

export class PaymentConfirmationRelay {
  constructor(private readonly deps: PaymentConfirmationRelayDeps) {}

  /**
   * Forward to the notice's sender. Errors: ERR_UNKNOWN_NOTICE (no notice of that id delivered to
   * this portal), ERR_UPSTREAM_UNAVAILABLE and the sender's own refusals (passed on).
   */
  async relay(submission: PaymentConfirmationSubmission): Promise<void> {
    const { store, registry, reach, logger } = this.deps;
    const notice = await store.findPortalNotice(submission.noticeId);
    if (notice?.portalId !== submission.portalId || notice.state !== 'delivered') {
      throw new RenkeiError('ERR_UNKNOWN_NOTICE', 'No notice of this id was delivered to this portal.');
    }
    const sender = await registry.get(notice.senderId);
    await reach(sender).deliverPaymentConfirmation({
      body: { noticeId: notice.noticeId, portalId: submission.portalId, sealed: submission.sealed },
    });
    logger.info({ noticeId: notice.noticeId, senderId: sender.id }, 'payment confirmation relayed');
  }
}
