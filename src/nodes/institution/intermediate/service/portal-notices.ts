/**
 * Notices to residents at the Myna Portal (お知らせ) from this institution: the business system names
 * the person by addressee number; the notice is sealed here to the portal (the core relays it
 * unread) and sent to the core under this institution's code for the person, which the core converts
 * into the portal's. The institution never learns the portal's code, nor whether the resident has
 * logged in to the portal yet (the core holds a notice until they do).
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '../../../../protocol/api.ts';
import type { InstitutionId } from '../../../../protocol/identifiers.ts';
import type { PortalNoticeSealer } from '../../../../protocol/portal-notice-sealing.ts';
import type { ResidentMessageInput, ResidentMessageSent } from '../../../../protocol/portal-notices.ts';
import type { coreApi } from '../../../../protocol/routes.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { IntermediateStore, SentPortalNotice } from '../store.ts';
import { unknownAddressee } from './errors.ts';

/** The portal's party id (src/nodes/portal/portal.ts), the recipient of every notice. */
export const PORTAL_RECIPIENT = 'portal';

export interface PortalNoticeSenderDeps {
  institutionId: InstitutionId;
  store: IntermediateStore;
  core: Client<typeof coreApi>;
  /** Absent without the trust layer: nothing can be sealed, so nothing is sent. */
  sealer?: PortalNoticeSealer | undefined;
  clock: Clock;
  logger: Logger;
}

export class PortalNoticeSender {
  constructor(private readonly deps: PortalNoticeSenderDeps) {}

  /**
   * Seal, send, record. Errors: ERR_UNKNOWN_ADDRESSEE_NUMBER, ERR_NO_PERSON_CODE,
   * ERR_ENCRYPTION_REQUIRED (no trust layer), the core's refusal (recorded `refused`), or
   * ERR_UPSTREAM_UNAVAILABLE (not recorded: the business system sends again).
   */
  async send(input: ResidentMessageInput, options: { sentBy?: string } = {}): Promise<ResidentMessageSent> {
    const { institutionId, store, core, sealer, clock, logger } = this.deps;
    const person = await store.findPerson(input.addresseeNumber);
    if (!person) throw unknownAddressee(input.addresseeNumber);
    if (person.personCode === undefined) {
      throw new RenkeiError('ERR_NO_PERSON_CODE', 'This person has no code yet, so no notice can be sent.', {
        addresseeNumber: input.addresseeNumber,
      });
    }
    if (!sealer) {
      throw new RenkeiError(
        'ERR_ENCRYPTION_REQUIRED',
        'A notice is sealed to the portal: this node has no trust layer.',
      );
    }
    const noticeId = randomUUID();
    const sealed = await sealer.seal(PORTAL_RECIPIENT, {
      noticeId,
      senderId: institutionId,
      title: input.title,
      body: input.body,
      ...(input.payment ? { payment: input.payment } : {}),
    });
    const record = (outcome: SentPortalNotice['outcome'], reason: string | null) =>
      store.recordSentPortalNotice({
        noticeId,
        addresseeNumber: input.addresseeNumber,
        title: input.title,
        outcome,
        reason,
        sentBy: options.sentBy ?? null,
        sentAt: clock.now().toISOString(),
      });
    try {
      const accepted = await core.submitPortalNotice({
        body: { senderId: institutionId, noticeId, personCode: person.personCode, sealed },
      });
      await record('sent', null);
      if (input.payment) {
        await store.recordPaymentRequest({
          noticeId,
          addresseeNumber: input.addresseeNumber,
          ...input.payment,
          requestedAt: accepted.receivedAt,
        });
      }
      logger.info({ noticeId }, 'portal notice sent');
      return { noticeId, sentAt: accepted.receivedAt };
    } catch (error) {
      if (error instanceof RenkeiError && error.code !== 'ERR_UPSTREAM_UNAVAILABLE') {
        await record('refused', error.code);
        logger.warn({ noticeId, code: error.code }, 'portal notice refused by the core');
      }
      throw error;
    }
  }
}
