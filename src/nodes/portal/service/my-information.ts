/**
 * わたしの情報 (自己情報表示): the resident asks, and the portal fetches their own information from
 * the institutions that hold it, through the network, as a requester of kind `portal` under its own
 * clause of the legal table (clause 900, procedure 900-01: マイナンバー法 附則第6条第6項第1号).
 *
 * Each provider is one inquiry, exactly as an intermediate server makes one: the portal's own code for
 * the person, a signed `InquiryRequest` over mutual TLS (`coreApi.submitInquiry`), 202 and a
 * processing number; the answer pushed to the portal's network listener (`networkApi.deliverAnswer`),
 * or fetched (`coreApi.fetchAnswer`, then acknowledged) when a page finds it overdue. The answer is
 * opened and checked by the same code as an institution's (src/protocol/requester.ts). The core, the
 * provider and the portal each keep their record; the portal's (`requester_records`) never holds
 * the items.
 *
 * The items are personal data and are kept only in this process's memory, for the page that asked:
 * per session, until the session logs out, a new retrieval replaces it, or `keepMs` (15 minutes)
 * passes since it began. They are never written to the database or a log, and never in a URL. We
 * considered keeping them in the database for a restart to survive, but a resident whose answers are
 * lost simply asks again, while items on disk are one more copy of everyone's data to protect.
 *
 * Which institutions are asked: those of the portal's configuration (`providers`) whose kind the
 * clause names, each for the items the clause gives its kind. In the demo that is every institution
 * of the world; the real portal cannot ask all 1,700 municipalities and would ask the resident's own
 * (from the card's address) — not done here.
 */
import { randomUUID } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import type { Client } from '../../../protocol/api.ts';
import type { InstitutionId, InstitutionKind } from '../../../protocol/identifiers.ts';
import { ProcessingNumber } from '../../../protocol/identifiers.ts';
import type { ItemSealer } from '../../../protocol/item-sealing.ts';
import type { AnswerDelivery, AnsweredItem, InquiryRequest } from '../../../protocol/messages.ts';
import { acceptAnswer, inDoubt } from '../../../protocol/requester.ts';
import type { coreApi } from '../../../protocol/routes.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { MyInformationStore, PortalRequesterRecord, RequesterOutcome } from '../my-information-store.ts';

/** The portal's clause and procedure for 自己情報表示 (legal/clauses.yaml, legal/procedures.yaml). */
export const MY_INFORMATION_CLAUSE = '900';
export const MY_INFORMATION_PROCEDURE = '900-01';

/** An institution the portal may ask, as its configuration names it (the core's registry's id and name). */
export interface InformationProvider {
  id: InstitutionId;
  name: string;
  /** The registry's English name, for the page in English (the name where none is given). */
  nameEn?: string | undefined;
  kind: InstitutionKind;
}

/** One provider's part of a retrieval, as the page shows it. */
export interface RetrievalEntry {
  providerId: string;
  providerName: string;
  providerNameEn: string;
  itemNos: number[];
  state: RequesterOutcome;
  /** For `refused` and `failed`: the rule or code (the page says what it means). */
  reason?: string | undefined;
  processingNumber?: string | undefined;
  /** Only while `provided`: the items as answered, checked against their layout. */
  items?: AnsweredItem[] | undefined;
  requestedAt?: Date | undefined;
}

/** One press of 「情報を取得する」: what was asked of whom, and what came back so far. */
export interface Retrieval {
  personId: string;
  startedAt: Date;
  expiresAt: Date;
  entries: RetrievalEntry[];
}

export interface MyInformationDeps {
  store: MyInformationStore;
  /** The portal's code for a person (undefined when none: the person never logged in). */
  findPersonCode(personId: string): Promise<string | undefined>;
  core: Client<typeof coreApi>;
  /** Opens the items sealed to the portal; absent only off the trust layer (unit tests). */
  sealer?: ItemSealer | undefined;
  legalTable: LegalTable;
  providers: readonly InformationProvider[];
  clock: Clock;
  logger: Logger;
  /** The portal's institution id (its certificate's party). */
  institutionId: string;
  /** How long a retrieval's answers are kept in memory (default 15 minutes). */
  keepMs?: number | undefined;
  /** A page reading an inquiry pending this long fetches its answer from the core (default 10 s). */
  answerFetchAfterMs?: number | undefined;
}

