/**
 * Inquiries as requester (情報照会): a clerk's inquiry goes to the core under this institution's code
 * for the person, is recorded, and waits for the core to deliver the outcome.
 *
 * The core pushes the answer (`receiveAnswer`). When the push cannot land (this node was down, or the
 * network between was), the core keeps the sealed answer for a while and this node fetches it
 * (`fetchAnswer`), handled exactly as a pushed one and then acknowledged (the core keeps it until
 * then, so a fetched answer lost in transit is fetched again): when the node starts, for every inquiry still
 * pending (`fetchPendingAnswers`: what was missed while down), and when a clerk reads an inquiry that
 * has been pending longer than a push takes (a push that failed while both were up). We considered
 * a periodic sweep of every pending inquiry, but it calls the core for inquiries nobody is waiting
 * for; a clerk who is waiting reads the inquiry, and that read is the moment to ask.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { v7 as uuidv7 } from 'uuid';
import type { Client } from '../../../../protocol/api.ts';
import type {
  InquiryInput,
  InquiryOutcome,
  InquiryPending,
  InquiryStatus,
} from '../../../../protocol/business.ts';
import {
  ProcessingNumber,
  type AddresseeNumber,
  type InstitutionId,
  type PersonCode,
} from '../../../../protocol/identifiers.ts';
import { refusalCode } from '../../../../domain/legal-table/refusal-codes.ts';
import {
  MAX_BATCH_MEMBERS,
  type AnswerBatchDelivery,
  type AnswerDelivery,
  type AnsweredItem,
  type InquiryAccepted,
  type InquiryBatchAccepted,
  type InquiryBatchRequest,
  type InquiryRequest,
} from '../../../../protocol/messages.ts';
import type { coreApi } from '../../../../protocol/routes.ts';
import type { ItemSealer } from '../../../../protocol/item-sealing.ts';
import { acceptAnswer, inDoubt, keptInDoubt, problemWithItems } from '../../../../protocol/requester.ts';
import type { LegalTable } from '../../../../domain/legal-table/types.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError, isErrorCode } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type {
  AnswerToStore,
  InquiryIntent,
  IntermediateStore,
  RequesterRecord,
  RequesterRecordInput,
} from '../store.ts';
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
  /**
   * A clerk's read of an inquiry pending this long makes the node fetch its answer from the core, at
   * most once per this interval per inquiry (default 10 s: a push lands in well under a second, and
   * the core retries it, the first three times within about 6 s; fetching sooner mostly finds nothing).
   */
  answerFetchAfterMs?: number;
  /**
   * Send the single inquiries that arrive while a send to the core is in flight as one batch (default
   * true): see `inquire`. False sends each alone, as before.
   */
  coalesce?: boolean;
}

/** A fresh single inquiry waiting for its turn to go to the core, and its caller's promise. */
interface Queued {
  intent: InquiryIntent;
  resolve: (pending: InquiryPending) => void;
  reject: (error: unknown) => void;
  /** Called with its record as it is opened pending in a batch, before the batch's answer can land. */
  onOpened?: ((record: RequesterRecordInput) => void) | undefined;
}

/** A clerk's inquiry not yet looked up nor written down: queued as it came (`inquire`). */
interface Arrived {
  input: InquiryInput;
  requestId: string;
  requestedBy: string | undefined;
  createdAt: string;
  resolve: (pending: InquiryPending) => void;
  reject: (error: unknown) => void;
  onOpened?: ((record: RequesterRecordInput) => void) | undefined;
}

/** Pending inquiries fetched at once when the node starts. */
const FETCH_CONCURRENCY = 8;
const FETCH_PAGE = 500;
/** The first wait before intents in doubt are sent again, and the longest. */
const RESEND_FIRST_MS = 1_000;
const RESEND_MAX_MS = 30_000;
/** Bound on the per-inquiry throttle's memory; cleared whole when reached. */
const THROTTLE_LIMIT = 10_000;

/** What one fetch of a kept answer did (`fetchAnswer`, `fetchAnswerBatch`). */
export type FetchOutcome = 'received' | 'not_ready' | 'gone' | 'unavailable';

export class InquiryService {
  /** Wakes long-polling readers when an answer arrives; keyed by processing number. */
  private readonly answered = new EventEmitter().setMaxListeners(0);
  /** When each pending inquiry's answer was last fetched on a clerk's read (ms since the epoch). */
  private readonly lastFetched = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly fetchAfterMs: number;
  /** Request ids being sent now: a resend pass leaves them to the call sending them. */
  private readonly sending = new Set<string>();
  /**
   * Fresh single inquiries waiting to be sent, by what one batch must share (provider, clause,
   * procedure, items, non-disclosure), and whether a send of that kind is in flight.
   */
  private readonly queues = new Map<string, { waiting: Arrived[]; sending: boolean }>();
  /**
   * Sends to the core since start, and the inquiries they carried, by kind: one inquiry alone
   * (`single`), clerks' inquiries coalesced while a send was in flight (`coalesced`), a bulk
   * inquiry's batch (`bulk`). Inquiries per send is how much the coalescing saves (`/metrics`).
   */
  readonly sends = {
    single: { sends: 0, inquiries: 0 },
    coalesced: { sends: 0, inquiries: 0 },
    bulk: { sends: 0, inquiries: 0 },
  };

  /** The caller's promise of each queued or coalesced inquiry, by request id: a resend joins it. */
  private readonly queued = new Map<string, Promise<InquiryPending>>();
  /** Coalesced batches sent and not yet recorded here: their answer waits for the record. */
  private readonly recording = new Map<string, Promise<void>>();
  private resendTimer: NodeJS.Timeout | undefined;
  private resendDelayMs = RESEND_FIRST_MS;
  private closed = false;

