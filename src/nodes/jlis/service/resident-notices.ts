/**
 * Notices of change to the institutions that hold a resident (住基ネット's role towards the network).
 *
 * A number change or an identity change is committed with its notice (`resident_notices`, same
 * transaction). Then, in the background: the core is asked which institutions hold the resident
 * (`coreApi.listCodeHolders`), the notice is sealed to each (resident-notice-sealing.ts: signed by
 * J-LIS, encrypted to the institution's encryption certificate), and the sealed notices are handed to
 * the core (`coreApi.submitResidentNotice`) under the notice's id, which makes a resend harmless. Until
 * the core has accepted it the notice is retried with growing waits, and sent again when J-LIS starts.
 */
import type { Client } from '../../../protocol/api.ts';
import type { ResidentNoticeSealer } from '../../../protocol/resident-notice-sealing.ts';
import { ResidentNoticeContent } from '../../../protocol/resident-notices.ts';
import type { coreApi } from '../../../protocol/routes.ts';
import type { Clock } from '../../../shared/clock.ts';
import { DurableSends, warnEveryTenthRetry, type AttemptResult } from '../../../shared/durable-sends.ts';
import { HTTP_STATUS, RenkeiError, type ErrorCode } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { JlisStore, NoticeWrite, ResidentNoticeToSend } from '../store.ts';

export interface ResidentNoticeSenderDeps {
  store: JlisStore;
  core: Client<typeof coreApi>;
  /** Seals a notice to a holder; absent without the trust layer, when notices cannot be sent. */
  sealer?: ResidentNoticeSealer | undefined;
  clock: Clock;
  logger: Logger;
  /** The first waits between attempts (default 200 ms, 1 s, 5 s), then doubling up to the cap. */
  retryDelaysMs?: readonly number[];
  /** The longest wait between two attempts (default 60 s). */
  maxRetryDelayMs?: number;
}

export class ResidentNoticeSender {
  private readonly sends: DurableSends;

  constructor(private readonly deps: ResidentNoticeSenderDeps) {
    this.sends = new DurableSends({
      retryDelaysMs: deps.retryDelaysMs,
      maxRetryDelayMs: deps.maxRetryDelayMs ?? 60_000,
      onError: warnEveryTenthRetry(deps.logger, 'resident notice not yet accepted by the core; retrying'),
    });
  }

  /**
   * How a notice is written with its change: pending, or failed at once when there is no trust layer
   * to seal it with (recorded all the same: the change happened, and no institution was told).
   */
  writeOf(notice: ResidentNoticeToSend): NoticeWrite {
    return this.deps.sealer
      ? { notice, state: 'pending' }
      : { notice, state: 'failed', errorCode: 'ERR_ENCRYPTION_REQUIRED' };
  }

  /** Send a notice committed with its change (in the background). */
  send(write: NoticeWrite): void {
    if (write.state !== 'pending') {
      this.deps.logger.warn(
        { noticeId: write.notice.noticeId, code: write.errorCode },
        'resident notice not sent: no trust layer to seal it with',
      );
      return;
    }
    const { notice } = write;
    this.sends.send((retry) => this.attempt(notice, retry));
  }

  /** Send every notice a previous run committed and the core has not accepted. */
  async resume(): Promise<number> {
    const pending = await this.deps.store.listPendingNotices();
    for (const notice of pending) this.send({ notice, state: 'pending' });
    if (pending.length > 0) this.deps.logger.info({ count: pending.length }, 'resident notices resumed');
    return pending.length;
  }

  /** Resolves when every notice sent so far was accepted or ended (or J-LIS closed). */
  whenSent(): Promise<void> {
    return this.sends.whenIdle();
  }

  close(): Promise<void> {
    return this.sends.close();
  }

  private async attempt(notice: ResidentNoticeToSend, retry: number): Promise<AttemptResult> {
    const { store, core, sealer, clock, logger } = this.deps;
    const { noticeId } = notice;
    const fail = async (errorCode: ErrorCode) => {
      await store.endNotice(noticeId, { state: 'failed', errorCode }, clock.now());
      logger.warn({ noticeId, code: errorCode }, 'resident notice failed');
      return 'done' as const;
    };
    if (!sealer) return fail('ERR_ENCRYPTION_REQUIRED');
    const content = ResidentNoticeContent.safeParse(JSON.parse(notice.content));
    if (!content.success) return fail('ERR_INTERNAL');
    try {
      const { institutionIds } = await core.listCodeHolders({
        body: { residentRecordCode: notice.residentRecordCode },
      });
      const sealed: Record<string, string> = {};
      for (const institutionId of institutionIds) {
        try {
          sealed[institutionId] = await sealer.seal(institutionId, content.data);
        } catch (error) {
          // A holder without a usable encryption certificate cannot be told: the others still are.
          logger.warn(
            { noticeId, institutionId, code: error instanceof RenkeiError ? error.code : undefined },
            'resident notice cannot be sealed for a holder',
          );
        }
      }
      let holders = 0;
      if (Object.keys(sealed).length > 0) {
        const accepted = await core.submitResidentNotice({
          body: { noticeId, residentRecordCode: notice.residentRecordCode, kind: notice.kind, sealed },
        });
        holders = accepted.institutionIds.length;
      }
      await store.endNotice(noticeId, { state: 'sent', holders }, clock.now());
      logger.info({ noticeId, kind: notice.kind, holders, attempts: retry + 1 }, 'resident notice sent');
      return 'done';
    } catch (error) {
      // The core refused it for good (a 4xx): recorded failed. Down, 5xx: again after the next wait.
      if (error instanceof RenkeiError && HTTP_STATUS[error.code] < 500) return fail(error.code);
      throw error;
    }
  }
}
