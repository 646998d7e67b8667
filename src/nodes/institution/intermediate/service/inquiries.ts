/**
 * Inquiries as requester (情報照会): a clerk's inquiry goes to the core under this institution's code
 * for the person, is recorded, and waits for the core to deliver the outcome.
 */
import { EventEmitter } from 'node:events';
import { v7 as uuidv7 } from 'uuid';
import type { Client } from '../../../../protocol/api.ts';
import type {
  InquiryInput,
  InquiryOutcome,
  InquiryPending,
  InquiryStatus,
} from '../../../../protocol/business.ts';
import { ProcessingNumber, type InstitutionId } from '../../../../protocol/identifiers.ts';
import type { AnswerDelivery, InquiryAccepted, InquiryRequest } from '../../../../protocol/messages.ts';
import type { coreApi } from '../../../../protocol/routes.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { IntermediateStore, RequesterRecordInput } from '../store.ts';
import { unknownAddressee } from './errors.ts';

export interface InquiryServiceDeps {
  institutionId: InstitutionId;
  store: IntermediateStore;
  core: Client<typeof coreApi>;
  clock: Clock;
  logger: Logger;
}

export class InquiryService {
  /** Wakes long-polling readers when an answer arrives; keyed by processing number. */
  private readonly answered = new EventEmitter().setMaxListeners(0);
  private closed = false;

  constructor(private readonly deps: InquiryServiceDeps) {}

  /**
   * Send a clerk's inquiry to the core under this institution's code for the person, and record it.
   *
   * Errors: `ERR_UNKNOWN_ADDRESSEE_NUMBER`, `ERR_NO_PERSON_CODE`; the core's refusal (its code, e.g.
   * `ERR_INQUIRY_NOT_AUTHORIZED`, with `details.processingNumber` and `details.rule`), recorded as
   * `refused`; `ERR_UPSTREAM_UNAVAILABLE` or another error without a processing number from the core,
   * recorded as `failed` under a processing number made here (a UUIDv7 like the core's, so the
   * record has its key and the clerk something to quote), returned in `details.processingNumber`.
   */
  async inquire(input: InquiryInput): Promise<InquiryPending> {
    const { store, core, clock, institutionId, logger } = this.deps;
    const person = await store.findPerson(input.addresseeNumber);
    if (!person) throw unknownAddressee(input.addresseeNumber);
    if (person.personCode === undefined) {
      throw new RenkeiError('ERR_NO_PERSON_CODE', 'This person has no code yet, so no inquiry can be made.', {
        addresseeNumber: input.addresseeNumber,
      });
    }
    const request: InquiryRequest = {
      requesterId: institutionId,
      providerId: input.providerId,
      personCode: person.personCode,
      clauseNo: input.clauseNo,
      procedureId: input.procedureId,
      itemNos: input.itemNos,
      nonDisclosure: input.nonDisclosure ?? false,
    };
    const record = (
      processingNumber: ProcessingNumber,
      requestedAt: string,
      outcome: InquiryOutcome,
      reason?: string,
    ): RequesterRecordInput => ({
      processingNumber,
      addresseeNumber: input.addresseeNumber,
      personCode: request.personCode,
      providerId: request.providerId,
      clauseNo: request.clauseNo,
      procedureId: request.procedureId,
      itemNos: request.itemNos,
      requestedAt,
      outcome,
      ...(reason === undefined ? {} : { reason }),
      nonDisclosure: request.nonDisclosure,
      recordedAt: clock.now().toISOString(),
    });

    let accepted: InquiryAccepted;
    try {
      accepted = await core.submitInquiry({ body: request });
    } catch (error) {
      if (!(error instanceof RenkeiError)) throw error;
      const theirs = ProcessingNumber.safeParse(error.details.processingNumber);
      const rule = typeof error.details.rule === 'string' ? error.details.rule : undefined;
      const processingNumber = theirs.success ? theirs.data : uuidv7({ msecs: clock.now().getTime() });
      const outcome = theirs.success ? 'refused' : 'failed';
      await store.recordInquiry(
        record(processingNumber, clock.now().toISOString(), outcome, (rule ?? error.code).slice(0, 64)),
      );
      logger.info({ processingNumber, outcome, code: error.code, rule }, 'inquiry not accepted');
      throw new RenkeiError(error.code, error.message, {
        processingNumber,
        ...(rule === undefined ? {} : { rule }),
        peer: 'core',
      });
    }
    await store.recordInquiry(record(accepted.processingNumber, accepted.requestedAt, 'pending'));
    return {
      processingNumber: accepted.processingNumber,
      status: 'pending',
      requestedAt: accepted.requestedAt,
    };
  }

  /**
   * An inquiry's status and, once provided, the items received. With `waitMs` (≤ 30,000), wait that
   * long for a pending inquiry's answer before answering.
   *
   * Errors: `ERR_UNKNOWN_PROCESSING_NUMBER`.
   */
  async getInquiry(processingNumber: ProcessingNumber, waitMs = 0): Promise<InquiryStatus> {
    // Subscribe before reading, so an answer stored between the read and the wait is not missed.
    const waiter = waitMs > 0 && !this.closed ? this.waitForAnswer(processingNumber, waitMs) : undefined;
    try {
      let found = await this.deps.store.findInquiry(processingNumber);
      if (found && found.outcome === 'pending' && waiter) {
        await waiter.arrived;
        found = await this.deps.store.findInquiry(processingNumber);
      }
      if (!found) {
        throw new RenkeiError(
          'ERR_UNKNOWN_PROCESSING_NUMBER',
          'No inquiry of this institution has this processing number.',
        );
      }
      const { personCode: _personCode, items, recordedAt: _recordedAt, ...rest } = found;
      const status: InquiryStatus = { ...rest, status: found.outcome === 'pending' ? 'pending' : 'answered' };
      if (found.outcome === 'provided' && items !== undefined) status.items = items;
      return status;
    } finally {
      waiter?.cancel();
    }
  }

  /**
   * The core delivers an inquiry's outcome (and items when provided). The first answer is recorded;
   * a second one for the same processing number changes nothing (a retried delivery, or someone
   * trying to overwrite the clerk's figure): it is logged and otherwise ignored.
   */
  async receiveAnswer(delivery: AnswerDelivery): Promise<void> {
    const result = await this.deps.store.recordAnswer({
      processingNumber: delivery.processingNumber,
      outcome: delivery.outcome,
      ...(delivery.reason === undefined ? {} : { reason: delivery.reason }),
      items: delivery.items,
      answeredAt: delivery.answeredAt,
      receivedAt: this.deps.clock.now().toISOString(),
    });
    if (result === 'ignored') {
      this.deps.logger.warn(
        { processingNumber: delivery.processingNumber },
        'an answer for an inquiry already settled was ignored',
      );
      return;
    }
    this.answered.emit(delivery.processingNumber);
  }

  private waitForAnswer(processingNumber: string, ms: number): { arrived: Promise<void>; cancel(): void } {
    let wake: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => {
      const timer = setTimeout(() => wake(), ms);
      wake = () => {
        clearTimeout(timer);
        this.answered.off(processingNumber, wake);
        resolve();
      };
      this.answered.on(processingNumber, wake);
    });
    return { arrived, cancel: () => wake() };
  }

  /** Wake every long-polling reader so the HTTP server can close promptly. */
  close(): void {
    this.closed = true;
    for (const name of this.answered.eventNames()) this.answered.emit(name);
  }
}
