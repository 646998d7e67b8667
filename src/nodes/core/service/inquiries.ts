/**
 * Inquiries (情報照会): number, validate, authorize against the legal table, convert the code, record,
 * then forward to the provider and deliver the answer back to the requester, asynchronously.
 *
 * The core relays the answer's `items` in memory only and never stores them (later they arrive end-to-
 * end encrypted for the requester, and this code does not change).
 *
 * The requester is identified by `requesterId` in the body for now. Mutual TLS with certificates from
 * the network's CA will replace that: the requester will be the certificate's subject, and a body
 * naming anyone else will be refused.
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
import type { LegalTable, RefusalRule } from '../../../domain/legal-table/types.ts';
import type { Clock } from '../../../shared/clock.ts';
import { HTTP_STATUS, RenkeiError, type ErrorCode } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { Institution, ProvisionRecord } from '../model.ts';
import type { CoreStore, UnfinishedInquiry } from '../store.ts';
import type { CodeCipher } from './code-cipher.ts';
import type { InstitutionReach } from './reach.ts';
import { Semaphore } from './concurrency.ts';
import { unknownInstitution, type Registry } from './registry.ts';

/** Codes of the key version before an institution's current one still work for inquiries. */
export const INQUIRY_GRACE_VERSIONS = 1;

/** The reason recorded when the provider could not be reached, failed, or answered nonsense. */
export const PROVIDER_UNAVAILABLE = 'provider_unavailable';

export interface InquiryServiceOptions {
  store: CoreStore;
  registry: Registry;
  cipher: CodeCipher;
  legalTable: LegalTable;
  clock: Clock;
  logger: Logger;
  /** A client for an institution's network side (`networkApi`), over the core's transport. */
  reach: InstitutionReach;
  /** Waits between attempts to deliver an answer to the requester (default 200 ms, 1 s, 5 s). */
  deliveryRetryDelaysMs?: readonly number[];
  /** Most calls to institutions in flight at once, forwards and deliveries together (default 256). */
  maxOutboundCalls?: number;
}

export interface ResumeSummary {
  /** Forwarded but never answered: recorded as failed and the failure delivered. */
  failed: number;
  /** Answered (not held / failed) but not delivered: delivered again. */
  redelivered: number;
  /** Provided but not delivered: the items were never stored, so delivery is recorded as failed. */
  undeliverable: number;
}

const RULE_CODES: Partial<Record<RefusalRule, ErrorCode>> = {
  unknown_clause: 'ERR_UNKNOWN_CLAUSE',
  unknown_procedure: 'ERR_UNKNOWN_PROCEDURE',
  unknown_item: 'ERR_UNKNOWN_ITEM',
  no_items: 'ERR_VALIDATION',
};

const RESUME_CONCURRENCY = 32;

export class InquiryService {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly sleepers = new Set<() => void>();
  private readonly retryDelays: readonly number[];
  private readonly outbound: Semaphore;
  private closing = false;

  constructor(private readonly options: InquiryServiceOptions) {
    this.retryDelays = options.deliveryRetryDelaysMs ?? [200, 1_000, 5_000];
    this.outbound = new Semaphore(options.maxOutboundCalls ?? 256);
  }

