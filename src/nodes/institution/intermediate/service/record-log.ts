/**
 * The intermediate server's tamper-evident record log, for both its roles: signing its tree heads on a
 * schedule, and verifying that the database still holds what the log says (the events against the
 * Merkle tree and the signed heads, the requester and provider rows against the events). The events
 * themselves are written by the store, in the transaction of each record change (record-events.ts).
 *
 * Heads are signed with the institution's identity key, when it has one (`signer`); without one, the
 * log is still kept and checked against its stored hashes, which is said once in the log at start.
 */
import type { Clock } from '../../../../shared/clock.ts';
import type { Logger } from '../../../../shared/logger.ts';
import {
  PartyRecordLog,
  eventParser,
  type ProjectionCheck,
  type RecordLogSigner,
} from '../../../../trust/merkle/index.ts';
import { IntermediateRecordEvent, foldRequesterEvents, type RequesterFold } from '../record-events.ts';
import type { IntermediateStore, ProviderRecord, RequesterRecord } from '../store.ts';
import {
  answerRecordCheck,
  listNumbered,
  type ProviderExchange,
  type RecordCheckAnswer,
  type RequesterExchange,
} from '../../../../protocol/record-checks.ts';
import {
  foldPartyEvents,
  partyExchangesOf,
  partyRecordChecks,
  type PartyFold,
} from '../../../../protocol/party-record-fold.ts';

export type { RecordLogSigner, VerifyOptions } from '../../../../trust/merkle/index.ts';

export interface RecordLogDeps {
  store: IntermediateStore;
  clock: Clock;
  logger: Logger;
  signer?: RecordLogSigner;
  /** Sign a head after this many events (default 100) and every `everyMs` (default 60 s) if it grew. */
  everyAppends?: number;
  everyMs?: number;
}

// What the three-party cross-check compares (`renkei records verify`, and the core's `checkRecords`).
export type { ProviderExchange, RequesterExchange } from '../../../../protocol/record-checks.ts';

/** A logged event as `renkei records show` prints it. */
export interface ShownEvent {
  index: number;
  body: string;
  /**
   * The signed message this event records, once nodes store them with their events (issue 6, part 4):
   * `renkei records show` prints and checks it here. Not stored yet.
   */
  message?: { jws: string };
}

/** A role's record (undefined if its row is gone) and its events; undefined when neither exists. */
export interface ShownRecords {
  requester: { record: Omit<RequesterRecord, 'personCode'> | undefined; events: ShownEvent[] } | undefined;
  provider: { record: Omit<ProviderRecord, 'personCode'> | undefined; events: ShownEvent[] } | undefined;
}

type Role = 'requester' | 'provider';

type Folded = PartyFold<RequesterFold>;

const parse = eventParser(IntermediateRecordEvent);

function withoutCode<T extends { personCode?: string }>(record: T): Omit<T, 'personCode'> {
  const { personCode: _code, ...rest } = record;
  return rest;
}

/**
 * `verify` (PartyRecordLog's) checks the institution's log and records; never throws for what it
 * finds. Findings name the log index or the processing number and role. A store that cannot be read
 * rejects with its own error.
 */
export class RecordLogService extends PartyRecordLog {
  constructor(private readonly deps: RecordLogDeps) {
    super(deps.store, deps, IntermediateRecordEvent);
  }

  /** The requester rows against their events, then the provider rows against theirs. */
  protected override checks(): (() => Promise<ProjectionCheck>)[] {
    const { store } = this.deps;
    return partyRecordChecks({
      requesterRows: (after, limit) => store.listRequesterRecordsByProcessingNumber(after, limit),
      providerRows: (after, limit) => store.listProviderRecordsByProcessingNumber(after, limit),
      fold: (pns) => this.fold(pns),
      eventsWithoutRecord: (role, after, limit) => store.listEventsWithoutRecord(role, after, limit),
    });
  }

