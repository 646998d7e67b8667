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
import type { ItemSealer } from '../../../../protocol/item-sealing.ts';
import type { LegalTable } from '../../../../domain/legal-table/types.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { IntermediateStore, RequesterRecord, RequesterRecordInput } from '../store.ts';
import { unknownAddressee } from './errors.ts';

export interface InquiryServiceDeps {
  institutionId: InstitutionId;
  store: IntermediateStore;
  /** The data layouts an answer's items are checked against before a clerk sees them. */
  legalTable: LegalTable;
  /** Opens items sealed by the provider; on the trust layer, items only arrive sealed. */
  sealer?: ItemSealer;
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
   *
   * `requestedBy` is the party of the business credential the inquiry came with (the router takes it
   * from the client certificate, never from the body): the record keeps it as the access record
   * (アクセス記録) of who looked the person up.
   */
  async inquire(input: InquiryInput, access: { requestedBy?: string } = {}): Promise<InquiryPending> {
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
      ...(this.deps.sealer ? { encryptionCertificate: this.deps.sealer.encryptionCertificate } : {}),
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
      ...(access.requestedBy === undefined ? {} : { requestedBy: access.requestedBy }),
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
  async receiveAnswer(sent: AnswerDelivery): Promise<void> {
    const received = await this.opened(sent);
    // Checked where it lands: items the inquiry did not ask for, or data that does not follow the
    // layout in force on the request date, never reach a clerk; the inquiry is recorded failed.
    const problem = received.outcome === 'provided' ? await this.problemWith(received) : undefined;
    const delivery: AnswerDelivery =
      problem === undefined ? received : { ...received, outcome: 'failed', reason: problem, items: [] };
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

  /**
   * The answer with its items opened: sealed items are decrypted and their provider's signature
   * checked; on the trust layer, items in clear are refused (the core must not have seen them).
   * A failure is recorded as the inquiry's failure with its code, never passed to the clerk.
   */
  private async opened(delivery: AnswerDelivery): Promise<AnswerDelivery> {
    const { sealer, logger, store } = this.deps;
    if (!sealer || delivery.outcome !== 'provided') return delivery;
    const failed = (reason: string): AnswerDelivery => ({
      ...delivery,
      outcome: 'failed',
      reason,
      items: [],
    });
    if (delivery.sealedItems === undefined) {
      logger.warn({ processingNumber: delivery.processingNumber }, 'an answer came with items in clear');
      return failed('ERR_ENCRYPTION_REQUIRED');
    }
    try {
      const inquiry = await store.findInquiry(delivery.processingNumber);
      const { items, inquiry: asked } = await sealer.open({
        processingNumber: delivery.processingNumber,
        providerId: inquiry?.providerId,
        sealed: delivery.sealedItems,
      });
      // The provider signed the hash of the inquiry it answers; that inquiry, as this institution sent
      // it, must be the one its record of this processing number holds (unless the answer overtook
      // the core's 202, and the record has no inquiry yet: then the provider is checked against it).
      if (inquiry?.requestedAt !== undefined && !sameInquiry(asked, inquiry)) {
        throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The items answer another inquiry than this one.');
      }
      const { sealedItems: _sealed, ...rest } = delivery;
      return { ...rest, items };
    } catch (error) {
      const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
      logger.warn({ processingNumber: delivery.processingNumber, code }, 'sealed items could not be opened');
      return failed(code);
    }
  }

  /** Why a provided answer cannot be accepted, as the code recorded for it; undefined when it can. */
  private async problemWith(delivery: AnswerDelivery): Promise<string | undefined> {
    const { processingNumber } = delivery;
    const inquiry = await this.deps.store.findInquiry(processingNumber);
    // The answer may overtake the core's 202 being recorded: then the layout of the answer's date.
    const on = new Date(inquiry?.requestedAt ?? delivery.answeredAt);
    const seen = new Set<number>();
    for (const item of delivery.items) {
      const asked = inquiry?.itemNos === undefined || inquiry.itemNos.includes(item.itemNo);
      if (!asked || seen.has(item.itemNo)) {
        this.deps.logger.warn(
          { processingNumber, itemNo: item.itemNo },
          'an answer carried an item not asked for',
        );
        return 'ERR_ANSWER_MISMATCH';
      }
      seen.add(item.itemNo);
      const check = this.deps.legalTable.checkLayout(item.itemNo, on, item.data);
      if (!check.ok) {
        // The problems stay unlogged: they may quote the data.
        this.deps.logger.warn(
          { processingNumber, itemNo: item.itemNo, layoutVersion: check.version },
          'an answer does not follow the layout in force on the request date',
        );
        return 'ERR_LAYOUT_VIOLATION';
      }
    }
    return undefined;
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

/** The inquiry as sent and as recorded ask the same thing of the same provider about the same person. */
function sameInquiry(sent: InquiryRequest, recorded: RequesterRecord): boolean {
  return (
    sent.providerId === recorded.providerId &&
    sent.personCode === recorded.personCode &&
    sent.clauseNo === recorded.clauseNo &&
    sent.procedureId === recorded.procedureId &&
    sent.nonDisclosure === recorded.nonDisclosure &&
    JSON.stringify(sent.itemNos) === JSON.stringify(recorded.itemNos)
  );
}
