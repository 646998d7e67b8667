import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import type { NodeClient } from '../../../network/client.ts';
import {
  ClauseNo,
  CodeReissueAnswer,
  InquiryAccepted,
  InstitutionId,
  KeyVersion,
  MAX_REISSUE_BATCH,
  ItemNo,
  ProcedureId,
  ProcessingNumber,
  type AcquisitionNumber,
  type AnswerDelivery,
  type AnsweredItem,
  type CodeDelivery,
  type CodeReissueCompletion,
  type CodeReissueRequest,
  type InquiryRequest,
  type ProvisionAnswer,
  type ProvisionRequest,
} from '../../../network/messages.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { AddresseeNumber } from '../addressee-number.ts';
import type { CodeAcquisitionPort } from '../addressee/service.ts';
import type {
  CopyToStore,
  InquiryOutcome,
  IntermediatePerson,
  IntermediateStore,
  PersonCodeChange,
  ProviderRecord,
  ProviderRecordView,
  RequesterRecordInput,
  RequesterRecordView,
} from './store.ts';

/** A copy (副本) as a business system sends it. */
export const CopyInput = z.object({
  addresseeNumber: AddresseeNumber,
  itemNo: ItemNo,
  data: z.record(z.string(), z.unknown()),
});
export type CopyInput = z.infer<typeof CopyInput>;

export const MAX_BATCH_COPIES = 10_000;

/** A clerk's inquiry (情報照会), by the institution's own addressee number. */
export const InquiryInput = z.object({
  addresseeNumber: AddresseeNumber,
  providerId: InstitutionId,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo).min(1).max(20),
  nonDisclosure: z.boolean().optional(),
});
export type InquiryInput = z.infer<typeof InquiryInput>;

export interface StoredCopy {
  addresseeNumber: AddresseeNumber;
  itemNo: ItemNo;
  layoutVersion: string;
  updatedAt: string;
}

/** One bad row of a batch, by its 0-based index in `copies`. */
export interface BatchRowProblem {
  index: number;
  code: string;
  message: string;
  problems?: string[];
}

export interface InquiryStatus {
  processingNumber: ProcessingNumber;
  /** `pending` until the core delivers the outcome, then `answered`. */
  status: 'pending' | 'answered';
  outcome: InquiryOutcome;
  reason?: string;
  addresseeNumber?: AddresseeNumber;
  providerId?: string;
  clauseNo?: string;
  procedureId?: string;
  itemNos?: ItemNo[];
  requestedAt?: string;
  answeredAt?: string;
  nonDisclosure: boolean;
  /** The items received, when provided. */
  items?: AnsweredItem[];
}

/** One page of re-keying after a key rotation, as `POST /business/v1/code-reissues` asks for it. */
export const CodeReissuePageInput = z.object({
  /** Start after this addressee number (the previous page's `next`); absent for the first page. */
  after: AddresseeNumber.optional(),
  limit: z.number().int().min(1).max(MAX_REISSUE_BATCH).default(MAX_REISSUE_BATCH),
  /** The key version the first page reported; a later page refuses to mix versions. */
  keyVersion: KeyVersion.optional(),
});
export type CodeReissuePageInput = z.input<typeof CodeReissuePageInput>;

export interface CodeReissuePage {
  /** The key version every code of this page is now under. */
  keyVersion: number;
  /** Persons holding a code, now (for a progress bar). */
  total: number;
  /** Persons of this page. */
  checked: number;
  /** Codes replaced by their current version. */
  reissued: number;
  /** Codes the core did not recognise: removed, so the person's code must be acquired again. */
  cleared: AddresseeNumber[];
  /** Pass this as `after` for the next page; null when this was the last page. */
  next: AddresseeNumber | null;
  /** True on the last page, once the core has recorded that the institution is re-keyed. */
  completed: boolean;
}

export type ProvisionRecordRole = 'requester' | 'provider';
export type ProvisionRecordEntry =
  (RequesterRecordView & { role: 'requester' }) | (ProviderRecordView & { role: 'provider' });

