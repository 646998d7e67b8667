/**
 * Notices to residents (お知らせ) at the portal: what the core delivers (an institution's notice,
 * sealed to the portal, for the portal's code of a person) stored for that person by the portal's own
 * person id, listed in their inbox, marked read when opened; and told at once to the person's open
 * pages (`subscribe`, for the Server-Sent Events of `/notices/events`).
 *
 * Live updates are per process: a page connected to another portal process learns of a notice at its
 * next load. We considered a database poll for every open page, but one process serves the demo, and
 * a shared bus (PostgreSQL's LISTEN) is the step for several.
 */
import { EventEmitter } from 'node:events';
import type { PortalNoticeOpener } from '../../../protocol/portal-notice-sealing.ts';
import type { PaymentRequest, PortalNoticeDelivery } from '../../../protocol/portal-notices.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { NoticeRow, PortalStore } from '../store.ts';

export interface NoticeServiceDeps {
  store: PortalStore;
  /** Opens what institutions sealed to the portal; absent without the trust layer (nothing is taken). */
  opener?: PortalNoticeOpener | undefined;
  clock: Clock;
  logger: Logger;
  /** Told of a notice that carries a payment request (service D), before it is listed. */
  onPaymentRequest?:
    | ((
        notice: { noticeId: string; personId: string; senderId: string },
        payment: PaymentRequest,
      ) => Promise<void>)
    | undefined;
}

/** What an open page is told: how many notices are unread now, and the notice that just arrived. */
export interface NoticeEvent {
  unread: number;
  notice?: NoticeRow;
}

export const INBOX_LIMIT = 200;

export class NoticeService {
  private readonly events = new EventEmitter();

  constructor(private readonly deps: NoticeServiceDeps) {
    // Each open inbox page is a listener; a resident may have several tabs.
    this.events.setMaxListeners(0);
  }

  /**
   * The core's delivery: opened (the sender's signature, the portal's key), stored for the person
   * who holds the code. Idempotent on the notice id. Errors: ERR_ENCRYPTION_REQUIRED (no trust
   * layer), ERR_UNKNOWN_PERSON_CODE (nobody here holds the code), the opener's (ERR_DECRYPTION_FAILED,
   * ERR_SIGNATURE_INVALID, ERR_CERT_*, ERR_ANSWER_MISMATCH).
   */
  async receive(delivery: PortalNoticeDelivery): Promise<void> {
    const { store, opener, clock, logger } = this.deps;
    if (!opener) throw new RenkeiError('ERR_ENCRYPTION_REQUIRED', 'This portal cannot open sealed notices.');
    const personId = await store.findPersonByCode(delivery.personCode);
    if (personId === undefined) {
      throw new RenkeiError('ERR_UNKNOWN_PERSON_CODE', 'No person here holds this code.');
    }
    const content = await opener.open(delivery.noticeId, delivery.senderId, delivery.sealed);
    const row: NoticeRow = {
      noticeId: delivery.noticeId,
      personId,
      senderId: delivery.senderId,
      senderName: delivery.senderName,
      title: content.title,
      body: content.body,
      sentAt: new Date(delivery.sentAt),
      receivedAt: clock.now(),
      readAt: undefined,
    };
    // Before the notice: a notice listed is one whose payment can be made (idempotent, as the insert).
    if (content.payment) await this.deps.onPaymentRequest?.(row, content.payment);
    if (!(await store.insertNotice(row))) return;
    logger.info({ noticeId: delivery.noticeId, senderId: delivery.senderId }, 'notice received');
    const unread = await store.countUnreadNotices(personId);
    this.events.emit(personId, { unread, notice: row } satisfies NoticeEvent);
  }

  list(personId: string): Promise<NoticeRow[]> {
    return this.deps.store.listNotices(personId, INBOX_LIMIT);
  }

  unread(personId: string): Promise<number> {
    return this.deps.store.countUnreadNotices(personId);
  }

  /** The notice, marked read (the person's other pages are told). Errors: ERR_ROUTE_NOT_FOUND. */
  async open(personId: string, noticeId: string): Promise<NoticeRow> {
    const { store, clock } = this.deps;
    const notice = await store.findNotice(personId, noticeId);
    if (!notice) throw new RenkeiError('ERR_ROUTE_NOT_FOUND', 'There is no such notice.');
    if (notice.readAt === undefined) {
      await store.markNoticeRead(personId, noticeId, clock.now());
      this.events.emit(personId, { unread: await store.countUnreadNotices(personId) } satisfies NoticeEvent);
    }
    return notice;
  }

  /** Be told of the person's notice events until the returned function is called. */
  subscribe(personId: string, listener: (event: NoticeEvent) => void): () => void {
    this.events.on(personId, listener);
    return () => this.events.off(personId, listener);
  }
}
