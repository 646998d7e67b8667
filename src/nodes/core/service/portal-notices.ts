/**
 * Institutions' notices to residents at the Myna Portal (お知らせ), relayed by the core.
 *
 * The sender names the person by its own code; the core opens it (as it opens an inquiry's), stores
 * the notice under the person's resident key with the sealed content (never a code, never the
 * content: the sender sealed it to the portal), answers, and delivers it to the portal with the
 * portal's code for the person, retried with growing waits until the portal acknowledges it, and
 * again after a restart (`resume`).
 *
 * A person the portal holds no code for (they never logged in: no `code_holders` row for the portal)
 * has their notices `held`. When the portal acquires its code for them (their first login, through
 * J-LIS and `CodeService.issueCode`), `release` delivers what was held, oldest first. We considered
 * refusing the notice instead (a clear code to the sender), but the answer would then tell every
 * institution whether a resident uses the portal, and a resident who registers after a notice was
 * sent (a tax office's, months before) would never see it. We rejected the core deriving the portal's
 * code on its own and delivering at once: the portal would then hold a code for someone who never
 * logged in, which its design rules out (it could read their exchanges).
 */
import type { PortalNoticeAccepted, PortalNoticeSubmission } from '../../../protocol/portal-notices.ts';
import type { Clock } from '../../../shared/clock.ts';
import { DurableSends, warnEveryTenthRetry, type AttemptResult } from '../../../shared/durable-sends.ts';
import { HTTP_STATUS, RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { CoreStore, StoredPortalNotice } from '../store.ts';
import type { CodeCipher } from './code-cipher.ts';
import { QUEUE_DEADLINE_PASSED, type OutboundLimits } from './concurrency.ts';
import { INQUIRY_GRACE_VERSIONS } from './inquiries.ts';
import type { PortalReach } from './reach.ts';
import { institutionSuspended, type Registry } from './registry.ts';

export interface PortalNoticeServiceOptions {
  store: CoreStore;
  registry: Registry;
  cipher: CodeCipher;
  clock: Clock;
  logger: Logger;
  reach: PortalReach;
  outbound: OutboundLimits;
  retryDelaysMs?: readonly number[] | undefined;
  maxRetryDelayMs: number;
}

export class PortalNoticeService {
  private readonly sends: DurableSends;
  private readonly sending = new Set<string>();

  constructor(private readonly options: PortalNoticeServiceOptions) {
    this.sends = new DurableSends({
      retryDelaysMs: options.retryDelaysMs,
      maxRetryDelayMs: options.maxRetryDelayMs,
      onError: warnEveryTenthRetry(options.logger, 'portal notice not yet delivered; retrying'),
    });
  }

  /**
   * Store and (when the portal holds the person) deliver in the background. Errors:
   * ERR_UNKNOWN_PERSON_CODE (not a code the core issued to the sender), ERR_UNKNOWN_INSTITUTION (no
   * portal in the registry), ERR_INSTITUTION_SUSPENDED (the sender), ERR_DUPLICATE (the id names another sender's or another person's notice).
   */
  async submit(submission: PortalNoticeSubmission): Promise<PortalNoticeAccepted> {
    const { store, registry, cipher, clock, logger } = this.options;
    const sender = await registry.get(submission.senderId);
    if (sender.suspended) throw institutionSuspended(sender.id, 'sender');
    const linkingCode = cipher.decode(sender.id, submission.personCode, {
      current: sender.keyVersion,
      previous: INQUIRY_GRACE_VERSIONS,
    });
    if (!linkingCode) {
      throw new RenkeiError(
        'ERR_UNKNOWN_PERSON_CODE',
        `The person code is not one the core issued to ${sender.id}.`,
      );
    }
    const residentKey = await store.findResidentKeyByLinkingCode(
      Buffer.from(linkingCode).toString('base64url'),
    );
    if (residentKey === undefined) {
      throw new RenkeiError('ERR_UNKNOWN_PERSON_CODE', 'The person code names no person the core knows.');
    }
    const portal = await this.portal();
    const holders = await store.listCodeHolders(residentKey);
    const { stored, notice } = await store.recordPortalNotice({
      noticeId: submission.noticeId,
      senderId: sender.id,
      portalId: portal.id,
      residentKey,
      sealed: submission.sealed,
      state: holders.includes(portal.id) ? 'pending' : 'held',
      attempts: 0,
      reason: null,
      receivedAt: clock.now().toISOString(),
      endedAt: null,
    });
    if (!stored && (notice.senderId !== sender.id || notice.residentKey !== residentKey)) {
      throw new RenkeiError('ERR_DUPLICATE', 'The notice id names another notice.');
    }
    if (stored) {
      logger.info(
        { noticeId: notice.noticeId, senderId: sender.id, state: notice.state },
        'portal notice accepted',
      );
      if (notice.state === 'pending') this.deliver(notice);
    }
    return { noticeId: notice.noticeId, receivedAt: notice.receivedAt };
  }

  /** The portal has just been issued its code for the person: deliver what was held for them. */
  async release(residentKey: string, portalId: string): Promise<number> {
    const released = await this.options.store.releaseHeldPortalNotices(residentKey, portalId);
    for (const notice of released) this.deliver(notice);
    if (released.length > 0)
      this.options.logger.info({ count: released.length }, 'held portal notices released');
    return released.length;
  }

  /** Deliver again every notice a previous run left unacknowledged. */
  async resume(): Promise<number> {
    const pending = await this.options.store.listPendingPortalNotices();
    for (const notice of pending) this.deliver(notice);
    return pending.length;
  }

  whenDelivered(): Promise<void> {
    return this.sends.whenIdle();
  }

  close(): Promise<void> {
    return this.sends.close();
  }

  private async portal() {
    const portals = (await this.options.store.listInstitutions()).filter((i) => i.kind === 'portal');
    const portal = portals[0];
    if (!portal) throw new RenkeiError('ERR_UNKNOWN_INSTITUTION', 'No Myna Portal is registered.');
    return portal;
  }

  private deliver(notice: StoredPortalNotice): void {
    if (this.sending.has(notice.noticeId)) return;
    this.sending.add(notice.noticeId);
    this.sends.send(async (retry) => {
      const result = await this.attempt(notice, retry + 1);
      if (result === 'done') this.sending.delete(notice.noticeId);
      return result;
    });
  }

  /** One attempt: 2xx `delivered`; a 4xx (the portal cannot open or place it) `failed`; else again. */
  private async attempt(notice: StoredPortalNotice, attempts: number): Promise<AttemptResult> {
    const { store, registry, cipher, clock, logger, outbound } = this.options;
    const { noticeId } = notice;
    const end = async (state: 'delivered' | 'failed', reason: string | null) => {
      await store.endPortalNotice(noticeId, state, attempts, reason, clock.now().toISOString());
      if (state === 'delivered') logger.info({ noticeId, attempts }, 'portal notice delivered');
      else logger.warn({ noticeId, reason, attempts }, 'portal notice failed');
      return 'done' as const;
    };
    const portal = await registry.find(notice.portalId);
    if (portal?.kind !== 'portal') return end('failed', 'ERR_UNKNOWN_INSTITUTION');
    const sender = await registry.find(notice.senderId);
    const stored = await store.findLinkingCode(notice.residentKey);
    if (stored === undefined || notice.sealed === null) return end('failed', 'ERR_UNKNOWN_PERSON_CODE');
    const linkingCode = new Uint8Array(Buffer.from(stored, 'base64url'));
    try {
      const sent = await outbound.run(portal.id, () =>
        this.options.reach(portal).deliverPortalNotice({
          body: {
            noticeId,
            senderId: notice.senderId,
            senderName: sender?.name ?? notice.senderId,
            personCode: cipher.encode(portal.id, portal.keyVersion, linkingCode),
            sentAt: notice.receivedAt,
            sealed: notice.sealed ?? '',
          },
        }),
      );
      if (sent === QUEUE_DEADLINE_PASSED) return 'again';
    } catch (error) {
      if (error instanceof RenkeiError && HTTP_STATUS[error.code] < 500) return end('failed', error.code);
      throw error;
    }
    return end('delivered', null);
  }
}