export interface IntermediateServiceDeps {
  institutionId: InstitutionId;
  store: IntermediateStore;
  legalTable: LegalTable;
  core: NodeClient;
  clock: Clock;
  logger: Logger;
  /** How long provision records are kept (default 7 years, as the law asks). */
  retentionYears?: number;
}

/** An acquisition number older than this is refused at delivery even if still stored. */
const ACQUISITION_TTL_MS = 5 * 60_000;
export const MAX_WAIT_MS = 30_000;

/**
 * The intermediate server (中間サーバー): person codes, copies, automatic answers, inquiries and the
 * institution's provision records. It never sees an Individual Number.
 */
export class IntermediateService implements CodeAcquisitionPort {
  /** Wakes long-polling readers when an answer arrives; keyed by processing number. */
  private readonly answered = new EventEmitter().setMaxListeners(0);
  private closed = false;
  readonly retentionYears: number;

  constructor(private readonly deps: IntermediateServiceDeps) {
    this.retentionYears = deps.retentionYears ?? 7;
    if (!Number.isInteger(this.retentionYears) || this.retentionYears < 1) {
      throw new TypeError('retentionYears must be a whole number of at least 1');
    }
  }

  // ── Code acquisition (符号取得) ───────────────────────────────────────────────────────────

  async hasPersonCode(addresseeNumber: AddresseeNumber): Promise<boolean> {
    return (await this.deps.store.findPerson(addresseeNumber))?.personCode !== undefined;
  }

  async beginAcquisition(addresseeNumber: AddresseeNumber): Promise<AcquisitionNumber> {
    const acquisitionNumber = randomBytes(16).toString('hex');
    await this.deps.store.beginAcquisition({ acquisitionNumber, addresseeNumber, at: this.deps.clock.now() });
    return acquisitionNumber;
  }

  endAcquisition(acquisitionNumber: AcquisitionNumber, addresseeNumber: AddresseeNumber): Promise<boolean> {
    return this.deps.store.endAcquisition(acquisitionNumber, addresseeNumber);
  }

  /**
   * The core delivers the code for a pending acquisition number; the number is then deleted.
   *
   * Errors: `ERR_UNKNOWN_ACQUISITION_NUMBER` (none pending, or expired); `ERR_DUPLICATE` (the code
   * already belongs to another addressee number here).
   */
  async deliverCode(delivery: CodeDelivery): Promise<void> {
    const now = this.deps.clock.now();
    const result = await this.deps.store.completeAcquisition({
      acquisitionNumber: delivery.acquisitionNumber,
      personCode: delivery.personCode,
      at: now,
      notBefore: new Date(now.getTime() - ACQUISITION_TTL_MS),
    });
    switch (result) {
      case 'completed':
        return;
      case 'unknown':
        throw new RenkeiError(
          'ERR_UNKNOWN_ACQUISITION_NUMBER',
          'No code acquisition is pending under this acquisition number.',
        );
      case 'code_taken':
        this.deps.logger.error('a delivered code already belongs to another addressee number');
        throw new RenkeiError('ERR_DUPLICATE', 'This code already belongs to another person here.');
    }
  }

  // ── Re-keying after a key rotation (符号の再発行) ──────────────────────────────────────────