export class MyInformationService {
  /** The retrieval of each session, by the session's token hash. */
  private readonly retrievals = new Map<string, Retrieval>();
  /** Entries waiting for an answer, by processing number. */
  private readonly waiting = new Map<string, RetrievalEntry>();
  /** Inquiries being sent: an answer that overtakes its 202 waits for them to be recorded. */
  private readonly sending = new Set<Promise<unknown>>();
  private readonly lastFetched = new Map<string, number>();
  private readonly keepMs: number;

  constructor(private readonly deps: MyInformationDeps) {
    this.keepMs = deps.keepMs ?? 15 * 60_000;
  }

  /**
   * Whom the portal asks, and for which items: the configured providers the clause names; with
   * `only`, those items alone (the 自己情報取得API asks for what the resident consented to).
   */
  plan(on: Date, only?: readonly number[]): { provider: InformationProvider; itemNos: number[] }[] {
    const { legalTable, providers } = this.deps;
    const clause = legalTable.findClause(MY_INFORMATION_CLAUSE);
    const procedure = legalTable.findProcedure(MY_INFORMATION_PROCEDURE);
    if (!clause || !procedure) return [];
    const plan: { provider: InformationProvider; itemNos: number[] }[] = [];
    for (const provider of providers) {
      const given = new Set(
        clause.provisions
          .filter(
            (p) => p.provider.kinds.includes(provider.kind) || p.provider.institutions.includes(provider.id),
          )
          .flatMap((p) => p.itemNos),
      );
      const itemNos = procedure.itemNos.filter((n) => given.has(n) && (only?.includes(n) ?? true));
      if (itemNos.length === 0) continue;
      const authorized = legalTable.authorize({
        requester: { id: this.deps.institutionId, kind: 'portal' },
        provider: { id: provider.id, kind: provider.kind },
        clauseNo: MY_INFORMATION_CLAUSE,
        procedureId: MY_INFORMATION_PROCEDURE,
        itemNos,
        on,
      });
      if (authorized.allowed) plan.push({ provider, itemNos });
    }
    return plan;
  }

  /**
   * Begin a retrieval for the session's person: one inquiry per provider, sent now (the caller does
   * not wait for them: the page shows them arriving). It replaces the session's previous one.
   * With `only`, just those items (the 自己情報取得API's consented scopes).
   * Errors: ERR_NO_PERSON_CODE (the portal holds no code for this person: they never logged in).
   */
  async start(sessionKey: string, personId: string, only?: readonly number[]): Promise<Retrieval> {
    this.sweep();
    const personCode = await this.deps.findPersonCode(personId);
    if (personCode === undefined) {
      throw new RenkeiError('ERR_NO_PERSON_CODE', 'The portal holds no code for this person yet.');
    }
    const now = this.deps.clock.now();
    const retrieval: Retrieval = {
      personId,
      startedAt: now,
      expiresAt: new Date(now.getTime() + this.keepMs),
      entries: this.plan(now, only).map(({ provider, itemNos }) => ({
        providerId: provider.id,
        providerName: provider.name,
        providerNameEn: provider.nameEn ?? provider.name,
        itemNos,
        state: 'pending' as const,
      })),
    };
    this.forget(sessionKey);
    this.retrievals.set(sessionKey, retrieval);
    for (const entry of retrieval.entries) {
      const sent = this.ask(personId, personCode, entry).catch((error: unknown) => {
        entry.state = 'failed';
        entry.reason = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
        this.deps.logger.error({ code: entry.reason }, 'my information: an inquiry could not be made');
      });
      this.sending.add(sent);
      void sent.finally(() => this.sending.delete(sent));
    }
    return retrieval;
  }