  constructor(private readonly deps: InquiryServiceDeps) {
    this.fetchAfterMs = deps.answerFetchAfterMs ?? 10_000;
  }

  /**
   * Send a clerk's inquiry to the core under this institution's code for the person, and record it.
   *
   * The inquiry is written down first (its intent, under `input.requestId` or a key made here), then
   * sent with that key, and the intent is deleted in the transaction that opens the requester record.
   * A node that dies in between leaves the intent, and sends it again when it starts: the core
   * answers a key it knows with the same processing number (or refusal), so the record ends up under
   * the core's processing number and no second inquiry is made. We considered recording a `pending`
   * row under a number made here before sending, but the core's number is the one the three parties'
   * records share, and a row under another number would have to be renamed.
   *
   * Errors: `ERR_UNKNOWN_ADDRESSEE_NUMBER`, `ERR_NO_PERSON_CODE`; the core's refusal (its code, e.g.
   * `ERR_INQUIRY_NOT_AUTHORIZED`, with `details.processingNumber` and `details.rule`), recorded as
   * `refused`; an error without a processing number that the core answered, or a core that refused
   * the connection (so it cannot have received the inquiry), recorded as `failed` under a processing
   * number made here (a UUIDv7 like the core's, so the record has its key and the clerk something to
   * quote), returned in `details.processingNumber`. `ERR_UPSTREAM_UNAVAILABLE` with
   * `details.requestId` and `details.queued: true` when the core may have received the inquiry but
   * did not answer (the connection dropped, the deadline passed) or answered that its store failed
   * under the request (`inDoubt` in src/protocol/requester.ts): nothing is recorded yet; the
   * inquiry is kept and sent again (soon, and on every start) until the core answers, and the record
   * then gets the core's processing number. Sending the same input again with that `requestId` gets
   * it at once, without a second inquiry.
   *
   * `requestedBy` is the party of the business credential the inquiry came with (the router takes it
   * from the client certificate, never from the body): the record keeps it as the access record
   * (アクセス記録) of who looked the person up.
   */
  async inquire(
    input: InquiryInput,
    access: { requestedBy?: string } = {},
    onOpened?: (record: RequesterRecordInput) => void,
  ): Promise<InquiryPending> {
    const { store, clock } = this.deps;
    if (this.deps.coalesce !== false) {
      // The person's lookup and the intent are done per batch, as it is formed (`prepare`).
      const requestId = input.requestId ?? randomUUID();
      const queued = this.queued.get(requestId);
      if (queued) return queued;
      return this.enqueue({
        input,
        requestId,
        requestedBy: access.requestedBy,
        createdAt: clock.now().toISOString(),
        resolve: () => undefined,
        reject: () => undefined,
        onOpened,
      });
    }
    const person = await store.findPerson(input.addresseeNumber);
    if (!person) throw unknownAddressee(input.addresseeNumber);
    if (person.personCode === undefined) throw noPersonCode(input.addresseeNumber);
    const intent = intentOf(
      input,
      input.requestId ?? randomUUID(),
      person.personCode,
      access.requestedBy,
      clock.now().toISOString(),
    );
    // False: an intent under this key is kept already (a resend of an inquiry in doubt). Then a refused
    // connection proves nothing about the first send, and only an answer of the core settles it.
    const fresh = await store.saveIntent(intent);
    if (!fresh) {
      // The same key sent again while its first send waits or is in flight in a batch: its answer.
      const queued = this.queued.get(intent.requestId);
      if (queued) return queued;
    }
    return this.send(intent, fresh);
  }

  /**
   * `inquire`, then wait up to `waitMs` for the answer: the inquiry's status once answered, as
   * `getInquiry` gives it, or still pending. A member of a coalesced batch starts waiting as its
   * record is opened (before the batch's answer can be recorded here: see `receiveAnswerBatch`),
   * and its status is made from its record and the answer as they are committed, with no read: the
   * read of the inquiry before the wait and again after it were two statements per exchange. An
   * inquiry sent alone, or a wait woken without the answer, reads it as `getInquiry` does.
   *
   * Errors: those of `inquire`.
   */
  async inquireAndWait(
    input: InquiryInput,
    access: { requestedBy?: string },
    waitMs: number,
  ): Promise<InquiryPending | InquiryStatus> {
    if (waitMs <= 0 || this.closed) return this.inquire(input, access);
    let opened: RequesterRecordInput | undefined;
    let waiter: ReturnType<InquiryService['waitForAnswer']> | undefined;
    const pending = await this.inquire(input, access, (record) => {
      opened = record;
      waiter = this.waitForAnswer(record.processingNumber, waitMs);
    }).catch((error: unknown) => {
      waiter?.cancel();
      throw error;
    });
    if (!waiter || !opened || opened.processingNumber !== pending.processingNumber) {
      waiter?.cancel();
      return this.getInquiry(pending.processingNumber, waitMs);
    }
    const answer = await waiter.arrived;
    if (answer === undefined) return this.getInquiry(pending.processingNumber, 0);
    return statusOf(opened, answer);
  }