  /** The events of these records, parsed and folded per role, by processing number. */
  private async fold(processingNumbers: readonly string[]): Promise<Map<string, Folded>> {
    const rows = await this.deps.store.listRecordEventsOf(processingNumbers);
    return foldPartyEvents(rows, parse, foldRequesterEvents);
  }

  /** This institution's inquiries as its events tell them, by processing number after `after`. */
  async requesterExchanges(after: string | undefined, limit: number): Promise<RequesterExchange[]> {
    const page = await this.deps.store.listRequesterRecordsByProcessingNumber(after, limit);
    const { requester } = await this.exchangesOf(page.map((r) => r.processingNumber));
    return page.flatMap((r) => requester.get(r.processingNumber) ?? []);
  }

  /** This institution's provisions as its events tell them, by processing number after `after`. */
  async providerExchanges(after: string | undefined, limit: number): Promise<ProviderExchange[]> {
    const page = await this.deps.store.listProviderRecordsByProcessingNumber(after, limit);
    const { provider } = await this.exchangesOf(page.map((r) => r.processingNumber));
    return page.flatMap((r) => provider.get(r.processingNumber) ?? []);
  }

  /** The exchanges with these processing numbers that this institution's events know, per role. */
  async exchangesOf(processingNumbers: readonly string[]): Promise<{
    requester: Map<string, RequesterExchange>;
    provider: Map<string, ProviderExchange>;
  }> {
    return partyExchangesOf(await this.fold(processingNumbers), requesterExchangeOf);
  }

  /**
   * What the core's three-party cross-check asks (`networkApi.checkRecords`): the latest signed head
   * and this institution's records of these exchanges, per role, never a code (the exchanges have no
   * field for one). With `since` (the size of the last head the core kept), a consistency proof
   * from that size to the head answered, made from the Merkle log as it is now: a log rewritten since
   * gives a proof that does not verify against the core's earlier head, which is the point.
   */
  async check(
    processingNumbers: readonly string[],
    since?: number,
    numbered?: { from: string; to: string },
  ): Promise<RecordCheckAnswer> {
    const exchanges = await this.exchangesOf(processingNumbers);
    const listed = numbered === undefined ? undefined : await listNumbered(this, numbered);
    return answerRecordCheck(this.deps.store, exchanges, since, this.deps.logger, listed);
  }

  /** One processing number's records at this institution (either role), with their events. */
  async show(processingNumber: string): Promise<ShownRecords> {
    const { store } = this.deps;
    const [requester] = await store.listRequesterRecordsByProcessingNumber(undefined, 1, processingNumber);
    const [provider] = await store.listProviderRecordsByProcessingNumber(undefined, 1, processingNumber);
    const events = await store.listRecordEventsOf([processingNumber]);
    const ofRole = (role: Role): ShownEvent[] =>
      events.flatMap((e) => (e.body === null || e.role !== role ? [] : [{ index: e.idx, body: e.body }]));
    const shown = <T extends { personCode?: string }>(record: T | undefined, role: Role) => {
      const logged = ofRole(role);
      return record === undefined && logged.length === 0
        ? undefined
        : { record: record && withoutCode(record), events: logged };
    };
    return { requester: shown(requester, 'requester'), provider: shown(provider, 'provider') };
  }
}

function requesterExchangeOf(folded: RequesterFold): RequesterExchange | undefined {
  const { record } = folded;
  if (record === undefined) return undefined;
  return {
    processingNumber: record.processingNumber,
    opened: folded.opened,
    ...(record.providerId === undefined ? {} : { providerId: record.providerId }),
    ...(record.clauseNo === undefined ? {} : { clauseNo: record.clauseNo }),
    ...(record.procedureId === undefined ? {} : { procedureId: record.procedureId }),
    ...(record.itemNos === undefined ? {} : { itemNos: record.itemNos }),
    outcome: record.outcome,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    recordedAt: record.recordedAt,
  };
}