  /** The session's retrieval, if any and not expired; pending answers overdue are fetched. */
  view(sessionKey: string, personId: string): Retrieval | undefined {
    this.sweep();
    const retrieval = this.retrievals.get(sessionKey);
    if (!retrieval || retrieval.personId !== personId) return undefined;
    for (const entry of retrieval.entries) this.fetchIfOverdue(entry);
    return retrieval;
  }

  /** Drop a session's answers (logout, or a new retrieval). */
  forget(sessionKey: string): void {
    const retrieval = this.retrievals.get(sessionKey);
    if (!retrieval) return;
    this.retrievals.delete(sessionKey);
    for (const entry of retrieval.entries) {
      entry.items = undefined;
      if (entry.processingNumber !== undefined) this.waiting.delete(entry.processingNumber);
    }
  }

  /** Drop every retrieval past its time. */
  sweep(): void {
    const now = this.deps.clock.now().getTime();
    for (const [key, retrieval] of this.retrievals) {
      if (retrieval.expiresAt.getTime() <= now) this.forget(key);
    }
  }

  private async ask(personId: string, personCode: string, entry: RetrievalEntry): Promise<void> {
    const { core, clock, store, logger, institutionId, sealer } = this.deps;
    const request: InquiryRequest = {
      requesterId: institutionId,
      providerId: entry.providerId,
      personCode,
      clauseNo: MY_INFORMATION_CLAUSE,
      procedureId: MY_INFORMATION_PROCEDURE,
      itemNos: entry.itemNos,
      nonDisclosure: false,
      requestId: randomUUID(),
      ...(sealer ? { encryptionCertificate: sealer.encryptionCertificate } : {}),
    };
    const record = (
      processingNumber: string,
      requestedAt: Date,
      outcome: RequesterOutcome,
      reason?: string,
    ): PortalRequesterRecord => ({
      processingNumber,
      personId,
      providerId: entry.providerId,
      clauseNo: MY_INFORMATION_CLAUSE,
      procedureId: MY_INFORMATION_PROCEDURE,
      itemNos: entry.itemNos,
      requestedAt,
      outcome,
      reason,
      answeredAt: undefined,
      recordedAt: clock.now(),
    });
    // Sent at most twice under one request id: the core answers a key it knows as the first time, so
    // an inquiry in doubt (no answer from the core) is settled by the second send, never made twice.
    for (let attempt = 0; ; attempt++) {
      try {
        const accepted = await core.submitInquiry({ body: request });
        const requestedAt = new Date(accepted.requestedAt);
        await store.recordInquiry(record(accepted.processingNumber, requestedAt, 'pending'));
        entry.processingNumber = accepted.processingNumber;
        entry.requestedAt = requestedAt;
        if (entry.state === 'pending') this.waiting.set(accepted.processingNumber, entry);
        return;
      } catch (error) {
        if (!(error instanceof RenkeiError)) throw error;
        const theirs = ProcessingNumber.safeParse(error.details.processingNumber);
        if (!theirs.success && inDoubt(error, attempt === 0)) {
          if (attempt === 0) continue;
          // The core may hold an inquiry the portal has no record of; the resident is told to try again.
          logger.warn({ code: error.code }, 'my information: an inquiry in doubt was given up');
          entry.state = 'failed';
          entry.reason = error.code;
          return;
        }
        const rule = typeof error.details.rule === 'string' ? error.details.rule : undefined;
        const processingNumber = theirs.success ? theirs.data : uuidv7({ msecs: clock.now().getTime() });
        const outcome = theirs.success ? 'refused' : 'failed';
        const reason = (rule ?? error.code).slice(0, 64);
        await store.recordInquiry(record(processingNumber, clock.now(), outcome, reason));
        logger.info(
          { processingNumber, outcome, code: error.code, rule },
          'my information: inquiry not accepted',
        );
        entry.processingNumber = processingNumber;
        entry.state = outcome;
        entry.reason = reason;
        return;
      }
    }
  }

