/**
 * Batches of inquiries (the network side of 一括照会): one signed message carries many persons, as
 * X-Road batches signatures, so that a bulk inquiry of a million persons costs a thousand signed
 * exchanges rather than a million. Every member is still an inquiry of its own: its own processing
 * number, its own provision record and events at the core (and at the requester and the provider),
 * so that `renkei records verify` and the Myna Portal see each person's exchange.
 *
 * What is done once per batch, and why that is sound:
 * - authorization: the legal table's decision depends on the parties, clause, procedure, items and
 *   date, which a batch shares by construction (its message has one of each), never on the person;
 * - code conversion: `CodeCipher.decodeMany` / `encodeMany`, one call each;
 * - the records: every member's record, state and `accepted` (or `refused`) event in ONE transaction,
 *   the record log's Merkle leaves appended in one go; outcomes and deliveries likewise;
 * - the provider call: one `ProvisionBatchRequest`, one answer with the items sealed once, kept (as
 *   ciphertext) until the requester has it, pushed in one `AnswerBatchDelivery`, fetched in one
 *   `AnswerBatchFetch` when the push fails.
 *
 * A member whose code is not one the core issued to the requester is refused alone and recorded so;
 * a batch that is not authorized has every member refused and recorded, like single refusals. The
 * provider's deadline (`providerTimeoutMs`) and the per-provider concurrency limits apply per batch:
 * a batch takes one slot of its provider's, and a silent provider fails the whole batch with
 * `provider_unavailable`, told to the provider member by member (`ProviderNotice`), as for single
 * inquiries.
 *
 * Durable as single inquiries are: a restart settles every batch not delivered (`resume`): one
 * forwarded but never answered has its pending members recorded failed and that failure delivered;
 * one answered is delivered again from what is kept.
 */
import { v7 as uuidv7 } from 'uuid';
import type { LegalTableInForce } from './legal-versions.ts';
import type {
  AnswerBatchDelivery,
  BatchMemberAccepted,
  InquiryBatchAccepted,
  InquiryBatchRequest,
  ProvisionBatchRequest,
} from '../../../protocol/messages.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { Sleeper } from '../../../shared/sleeper.ts';
import { retryDelay } from '../../../shared/durable-sends.ts';
import type { Institution, ProvisionRecord } from '../model.ts';
import type { BatchOutcome, CoreStore, StoredInquiryBatch } from '../store.ts';
import type { CodeCipher } from './code-cipher.ts';
import { QUEUE_DEADLINE_PASSED, type OutboundLimits } from './concurrency.ts';
import {
  DEFAULT_ANSWER_RETENTION_MS,
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_PROVIDER_TIMEOUT_MS,
  INQUIRY_GRACE_VERSIONS,
  PROVIDER_UNAVAILABLE,
  PROVISION_ANSWER_MAX_BYTES,
  providerFailureReason,
  type InquiryService,
} from './inquiries.ts';
import type { InstitutionReach } from './reach.ts';
import { unknownInstitution, type Registry } from './registry.ts';

export interface InquiryBatchServiceOptions {
  store: CoreStore;
  registry: Registry;
  cipher: CodeCipher;
  legalTables: LegalTableInForce;
  clock: Clock;
  logger: Logger;
  reach: InstitutionReach;
  outbound: OutboundLimits;
  /** Tells providers of failures (its notices), shared with single inquiries. */
  inquiries: InquiryService;
  deliveryRetryDelaysMs?: readonly number[];
  maxRetryDelayMs?: number;
  providerTimeoutMs?: number;
  answerRetentionMs?: number;
}

export interface BatchResumeSummary {
  /** Forwarded batches never answered: their pending members recorded failed, and delivered. */
  failedBatches: number;
  /** Answered batches delivered again. */
  redeliveredBatches: number;
  /** Answered batches whose answer is gone (expired, or items in clear never kept): delivery failed. */
  undeliverableBatches: number;
}

export class InquiryBatchService {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sleeper = new Sleeper();
  private readonly retryDelays: readonly number[];
  private readonly maxRetryDelayMs: number;
  private readonly providerTimeoutMs: number;
  private readonly answerRetentionMs: number;
  private closing = false;

  constructor(private readonly options: InquiryBatchServiceOptions) {
    this.retryDelays = options.deliveryRetryDelaysMs ?? [200, 1_000, 5_000];
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
    this.providerTimeoutMs = options.providerTimeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;
    this.answerRetentionMs = options.answerRetentionMs ?? DEFAULT_ANSWER_RETENTION_MS;
  }

