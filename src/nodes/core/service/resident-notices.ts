/**
 * Notices of change (番号の変更, 本人確認情報の変更) relayed to the institutions that hold a person.
 *
 * J-LIS asks which institutions hold the person (`holders`: the core recorded each code issuance,
 * `code_holders`), seals a notice to each, and hands them over (`submit`). The core stores them
 * (ciphertext and the person's resident key, never a code or a resident record code), answers, and
 * delivers each to its institution with that institution's code for the person, retried with
 * growing waits until the institution acknowledges, and again after a restart (`resume`).
 *
 * The core cannot open a notice: J-LIS sealed it to the institution's encryption key. It learns that
 * a person's number changed, or that their identity record did (not how), which it could not hide
 * while relaying it.
 */
import type {
  CodeHolders,
  ResidentNoticeAccepted,
  ResidentNoticeDelivery,
  ResidentNoticeSubmission,
} from '../../../protocol/resident-notices.ts';
import type { Clock } from '../../../shared/clock.ts';
import { HTTP_STATUS, RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { CoreStore, StoredResidentNotice } from '../store.ts';
import type { CodeCipher } from './code-cipher.ts';
import { QUEUE_DEADLINE_PASSED, type OutboundLimits } from './concurrency.ts';
import { DurableSends, warnEveryTenthRetry, type AttemptResult } from '../../../shared/durable-sends.ts';
import type { InstitutionReach } from './reach.ts';
import type { Registry } from './registry.ts';

export interface ResidentNoticeServiceOptions {
  store: CoreStore;
  registry: Registry;
  cipher: CodeCipher;
  clock: Clock;
  logger: Logger;
  reach: InstitutionReach;
  outbound: OutboundLimits;
  /** The first waits between attempts (default 200 ms, 1 s, 5 s); then doubling up to the cap. */
  retryDelaysMs?: readonly number[] | undefined;
  maxRetryDelayMs: number;
}

export class ResidentNoticeService {
  private readonly sends: DurableSends;
  /** Notices this process is sending (`noticeId|institutionId`): a resume does not start them twice. */
  private readonly sending = new Set<string>();

  constructor(private readonly options: ResidentNoticeServiceOptions) {
    this.sends = new DurableSends({
      retryDelaysMs: options.retryDelaysMs,
      maxRetryDelayMs: options.maxRetryDelayMs,
      onError: warnEveryTenthRetry(options.logger, 'resident notice not yet delivered; retrying'),
    });
  }

  /** The institutions holding a code for the person (none for a person never issued one). */
  async holders(residentRecordCode: string): Promise<CodeHolders> {
    const { store, cipher } = this.options;
    return { institutionIds: await store.listCodeHolders(cipher.residentKey(residentRecordCode)) };
  }

  /**
   * Store the notice for each holder it was sealed for and deliver it in the background. A resend of
   * a stored notice id is answered as the first and stores nothing. Institutions named that hold no
   * code for the person are skipped: the core never issues a code to tell someone of a change.
   */
  async submit(submission: ResidentNoticeSubmission): Promise<ResidentNoticeAccepted> {
    const { store, cipher, clock, logger } = this.options;
    const residentKey = cipher.residentKey(submission.residentRecordCode);
    const holders = new Set(await store.listCodeHolders(residentKey));
    const named = Object.keys(submission.sealed).sort();
    const skipped = named.filter((id) => !holders.has(id));
    const receivedAt = clock.now().toISOString();
    const rows: StoredResidentNotice[] = named
      .filter((id) => holders.has(id))
      .map((institutionId) => ({
        noticeId: submission.noticeId,
        institutionId,
        residentKey,
        kind: submission.kind,
        sealed: submission.sealed[institutionId] ?? null,
        state: 'pending',
        attempts: 0,
        reason: null,
        receivedAt,
        endedAt: null,
      }));
    const stored = await store.recordResidentNotices(rows);
    if (!stored) {
      const institutionIds = await store.listResidentNoticeHolders(submission.noticeId);
      return { noticeId: submission.noticeId, institutionIds, skipped };
    }
    logger.info(
      { noticeId: submission.noticeId, kind: submission.kind, holders: rows.length, skipped: skipped.length },
      'resident notice accepted',
    );
    for (const row of rows) this.deliver(row);
    return { noticeId: submission.noticeId, institutionIds: rows.map((r) => r.institutionId), skipped };
  }

  /**
   * Deliver again every notice a previous run left unacknowledged (at start; with several core
   * processes, on every sweep: those this process is sending already are not started twice, and two
   * processes sending one notice is harmless, as the institution takes it once).
   */
  async resume(): Promise<number> {
    const pending = await this.options.store.listPendingResidentNotices();
    for (const notice of pending) this.deliver(notice);
    if (pending.length > 0) this.options.logger.info({ count: pending.length }, 'resident notices resumed');
    return pending.length;
  }

  /** Resolves when every notice sent so far is acknowledged or ended (or the core closed). */
  whenDelivered(): Promise<void> {
    return this.sends.whenIdle();
  }

  close(): Promise<void> {
    return this.sends.close();
  }

  private deliver(notice: StoredResidentNotice): void {
    const key = `${notice.noticeId}|${notice.institutionId}`;
    if (this.sending.has(key)) return;
    this.sending.add(key);
    this.sends.send(async (retry) => {
      const result = await this.attempt(notice, retry + 1);
      if (result === 'done') this.sending.delete(key);
      return result;
    });
  }

  /**
   * One delivery attempt. Acknowledged (2xx): `delivered`. Refused for good (a 4xx: the institution
   * cannot open it, or is gone from the registry): `failed`, with the code. Anything else (down,
   * 5xx, busy): again after the next wait.
   */
  private async attempt(notice: StoredResidentNotice, attempts: number): Promise<AttemptResult> {
    const { store, registry, cipher, clock, logger, outbound } = this.options;
    const { noticeId, institutionId } = notice;
    const end = async (state: 'delivered' | 'failed', reason: string | null) => {
      await store.endResidentNotice(
        noticeId,
        institutionId,
        state,
        attempts,
        reason,
        clock.now().toISOString(),
      );
      if (state === 'delivered')
        logger.info({ noticeId, institutionId, attempts }, 'resident notice delivered');
      else logger.warn({ noticeId, institutionId, reason, attempts }, 'resident notice failed');
      return 'done' as const;
    };
    const institution = await registry.find(institutionId);
    if (!institution) return end('failed', 'ERR_UNKNOWN_INSTITUTION');
    // Held while the operator suspends it: a change of a person it holds must still reach it once
    // reinstated, or its addressee records would stay wrong for good.
    if (institution.suspended) return 'again';
    const stored = await store.findLinkingCode(notice.residentKey);
    if (stored === undefined || notice.sealed === null) return end('failed', 'ERR_UNKNOWN_PERSON_CODE');
    const linkingCode = new Uint8Array(Buffer.from(stored, 'base64url'));
    const delivery: ResidentNoticeDelivery = {
      noticeId,
      kind: notice.kind,
      personCode: cipher.encode(institution.id, institution.keyVersion, linkingCode),
      ...(institution.rekeyedVersion < institution.keyVersion
        ? { previousPersonCode: cipher.encode(institution.id, institution.keyVersion - 1, linkingCode) }
        : {}),
      sealed: notice.sealed,
    };
    try {
      const sent = await outbound.run(institution.id, () =>
        this.options.reach(institution).deliverResidentNotice({ body: delivery }),
      );
      if (sent === QUEUE_DEADLINE_PASSED) return 'again';
    } catch (error) {
      if (error instanceof RenkeiError && HTTP_STATUS[error.code] < 500) return end('failed', error.code);
      throw error;
    }
    return end('delivered', null);
  }
}