  /**
   * The core delivers an inquiry's outcome (`networkApi.deliverAnswer`, callers: the core). Checked
   * as any requester checks it (src/protocol/requester.ts), recorded once (a second answer changes
   * nothing), and the items given to the page that asked, if it is still there.
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER (no inquiry of the portal has this number).
   */
  async receiveAnswer(delivery: AnswerDelivery): Promise<void> {
    const { store, logger } = this.deps;
    let record = await store.findInquiry(delivery.processingNumber);
    if (!record && this.sending.size > 0) {
      // The answer overtook the core's 202 being recorded here: wait for the sends in flight.
      await Promise.allSettled([...this.sending]);
      record = await store.findInquiry(delivery.processingNumber);
    }
    if (!record) {
      throw new RenkeiError(
        'ERR_UNKNOWN_PROCESSING_NUMBER',
        'No inquiry of the portal has this processing number.',
      );
    }
    if (record.outcome !== 'pending') {
      logger.warn(
        { processingNumber: record.processingNumber },
        'an answer for an inquiry already settled was ignored',
      );
      return;
    }
    const personCode = await this.deps.findPersonCode(record.personId);
    const checked = await acceptAnswer(
      delivery,
      {
        providerId: record.providerId,
        personCode,
        clauseNo: record.clauseNo,
        procedureId: record.procedureId,
        itemNos: record.itemNos,
        nonDisclosure: false,
        requestedAt: record.requestedAt.toISOString(),
      },
      this.deps,
    );
    const result = await store.recordAnswer({
      processingNumber: record.processingNumber,
      outcome: checked.outcome,
      reason: checked.reason,
      answeredAt: new Date(checked.answeredAt),
    });
    if (result === 'ignored') return;
    logger.info(
      { processingNumber: record.processingNumber, outcome: checked.outcome },
      'my information: answer recorded',
    );
    const entry = this.waiting.get(record.processingNumber);
    if (!entry) return;
    this.waiting.delete(record.processingNumber);
    entry.state = checked.outcome;
    entry.reason = checked.reason;
    if (checked.outcome === 'provided') entry.items = checked.items;
  }

  /** A push that could not land: fetch the answer the core keeps, at most once per interval. */
  private fetchIfOverdue(entry: RetrievalEntry): void {
    const { processingNumber, requestedAt } = entry;
    if (entry.state !== 'pending' || processingNumber === undefined || requestedAt === undefined) return;
    const after = this.deps.answerFetchAfterMs ?? 10_000;
    const now = this.deps.clock.now().getTime();
    if (now - requestedAt.getTime() < after) return;
    const last = this.lastFetched.get(processingNumber);
    if (last !== undefined && now - last < after) return;
    if (this.lastFetched.size > 10_000) this.lastFetched.clear();
    this.lastFetched.set(processingNumber, now);
    void this.fetchAnswer(processingNumber);
  }

  /** Fetch a kept answer, take it as a pushed one, then acknowledge it. */
  async fetchAnswer(processingNumber: string): Promise<'received' | 'not_ready' | 'unavailable'> {
    const { core, institutionId, logger } = this.deps;
    try {
      const delivery = await core.fetchAnswer({ body: { requesterId: institutionId, processingNumber } });
      if (delivery.processingNumber !== processingNumber) return 'unavailable';
      await this.receiveAnswer(delivery);
      await core
        .acknowledgeAnswer({ body: { requesterId: institutionId, processingNumber } })
        .catch(() => undefined);
      return 'received';
    } catch (error) {
      const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
      if (code === 'ERR_ANSWER_NOT_READY') return 'not_ready';
      if (code === 'ERR_ANSWER_GONE') {
        // The core no longer holds it: recorded failed, so the resident is told to ask again.
        const now = this.deps.clock.now();
        await this.deps.store
          .recordAnswer({ processingNumber, outcome: 'failed', reason: code, answeredAt: now })
          .catch(() => undefined);
        const entry = this.waiting.get(processingNumber);
        this.waiting.delete(processingNumber);
        if (entry) Object.assign(entry, { state: 'failed', reason: code });
        return 'unavailable';
      }
      logger.info({ code }, 'my information: an answer could not be fetched');
      return 'unavailable';
    }
  }
}
