/**
 * Inquiries (情報照会): number, validate, authorize against the legal table, convert the code, record,
 * then forward to the provider and deliver the answer back to the requester, asynchronously.
 *
 * On the trust layer the answer's items arrive sealed by the provider for the requester (a JWE the
 * core has no key to open). The core keeps that ciphertext, in the same transaction as the outcome,
 * until the requester has it (it acknowledged the push, or fetched it with `fetchAnswer` and then
 * acknowledged that with `acknowledgeAnswer`) or it expires (`answerRetentionMs`, default 7 days): an answer is no longer lost when the requester is
 * down past the retries or the core restarts before delivering it. Items in clear (nodes without the
 * trust layer) are relayed in memory only and never stored, as before: a lost delivery stays lost.
 *
 * The requester is the caller's certificate party on the trust layer (`boundTo` in the route table);
 * without it, `requesterId` in the body.
 */
import { v7 as uuidv7 } from 'uuid';
import type {
  AnswerDelivery,
  AnsweredItem,
  InquiryAccepted,
  InquiryRequest,
  NetworkInquiryStatus,
  ProvisionRequest,
} from '../../../protocol/messages.ts';
import { ANSWER_BODY_LIMIT } from '../../../protocol/routes.ts';
import type { RefusalRule } from '../../../domain/legal-table/types.ts';
import type { LegalTableInForce } from './legal-versions.ts';
import { RULE_CODES, refusalCode } from '../../../domain/legal-table/refusal-codes.ts';
import type { Clock } from '../../../shared/clock.ts';
import { HTTP_STATUS, RenkeiError, isErrorCode } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { DurableSends, retryDelay, type AttemptResult } from '../../../shared/durable-sends.ts';
import { Sleeper } from '../../../shared/sleeper.ts';
import type { Institution, ProvisionRecord } from '../model.ts';
import type { CoreStore, ProviderNotice, UnfinishedInquiry } from '../store.ts';
import type { CodeCipher } from './code-cipher.ts';
import type { InstitutionReach } from './reach.ts';
import { QUEUE_DEADLINE_PASSED, type OutboundLimits } from './concurrency.ts';
import { institutionSuspended, unknownInstitution, type Registry } from './registry.ts';

/** Codes of the key version before an institution's current one still work for inquiries. */
export const INQUIRY_GRACE_VERSIONS = 1;

/** The reason recorded when the provider could not be reached, failed, or answered nonsense. */
export const PROVIDER_UNAVAILABLE = 'provider_unavailable';

export interface InquiryServiceOptions {
  store: CoreStore;
  registry: Registry;
  cipher: CodeCipher;
  /** The legal table in force on an inquiry's day (service/legal-versions.ts). */
  legalTables: LegalTableInForce;
  clock: Clock;
  logger: Logger;
  /** A client for an institution's network side (`networkApi`), over the core's transport. */
  reach: InstitutionReach;
  /**
   * The first waits between attempts to deliver an answer to the requester (default 200 ms, 1 s,
   * 5 s); after them each wait doubles, up to `maxRetryDelayMs`. Provider notices wait the same.
   */
  deliveryRetryDelaysMs?: readonly number[];
  /** The longest wait between two attempts of a delivery or a provider notice (default 60 s). */
  maxRetryDelayMs?: number;
  /**
   * The bounds on calls to institutions (`createCore` makes one, shared with code deliveries):
   * at most 32 in flight to one institution and 256 in all by default.
   */
  outbound: OutboundLimits;
  /**
   * How long the core waits for a provider's answer from acceptance, queueing included (default
   * 30 s): past it the inquiry is `failed` / `provider_unavailable` at all three parties.
   */
  providerTimeoutMs?: number;
  /** How long sealed items are kept for a requester that has not received them (default 7 days). */
  answerRetentionMs?: number;
}

export const DEFAULT_ANSWER_RETENTION_MS = 7 * 24 * 3600_000;
export const DEFAULT_PROVIDER_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RETRY_DELAY_MS = 60_000;

/**
 * The most bytes of a provision answer the core reads: the largest the protocol allows
 * (`ANSWER_BODY_LIMIT`, 12 MiB), and no more, however much a provider sends.
 */