  /**
   * Reissue one page of this institution's codes under its current key version (the core converts
   * them; nothing here can). The last page tells the core the institution is re-keyed, which lets the
   * core stop sending the previous version of each code and rotate the key again. Run the pages in
   * order, passing the first page's `keyVersion` to the others.
   *
   * Errors: `ERR_KEY_VERSION_CHANGED` (the key rotated since the first page: start again),
   * `ERR_UPSTREAM_UNAVAILABLE`, or the core's error code.
   */
  async reissueCodesPage(input: CodeReissuePageInput): Promise<CodeReissuePage> {
    const { store, core, institutionId, logger } = this.deps;
    const page = CodeReissuePageInput.parse(input);
    const persons = await store.listCodedPersons(page.after, page.limit);
    const request: CodeReissueRequest = {
      institutionId,
      personCodes: persons.map((p) => p.personCode),
    };
    const answer = CodeReissueAnswer.safeParse(await core.post<unknown>('/v1/code-reissues', request));
    if (!answer.success || answer.data.personCodes.length !== persons.length) {
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'The core answered the code reissue malformed.', {
        peer: 'core',
      });
    }
    const { keyVersion, personCodes } = answer.data;
    if (page.keyVersion !== undefined && page.keyVersion !== keyVersion) {
      throw new RenkeiError(
        'ERR_KEY_VERSION_CHANGED',
        `The key rotated from version ${page.keyVersion} to ${keyVersion} during re-keying; run it again from the start.`,
        { expected: page.keyVersion, actual: keyVersion },
      );
    }
    const changes: PersonCodeChange[] = [];
    persons.forEach((person, i) => {
      const to = personCodes[i] ?? null;
      if (to !== person.personCode)
        changes.push({ addresseeNumber: person.addresseeNumber, from: person.personCode, to });
    });
    await store.replacePersonCodes(changes);
    const cleared = changes.filter((c) => c.to === null).map((c) => c.addresseeNumber);
    if (cleared.length > 0) {
      logger.warn({ count: cleared.length }, 'the core did not recognise some codes: they were removed');
    }
    const last = persons.length < page.limit;
    const next = last ? null : (persons.at(-1)?.addresseeNumber ?? null);
    if (last) {
      const completion: CodeReissueCompletion = { institutionId, keyVersion };
      await core.post<unknown>('/v1/code-reissues/completions', completion);
      logger.info({ keyVersion }, 'codes re-keyed');
    }
    return {
      keyVersion,
      total: await store.countCodedPersons(),
      checked: persons.length,
      reissued: changes.length - cleared.length,
      cleared,
      next,
      completed: last,
    };
  }

  // ── Copies (副本) ───────────────────────────────────────────────────────────────────────

  /**
   * Register or replace a person's copy of an item, checked against the layout in force now.
   *
   * Errors: `ERR_UNKNOWN_ADDRESSEE_NUMBER`, `ERR_NO_PERSON_CODE`, `ERR_UNKNOWN_ITEM`,
   * `ERR_LAYOUT_VIOLATION` (with `details.problems`).
   */
  async putCopy(input: CopyInput): Promise<StoredCopy> {
    const now = this.deps.clock.now();
    const person = await this.deps.store.findPerson(input.addresseeNumber);
    const checked = this.checkCopy(input, person, now);
    if (checked instanceof RenkeiError) throw checked;
    await this.deps.store.putCopies([checked]);
    return toStoredCopy(checked);
  }

  /**
   * Register up to 10,000 copies: all rows are checked first, then written in one transaction, or
   * none is written. Rows are untrusted input (`unknown`) so that every bad row is reported.
   *
   * Errors: `ERR_VALIDATION` (more than 10,000 rows); `ERR_IMPORT_INVALID` with `details.rows`, one
   * `{ index, code, message, problems? }` per bad row.
   */
  async putCopies(rows: readonly unknown[]): Promise<{ written: number }> {
    if (rows.length > MAX_BATCH_COPIES) {
      throw new RenkeiError('ERR_VALIDATION', `A batch holds at most ${MAX_BATCH_COPIES} copies.`, {
        max: MAX_BATCH_COPIES,
        actual: rows.length,
      });
    }
    const now = this.deps.clock.now();
    const problems: BatchRowProblem[] = [];
    const parsed: { index: number; copy: CopyInput }[] = [];
    rows.forEach((row, index) => {
      const result = CopyInput.safeParse(row);
      if (result.success) {
        parsed.push({ index, copy: result.data });
      } else {
        const issue = result.error.issues[0];
        problems.push({
          index,
          code: 'ERR_VALIDATION',
          message: `${issue?.path.join('.') || '(row)'}: ${issue?.message ?? 'invalid'}`,
        });
      }
    });
    const persons = await this.deps.store.findPersons(parsed.map((p) => p.copy.addresseeNumber));
    const copies: CopyToStore[] = [];
    const seen = new Map<string, number>();
    for (const { index, copy } of parsed) {
      const checked = this.checkCopy(copy, persons.get(copy.addresseeNumber), now);
      if (checked instanceof RenkeiError) {
        const entry: BatchRowProblem = { index, code: checked.code, message: checked.message };
        if (Array.isArray(checked.details.problems)) entry.problems = checked.details.problems as string[];
        problems.push(entry);
        continue;
      }
      const key = `${copy.addresseeNumber}\u0000${copy.itemNo}`;
      const earlier = seen.get(key);
      if (earlier !== undefined) {
        problems.push({
          index,
          code: 'ERR_DUPLICATE',
          message: `The same person and item as row ${earlier}.`,
        });
        continue;
      }
      seen.set(key, index);
      copies.push(checked);
    }
    if (problems.length > 0) {
      problems.sort((a, b) => a.index - b.index);
      throw new RenkeiError(
        'ERR_IMPORT_INVALID',
        `${problems.length} of ${rows.length} copies are invalid; nothing was written.`,
        { rows: problems },
      );
    }
    await this.deps.store.putCopies(copies);
    return { written: copies.length };
  }

  /**
   * Remove a person's copy of an item. Idempotent: removing a copy that is not held succeeds.
   *
   * Errors: `ERR_UNKNOWN_ADDRESSEE_NUMBER`.
   */
  async deleteCopy(addresseeNumber: AddresseeNumber, itemNo: ItemNo): Promise<{ deleted: boolean }> {
    const person = await this.deps.store.findPerson(addresseeNumber);
    if (!person) throw unknownAddressee(addresseeNumber);
    return { deleted: await this.deps.store.deleteCopy(addresseeNumber, itemNo) };
  }

  private checkCopy(
    input: CopyInput,
    person: IntermediatePerson | undefined,
    now: Date,
  ): CopyToStore | RenkeiError {
    if (!person) return unknownAddressee(input.addresseeNumber);
    if (person.personCode === undefined) {
      return new RenkeiError(
        'ERR_NO_PERSON_CODE',
        'This person has no code yet: register them again through POST /business/v1/persons.',
        { addresseeNumber: input.addresseeNumber },
      );
    }
    if (!this.deps.legalTable.findItem(input.itemNo)) {
      return new RenkeiError('ERR_UNKNOWN_ITEM', `Item ${input.itemNo} is not in the legal table.`, {
        itemNo: input.itemNo,
      });
    }
    const check = this.deps.legalTable.checkLayout(input.itemNo, now, input.data);
    if (!check.ok) {
      return new RenkeiError(
        'ERR_LAYOUT_VIOLATION',
        `The data does not follow the layout of item ${input.itemNo} in force today.`,
        { itemNo: input.itemNo, layoutVersion: check.version, problems: check.problems },
      );
    }
    return {
      addresseeNumber: input.addresseeNumber,
      itemNo: input.itemNo,
      data: input.data,
      layoutVersion: check.version,
      updatedAt: now,
    };
  }

  // ── Inquiries, as requester (情報照会) ─────────────────────────────────────────────────────

  /**
   * Send a clerk's inquiry to the core under this institution's code for the person, and record it.
   *
   * Errors: `ERR_UNKNOWN_ADDRESSEE_NUMBER`, `ERR_NO_PERSON_CODE`; the core's refusal (its code, e.g.
   * `ERR_INQUIRY_NOT_AUTHORIZED`, with `details.processingNumber` and `details.rule`), recorded as
   * `refused`; `ERR_UPSTREAM_UNAVAILABLE` or another error without a processing number from the core,
   * recorded as `failed` under a processing number made here (a UUIDv7 like the core's, so the
   * record has its key and the clerk something to quote), returned in `details.processingNumber`.
   */
  async inquire(input: InquiryInput): Promise<{
    processingNumber: ProcessingNumber;
    status: 'pending';
    requestedAt: string;
  }> {
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
      const answer = await core.post<unknown>('/v1/inquiries', request);
      const parsed = InquiryAccepted.safeParse(answer);
      if (!parsed.success) {
        throw new RenkeiError(
          'ERR_UPSTREAM_UNAVAILABLE',
          'The core accepted the inquiry with a malformed answer.',
          {
            peer: 'core',
          },
        );
      }
      accepted = parsed.data;
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

  /** The core delivers an inquiry's outcome (and items when provided). Idempotent. */
  async receiveAnswer(delivery: AnswerDelivery): Promise<void> {
    await this.deps.store.recordAnswer({
      processingNumber: delivery.processingNumber,
      outcome: delivery.outcome,
      ...(delivery.reason === undefined ? {} : { reason: delivery.reason }),
      items: delivery.items,
      answeredAt: delivery.answeredAt,
      receivedAt: this.deps.clock.now().toISOString(),
    });
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

  // ── Provision, as provider (情報提供・自動応答) ───────────────────────────────────────────────

  /**
   * The automatic answer (自動応答): the copies held for the person code among the items asked,
   * each validated against the layout in force on the request date. A provider record is written for
   * every request, `not_held` and `failed` included. A person code unknown here is `not_held`.
   *
   * Errors: `ERR_LAYOUT_VIOLATION` (a copy does not follow the layout in force on the request date;
   * recorded as `failed`).
   */
  async answerProvisionRequest(request: ProvisionRequest): Promise<ProvisionAnswer> {
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
    ): ProviderRecord => ({
      processingNumber: request.processingNumber,
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
    });

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
    await store.recordProvision(
      record(
        outcome,
        items.map((i) => i.itemNo),
      ),
    );
    return { processingNumber: request.processingNumber, outcome, items, answeredAt };
  }

  // ── Provision records (情報提供等の記録) ──────────────────────────────────────────────────────

  /** This institution's records, newest first; both roles when `role` is absent. */
  async listProvisionRecords(
    role: ProvisionRecordRole | undefined,
    limit: number,
  ): Promise<ProvisionRecordEntry[]> {
    const { store } = this.deps;
    const requester =
      role === 'provider'
        ? []
        : (await store.listRequesterRecords(limit)).map((r) => ({ ...r, role: 'requester' as const }));
    const provider =
      role === 'requester'
        ? []
        : (await store.listProviderRecords(limit)).map((r) => ({ ...r, role: 'provider' as const }));
    const all: ProvisionRecordEntry[] = [...requester, ...provider];
    if (role === undefined) all.sort((a, b) => b.recordedAt.localeCompare(a.recordedAt));
    return all.slice(0, limit);
  }

  /** Delete records (and received answers) older than the retention period (default 7 years). */
  async purgeProvisionRecords(): Promise<{ before: string; requester: number; provider: number }> {
    const before = this.deps.clock.now();
    before.setUTCFullYear(before.getUTCFullYear() - this.retentionYears);
    const purged = await this.deps.store.purgeRecords(before);
    if (purged.requester + purged.provider > 0) {
      this.deps.logger.info({ ...purged, before: before.toISOString() }, 'provision records purged');
    }
    return { before: before.toISOString(), ...purged };
  }

  /** Wake every long-polling reader so the HTTP server can close promptly. */
  close(): void {
    this.closed = true;
    for (const name of this.answered.eventNames()) this.answered.emit(name);
  }
}

function unknownAddressee(addresseeNumber: AddresseeNumber): RenkeiError {
  return new RenkeiError(
    'ERR_UNKNOWN_ADDRESSEE_NUMBER',
    'No person is registered under this addressee number.',
    {
      addresseeNumber,
    },
  );
}

function toStoredCopy(copy: CopyToStore): StoredCopy {
  return {
    addresseeNumber: copy.addresseeNumber,
    itemNo: copy.itemNo,
    layoutVersion: copy.layoutVersion,
    updatedAt: copy.updatedAt.toISOString(),
  };
}