  /**
   * Accept a batch: every member numbered and recorded (accepted or refused) in one transaction, the
   * accepted ones then forwarded to the provider in the background. A resend under a batch id this
   * requester used gets the first answer, and nothing is recorded again.
   *
   * Errors: ERR_UNKNOWN_INSTITUTION (the requester: no one to attribute records to), ERR_DUPLICATE
   * (the batch id is another requester's, or a member's requestId names an inquiry made before: the
   * requester then sends the members alone, and the single route answers that one's number).
   */
  async submit(
    request: InquiryBatchRequest,
    received: { inquiryHash?: string } = {},
  ): Promise<InquiryBatchAccepted> {
    const { store, registry, cipher, legalTables, clock } = this.options;
    const again = await this.resent(request);
    if (again) return again;
    if (request.requestIds !== undefined && request.requestIds.length !== request.personCodes.length) {
      throw new RenkeiError('ERR_VALIDATION', 'Give one requestId per person code, or none.', {
        field: 'requestIds',
      });
    }
    const requester = await registry.find(request.requesterId);
    if (!requester) throw unknownInstitution(request.requesterId, 'requester');
    const provider = await registry.find(request.providerId);
    const now = clock.now();
    const requestedAt = now.toISOString();
    const legalTable = legalTables.tableOn(now);
    const count = request.personCodes.length;
    const numbers = Array.from({ length: count }, () => uuidv7({ msecs: now.getTime() }));

    const linkingCodes = cipher.decodeMany(requester.id, request.personCodes, {
      current: requester.keyVersion,
      previous: INQUIRY_GRACE_VERSIONS,
    });
    // Once for the whole batch: the same parties, clause, procedure, items and date for every member.
    let refusal: string | undefined;
    if (!provider) {
      refusal = 'ERR_UNKNOWN_INSTITUTION';
    } else if (requester.suspended || provider.suspended) {
      refusal = 'ERR_INSTITUTION_SUSPENDED';
    } else {
      const decision = legalTable.authorize({
        requester: { id: requester.id, kind: requester.kind },
        provider: { id: provider.id, kind: provider.kind },
        clauseNo: request.clauseNo,
        procedureId: request.procedureId,
        itemNos: request.itemNos,
        on: now,
      });
      if (!decision.allowed) refusal = decision.rule;
    }
    const members: BatchMemberAccepted[] = [];
    const records: ProvisionRecord[] = [];
    const forwarded: { processingNumber: string; linkingCode: Uint8Array }[] = [];
    for (let i = 0; i < count; i++) {
      const processingNumber = numbers[i]!;
      const linkingCode = linkingCodes[i];
      const reason = refusal ?? (linkingCode === undefined ? 'ERR_UNKNOWN_PERSON_CODE' : undefined);
      records.push({
        processingNumber,
        requesterId: requester.id,
        providerId: request.providerId,
        clauseNo: request.clauseNo,
        procedureId: request.procedureId,
        itemNos: request.itemNos,
        personKey: linkingCode === undefined ? null : cipher.personKey(linkingCode),
        requestedAt,
        answeredAt: reason === undefined ? null : requestedAt,
        outcome: reason === undefined ? 'pending' : 'refused',
        reason: reason ?? null,
        nonDisclosure: request.nonDisclosure,
        legalTableDigest: legalTable.digest,
      });
      if (reason === undefined && linkingCode !== undefined) {
        members.push({ processingNumber, outcome: 'accepted' });
        forwarded.push({ processingNumber, linkingCode });
      } else {
        members.push({ processingNumber, outcome: 'refused', reason: reason ?? 'ERR_UNKNOWN_PERSON_CODE' });
      }
    }
    const accepted: InquiryBatchAccepted = { batchId: request.batchId, requestedAt, members };
    const recorded = await store.recordInquiryBatch(
      {
        batchId: request.batchId,
        requesterId: requester.id,
        providerId: request.providerId,
        accepted: JSON.stringify(accepted),
        state: forwarded.length > 0 ? 'forwarded' : 'none',
        createdAt: requestedAt,
      },
      records,
      request.requestIds,
    );
    if (recorded === 'request-known') {
      // A key sent again (a business system's retry) names the inquiry made under it first, whose
      // processing number the single route gives; nothing of this batch is made.
      throw new RenkeiError(
        'ERR_DUPLICATE',
        'A requestId of this batch names an inquiry made before; send these inquiries alone to learn its processing number and make the others.',
        { field: 'requestIds' },
      );
    }
    if (recorded === 'exists') {
      // The same batch, sent twice at once: the first one recorded wins.
      const first = await this.resent(request);
      if (first) return first;
      throw new RenkeiError('ERR_INTERNAL', 'The batch could not be recorded.');
    }
    if (forwarded.length > 0 && provider) {
      const lcs = forwarded.map((f) => f.linkingCode);
      const codes = cipher.encodeMany(provider.id, provider.keyVersion, lcs);
      // Between a rotation and the end of the provider's re-keying, it may hold either version.
      const previous =
        provider.rekeyedVersion < provider.keyVersion
          ? cipher.encodeMany(provider.id, provider.keyVersion - 1, lcs)
          : undefined;
      const providerRequest: ProvisionBatchRequest = {
        batchId: request.batchId,
        requesterId: requester.id,
        clauseNo: request.clauseNo,
        procedureId: request.procedureId,
        itemNos: request.itemNos,
        requestedAt,
        nonDisclosure: request.nonDisclosure,
        ...(request.encryptionCertificate === undefined
          ? {}
          : { requesterEncryptionCertificate: request.encryptionCertificate }),
        ...(received.inquiryHash === undefined ? {} : { inquiryHash: received.inquiryHash }),
        members: forwarded.map((f, i) => ({
          processingNumber: f.processingNumber,
          personCode: codes[i]!,
          ...(previous === undefined ? {} : { previousPersonCode: previous[i]! }),
        })),
      };
      const deadline = Date.now() + this.providerTimeoutMs;
      this.track(
        new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
          this.forward(providerRequest, requester, provider, deadline),
        ),
      );
    }
    return accepted;
  }

  /**
   * The requester fetches a batch's answer it has not received; its members are then recorded
   * delivered and the kept answer dropped.
   * Errors: ERR_UNKNOWN_BATCH (also another requester's), ERR_ANSWER_NOT_READY, ERR_ANSWER_GONE.
   */
  async fetch(batchId: string, requesterId: string): Promise<AnswerBatchDelivery> {
    const { store, clock } = this.options;
    const batch = await store.findInquiryBatch(batchId);
    if (!batch || batch.requesterId !== requesterId) {
      throw new RenkeiError('ERR_UNKNOWN_BATCH', 'No inquiry batch of this institution has this id.');
    }
    const now = clock.now().toISOString();
    switch (batch.state) {
      case 'forwarded':
        throw new RenkeiError('ERR_ANSWER_NOT_READY', 'The provider has not answered yet; ask again later.');
      case 'none':
        return { batchId, members: [], items: [], answeredAt: batch.createdAt };
      case 'answered': {
        if (batch.answer === null || (batch.expiresAt !== null && batch.expiresAt <= now)) break;
        // Kept, and the push going on, until the requester acknowledges (`acknowledge`): a fetch
        // lost in transit is fetched again, the same answer.
        return JSON.parse(batch.answer) as AnswerBatchDelivery;
      }
      case 'delivered':
      case 'failed':
        break;
    }
    throw new RenkeiError(
      'ERR_ANSWER_GONE',
      'The core no longer holds this answer (delivered, expired, or never kept); inquire again.',
    );
  }

  /**
   * The requester has recorded the batch's answer: every member still pending is recorded
   * `delivered` and the kept answer dropped, in one transaction. A batch whose delivery has ended
   * already is left as it is (acknowledging twice is harmless).
   *
   * Errors: ERR_UNKNOWN_BATCH (also another institution's), ERR_ANSWER_NOT_READY (not answered yet).
   */
  async acknowledge(batchId: string, requesterId: string): Promise<void> {
    const { store, clock } = this.options;
    const batch = await store.findInquiryBatch(batchId);
    if (!batch || batch.requesterId !== requesterId) {
      throw new RenkeiError('ERR_UNKNOWN_BATCH', 'No inquiry batch of this institution has this id.');
    }
    if (batch.state === 'forwarded') {
      throw new RenkeiError('ERR_ANSWER_NOT_READY', 'The provider has not answered yet; ask again later.');
    }
    if (batch.state !== 'answered') return;
    await store.recordBatchDelivery(batchId, 'delivered', batch.deliveryAttempts, clock.now().toISOString());
  }

  /**
   * Settle what a stopped core left of batches (see the file's comment); deliveries run in the
   * background. Run before `InquiryService.resumeInFlight`, which sends the provider notices kept here.
   */
  async resume(): Promise<BatchResumeSummary> {
    const { store, clock, logger, registry } = this.options;
    const summary: BatchResumeSummary = { failedBatches: 0, redeliveredBatches: 0, undeliverableBatches: 0 };
    for (const batch of await store.listUnfinishedBatches()) {
      const now = clock.now().toISOString();
      let delivery: AnswerBatchDelivery | undefined;
      if (batch.state === 'forwarded') {
        const pending = await store.listPendingBatchMembers(batch.batchId);
        const outcomes: BatchOutcome[] = pending.map((processingNumber) => ({
          processingNumber,
          outcome: 'failed',
          reason: PROVIDER_UNAVAILABLE,
        }));
        delivery = {
          batchId: batch.batchId,
          members: outcomes.map((o) => ({
            processingNumber: o.processingNumber,
            outcome: 'failed',
            reason: PROVIDER_UNAVAILABLE,
          })),
          items: [],
          answeredAt: now,
        };
        // The provider may have answered and recorded it: it is told, as after a timeout.
        await store.recordBatchOutcomes(batch.batchId, outcomes, now, this.kept(delivery), true);
        summary.failedBatches++;
      } else {
        delivery = this.deliverable(batch, now);
        if (!delivery) {
          await store.recordBatchDelivery(batch.batchId, 'failed', batch.deliveryAttempts, now);
          summary.undeliverableBatches++;
          continue;
        }
        summary.redeliveredBatches++;
      }
      const requester = await registry.find(batch.requesterId);
      if (!requester) {
        await store.recordBatchDelivery(batch.batchId, 'failed', batch.deliveryAttempts, now);
        continue;
      }
      this.track(this.deliver(requester, delivery, batch.deliveryAttempts));
    }
    if (summary.failedBatches + summary.redeliveredBatches + summary.undeliverableBatches > 0) {
      logger.warn({ ...summary }, 'resumed inquiry batches left in flight');
    }
    return summary;
  }

  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Stop retrying (what is pending stays so in the store for the next start), then wait. */
  async close(): Promise<void> {
    this.closing = true;
    this.sleeper.wakeAll();
    await this.whenIdle();
  }

  private async resent(request: InquiryBatchRequest): Promise<InquiryBatchAccepted | undefined> {
    const existing = await this.options.store.findInquiryBatch(request.batchId);
    if (!existing) return undefined;
    if (existing.requesterId !== request.requesterId) {
      throw new RenkeiError('ERR_DUPLICATE', 'This batch id is taken; choose a new one (a UUID).');
    }
    return JSON.parse(existing.accepted) as InquiryBatchAccepted;
  }

  /** An answered batch's delivery as kept, or undefined when it cannot be delivered any more. */
  private deliverable(batch: StoredInquiryBatch, now: string): AnswerBatchDelivery | undefined {
    if (batch.answer === null || (batch.expiresAt !== null && batch.expiresAt <= now)) return undefined;
    const answer = JSON.parse(batch.answer) as AnswerBatchDelivery & { itemsInClear?: boolean };
    // Items in clear are never kept: a provided member's items would be lost.
    if (answer.itemsInClear) return undefined;
    return answer;
  }

  /** What is kept of a delivery: never items in clear (only the fact that there were some). */
  private kept(delivery: AnswerBatchDelivery): { json: string; expiresAt: string } {
    const inClear = delivery.items.length > 0;
    return {
      json: JSON.stringify({ ...delivery, items: [], ...(inClear ? { itemsInClear: true } : {}) }),
      expiresAt: new Date(this.options.clock.now().getTime() + this.answerRetentionMs).toISOString(),
    };
  }

  private async forward(
    request: ProvisionBatchRequest,
    requester: Institution,
    provider: Institution,
    deadline: number,
  ): Promise<void> {
    const { store, clock, logger, reach, outbound } = this.options;
    const { batchId } = request;
    let failure: string | undefined = PROVIDER_UNAVAILABLE;
    let delivery: AnswerBatchDelivery | undefined;
    let sent = false;
    try {
      const answer = await outbound.run(
        provider.id,
        () => {
          sent = true;
          const timeoutMs = Math.max(1, deadline - Date.now());
          const answerBy = new Date(clock.now().getTime() + timeoutMs).toISOString();
          return reach(provider, {
            timeoutMs,
            maxAnswerBytes: PROVISION_ANSWER_MAX_BYTES,
          }).requestProvisionBatch({ body: { ...request, answerBy } });
        },
        deadline,
      );
      if (answer === QUEUE_DEADLINE_PASSED) {
        logger.warn({ batchId, providerId: provider.id }, 'provider busy past the deadline');
      } else if (answer.batchId === batchId) {
        failure = undefined;
        delivery = { ...answer, members: [], answeredAt: clock.now().toISOString() };
        // Each member as the provider answered it; one it did not answer failed.
        const byNumber = new Map(answer.members.map((m) => [m.processingNumber, m]));
        delivery.members = request.members.map(({ processingNumber }) => {
          const m = byNumber.get(processingNumber);
          return m ?? { processingNumber, outcome: 'failed' as const, reason: PROVIDER_UNAVAILABLE };
        });
      } else {
        logger.warn({ batchId, providerId: provider.id }, 'provider answered another batch');
      }
    } catch (error) {
      failure = providerFailureReason(error);
      logger.warn({ batchId, providerId: provider.id, code: failure }, 'provider failed a batch');
    }
    const answeredAt = clock.now().toISOString();
    delivery ??= {
      batchId,
      members: request.members.map(({ processingNumber }) => ({
        processingNumber,
        outcome: 'failed' as const,
        reason: failure ?? PROVIDER_UNAVAILABLE,
      })),
      items: [],
      answeredAt,
    };
    const outcomes: BatchOutcome[] = delivery.members.map((m) => ({
      processingNumber: m.processingNumber,
      outcome: m.outcome,
      reason: m.reason ?? null,
    }));
    const notify = sent && failure !== undefined;
    try {
      const answered = await store.recordBatchOutcomes(
        batchId,
        outcomes,
        delivery.answeredAt,
        this.kept(delivery),
        notify,
      );
      // Settled meanwhile (a resume by this or another core process): its answer went out then.
      if (answered.length === 0) return;
    } catch (error) {
      // Without a record the answer is not passed on; the next start's resume settles the batch.
      logger.error({ batchId, code: errorCode(error) }, 'could not record a batch’s outcomes');
      return;
    }
    if (notify) {
      for (const o of outcomes) {
        this.options.inquiries.notifyProviderLater({
          processingNumber: o.processingNumber,
          providerId: provider.id,
          reason: o.reason ?? PROVIDER_UNAVAILABLE,
          failedAt: delivery.answeredAt,
        });
      }
    }
    await this.deliver(requester, delivery, 0);
  }

  /**
   * Push the batch's answer to the requester, retrying while the failure looks temporary, until
   * delivered, fetched, expired, or the core closes (then the next start's resume pushes it again).
   */
  private async deliver(requester: Institution, delivery: AnswerBatchDelivery, attemptsBefore: number) {
    const { store, logger, outbound, clock } = this.options;
    const { batchId } = delivery;
    const client = this.options.reach(requester, { maxAnswerBytes: 64 * 1024 });
    let attempts = attemptsBefore;
    let lastCode: string | undefined;
    for (let retry = 0; ; retry++) {
      attempts++;
      try {
        await outbound.run(requester.id, () => client.deliverAnswerBatch({ body: delivery }));
        await store.recordBatchDelivery(batchId, 'delivered', attempts, clock.now().toISOString());
        return;
      } catch (error) {
        lastCode = errorCode(error);
        const temporary = !(error instanceof RenkeiError) || error.status >= 500;
        if (!temporary || this.closing) break;
        if (retry % 10 === 9) {
          logger.warn(
            { batchId, requesterId: requester.id, code: lastCode, attempts },
            'batch answer not yet delivered; retrying',
          );
        }
        await this.sleeper.sleep(retryDelay(retry, this.retryDelays, this.maxRetryDelayMs));
        if (this.closing) break;
        const batch = await store.findInquiryBatch(batchId).catch(() => undefined);
        if (batch?.state !== 'answered') return; // acknowledged after a fetch meanwhile
        if (batch.expiresAt !== null && batch.expiresAt <= clock.now().toISOString()) break;
      }
    }
    if (this.closing) {
      logger.info({ batchId }, 'batch delivery interrupted by shutdown');
      return;
    }
    logger.warn(
      { batchId, requesterId: requester.id, code: lastCode, attempts },
      'batch answer could not be delivered',
    );
    await store
      .recordBatchDelivery(batchId, 'failed', attempts, clock.now().toISOString())
      .catch((error: unknown) =>
        logger.error({ batchId, code: errorCode(error) }, 'could not record a delivery'),
      );
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      this.options.logger.error({ code: errorCode(error) }, 'background batch work failed');
    });
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }
}

function errorCode(error: unknown): string {
  return error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
}