export const PROVISION_ANSWER_MAX_BYTES = ANSWER_BODY_LIMIT;

export interface ResumeSummary {
  /** Forwarded but never answered: recorded as failed and the failure delivered. */
  failed: number;
  /** Answered but not delivered, with nothing to lose (not held / failed) or sealed items kept: delivered again. */
  redelivered: number;
  /** Provided but not delivered, with no items kept (in clear, or expired): delivery recorded as failed. */
  undeliverable: number;
}

/** A delivery to make again after a restart. */
interface Redelivery {
  requesterId: string;
  delivery: AnswerDelivery;
  attempts: number;
}

const RESUME_CONCURRENCY = 32;

export class InquiryService {
  private readonly inFlight = new Set<Promise<void>>();
  /** Provider notices being sent: apart from `inFlight`, as a provider that is down holds them long. */
  private readonly notices: DurableSends;
  private readonly sleeper = new Sleeper();
  private readonly retryDelays: readonly number[];
  private readonly maxRetryDelayMs: number;
  private readonly outbound: OutboundLimits;
  private readonly answerRetentionMs: number;
  private readonly providerTimeoutMs: number;
  private closing = false;

  constructor(private readonly options: InquiryServiceOptions) {
    this.retryDelays = options.deliveryRetryDelaysMs ?? [200, 1_000, 5_000];
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
    this.outbound = options.outbound;
    this.answerRetentionMs = options.answerRetentionMs ?? DEFAULT_ANSWER_RETENTION_MS;
    this.providerTimeoutMs = options.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
    this.notices = new DurableSends({
      retryDelaysMs: this.retryDelays,
      maxRetryDelayMs: this.maxRetryDelayMs,
      onError: (error) => {
        options.logger.error({ err: errorSummary(error) }, 'telling a provider of a failure failed');
      },
    });
  }