  /**
   * Nagle's rule for inquiries: a fresh inquiry goes to the core at once when no send of its kind is
   * in flight (alone, as `send` sends it: no delay when the node is idle); those that arrive while one
   * is in flight wait for it and then go together, as one signed batch (`sendCoalesced`), up to
   * `MAX_BATCH_MEMBERS`. We considered a fixed window (collect for 2 ms, then send), but it delays
   * every inquiry of an idle node and still sends many small batches of a busy one; what accumulates
   * during the previous send is the batch that load makes, with one send in flight per kind.
   *
   * "At once" is after a `setImmediate`, not a timer: what arrives in the same turn of the event
   * loop joins the first. Without it, the clerks answered together by one batch answer came back
   * together, and the first of them went alone, a signed exchange of five messages for one person,
   * before the rest as a batch (at 32 clerks, 357 of 6,000 inquiries went alone beside 623 batches).
   */
  private enqueue(arrived: Arrived): Promise<InquiryPending> {
    const { input, requestId } = arrived;
    const key = JSON.stringify([
      input.providerId,
      input.clauseNo,
      input.procedureId,
      input.itemNos,
      input.nonDisclosure ?? false,
    ]);
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { waiting: [], sending: false };
      this.queues.set(key, queue);
    }
    const waiting = queue.waiting;
    const promise = new Promise<InquiryPending>((resolve, reject) =>
      waiting.push({ ...arrived, resolve, reject }),
    );
    this.queued.set(requestId, promise);
    promise.then(
      () => this.queued.delete(requestId),
      () => this.queued.delete(requestId),
    );
    if (!queue.sending) this.drainSoon(key, queue);
    return promise;
  }

  /** Send what waits in one queue (alone, or as a batch), then what accumulated meanwhile. */
  private drain(key: string, queue: { waiting: Arrived[]; sending: boolean }): void {
    const taken = queue.waiting.splice(0, MAX_BATCH_MEMBERS);
    if (taken.length === 0) {
      this.queues.delete(key);
      return;
    }
    queue.sending = true;
    const sent = this.prepare(taken).then((fresh) => {
      const [first] = fresh;
      if (first === undefined) return;
      return fresh.length === 1
        ? this.send(first.intent, true).then(first.resolve, first.reject)
        : this.sendCoalesced(fresh);
    });
    void sent.finally(() => this.drainSoon(key, queue));
  }

  /** `drain` once the rest of this turn's arrivals have joined the queue; it counts as sending meanwhile. */
  private drainSoon(key: string, queue: { waiting: Arrived[]; sending: boolean }): void {
    queue.sending = true;
    setImmediate(() => this.drain(key, queue));
  }

  /**
   * What `inquire` does before a send, for a whole batch at once: one read of the persons, one write
   * of the intents (a statement each per batch; they were two statements, three with the group
   * commit's savepoint, per inquiry). An unknown person or one without a code is refused to its
   * caller alone; an intent kept already under its key (a resend of an inquiry in doubt) is sent
   * alone, as `send` sends one not fresh. The fresh ones, written down, are returned to be sent.
   */
  private async prepare(arrived: readonly Arrived[]): Promise<Queued[]> {
    const { store } = this.deps;
    try {
      const persons = await store.findPersons(arrived.map((a) => a.input.addresseeNumber));
      const ready: Queued[] = [];
      for (const a of arrived) {
        const { input } = a;
        const person = persons.get(input.addresseeNumber);
        if (!person) {
          a.reject(unknownAddressee(input.addresseeNumber));
          continue;
        }
        if (person.personCode === undefined) {
          a.reject(noPersonCode(input.addresseeNumber));
          continue;
        }
        ready.push({
          intent: intentOf(input, a.requestId, person.personCode, a.requestedBy, a.createdAt),
          resolve: a.resolve,
          reject: a.reject,
          onOpened: a.onOpened,
        });
      }
      const written = await store.saveIntents(ready.map((q) => q.intent));
      const fresh: Queued[] = [];
      for (const q of ready) {
        if (written.has(q.intent.requestId)) fresh.push(q);
        // False: an intent under this key is kept already (a resend of an inquiry in doubt). Then a
        // refused connection proves nothing about the first send; only an answer of the core settles it.
        else void this.send(q.intent, false).then(q.resolve, q.reject);
      }
      return fresh;
    } catch (error) {
      // Nothing sent, nothing recorded: every caller gets the store's error, as `inquire` gave it.
      for (const a of arrived) a.reject(error);
      return [];
    }
  }

  /**
   * Send single inquiries together, as one `InquiryBatchRequest` with each member's request id, and
   * record each member as `send` records a single inquiry (pending, or refused with the core's
   * reason), their intents deleted in the same transaction. Every member is an inquiry of its own at
   * the three parties, with its own processing number; its answer comes in the batch's answer
   * (`receiveAnswerBatch`). What each caller gets is what `send` would have given it: a refused
   * member's error carries the core's code, `details.processingNumber` and `details.rule`.
   *
   * A batch the core may or may not have received (no answer, a dropped connection) leaves every
   * member's intent kept and in doubt, as for a single inquiry: each is sent again alone under its
   * request id, which the core knows from the batch if it took it. A batch the core answered with an
   * error for the whole (or could not have received) is an inquiry nowhere yet: each member is then
   * sent alone, and recorded as a single inquiry is.
   */
  private async sendCoalesced(queued: readonly Queued[]): Promise<void> {
    const { store, core, clock, institutionId, logger, sealer } = this.deps;
    const first = queued[0]!.intent;
    const batchId = randomUUID();
    const request: InquiryBatchRequest = {
      batchId,
      requesterId: institutionId,
      providerId: first.providerId,
      clauseNo: first.clauseNo,
      procedureId: first.procedureId,
      itemNos: first.itemNos,
      nonDisclosure: first.nonDisclosure,
      personCodes: queued.map((q) => q.intent.personCode),
      requestIds: queued.map((q) => q.intent.requestId),
      ...(sealer ? { encryptionCertificate: sealer.encryptionCertificate } : {}),
    };
    for (const q of queued) this.sending.add(q.intent.requestId);
    let recorded: () => void = () => undefined;
    this.recording.set(batchId, new Promise<void>((resolve) => (recorded = resolve)));
    try {
      let accepted: InquiryBatchAccepted | undefined;
      let failure: RenkeiError | undefined;
      try {
        this.counted('coalesced', queued.length);
        accepted = await core.submitInquiryBatch({ body: request });
      } catch (error) {
        if (!(error instanceof RenkeiError)) throw error;
        failure = error;
      }
      if (failure && !inDoubt(failure, true)) {
        for (const q of queued) this.sending.delete(q.intent.requestId);
        await Promise.all(queued.map((q) => this.send(q.intent, true).then(q.resolve, q.reject)));
        return;
      }
      if (!accepted || accepted.batchId !== batchId || accepted.members.length !== queued.length) {
        const cause = typeof failure?.details.cause === 'string' ? failure.details.cause : undefined;
        logger.warn(
          { code: failure?.code ?? 'ERR_ANSWER_MISMATCH', cause, batchId, members: queued.length },
          'inquiries in doubt: kept, to be sent again',
        );
        this.scheduleResend();
        for (const q of queued) q.reject(keptInDoubt(q.intent.requestId));
        return;
      }
      const recordedAt = clock.now().toISOString();
      const records: RequesterRecordInput[] = accepted.members.map((m, i) => {
        const { intent } = queued[i]!;
        return {
          processingNumber: m.processingNumber,
          addresseeNumber: intent.addresseeNumber,
          personCode: intent.personCode,
          providerId: intent.providerId,
          clauseNo: intent.clauseNo,
          procedureId: intent.procedureId,
          itemNos: intent.itemNos,
          requestedAt: accepted.requestedAt,
          outcome: m.outcome === 'accepted' ? 'pending' : 'refused',
          ...(m.outcome === 'refused'
            ? { reason: (m.reason ?? 'ERR_INQUIRY_NOT_AUTHORIZED').slice(0, 64) }
            : {}),
          nonDisclosure: intent.nonDisclosure,
          recordedAt,
          ...(intent.requestedBy === undefined ? {} : { requestedBy: intent.requestedBy }),
        };
      });
      await store.recordInquiries(
        records,
        queued.map((q) => q.intent.requestId),
      );
      // The waits start before `recorded()` below lets the batch's answer be recorded here, so no
      // waiter misses it.
      accepted.members.forEach((m, i) => {
        if (m.outcome === 'accepted') queued[i]!.onOpened?.(records[i]!);
      });
      accepted.members.forEach((m, i) => {
        const { resolve, reject } = queued[i]!;
        const { processingNumber } = m;
        if (m.outcome === 'accepted') {
          resolve({ processingNumber, status: 'pending', requestedAt: accepted.requestedAt });
          return;
        }
        const reason = m.reason ?? 'ERR_INQUIRY_NOT_AUTHORIZED';
        const code = refusalCode(reason);
        const rule = isErrorCode(reason) ? undefined : reason;
        logger.info({ processingNumber, outcome: 'refused', code, rule }, 'inquiry not accepted');
        reject(
          new RenkeiError(code, 'The core refused the inquiry.', {
            processingNumber,
            ...(rule === undefined ? {} : { rule }),
            peer: 'core',
          }),
        );
      });
    } catch (error) {
      // Not recorded here (the store failed): the intents stay, and are sent again like those in doubt.
      logger.error(
        { code: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL', batchId },
        'coalesced inquiries could not be recorded',
      );
      this.scheduleResend();
      for (const q of queued) q.reject(error);
    } finally {
      for (const q of queued) this.sending.delete(q.intent.requestId);
      this.recording.delete(batchId);
      recorded();
    }
  }

  /**
   * Inquiries the core has not yet numbered: waiting for a send of their kind, being sent, or in
   * doubt (written down, the core did not answer; sent again until it does). A count in doubt that
   * stays up is a core this node cannot reach.
   */
  private counted(kind: keyof InquiryService['sends'], inquiries: number): void {
    this.sends[kind].sends++;
    this.sends[kind].inquiries += inquiries;
  }

  async load(): Promise<{ waiting: number; sending: number; inDoubt: number }> {
    let waiting = 0;
    for (const queue of this.queues.values()) waiting += queue.waiting.length;
    const sending = this.sending.size;
    const written = await this.deps.store.countIntents();
    return { waiting, sending, inDoubt: Math.max(0, written - sending) };
  }

  /** Send an intent and record the core's answer; see `inquire` for what is recorded and thrown. */
  private async send(intent: InquiryIntent, fresh: boolean): Promise<InquiryPending> {
    const { store, core, clock, institutionId, logger } = this.deps;
    const { requestId } = intent;
    const request: InquiryRequest = {
      requesterId: institutionId,
      providerId: intent.providerId,
      personCode: intent.personCode,
      clauseNo: intent.clauseNo,
      procedureId: intent.procedureId,
      itemNos: intent.itemNos,
      nonDisclosure: intent.nonDisclosure,
      requestId,
      ...(this.deps.sealer ? { encryptionCertificate: this.deps.sealer.encryptionCertificate } : {}),
    };
    const record = (
      processingNumber: ProcessingNumber,
      requestedAt: string,
      outcome: InquiryOutcome,
      reason?: string,
    ): RequesterRecordInput => ({
      processingNumber,
      addresseeNumber: intent.addresseeNumber,
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
      ...(intent.requestedBy === undefined ? {} : { requestedBy: intent.requestedBy }),
    });

    let accepted: InquiryAccepted;
    this.sending.add(requestId);
    try {
      this.counted('single', 1);
      accepted = await core.submitInquiry({ body: request });
    } catch (error) {
      if (!(error instanceof RenkeiError)) throw error;
      const theirs = ProcessingNumber.safeParse(error.details.processingNumber);
      if (!theirs.success && inDoubt(error, fresh)) {
        // The transport's cause (ECONNREFUSED, ECONNRESET, deadline) tells a dead core from a slow one.
        const cause = typeof error.details.cause === 'string' ? error.details.cause : undefined;
        logger.warn({ code: error.code, cause, requestId }, 'inquiry in doubt: kept, to be sent again');
        this.scheduleResend();
        throw keptInDoubt(requestId);
      }
      const rule = typeof error.details.rule === 'string' ? error.details.rule : undefined;
      const processingNumber = theirs.success ? theirs.data : uuidv7({ msecs: clock.now().getTime() });
      const outcome = theirs.success ? 'refused' : 'failed';
      await store.recordInquiry(
        record(processingNumber, clock.now().toISOString(), outcome, (rule ?? error.code).slice(0, 64)),
        requestId,
      );
      logger.info({ processingNumber, outcome, code: error.code, rule }, 'inquiry not accepted');
      throw new RenkeiError(error.code, error.message, {
        processingNumber,
        ...(rule === undefined ? {} : { rule }),
        peer: 'core',
      });
    } finally {
      this.sending.delete(requestId);
    }
    await store.recordInquiry(record(accepted.processingNumber, accepted.requestedAt, 'pending'), requestId);
    return {
      processingNumber: accepted.processingNumber,
      status: 'pending',
      requestedAt: accepted.requestedAt,
    };
  }

  /**
   * Send again every intent not settled (on start: those a stopped node left; later: those in doubt),
   * a few at a time, each recorded as `inquire` records it. Intents being sent by a clerk's call are
   * left to it. Those still in doubt are tried again later, waiting longer each time (up to 30 s).
   */
  async resendIntents(): Promise<{ settled: number; kept: number }> {
    const tally = { settled: 0, kept: 0 };
    let after: string | undefined;
    while (!this.closed) {
      const page = await this.deps.store.listIntents(after, FETCH_PAGE);
      if (page.length === 0) break;
      after = page.at(-1)?.requestId;
      const waiting = page.filter((intent) => !this.sending.has(intent.requestId));
      for (let i = 0; i < waiting.length && !this.closed; i += FETCH_CONCURRENCY) {
        await Promise.all(
          waiting.slice(i, i + FETCH_CONCURRENCY).map(async (intent) => {
            try {
              await this.send(intent, false);
              tally.settled++;
            } catch (error) {
              if (error instanceof RenkeiError && error.details.queued === true) tally.kept++;
              else if (error instanceof RenkeiError && error.details.processingNumber !== undefined)
                tally.settled++;
              else tally.kept++;
            }
          }),
        );
      }
      if (page.length < FETCH_PAGE) break;
    }
    if (tally.settled + tally.kept > 0)
      this.deps.logger.info(tally, 'inquiries written down were sent again');
    this.resendDelayMs = tally.kept > 0 ? Math.min(RESEND_MAX_MS, this.resendDelayMs * 2) : RESEND_FIRST_MS;
    if (tally.kept > 0) this.scheduleResend();
    return tally;
  }

  private scheduleResend(): void {
    if (this.closed || this.resendTimer !== undefined) return;
    this.resendTimer = setTimeout(() => {
      this.resendTimer = undefined;
      this.track(this.resendIntents());
    }, this.resendDelayMs);
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
      if (found?.outcome === 'pending') this.fetchIfOverdue(processingNumber, found.requestedAt);
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
    // Read once, for both checks below (it was read twice per answer: one statement of eight).
    const inquiry =
      sent.outcome === 'provided' ? await this.deps.store.findInquiry(sent.processingNumber) : undefined;
    // Opened and checked where it lands (src/protocol/requester.ts): items the inquiry did not ask for,
    // or data that does not follow the layout in force on the request date, never reach a clerk; the
    // inquiry is recorded failed.
    const delivery = await acceptAnswer(sent, inquiry, this.deps);
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
   * Send one batch of a bulk inquiry (`coreApi.submitInquiryBatch`) and open every member's
   * requester record (pending, or refused with the core's reason) in one transaction. The batch id
   * is the caller's: sent again after a crash, the core answers as the first time and nothing is
   * recorded twice. Each member's result in the order of `persons`.
   *
   * Errors: whatever the core answered for the whole batch (ERR_UPSTREAM_UNAVAILABLE: send it again
   * later under the same id; nothing is recorded then, as the batch is not yet an inquiry anywhere),
   * ERR_ANSWER_MISMATCH (the core's answer does not match the batch sent).
   */
  async inquireBatch(
    batch: Omit<InquiryBatchRequest, 'requesterId' | 'personCodes' | 'encryptionCertificate'>,
    persons: readonly { addresseeNumber: string; personCode: string }[],
    access: { requestedBy?: string } = {},
  ): Promise<{ processingNumber: ProcessingNumber; outcome: 'pending' | 'refused'; reason?: string }[]> {
    const { store, core, clock, institutionId } = this.deps;
    const request: InquiryBatchRequest = {
      ...batch,
      requesterId: institutionId,
      personCodes: persons.map((p) => p.personCode),
      ...(this.deps.sealer ? { encryptionCertificate: this.deps.sealer.encryptionCertificate } : {}),
    };
    this.counted('bulk', persons.length);
    const accepted: InquiryBatchAccepted = await core.submitInquiryBatch({ body: request });
    if (accepted.batchId !== batch.batchId || accepted.members.length !== persons.length) {
      throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The core answered another batch than the one sent.', {
        batchId: batch.batchId,
      });
    }
    const recordedAt = clock.now().toISOString();
    const results = accepted.members.map((m) => ({
      processingNumber: m.processingNumber,
      outcome: m.outcome === 'accepted' ? ('pending' as const) : ('refused' as const),
      ...(m.outcome === 'refused' ? { reason: (m.reason ?? 'ERR_INQUIRY_NOT_AUTHORIZED').slice(0, 64) } : {}),
    }));
    await store.recordInquiries(
      results.map((r, i) => ({
        processingNumber: r.processingNumber,
        addresseeNumber: persons[i]!.addresseeNumber,
        personCode: persons[i]!.personCode,
        providerId: batch.providerId,
        clauseNo: batch.clauseNo,
        procedureId: batch.procedureId,
        itemNos: batch.itemNos,
        requestedAt: accepted.requestedAt,
        outcome: r.outcome,
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        nonDisclosure: batch.nonDisclosure,
        recordedAt,
        ...(access.requestedBy === undefined ? {} : { requestedBy: access.requestedBy }),
      })),
    );
    return results;
  }

  /**
   * The core delivers a batch's outcomes (`networkApi.deliverAnswerBatch`, or a fetch): the sealed
   * items opened once, every member checked as a single answer is (the items it asked for, the
   * layout in force on the request date), and every member's answer recorded in one transaction.
   *
   * The sealed answer must be the provider's answer to the very batch this institution sent (its
   * signed hash names an `InquiryBatchRequest` of ours, to that provider, with that batch id) and
   * cover exactly the members the core says were provided: a member added, or one claimed provided
   * without items, fails the sealed answer as a whole (ERR_ANSWER_MISMATCH), recorded against every
   * provided member.
   *
   * Every member must be recorded here before any answer is: a batch the core took while this node
   * did not learn it (the 202 lost: its members in doubt, sent again one by one under their request
   * ids) can be answered while only some of them are recorded again. Taking the answer then would
   * have the core count the whole batch delivered and drop what it kept, and the members recorded
   * later would stay pending for ever (and the sealed items, which name every member, would not
   * match the few known). So nothing is recorded and the core is asked to send it again; the same
   * holds for a member this node never sent (a core that adds one is not answered at all).
   *
   * Errors: ERR_BATCH_NOT_READY (a member is not recorded here yet; the core sends it again).
   */
  async receiveAnswerBatch(delivery: AnswerBatchDelivery): Promise<void> {
    const { store, logger, clock, sealer } = this.deps;
    const { batchId } = delivery;
    if (delivery.members.length === 0) return;
    // A coalesced batch's answer can overtake the recording of the core's 202: wait for it, rather
    // than answer ERR_BATCH_NOT_READY and have the core push again after its retry delay.
    await this.recording.get(batchId);
    const records = await store.findInquiries(delivery.members.map((m) => m.processingNumber));
    const unknown = delivery.members.filter((m) => !records.has(m.processingNumber)).length;
    if (unknown > 0) {
      if (records.size > 0) {
        logger.info({ batchId, unknown }, 'a batch answer names inquiries not recorded here yet; not taken');
      }
      throw new RenkeiError(
        'ERR_BATCH_NOT_READY',
        'This batch is not recorded here yet (all its members); send it again.',
        { batchId },
      );
    }
    const ours = delivery.members;
    const providerId = records.get(ours[0]!.processingNumber)?.providerId;
    const provided = ours.filter((m) => m.outcome === 'provided');
    /** Items by processing number, or the code every provided member fails with. */
    let opened: Map<string, AnsweredItem[]> | string = new Map(
      delivery.items.map((m) => [m.processingNumber, m.items]),
    );
    if (sealer && provided.length > 0) {
      if (delivery.sealedItems === undefined) {
        logger.warn({ batchId }, 'a batch answer came with items in clear');
        opened = 'ERR_ENCRYPTION_REQUIRED';
      } else {
        try {
          const { members, inquiry } = await sealer.openBatch({
            batchId,
            providerId: providerId ?? '',
            sealed: delivery.sealedItems,
          });
          const claimed = new Set(provided.map((m) => m.processingNumber));
          const sentCodes = new Set(inquiry.personCodes);
          const mismatch =
            members.length !== claimed.size ||
            members.some((m) => !claimed.has(m.processingNumber)) ||
            provided.some((m) => {
              const record = records.get(m.processingNumber);
              return (
                record === undefined ||
                record.personCode === undefined ||
                !sentCodes.has(record.personCode) ||
                !sameBatchInquiry(inquiry, record)
              );
            });
          if (mismatch) {
            throw new RenkeiError(
              'ERR_ANSWER_MISMATCH',
              'The sealed items do not answer this batch as sent.',
            );
          }
          opened = new Map(members.map((m) => [m.processingNumber, m.items]));
        } catch (error) {
          const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
          logger.warn({ batchId, code }, 'a batch’s sealed items could not be opened');
          opened = code;
        }
      }
    }
    const receivedAt = clock.now().toISOString();
    const answers: AnswerToStore[] = ours.map((m) => {
      const base = { processingNumber: m.processingNumber, answeredAt: delivery.answeredAt, receivedAt };
      if (m.outcome !== 'provided') {
        return {
          ...base,
          outcome: m.outcome,
          ...(m.reason === undefined ? {} : { reason: m.reason }),
          items: [],
        };
      }
      const items = typeof opened === 'string' ? undefined : opened.get(m.processingNumber);
      const problem =
        typeof opened === 'string'
          ? opened
          : items === undefined
            ? 'ERR_ANSWER_MISMATCH'
            : problemWithItems(
                m.processingNumber,
                records.get(m.processingNumber),
                items,
                delivery.answeredAt,
                this.deps,
              );
      return problem === undefined
        ? { ...base, outcome: 'provided', items: items ?? [] }
        : { ...base, outcome: 'failed', reason: problem, items: [] };
    });
    const answered = await store.recordAnswers(answers);
    const byNumber = new Map(answers.map((a) => [a.processingNumber, a]));
    for (const pn of answered) this.answered.emit(pn, byNumber.get(pn));
  }

  /**
   * Fetch a batch's answer the core keeps (its push did not land) and take it as a pushed one.
   * `gone`: the core no longer holds it; the members still pending here are then recorded failed
   * (ERR_ANSWER_GONE). Otherwise as `fetchAnswer`.
   */
  async fetchAnswerBatch(batchId: string, pending: readonly ProcessingNumber[]): Promise<FetchOutcome> {
    const { core, institutionId } = this.deps;
    return this.fetchKept(
      { batchId },
      pending,
      () => core.fetchAnswerBatch({ body: { requesterId: institutionId, batchId } }),
      async (delivery) => {
        if (delivery.batchId !== batchId) return false;
        try {
          await this.receiveAnswerBatch(delivery);
        } catch (error) {
          // Members still in doubt here: taken once they are recorded (a later fetch, or the push).
          if (error instanceof RenkeiError && error.code === 'ERR_BATCH_NOT_READY') return false;
          throw error;
        }
        await this.acknowledge({ batchId }, () =>
          core.acknowledgeAnswerBatch({ body: { requesterId: institutionId, batchId } }),
        );
        return true;
      },
    );
  }

  /**
   * Ask the core for an answer not received, and take it exactly as a pushed one (`receiveAnswer`:
   * sealed items opened and checked, a second answer ignored). `received` when an answer was taken,
   * `not_ready` while the provider has not answered, `gone` when the core no longer holds it (then the
   * inquiry is recorded failed, `ERR_ANSWER_GONE`, so the clerk knows to inquire again), `unavailable`
   * when the core could not be asked or knows no such inquiry (nothing changes; ask later).
   */
  async fetchAnswer(processingNumber: ProcessingNumber): Promise<FetchOutcome> {
    const { core, institutionId, logger } = this.deps;
    return this.fetchKept(
      { processingNumber },
      [processingNumber],
      () => core.fetchAnswer({ body: { requesterId: institutionId, processingNumber } }),
      async (delivery) => {
        if (delivery.processingNumber !== processingNumber) {
          logger.warn({ processingNumber }, 'the core answered a fetch with another inquiry’s answer');
          return false;
        }
        // Recorded (committed) first, acknowledged after: the core keeps the answer until then, so a
        // node killed in between fetches it again on its next start, the same answer.
        await this.receiveAnswer(delivery);
        await this.acknowledge({ processingNumber }, () =>
          core.acknowledgeAnswer({ body: { requesterId: institutionId, processingNumber } }),
        );
        return true;
      },
    );
  }

  /**
   * One fetch of an answer the core keeps (a single inquiry's or a batch's), the same for both:
   * `take` records a delivery and acknowledges it, or says it was not the one asked for
   * (`unavailable`). When the core no longer holds it, the inquiries of `pending` still pending here
   * are recorded failed (ERR_ANSWER_GONE).
   */
  private async fetchKept<D>(
    context: { processingNumber: ProcessingNumber } | { batchId: string },
    pending: readonly ProcessingNumber[],
    fetch: () => Promise<D>,
    take: (delivery: D) => Promise<boolean>,
  ): Promise<FetchOutcome> {
    const { logger, clock, store } = this.deps;
    let delivery: D;
    try {
      delivery = await fetch();
    } catch (error) {
      const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
      if (code === 'ERR_ANSWER_NOT_READY') return 'not_ready';
      if (code === 'ERR_ANSWER_GONE') {
        const now = clock.now().toISOString();
        const failed = await store.recordAnswers(
          pending.map((processingNumber) => ({
            processingNumber,
            outcome: 'failed',
            reason: code,
            items: [],
            answeredAt: now,
            receivedAt: now,
          })),
        );
        if (failed.length > 0) {
          logger.warn(
            { ...context, failed: failed.length },
            'the core no longer holds the answer; recorded failed',
          );
        }
        for (const pn of failed) this.answered.emit(pn);
        return 'gone';
      }
      logger.info({ ...context, code }, 'answer could not be fetched from the core');
      return 'unavailable';
    }
    return (await take(delivery)) ? 'received' : 'unavailable';
  }

  /**
   * Tell the core an answer fetched is recorded here, so that it stops keeping (and pushing) it. A
   * failed acknowledgement is left: the core's push goes on, and this node answers it 2xx (a second
   * answer changes nothing), which ends the delivery as well.
   */
  private async acknowledge(
    context: { processingNumber: ProcessingNumber } | { batchId: string },
    send: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await send();
    } catch (error) {
      const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
      this.deps.logger.info({ ...context, code }, 'answer recorded but not yet acknowledged to the core');
    }
  }

  /**
   * Fetch the answer of every inquiry still pending here (on start: what the core kept while this
   * node was down), a few at a time; how many were taken.
   */
  async fetchPendingAnswers(): Promise<{ received: number; gone: number; pending: number }> {
    const tally = { received: 0, gone: 0, pending: 0 };
    let after: ProcessingNumber | undefined;
    while (!this.closed) {
      const page = await this.deps.store.listPendingInquiries(after, FETCH_PAGE);
      if (page.length === 0) break;
      after = page.at(-1);
      for (let i = 0; i < page.length && !this.closed; i += FETCH_CONCURRENCY) {
        const results = await Promise.all(
          page.slice(i, i + FETCH_CONCURRENCY).map((pn) => this.fetchAnswer(pn)),
        );
        for (const result of results) {
          if (result === 'received') tally.received++;
          else if (result === 'gone') tally.gone++;
          else tally.pending++;
        }
      }
    }
    if (tally.received + tally.gone > 0) this.deps.logger.info(tally, 'answers fetched from the core');
    return tally;
  }

  /**
   * On start, in the background (a core that is down must not hold up the node's start): send again
   * the inquiries written down but not settled (`resendIntents`), then fetch the answers missed
   * (`fetchPendingAnswers`), which then include those of the inquiries just settled.
   */
  catchUp(): void {
    this.track(
      (async () => {
        await this.resendIntents().catch((error: unknown) => {
          this.deps.logger.error(
            { code: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL' },
            'sending inquiries again failed',
          );
          this.scheduleResend();
        });
        await this.fetchPendingAnswers();
      })(),
    );
  }

  /** Resolves when no fetch started here is in flight. */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private fetchIfOverdue(processingNumber: ProcessingNumber, requestedAt: string | undefined): void {
    if (this.closed || requestedAt === undefined) return;
    const now = this.deps.clock.now().getTime();
    if (now - new Date(requestedAt).getTime() < this.fetchAfterMs) return;
    const last = this.lastFetched.get(processingNumber);
    if (last !== undefined && now - last < this.fetchAfterMs) return;
    if (this.lastFetched.size >= THROTTLE_LIMIT) this.lastFetched.clear();
    this.lastFetched.set(processingNumber, now);
    this.track(
      this.fetchAnswer(processingNumber).then((result) => {
        if (result === 'received' || result === 'gone') this.lastFetched.delete(processingNumber);
      }),
    );
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => {
      this.deps.logger.error(
        { code: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL' },
        'fetching answers failed',
      );
    });
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
  }

  /** Resolves with the answer recorded, when the one who recorded it says (else undefined). */
  private waitForAnswer(
    processingNumber: string,
    ms: number,
  ): { arrived: Promise<AnswerToStore | undefined>; cancel(): void } {
    let wake: (answer?: AnswerToStore) => void = () => undefined;
    const arrived = new Promise<AnswerToStore | undefined>((resolve) => {
      const timer = setTimeout(() => wake(), ms);
      wake = (answer?: AnswerToStore) => {
        clearTimeout(timer);
        this.answered.off(processingNumber, wake);
        resolve(answer);
      };
      this.answered.on(processingNumber, wake);
    });
    return { arrived, cancel: () => wake() };
  }

  /** Wake every long-polling reader so the HTTP server can close promptly. */
  close(): void {
    this.closed = true;
    clearTimeout(this.resendTimer);
    this.resendTimer = undefined;
    for (const name of this.answered.eventNames()) this.answered.emit(name);
  }
}

/**
 * The intent written down before an inquiry is sent (a resend under `requestId` finds it): what
 * `input` asks, of the person under `personCode`. One inquiry's and a coalesced batch member's alike.
 */
function intentOf(
  input: InquiryInput,
  requestId: string,
  personCode: PersonCode,
  requestedBy: string | undefined,
  createdAt: string,
): InquiryIntent {
  return {
    requestId,
    addresseeNumber: input.addresseeNumber,
    personCode,
    providerId: input.providerId,
    clauseNo: input.clauseNo,
    procedureId: input.procedureId,
    itemNos: input.itemNos,
    nonDisclosure: input.nonDisclosure ?? false,
    ...(requestedBy === undefined ? {} : { requestedBy }),
    createdAt,
  };
}

/** A person found but not yet given a code: no inquiry can be made for them. */
function noPersonCode(addresseeNumber: AddresseeNumber): RenkeiError {
  return new RenkeiError('ERR_NO_PERSON_CODE', 'This person has no code yet, so no inquiry can be made.', {
    addresseeNumber,
  });
}

/**
 * An inquiry's status as `getInquiry` reads it back, made from the record opened and the answer
 * recorded (the same fields: `getInquiry` drops the code and `recordedAt`).
 */
function statusOf(record: RequesterRecordInput, answer: AnswerToStore): InquiryStatus {
  return {
    processingNumber: record.processingNumber,
    outcome: answer.outcome,
    nonDisclosure: record.nonDisclosure,
    addresseeNumber: record.addresseeNumber,
    providerId: record.providerId,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    requestedAt: record.requestedAt,
    answeredAt: answer.answeredAt,
    ...(answer.reason === undefined ? {} : { reason: answer.reason }),
    ...(record.requestedBy === undefined ? {} : { requestedBy: record.requestedBy }),
    status: 'answered',
    ...(answer.outcome === 'provided' ? { items: answer.items } : {}),
  };
}

/** The batch as sent and a member's record ask the same thing of the same provider. */
function sameBatchInquiry(sent: InquiryBatchRequest, recorded: RequesterRecord): boolean {
  return (
    sent.providerId === recorded.providerId &&
    sent.clauseNo === recorded.clauseNo &&
    sent.procedureId === recorded.procedureId &&
    sent.nonDisclosure === recorded.nonDisclosure &&
    JSON.stringify(sent.itemNos) === JSON.stringify(recorded.itemNos)
  );
}