  /**
   * Accept an inquiry (answering with its processing number) or refuse it. Every refusal of a known
   * requester is recorded (outcome `refused`, reason = the legal table's rule or the error code) in
   * the same transaction as the inquiry's row, and nothing reaches the provider.
   *
   * Errors (all with `details.processingNumber`): ERR_UNKNOWN_INSTITUTION (requester or provider),
   * ERR_UNKNOWN_PERSON_CODE (forged, mistyped, another institution's, or an expired key version),
   * ERR_UNKNOWN_CLAUSE, ERR_UNKNOWN_PROCEDURE, ERR_UNKNOWN_ITEM, ERR_INQUIRY_NOT_AUTHORIZED (with
   * `details.rule`).
   */
  async submit(request: InquiryRequest, received: { inquiryHash?: string } = {}): Promise<InquiryAccepted> {
    const { registry, cipher, legalTable, clock } = this.options;
    const processingNumber = uuidv7();
    const now = clock.now();
    const requestedAt = now.toISOString();

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
      );
    }
    record.personKey = cipher.personKey(linkingCode);

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
    await this.options.store.recordInquiry(record, {
      processingNumber,
      delivery: 'pending',
      deliveryAttempts: 0,
      deliveredAt: null,
    });
    // After the response: setImmediate runs once the handler's promise has resolved and Fastify has
    // written the 202.
    this.track(
      new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
        this.forward(providerRequest, requester, provider),
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
   * would give it two records for one inquiry. Instead:
   * - forwarded, no outcome → recorded `failed` / `provider_unavailable`, and that failure delivered
   *   to the requester (who may inquire again);
   * - outcome `not_held` or `failed`, not delivered → delivered again (no items to lose);
   * - outcome `provided`, not delivered → the items were never stored, so delivery is recorded
   *   `failed`; the requester's inquiry stays unanswered there and it may inquire again.
   * Deliveries run in the background (see `whenIdle`).
   */
  async resumeInFlight(): Promise<ResumeSummary> {
    const summary: ResumeSummary = { failed: 0, redelivered: 0, undeliverable: 0 };
    const now = this.options.clock.now().toISOString();
    const toDeliver: UnfinishedInquiry[] = [];
    for (const unfinished of await this.options.store.listUndelivered()) {
      const { record, state } = unfinished;
      switch (record.outcome) {
        case 'pending':
          await this.options.store.recordOutcome(
            record.processingNumber,
            'failed',
            PROVIDER_UNAVAILABLE,
            now,
          );
          toDeliver.push({
            record: { ...record, outcome: 'failed', reason: PROVIDER_UNAVAILABLE, answeredAt: now },
            state,
          });
          summary.failed++;
          break;
        case 'not_held':
        case 'failed':
          toDeliver.push(unfinished);
          summary.redelivered++;
          break;
        case 'provided':
        case 'refused':
          await this.options.store.recordDelivery(
            record.processingNumber,
            'failed',
            state.deliveryAttempts,
            now,
          );
          summary.undeliverable++;
          break;
      }
    }
    if (summary.failed + summary.redelivered + summary.undeliverable > 0) {
      this.options.logger.warn({ ...summary }, 'resumed inquiries left in flight');
    }
    this.track(this.redeliver(toDeliver));
    return summary;
  }

  /** Resolves when no forwarding or delivery is in flight. */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Stop retrying: waits cut short, deliveries still pending stay `pending` in the store for the next
   * start's resume. Then wait for what is in flight.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const wake of this.sleepers) wake();
    await this.whenIdle();
  }

  private async refuse(record: ProvisionRecord, error: RenkeiError, rule?: RefusalRule): Promise<never> {
    const answeredAt = record.requestedAt;
    await this.options.store.recordInquiry(
      { ...record, outcome: 'refused', reason: rule ?? error.code, answeredAt },
      { processingNumber: record.processingNumber, delivery: 'none', deliveryAttempts: 0, deliveredAt: null },
    );
    throw error;
  }

  private async forward(
    request: ProvisionRequest,
    requester: Institution,
    provider: Institution,
  ): Promise<void> {
    const { store, clock, logger, reach } = this.options;
    const { processingNumber } = request;
    let outcome: 'provided' | 'not_held' | 'failed' = 'failed';
    let reason: string | null = PROVIDER_UNAVAILABLE;
    let items: AnsweredItem[] = [];
    // Sealed by the provider for the requester: relayed as it came, never opened (the core has no key).
    let sealedItems: string | undefined;
    try {
      const answer = await this.outbound.run(() => reach(provider).requestProvision({ body: request }));
      if (answer.processingNumber === processingNumber) {
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
    try {
      await store.recordOutcome(processingNumber, outcome, reason, answeredAt);
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
    await this.deliver(requester, delivery, 0);
  }

  /** Deliver to the requester, retrying with backoff while the failure looks temporary. */
  private async deliver(
    requester: Institution,
    delivery: AnswerDelivery,
    attemptsBefore: number,
  ): Promise<void> {
    const { logger } = this.options;
    const { processingNumber } = delivery;
    const client = this.options.reach(requester);
    let attempts = attemptsBefore;
    let lastCode = 'ERR_INTERNAL';
    for (let retry = 0; ; retry++) {
      attempts++;
      try {
        await this.outbound.run(() => client.deliverAnswer({ body: delivery }));
        await this.recordDelivery(processingNumber, 'delivered', attempts);
        return;
      } catch (error) {
        if (error instanceof RenkeiError) lastCode = error.code;
        const temporary = !(error instanceof RenkeiError) || HTTP_STATUS[error.code] >= 500;
        const wait = this.retryDelays[retry];
        if (!temporary || wait === undefined || this.closing) break;
        await this.sleep(wait);
        if (this.closing) break;
      }
    }
    if (this.closing) {
      // Left pending on purpose: the next start's resume delivers it.
      logger.info({ processingNumber }, 'delivery interrupted by shutdown');
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

  private async redeliver(unfinished: UnfinishedInquiry[]): Promise<void> {
    for (let i = 0; i < unfinished.length && !this.closing; i += RESUME_CONCURRENCY) {
      await Promise.all(
        unfinished.slice(i, i + RESUME_CONCURRENCY).map(async ({ record, state }) => {
          const requester = await this.options.registry.find(record.requesterId);
          if (!requester) {
            await this.options.store.recordDelivery(
              record.processingNumber,
              'failed',
              state.deliveryAttempts,
              this.options.clock.now().toISOString(),
            );
            return;
          }
          await this.deliver(
            requester,
            {
              processingNumber: record.processingNumber,
              outcome: record.outcome === 'not_held' ? 'not_held' : 'failed',
              ...(record.reason === null ? {} : { reason: record.reason }),
              items: [],
              answeredAt: record.answeredAt ?? this.options.clock.now().toISOString(),
            },
            state.deliveryAttempts,
          );
        }),
      );
    }
  }

  private track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      this.options.logger.error({ err: errorSummary(error) }, 'background inquiry work failed');
    });
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }
}

function withProcessingNumber(error: RenkeiError, processingNumber: string): RenkeiError {
  return new RenkeiError(error.code, error.message, { ...error.details, processingNumber });
}

/** The provider's own error code, or `provider_unavailable` when it could not be reached. */
function providerFailureReason(error: unknown): string {
  if (error instanceof RenkeiError && error.code !== 'ERR_UPSTREAM_UNAVAILABLE') return error.code;
  return PROVIDER_UNAVAILABLE;
}

/** An error's code and stack for the log: never its message's payload or details. */
function errorSummary(error: unknown): { code?: string; stack?: string } {
  if (error instanceof RenkeiError) return { code: error.code };
  if (error instanceof Error) return { stack: error.stack ?? error.name };
  return {};
}
