/**
 * Provision as provider (情報提供・自動応答): the automatic answer from a provider's copies to a
 * provision request the core forwards, recorded whatever its outcome.
 *
 * Shared by every provider of the network: an institution's intermediate server answers from the
 * copies its business systems registered, and the Myna Portal answers the public-funds receiving
 * account (公金受取口座) a resident registered there. Each gives its own `ProvisionStore`; the checks
 * (deadline, layout in force, sealing to the requester) and the records are the same. It lives in
 * protocol/ because no node may import another's code; we considered a copy in the portal, but two
 * copies of the provider's rules would drift.
 */
import type { LegalTable } from '../domain/legal-table/types.ts';
import type {
  ClauseNo,
  InstitutionId,
  ItemNo,
  Outcome,
  PersonCode,
  ProcedureId,
  ProcessingNumber,
} from './identifiers.ts';
import type {
  AnsweredItem,
  BatchMemberOutcome,
  ProvisionAnswer,
  ProvisionBatchAnswer,
  ProvisionBatchMember,
  ProvisionBatchRequest,
  ProvisionFailure,
  ProvisionRequest,
} from './messages.ts';
import type { Clock } from '../shared/clock.ts';
import { RenkeiError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { ItemSealer } from './item-sealing.ts';

/** A copy (副本) held for a person: one item's data. */
export interface HeldCopy {
  itemNo: ItemNo;
  data: Record<string, unknown>;
}

/** A provision record kept as provider (情報提供). */
export interface ProviderRecord {
  processingNumber: ProcessingNumber;
  requesterId: InstitutionId;
  personCode: PersonCode;
  clauseNo: ClauseNo;
  procedureId: ProcedureId;
  itemNos: ItemNo[];
  /** The items actually answered (a subset of `itemNos`; empty unless provided). */
  providedItemNos: ItemNo[];
  requestedAt: string;
  answeredAt: string;
  outcome: Outcome;
  reason?: string;
  nonDisclosure: boolean;
  recordedAt: string;
}

/** What a provider's storage gives the automatic answer: its copies, and its provider records. */
export interface ProvisionStore {
  /** The copies held for the code among `itemNos`; undefined when the code is not known here. */
  findCopiesByCode(personCode: PersonCode, itemNos: readonly ItemNo[]): Promise<HeldCopy[] | undefined>;
  /** `findCopiesByCode` for many codes: held copies by code; a code not known here is absent. */
  findCopiesByCodes(
    personCodes: readonly PersonCode[],
    itemNos: readonly ItemNo[],
  ): Promise<Map<PersonCode, HeldCopy[]>>;
  recordProvision(record: ProviderRecord): Promise<void>;
  recordProvisions(records: readonly ProviderRecord[]): Promise<void>;
  /** Provider records in processing-number order after `after`; with `only`, that one alone. */
  listProviderRecordsByProcessingNumber(
    after: string | undefined,
    limit: number,
    only?: string,
  ): Promise<ProviderRecord[]>;
}

export interface ProvisionServiceDeps {
  store: ProvisionStore;
  legalTable: LegalTable;
  clock: Clock;
  logger: Logger;
  /**
   * Seals the items to the requester (signed, then encrypted: item-sealing.ts). On the trust layer
   * there always is one, and items never leave in clear.
   */
  sealer?: ItemSealer;
}

/** The reason recorded for a provision the core stopped waiting for (as the core records it). */
export const PROVIDER_UNAVAILABLE = 'provider_unavailable';

export class ProvisionService {
  /** Requests being answered now: a failure notice for one waits until its record is written. */
  private readonly answering = new Set<string>();

  constructor(private readonly deps: ProvisionServiceDeps) {}

  /**
   * The automatic answer (自動応答): the copies held for the person code among the items asked,
   * each validated against the layout in force on the request date. A provider record is written for
   * every request, `not_held` and `failed` included. A person code unknown here is `not_held`.
   *
   * A request past its `answerBy` (when it arrives, or when its answer is ready) is not provided: the
   * core has stopped waiting and records the inquiry failed, so the provision is recorded `failed`
   * (`provider_unavailable`) here too.
   *
   * Errors: `ERR_LAYOUT_VIOLATION` (a copy does not follow the layout in force on the request date;
   * recorded as `failed`), `ERR_PROVIDER_UNAVAILABLE` (past `answerBy`; recorded as `failed`).
   */
  async answerProvisionRequest(request: ProvisionRequest): Promise<ProvisionAnswer> {
    this.answering.add(request.processingNumber);
    try {
      return await this.answer(request);
    } finally {
      this.answering.delete(request.processingNumber);
    }
  }

  private async answer(request: ProvisionRequest): Promise<ProvisionAnswer> {
    const { store, legalTable, clock, logger } = this.deps;
    // While this institution re-keys after a rotation, the core also sends the previous version.
    let personCode = request.personCode;
    let found = await store.findCopiesByCode(personCode, request.itemNos);
    if (found === undefined && request.previousPersonCode !== undefined) {
      personCode = request.previousPersonCode;
      found = await store.findCopiesByCode(personCode, request.itemNos);
    }
    const held = found ?? [];
    const requestedOn = new Date(request.requestedAt);
    const answeredAt = clock.now().toISOString();
    const record = (
      outcome: ProviderRecord['outcome'],
      providedItemNos: ItemNo[],
      reason?: string,
    ): ProviderRecord =>
      providerRecord(
        request,
        request.processingNumber,
        personCode,
        answeredAt,
        outcome,
        providedItemNos,
        reason,
      );

    const tooLate = async () => {
      if (request.answerBy === undefined || clock.now().toISOString() <= request.answerBy) return;
      await store.recordProvision(record('failed', [], PROVIDER_UNAVAILABLE));
      logger.warn({ processingNumber: request.processingNumber }, 'provision request past its deadline');
      throw new RenkeiError(
        'ERR_PROVIDER_UNAVAILABLE',
        'The answer would come after the core stopped waiting for it; it is recorded as failed.',
        { processingNumber: request.processingNumber },
      );
    };
    await tooLate();

    const items: AnsweredItem[] = [];
    for (const copy of held) {
      const check = legalTable.checkLayout(copy.itemNo, requestedOn, copy.data);
      if (!check.ok) {
        await store.recordProvision(record('failed', [], 'ERR_LAYOUT_VIOLATION'));
        logger.warn(
          { processingNumber: request.processingNumber, itemNo: copy.itemNo, layoutVersion: check.version },
          'a copy does not follow the layout in force on the request date',
        );
        // Problems stay here (they may quote the data); the core learns which item and version.
        throw new RenkeiError(
          'ERR_LAYOUT_VIOLATION',
          `The copy of item ${copy.itemNo} does not follow the layout in force on the request date.`,
          {
            processingNumber: request.processingNumber,
            itemNo: copy.itemNo,
            layoutVersion: check.version,
            problemCount: check.problems.length,
          },
        );
      }
      items.push({ itemNo: copy.itemNo, layoutVersion: check.version, data: copy.data });
    }
    const outcome = items.length > 0 ? 'provided' : 'not_held';
    let sealedItems: string | undefined;
    const { sealer } = this.deps;
    if (outcome === 'provided' && sealer) {
      try {
        if (request.requesterEncryptionCertificate === undefined) {
          throw new RenkeiError(
            'ERR_ENCRYPTION_REQUIRED',
            'The provision request carries no encryption certificate of the requester; items are never sent in clear.',
            { processingNumber: request.processingNumber },
          );
        }
        if (request.inquiryHash === undefined) {
          throw new RenkeiError(
            'ERR_ANSWER_MISMATCH',
            'The provision request does not name the hash of the inquiry it comes from; the items would answer no inquiry the requester could recognise.',
            { processingNumber: request.processingNumber, field: 'inquiryHash' },
          );
        }
        sealedItems = await sealer.seal({
          processingNumber: request.processingNumber,
          inquiryHash: request.inquiryHash,
          requesterId: request.requesterId,
          requesterCertificate: request.requesterEncryptionCertificate,
          items,
        });
      } catch (error) {
        const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
        await store.recordProvision(record('failed', [], code));
        logger.warn({ processingNumber: request.processingNumber, code }, 'items could not be sealed');
        throw error;
      }
    }
    await tooLate();
    await store.recordProvision(
      record(
        outcome,
        items.map((i) => i.itemNo),
      ),
    );
    return sealedItems === undefined
      ? { processingNumber: request.processingNumber, outcome, items, answeredAt }
      : { processingNumber: request.processingNumber, outcome, items: [], sealedItems, answeredAt };
  }

  /**
   * The automatic answer to a batch (`ProvisionBatchRequest`): every member's copies found in one
   * query, each checked against the layout in force on the request date as a single request's are,
   * every member's provider record written in one transaction, and the provided members' items sealed
   * once for the whole batch (`ItemSealer.sealBatch`), signed with the hash of the requester's batch
   * inquiry. A member whose copy breaks the layout is `failed` (ERR_LAYOUT_VIOLATION) alone.
   *
   * Errors (every member then recorded `failed` with the code): ERR_PROVIDER_UNAVAILABLE (past
   * `answerBy`), ERR_ENCRYPTION_REQUIRED, ERR_ANSWER_MISMATCH (no inquiry hash), ERR_CERT_*,
   * ERR_IDENTITY_MISMATCH (the requester's certificate).
   */
  async answerProvisionBatch(request: ProvisionBatchRequest): Promise<ProvisionBatchAnswer> {
    for (const m of request.members) this.answering.add(m.processingNumber);
    try {
      return await this.answerBatch(request);
    } finally {
      for (const m of request.members) this.answering.delete(m.processingNumber);
    }
  }

  private async answerBatch(request: ProvisionBatchRequest): Promise<ProvisionBatchAnswer> {
    const { store, legalTable, clock, logger, sealer } = this.deps;
    const { batchId } = request;
    const answeredAt = clock.now().toISOString();
    const record = (
      member: ProvisionBatchMember,
      personCode: string,
      outcome: ProviderRecord['outcome'],
      providedItemNos: ItemNo[],
      reason?: string,
    ): ProviderRecord =>
      providerRecord(
        request,
        member.processingNumber,
        personCode,
        answeredAt,
        outcome,
        providedItemNos,
        reason,
      );
    const failAll = async (code: string, error: RenkeiError): Promise<never> => {
      await store.recordProvisions(request.members.map((m) => record(m, m.personCode, 'failed', [], code)));
      logger.warn({ batchId, members: request.members.length, code }, 'provision batch failed');
      throw error;
    };
    const tooLate = () =>
      request.answerBy !== undefined && clock.now().toISOString() > request.answerBy
        ? failAll(
            PROVIDER_UNAVAILABLE,
            new RenkeiError(
              'ERR_PROVIDER_UNAVAILABLE',
              'The answer would come after the core stopped waiting for it; it is recorded as failed.',
              { batchId },
            ),
          )
        : undefined;
    await tooLate();

    const codes = request.members.flatMap((m) =>
      m.previousPersonCode === undefined ? [m.personCode] : [m.personCode, m.previousPersonCode],
    );
    const found = await store.findCopiesByCodes(codes, request.itemNos);
    const requestedOn = new Date(request.requestedAt);
    const records: ProviderRecord[] = [];
    const members: BatchMemberOutcome[] = [];
    const provided: { processingNumber: string; items: AnsweredItem[] }[] = [];
    for (const member of request.members) {
      let personCode = member.personCode;
      let held = found.get(personCode);
      if (held === undefined && member.previousPersonCode !== undefined) {
        personCode = member.previousPersonCode;
        held = found.get(personCode);
      }
      const items: AnsweredItem[] = [];
      let broken = false;
      for (const copy of held ?? []) {
        const check = legalTable.checkLayout(copy.itemNo, requestedOn, copy.data);
        if (!check.ok) {
          // Problems stay here (they may quote the data).
          logger.warn(
            { processingNumber: member.processingNumber, itemNo: copy.itemNo, layoutVersion: check.version },
            'a copy does not follow the layout in force on the request date',
          );
          broken = true;
          break;
        }
        items.push({ itemNo: copy.itemNo, layoutVersion: check.version, data: copy.data });
      }
      const { processingNumber } = member;
      if (broken) {
        records.push(record(member, personCode, 'failed', [], 'ERR_LAYOUT_VIOLATION'));
        members.push({ processingNumber, outcome: 'failed', reason: 'ERR_LAYOUT_VIOLATION' });
      } else if (items.length > 0) {
        records.push(
          record(
            member,
            personCode,
            'provided',
            items.map((i) => i.itemNo),
          ),
        );
        members.push({ processingNumber, outcome: 'provided' });
        provided.push({ processingNumber, items });
      } else {
        records.push(record(member, personCode, 'not_held', []));
        members.push({ processingNumber, outcome: 'not_held' });
      }
    }
    let sealedItems: string | undefined;
    if (provided.length > 0 && sealer) {
      try {
        if (request.requesterEncryptionCertificate === undefined) {
          throw new RenkeiError(
            'ERR_ENCRYPTION_REQUIRED',
            'The provision batch carries no encryption certificate of the requester; items are never sent in clear.',
            { batchId },
          );
        }
        if (request.inquiryHash === undefined) {
          throw new RenkeiError(
            'ERR_ANSWER_MISMATCH',
            'The provision batch does not name the hash of the inquiry batch it comes from.',
            { batchId, field: 'inquiryHash' },
          );
        }
        sealedItems = await sealer.sealBatch({
          batchId,
          inquiryHash: request.inquiryHash,
          requesterId: request.requesterId,
          requesterCertificate: request.requesterEncryptionCertificate,
          members: provided,
        });
      } catch (error) {
        const failure =
          error instanceof RenkeiError
            ? error
            : new RenkeiError('ERR_INTERNAL', 'The items could not be sealed.', { batchId });
        return failAll(failure.code, failure);
      }
    }
    await tooLate();
    await store.recordProvisions(records);
    return sealedItems === undefined
      ? { batchId, members, items: provided, answeredAt }
      : { batchId, members, items: [], sealedItems, answeredAt };
  }

  /**
   * The core recorded a provision request it sent here as failed: record `failed` too, as a new event
   * of the record, unless it already says failed. A request that never arrived has no record and
   * gains none (one arriving now is past its `answerBy`, and is recorded failed then). A request
   * still being answered is ERR_ANSWER_NOT_READY: the core sends the notice again, and it then finds
   * the record, whatever its clock made of `answerBy`.
   *
   * Errors: ERR_ANSWER_NOT_READY.
   */
  async recordFailure(notice: ProvisionFailure): Promise<void> {
    const { store, clock, logger } = this.deps;
    if (this.answering.has(notice.processingNumber)) {
      throw new RenkeiError(
        'ERR_ANSWER_NOT_READY',
        'The provision request is still being answered; send the notice again.',
        { processingNumber: notice.processingNumber },
      );
    }
    const [found] = await store.listProviderRecordsByProcessingNumber(undefined, 1, notice.processingNumber);
    if (found?.processingNumber !== notice.processingNumber || found.outcome === 'failed') return;
    await store.recordProvision({
      ...found,
      providedItemNos: [],
      answeredAt: notice.failedAt,
      outcome: 'failed',
      reason: notice.reason,
      recordedAt: clock.now().toISOString(),
    });
    logger.warn(
      { processingNumber: notice.processingNumber, reason: notice.reason, was: found.outcome },
      'provision recorded failed, as the core recorded it',
    );
  }
}

/**
 * The provider's record of one inquiry it answered (alone or as a batch member): what the request
 * asked, under `personCode` (the code it was found under), and what came of it at `answeredAt`.
 */
function providerRecord(
  request: Pick<
    ProvisionRequest,
    'requesterId' | 'clauseNo' | 'procedureId' | 'itemNos' | 'requestedAt' | 'nonDisclosure'
  >,
  processingNumber: ProcessingNumber,
  personCode: PersonCode,
  answeredAt: string,
  outcome: ProviderRecord['outcome'],
  providedItemNos: ItemNo[],
  reason: string | undefined,
): ProviderRecord {
  return {
    processingNumber,
    requesterId: request.requesterId,
    personCode,
    clauseNo: request.clauseNo,
    procedureId: request.procedureId,
    itemNos: request.itemNos,
    providedItemNos,
    requestedAt: request.requestedAt,
    answeredAt,
    outcome,
    ...(reason === undefined ? {} : { reason }),
    nonDisclosure: request.nonDisclosure,
    recordedAt: answeredAt,
  };
}