  /**
   * Accept an inquiry (answering with its processing number) or refuse it. Every refusal of a known
   * requester is recorded (outcome `refused`, reason = the legal table's rule or the error code) in
   * the same transaction as the inquiry's row, and nothing reaches the provider.
   *
   * Errors (all with `details.processingNumber`): ERR_UNKNOWN_INSTITUTION (requester or provider),
   * ERR_UNKNOWN_PERSON_CODE (forged, mistyped, another institution's, or an expired key version),
   * ERR_INSTITUTION_SUSPENDED (either side, `details.role`), ERR_UNKNOWN_CLAUSE,
   * ERR_UNKNOWN_PROCEDURE, ERR_UNKNOWN_ITEM, ERR_INQUIRY_NOT_AUTHORIZED (with `details.rule`).
   *
   * With `request.requestId` (the requester's idempotency key), a request the core already took under
   * that key, from that requester, is answered as the first was — the same processing number, or the
   * same refusal — and nothing new is recorded or forwarded: a requester that died before recording
   * the 202, or never received it, sends its inquiry again without making a second one. The key reused
   * for another inquiry (other provider, clause, procedure, items or person) is ERR_VALIDATION.
   */
  async submit(request: InquiryRequest, received: { inquiryHash?: string } = {}): Promise<InquiryAccepted> {
    const { registry, cipher, legalTables, clock } = this.options;
    if (request.requestId !== undefined) {
      const earlier = await this.options.store.findInquiryByRequest(request.requesterId, request.requestId);
      if (earlier) return this.answerAgain(request, earlier.record);
    }
    const processingNumber = uuidv7();
    const now = clock.now();
    const requestedAt = now.toISOString();
    // One version decides and is recorded: the one in force on the inquiry's day.
    const legalTable = legalTables.tableOn(now);

    const requester = await registry.find(request.requesterId);
    // Without a known requester there is no one to attribute a record to.
    if (!requester)
      throw withProcessingNumber(unknownInstitution(request.requesterId, 'requester'), processingNumber);

    const record: ProvisionRecord = {
      processingNumber,
      requesterId: request.requesterId,
      providerId: request.providerId,
      clauseNo: request.clauseNo,
      procedureId: request.procedureId,
      itemNos: request.itemNos,
      personKey: null,
      requestedAt,
      answeredAt: null,
      outcome: 'pending',
      reason: null,
      nonDisclosure: request.nonDisclosure,
      legalTableDigest: legalTable.digest,
    };

    const provider = await registry.find(request.providerId);
    if (!provider) {
      return this.refuse(
        record,
        withProcessingNumber(unknownInstitution(request.providerId, 'provider'), processingNumber),
        undefined,
        request.requestId,
      );
    }

    const linkingCode = cipher.decode(requester.id, request.personCode, {
      current: requester.keyVersion,
      previous: INQUIRY_GRACE_VERSIONS,
    });
    if (!linkingCode) {
      return this.refuse(
        record,
        new RenkeiError(
          'ERR_UNKNOWN_PERSON_CODE',
          `The person code is not one the core issued to ${requester.id}.`,
          { processingNumber },
        ),
        undefined,
        request.requestId,
      );
    }
    record.personKey = cipher.personKey(linkingCode);

    // The operator's suspension, of either side, before the legal table: nothing reaches a suspended
    // provider and nothing is asked by a suspended requester, whatever the table allows.
    const suspended = requester.suspended ? requester : provider.suspended ? provider : undefined;
    if (suspended) {
      const role = suspended === requester ? 'requester' : 'provider';
      return this.refuse(
        record,
        withProcessingNumber(institutionSuspended(suspended.id, role), processingNumber),
        undefined,
        request.requestId,
      );
    }

    const decision = legalTable.authorize({
      requester: { id: requester.id, kind: requester.kind },
      provider: { id: provider.id, kind: provider.kind },
      clauseNo: request.clauseNo,
      procedureId: request.procedureId,
      itemNos: request.itemNos,
      on: now,
    });
    if (!decision.allowed) {
      const code = RULE_CODES[decision.rule] ?? 'ERR_INQUIRY_NOT_AUTHORIZED';
      return this.refuse(
        record,
        new RenkeiError(code, decision.message, { processingNumber, rule: decision.rule }),
        decision.rule,
        request.requestId,
      );
    }

    const providerRequest: ProvisionRequest = {
      processingNumber,
      requesterId: requester.id,
      personCode: cipher.encode(provider.id, provider.keyVersion, linkingCode),
      // Between a rotation and the end of the provider's re-keying, it may hold either version.
      ...(provider.rekeyedVersion < provider.keyVersion
        ? { previousPersonCode: cipher.encode(provider.id, provider.keyVersion - 1, linkingCode) }
        : {}),
      clauseNo: request.clauseNo,
      procedureId: request.procedureId,
      itemNos: request.itemNos,
      requestedAt,
      nonDisclosure: request.nonDisclosure,
      ...(request.encryptionCertificate === undefined
        ? {}
        : { requesterEncryptionCertificate: request.encryptionCertificate }),
      ...(received.inquiryHash === undefined ? {} : { inquiryHash: received.inquiryHash }),
    };
    const recorded = await this.options.store.recordInquiry(
      record,
      { processingNumber, delivery: 'pending', deliveryAttempts: 0, deliveredAt: null },
      request.requestId,
    );
    if (recorded === 'duplicate') return this.answerAgainRacing(request);
    // After the response: setImmediate runs once the handler's promise has resolved and Fastify has
    // written the 202. The provider's time runs from acceptance, queueing included.
    const deadline = Date.now() + this.providerTimeoutMs;
    this.track(
      new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
        this.forward(providerRequest, requester, provider, deadline),
      ),
    );
    return { processingNumber, requestedAt };
  }

  /**
   * The status of an inquiry, for its requester. When `requesterId` is given and is not the inquiry's
   * requester, the inquiry is reported unknown (no hint that it exists).
   *
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER.
   */
  async status(processingNumber: string, requesterId?: string): Promise<NetworkInquiryStatus> {
    const found = await this.options.store.findInquiry(processingNumber);
    if (!found || (requesterId !== undefined && found.record.requesterId !== requesterId)) {
      throw new RenkeiError('ERR_UNKNOWN_PROCESSING_NUMBER', 'No inquiry has this processing number.', {
        processingNumber,
      });
    }
    const { record, state } = found;
    return {
      processingNumber: record.processingNumber,
      requesterId: record.requesterId,
      providerId: record.providerId,
      clauseNo: record.clauseNo,
      procedureId: record.procedureId,
      itemNos: record.itemNos,
      outcome: record.outcome,
      reason: record.reason,
      requestedAt: record.requestedAt,
      answeredAt: record.answeredAt,
      delivery: state.delivery,
    };
  }

  /**
   * Resume what a stopped core left in flight. We do not re-forward an inquiry that was forwarded but
   * never answered: the provider may have answered and recorded it already, and a second provision
   * would give it two records for one inquiry. Instead, after expiring kept answers past retention:
   * - forwarded, no outcome → recorded `failed` / `provider_unavailable`, and that failure delivered
   *   to the requester (who may inquire again);
   * - outcome `not_held` or `failed`, not delivered → delivered again (no items to lose);
   * - outcome `provided`, not delivered, sealed items kept → delivered again, sealed as they came;
   * - outcome `provided`, not delivered, nothing kept (items in clear are never stored) → delivery
   *   recorded `failed`; the requester's inquiry stays unanswered there and it may inquire again.
   * - provider notices not yet acknowledged (`ProviderNotice`) → sent again, until acknowledged.
   * Deliveries and notices run in the background (see `whenIdle`).
   */
  async resumeInFlight(): Promise<ResumeSummary> {
    const { store, clock, logger } = this.options;
    await this.expireKeptAnswers();
    const summary: ResumeSummary = { failed: 0, redelivered: 0, undeliverable: 0 };
    const now = clock.now().toISOString();
    const toDeliver: Redelivery[] = [];
    for (const { record, state } of await store.listUndelivered()) {
      const { processingNumber } = record;
      const again = (
        outcome: 'provided' | 'not_held' | 'failed',
        reason: string | null,
        at: string,
        sealedItems?: string,
      ) =>
        toDeliver.push({
          requesterId: record.requesterId,
          attempts: state.deliveryAttempts,
          delivery: {
            processingNumber,
            outcome,
            ...(reason === null ? {} : { reason }),
            items: [],
            ...(sealedItems === undefined ? {} : { sealedItems }),
            answeredAt: at,
          },
        });
      switch (record.outcome) {
        case 'pending':
          // The provider may have answered and recorded it: it is told, as after a timeout.
          await store.recordOutcome(processingNumber, 'failed', PROVIDER_UNAVAILABLE, now, undefined, true);
          again('failed', PROVIDER_UNAVAILABLE, now);
          summary.failed++;
          break;
        case 'not_held':
        case 'failed':
          again(record.outcome, record.reason, record.answeredAt ?? now);
          summary.redelivered++;
          break;
        case 'provided': {
          const kept = await store.findKeptAnswer(processingNumber);
          if (kept) {
            again('provided', null, record.answeredAt ?? now, kept.sealedItems);
            summary.redelivered++;
            break;
          }
          await store.recordDelivery(processingNumber, 'failed', state.deliveryAttempts, now);
          summary.undeliverable++;
          break;
        }
        case 'refused':
          await store.recordDelivery(processingNumber, 'failed', state.deliveryAttempts, now);
          summary.undeliverable++;
          break;
      }
    }
    if (summary.failed + summary.redelivered + summary.undeliverable > 0) {
      logger.warn({ ...summary }, 'resumed inquiries left in flight');
    }
    this.track(this.redeliver(toDeliver));
    for (const notice of await store.listProviderNotices()) this.trackNotice(notice);
    return summary;
  }

  /**
   * The requester fetches an answer it has not received: the delivery the push carries (sealed items
   * as kept). The fetch changes nothing: the answer stays kept, and the delivery pending (the push
   * goes on), until the requester acknowledges it (`acknowledgeAnswer`) once it has recorded it, a
   * push lands, or it expires. So a fetch may be repeated and gets the same answer, the same sealed
   * bytes: an answer lost in transit after the core sent it (the requester killed, the connection
   * cut) is fetched again rather than gone. We first ended the delivery on the fetch itself, to save
   * a route and a state; the 100-kill chaos run then found two answers lost exactly so.
   *
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER (also when `requesterId` is not the inquiry's requester: no
   * hint that it exists), ERR_ANSWER_NOT_READY (no outcome yet, or items in clear still being pushed),
   * ERR_ANSWER_GONE (acknowledged, expired, or items in clear that were never kept).
   */
  async fetchAnswer(processingNumber: string, requesterId: string): Promise<AnswerDelivery> {
    const { store, clock } = this.options;
    const { record, state, outcome } = await this.requestersInquiry(processingNumber, requesterId);
    const now = clock.now().toISOString();
    let sealedItems: string | undefined;
    if (outcome === 'provided') {
      const kept = await store.findKeptAnswer(processingNumber);
      if (!kept && state.delivery === 'pending') {
        // Items in clear, still being pushed (they are never kept): the push may yet land.
        throw new RenkeiError('ERR_ANSWER_NOT_READY', 'The answer is on its way; ask again later.', {
          processingNumber,
        });
      }
      if (!kept || kept.expiresAt <= now) {
        throw new RenkeiError(
          'ERR_ANSWER_GONE',
          'The core no longer holds this answer (acknowledged, expired, or never kept); inquire again.',
          { processingNumber },
        );
      }
      sealedItems = kept.sealedItems;
    }
    return {
      processingNumber,
      outcome,
      ...(record.reason === null ? {} : { reason: record.reason }),
      items: [],
      ...(sealedItems === undefined ? {} : { sealedItems }),
      answeredAt: record.answeredAt ?? now,
    };
  }

  /**
   * The requester has recorded the answer (fetched, or pushed and answered 2xx but the core did not
   * learn it): the delivery is recorded `delivered` and the kept answer dropped, in one transaction.
   * A delivery already ended (acknowledged, pushed, expired) is left as it is: acknowledging twice is
   * harmless, so a requester that lost the core's reply simply acknowledges again.
   *
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER (also another institution's inquiry), ERR_ANSWER_NOT_READY
   * (no outcome yet: nothing can have been recorded).
   */
  async acknowledgeAnswer(processingNumber: string, requesterId: string): Promise<void> {
    const { state } = await this.requestersInquiry(processingNumber, requesterId);
    if (state.delivery !== 'pending') return;
    await this.options.store.recordDelivery(
      processingNumber,
      'delivered',
      state.deliveryAttempts,
      this.options.clock.now().toISOString(),
    );
  }

  /** The inquiry, answered, if `requesterId` made it; else as unknown (no hint that it exists). */
  private async requestersInquiry(
    processingNumber: string,
    requesterId: string,
  ): Promise<UnfinishedInquiry & { outcome: Exclude<ProvisionRecord['outcome'], 'pending'> }> {
    const found = await this.options.store.findInquiry(processingNumber);
    if (!found || found.record.requesterId !== requesterId) {
      throw new RenkeiError('ERR_UNKNOWN_PROCESSING_NUMBER', 'No inquiry has this processing number.', {
        processingNumber,
      });
    }
    const { outcome } = found.record;
    if (outcome === 'pending') {
      throw new RenkeiError('ERR_ANSWER_NOT_READY', 'The provider has not answered yet; ask again later.', {
        processingNumber,
      });
    }
    return { ...found, outcome };
  }

  /**
   * Drop the kept answers past retention and record their deliveries failed (the requester never
   * came for them); how many. Run at start and periodically (main.ts).
   */
  async expireKeptAnswers(): Promise<number> {
    const now = this.options.clock.now().toISOString();
    let expired = 0;
    for (;;) {
      const dropped = await this.options.store.expireKeptAnswers(now);
      if (dropped.length === 0) break;
      expired += dropped.length;
    }
    if (expired > 0) this.options.logger.info({ expired }, 'kept answers expired undelivered');
    return expired;
  }

  /**
   * Resolves when no forwarding or delivery is in flight. Provider notices are not waited for (see
   * `whenProvidersTold`): one to a provider that is down is retried until the core closes.
   */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Resolves when every provider notice sent so far has been acknowledged (or the core closed). */
  async whenProvidersTold(): Promise<void> {
    await this.notices.whenIdle();
  }

  /**
   * Stop retrying: waits cut short, deliveries still pending stay `pending` in the store for the next
   * start's resume. Then wait for what is in flight.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.sleeper.wakeAll();
    const told = this.notices.close();
    await this.whenIdle();
    await told;
  }

  private async refuse(
    record: ProvisionRecord,
    error: RenkeiError,
    rule?: RefusalRule,
    requestId?: string,
  ): Promise<InquiryAccepted> {
    const answeredAt = record.requestedAt;
    const recorded = await this.options.store.recordInquiry(
      { ...record, outcome: 'refused', reason: rule ?? error.code, answeredAt },
      { processingNumber: record.processingNumber, delivery: 'none', deliveryAttempts: 0, deliveredAt: null },
      requestId,
    );
    // Two submissions of one request raced and the other was recorded first: answered as that one.
    if (recorded === 'duplicate') return this.answerAgainRacing({ ...record, requestId });
    throw error;
  }

  /** A resubmission whose first submission was recorded meanwhile (two racing): answered as that one. */
  private async answerAgainRacing(request: {
    requesterId: string;
    requestId?: string | undefined;
    providerId: string;
    clauseNo: string;
    procedureId: string;
    itemNos: readonly number[];
  }): Promise<InquiryAccepted> {
    const earlier =
      request.requestId === undefined
        ? undefined
        : await this.options.store.findInquiryByRequest(request.requesterId, request.requestId);
    if (!earlier) throw new TypeError('an idempotency key was taken by an inquiry that cannot be found');
    return this.answerAgain(request, earlier.record);
  }

  /**
   * The answer to a request already taken under its idempotency key: its processing number, or its
   * refusal again (the code the rule or reason names, with the same `details`). The key reused for
   * another inquiry is ERR_VALIDATION, so that a requester's mistake cannot read another's outcome.
   */
  private answerAgain(
    request: { providerId: string; clauseNo: string; procedureId: string; itemNos: readonly number[] },
    earlier: ProvisionRecord,
  ): InquiryAccepted {
    const { processingNumber } = earlier;
    const same =
      earlier.providerId === request.providerId &&
      earlier.clauseNo === request.clauseNo &&
      earlier.procedureId === request.procedureId &&
      JSON.stringify(earlier.itemNos) === JSON.stringify(request.itemNos);
    if (!same) {
      throw new RenkeiError(
        'ERR_VALIDATION',
        'This requestId was already used for another inquiry; choose a new one for each inquiry.',
        { field: 'requestId' },
      );
    }
    if (earlier.outcome === 'refused') {
      const reason = earlier.reason ?? 'ERR_INQUIRY_NOT_AUTHORIZED';
      const code = refusalCode(reason);
      throw new RenkeiError(code, 'This inquiry was refused when it was first sent.', {
        processingNumber,
        ...(isErrorCode(reason) ? {} : { rule: reason }),
      });
    }
    return { processingNumber, requestedAt: earlier.requestedAt };
  }

  private async forward(
    request: ProvisionRequest,
    requester: Institution,
    provider: Institution,
    deadline: number,
  ): Promise<void> {
    const { store, clock, logger, reach } = this.options;
    const { processingNumber } = request;
    let outcome: 'provided' | 'not_held' | 'failed' = 'failed';
    let reason: string | null = PROVIDER_UNAVAILABLE;
    let items: AnsweredItem[] = [];
    // Sealed by the provider for the requester: relayed as it came, never opened (the core has no key).
    let sealedItems: string | undefined;
    // Whether the request may have reached the provider: then a failure here is told to it.
    let sent = false;
    try {
      const answer = await this.outbound.run(
        provider.id,
        () => {
          sent = true;
          const timeoutMs = Math.max(1, deadline - Date.now());
          const answerBy = new Date(clock.now().getTime() + timeoutMs).toISOString();
          return reach(provider, { timeoutMs, maxAnswerBytes: PROVISION_ANSWER_MAX_BYTES }).requestProvision({
            body: { ...request, answerBy },
          });
        },
        deadline,
      );
      if (answer === QUEUE_DEADLINE_PASSED) {
        logger.warn({ processingNumber, providerId: provider.id }, 'provider busy past the deadline');
      } else if (answer.processingNumber === processingNumber) {
        outcome = answer.outcome;
        reason = null;
        items = outcome === 'provided' ? answer.items : [];
        sealedItems = outcome === 'provided' ? answer.sealedItems : undefined;
      } else {
        logger.warn(
          { processingNumber, providerId: provider.id },
          'provider answered an invalid provision answer',
        );
      }
    } catch (error) {
      reason = providerFailureReason(error);
      logger.warn({ processingNumber, providerId: provider.id, code: reason }, 'provider failed');
    }
    const answeredAt = clock.now().toISOString();
    // Only ciphertext is ever kept: items in clear are relayed from memory, as before.
    const keep =
      outcome === 'provided' && sealedItems !== undefined
        ? {
            sealedItems,
            expiresAt: new Date(clock.now().getTime() + this.answerRetentionMs).toISOString(),
          }
        : undefined;
    const notify = sent && outcome === 'failed';
    try {
      await store.recordOutcome(processingNumber, outcome, reason, answeredAt, keep, notify);
    } catch (error) {
      // Without a record the answer is not passed on; the next start's resume settles the inquiry.
      logger.error({ processingNumber, err: errorSummary(error) }, 'could not record an outcome');
      return;
    }
    const delivery: AnswerDelivery = {
      processingNumber,
      outcome,
      ...(reason === null ? {} : { reason }),
      items,
      ...(sealedItems === undefined ? {} : { sealedItems }),
      answeredAt,
    };
    if (notify) {
      this.trackNotice({
        processingNumber,
        providerId: provider.id,
        reason: reason ?? PROVIDER_UNAVAILABLE,
        failedAt: answeredAt,
      });
    }
    await this.deliver(requester, delivery, 0);
  }

  /**
   * One attempt to tell the provider the inquiry failed; `again` until it acknowledges. The loop is
   * the shared durable-send loop (`this.notices`): waits grow as a delivery's do, and a core that
   * closes leaves the notice kept for the next start to send.
   */
  private async notifyProvider(notice: ProviderNotice, retry: number): Promise<AttemptResult> {
    const { logger, registry, store } = this.options;
    const { processingNumber } = notice;
    try {
      const provider = await registry.find(notice.providerId);
      if (!provider) {
        await store.endProviderNotice(processingNumber);
        return 'done';
      }
      const client = this.options.reach(provider);
      const sent = await this.outbound.run(provider.id, () =>
        client.notifyProvisionFailure({
          body: { processingNumber, reason: notice.reason, failedAt: notice.failedAt },
        }),
      );
      if (sent !== QUEUE_DEADLINE_PASSED) {
        await store.endProviderNotice(processingNumber);
        return 'done';
      }
    } catch (error) {
      if (retry % 10 === 0) {
        logger.warn(
          { processingNumber, providerId: notice.providerId, code: errorSummary(error).code, retry },
          'provider not yet told of a failure; retrying',
        );
      }
    }
    return 'again';
  }

  /** The wait before retry `retry` (from 0): the configured ones, then doubling up to the cap. */
  private retryDelay(retry: number): number {
    return retryDelay(retry, this.retryDelays, this.maxRetryDelayMs);
  }

  /**
   * Deliver to the requester, retrying while the failure looks temporary. An answer the core holds
   * (an outcome without items, or sealed items kept) is retried with waits doubling up to
   * `maxRetryDelayMs`, until delivered, fetched by the requester, or expired (the delivery is no
   * longer pending in the store); its state is in the store, so a restart carries on. Items in clear
   * are never kept: after the configured waits their delivery is recorded failed, as before.
   */
  private async deliver(
    requester: Institution,
    delivery: AnswerDelivery,
    attemptsBefore: number,
  ): Promise<void> {
    const { logger, store } = this.options;
    const { processingNumber } = delivery;
    const client = this.options.reach(requester);
    const held = delivery.sealedItems !== undefined || delivery.outcome !== 'provided';
    let attempts = attemptsBefore;
    let lastCode = 'ERR_INTERNAL';
    for (let retry = 0; ; retry++) {
      attempts++;
      try {
        await this.outbound.run(requester.id, () => client.deliverAnswer({ body: delivery }));
        await this.recordDelivery(processingNumber, 'delivered', attempts);
        return;
      } catch (error) {
        if (error instanceof RenkeiError) lastCode = error.code;
        const temporary = !(error instanceof RenkeiError) || HTTP_STATUS[error.code] >= 500;
        if (!temporary || this.closing) break;
        if (!held && retry >= this.retryDelays.length) break;
        if (retry % 10 === 9) {
          logger.warn(
            { processingNumber, requesterId: requester.id, code: lastCode, attempts },
            'answer not yet delivered; retrying',
          );
        }
        await this.sleeper.sleep(this.retryDelay(retry));
        if (this.closing) break;
        if (held) {
          // Acknowledged (after a fetch) or expired meanwhile: nothing left to push.
          const found = await store.findInquiry(processingNumber).catch(() => undefined);
          if (found?.state.delivery !== 'pending') return;
          // An outcome without items is not kept, so it expires here, after as long as kept items.
          const expiresAt = Date.parse(delivery.answeredAt) + this.answerRetentionMs;
          if (delivery.sealedItems === undefined && this.options.clock.now().getTime() >= expiresAt) break;
        }
      }
    }
    if (this.closing) {
      // Left pending on purpose: the next start's resume delivers it.
      logger.info({ processingNumber }, 'delivery interrupted by shutdown');
      return;
    }
    if (delivery.sealedItems !== undefined) {
      // Kept (sealed) and left pending: the requester fetches it, or the next start pushes it again,
      // until it expires.
      logger.warn(
        { processingNumber, requesterId: requester.id, code: lastCode, attempts },
        'answer not delivered; kept sealed for the requester to fetch',
      );
      return;
    }
    logger.warn(
      { processingNumber, requesterId: requester.id, code: lastCode, attempts },
      'answer could not be delivered',
    );
    await this.recordDelivery(processingNumber, 'failed', attempts);
  }

  /** Record a delivery's end; a storage failure here is logged, never mistaken for a failed delivery. */
  private async recordDelivery(processingNumber: string, delivery: 'delivered' | 'failed', attempts: number) {
    try {
      await this.options.store.recordDelivery(
        processingNumber,
        delivery,
        attempts,
        this.options.clock.now().toISOString(),
      );
    } catch (error) {
      this.options.logger.error(
        { processingNumber, err: errorSummary(error) },
        'could not record a delivery',
      );
    }
  }

  private async redeliver(unfinished: Redelivery[]): Promise<void> {
    for (let i = 0; i < unfinished.length && !this.closing; i += RESUME_CONCURRENCY) {
      await Promise.all(
        unfinished.slice(i, i + RESUME_CONCURRENCY).map(async ({ requesterId, delivery, attempts }) => {
          const requester = await this.options.registry.find(requesterId);
          if (!requester) {
            await this.options.store.recordDelivery(
              delivery.processingNumber,
              'failed',
              attempts,
              this.options.clock.now().toISOString(),
            );
            return;
          }
          await this.deliver(requester, delivery, attempts);
        }),
      );
    }
  }

  /** Tell a provider of a failure recorded with a notice (a batch's members: inquiry-batches.ts). */
  notifyProviderLater(notice: ProviderNotice): void {
    this.trackNotice(notice);
  }

  private trackNotice(notice: ProviderNotice): void {
    this.notices.send((retry) => this.notifyProvider(notice, retry));
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      this.options.logger.error({ err: errorSummary(error) }, 'background inquiry work failed');
    });
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}

function withProcessingNumber(error: RenkeiError, processingNumber: string): RenkeiError {
  return new RenkeiError(error.code, error.message, { ...error.details, processingNumber });
}

/**
 * The provider's own error code, or `provider_unavailable` when it could not be reached: the reason
 * recorded for a failed inquiry, alone or as a batch member (inquiry-batches.ts).
 */
export function providerFailureReason(error: unknown): string {
  if (
    error instanceof RenkeiError &&
    error.code !== 'ERR_UPSTREAM_UNAVAILABLE' &&
    // The provider's own word that it answered too late (past `answerBy`).
    error.code !== 'ERR_PROVIDER_UNAVAILABLE'
  ) {
    return error.code;
  }
  return PROVIDER_UNAVAILABLE;
}

/** An error's code and stack for the log: never its message's payload or details. */
function errorSummary(error: unknown): { code?: string; stack?: string } {
  if (error instanceof RenkeiError) return { code: error.code };
  if (error instanceof Error) return { stack: error.stack ?? error.name };
  return {};
}
