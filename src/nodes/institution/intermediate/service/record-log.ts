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
  auditRecordLog,
  scheduleHeadSigning,
  type PartyAudit,
  type RecordFinding,
  type RecordLogSigner,
  type TreeHeadKey,
  type TreeHeadSigner,
} from '../../../../trust/merkle/index.ts';
import {
  IntermediateRecordEvent,
  differingFields,
  foldProviderEvents,
  foldRequesterEvents,
  type ProviderRecordEvent,
  type RequesterFold,
  type RequesterRecordEvent,
} from '../record-events.ts';
import type { IntermediateStore, ProviderRecord, RequesterRecord } from '../store.ts';
import {
  answerRecordCheck,
  type ProviderExchange,
  type RecordCheckAnswer,
  type RequesterExchange,
} from '../../../../protocol/record-checks.ts';
import { providerExchangeOf as sharedProviderExchangeOf } from '../../../../protocol/provider-record-events.ts';

export type { RecordLogSigner } from '../../../../trust/merkle/index.ts';

export interface RecordLogDeps {
  store: IntermediateStore;
  clock: Clock;
  logger: Logger;
  signer?: RecordLogSigner;
  /** Sign a head after this many events (default 100) and every `everyMs` (default 60 s) if it grew. */
  everyAppends?: number;
  everyMs?: number;
}

export interface VerifyOptions {
  /** The institution's public key (from its identity certificate); without it, heads are not checked. */
  publicKey?: TreeHeadKey;
  /** Purged records younger than this are premature purges (now minus the retention period). */
  purgeCutoff?: Date;
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

interface Folded {
  requester?: RequesterFold & { events: number };
  provider?: { record: ProviderRecord | undefined; events: number };
  firstIndex: Partial<Record<Role, number>>;
  /** Requester events that do not follow from the ones before them. */
  findings: RecordFinding[];
}

const PAGE = 500;

function parse(body: string): IntermediateRecordEvent | undefined {
  try {
    const parsed = IntermediateRecordEvent.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function withoutCode<T extends { personCode?: string }>(record: T): Omit<T, 'personCode'> {
  const { personCode: _code, ...rest } = record;
  return rest;
}

export class RecordLogService {
  private readonly signer: TreeHeadSigner | undefined;

  constructor(private readonly deps: RecordLogDeps) {
    const { store } = deps;
    this.signer = scheduleHeadSigning(store, deps);
  }

  /** Sign a head now if the log grew since the last one (no-op without a signer). */
  async signHead(): Promise<void> {
    await this.signer?.signNow();
  }

  /** Stop the schedule and sign what the last head does not cover. Before the store closes. */
  async close(): Promise<void> {
    await this.signer?.close();
  }

  /**
   * Checks the institution's log and records; never throws for what it finds. Findings name the log
   * index or the processing number and role. A store that cannot be read rejects with its own error.
   */
  async verify(options: VerifyOptions = {}): Promise<PartyAudit & { records: number }> {
    const { store } = this.deps;
    const audit = await auditRecordLog(store, {
      isEvent: (body) => IntermediateRecordEvent.safeParse(body).success,
      ...options,
    });
    const requester = await this.verifyProjection('requester');
    const provider = await this.verifyProjection('provider');
    return {
      ...audit,
      records: requester.records + provider.records,
      findings: [...audit.findings, ...requester.findings, ...provider.findings],
    };
  }

  private async verifyProjection(role: Role): Promise<{ records: number; findings: RecordFinding[] }> {
    const { store } = this.deps;
    const findings: RecordFinding[] = [];
    let records = 0;
    for (let after: string | undefined; ;) {
      const page: (RequesterRecord | ProviderRecord)[] =
        role === 'requester'
          ? await store.listRequesterRecordsByProcessingNumber(after, PAGE)
          : await store.listProviderRecordsByProcessingNumber(after, PAGE);
      const folds = await this.fold(page.map((r) => r.processingNumber));
      for (const actual of page) {
        records++;
        const pn = actual.processingNumber;
        after = pn;
        const folded = folds.get(pn);
        if (role === 'requester') findings.push(...(folded?.findings ?? []));
        const expected = role === 'requester' ? folded?.requester?.record : folded?.provider?.record;
        if (expected === undefined) {
          findings.push({
            kind: 'record-without-events',
            processingNumber: pn,
            message: `The ${role} record ${pn} has no event in the log: it was inserted without being logged (or before the log existed).`,
          });
          continue;
        }
        const differ = differingFields<RequesterRecord | ProviderRecord>(expected, actual);
        if (differ.length > 0) {
          findings.push({
            kind: 'record-differs',
            processingNumber: pn,
            message: `The ${role} record ${pn} does not match its logged events (${differ.join(', ')}): the row or an event was edited.`,
          });
        }
      }
      if (page.length < PAGE) break;
    }
    for (let after: string | undefined; ;) {
      const orphans = await store.listEventsWithoutRecord(role, after, PAGE);
      const folds = await this.fold(orphans);
      for (const pn of orphans) {
        after = pn;
        const first = folds.get(pn)?.firstIndex[role];
        findings.push({
          kind: 'record-missing',
          processingNumber: pn,
          ...(first === undefined ? {} : { index: first }),
          message: `The ${role} record ${pn} has events in the log${first === undefined ? '' : ` (the first at index ${String(first)})`} but no record row: the row was deleted.`,
        });
      }
      if (orphans.length < PAGE) break;
    }
    return { records, findings };
  }

  /** The events of these records, parsed and folded per role, by processing number. */
  private async fold(processingNumbers: readonly string[]): Promise<Map<string, Folded>> {
    const rows = await this.deps.store.listRecordEventsOf(processingNumbers);
    const out = new Map<string, Folded>();
    const requesterEvents = new Map<string, { index: number; event: RequesterRecordEvent }[]>();
    const providerEvents = new Map<string, { index: number; event: ProviderRecordEvent }[]>();
    const entry = (pn: string): Folded => {
      let folded = out.get(pn);
      if (folded === undefined) {
        folded = { firstIndex: {}, findings: [] };
        out.set(pn, folded);
      }
      return folded;
    };
    for (const row of rows) {
      if (row.body === null || row.processingNumber === null) continue;
      const pn = row.processingNumber;
      const folded = entry(pn);
      const event = parse(row.body);
      // Not an event (named by the audit's pass over the rows), or one filed under another record
      // (its columns edited: named there too).
      if (event === undefined || event.processingNumber !== pn) continue;
      folded.firstIndex[event.role] ??= row.idx;
      if (event.role === 'provider') {
        const list = providerEvents.get(pn) ?? [];
        list.push({ index: row.idx, event });
        providerEvents.set(pn, list);
      } else {
        const list = requesterEvents.get(pn) ?? [];
        list.push({ index: row.idx, event });
        requesterEvents.set(pn, list);
      }
    }
    for (const [pn, events] of requesterEvents) {
      const fold = foldRequesterEvents(events);
      const folded = entry(pn);
      folded.requester = { ...fold, events: events.length };
      for (const p of fold.problems) {
        folded.findings.push({
          kind: 'event-out-of-sequence',
          index: p.index,
          processingNumber: pn,
          message: `The requester event at log index ${String(p.index)} (record ${pn}) ${p.message}.`,
        });
      }
    }
    for (const [pn, events] of providerEvents) {
      entry(pn).provider = { record: foldProviderEvents(events).record, events: events.length };
    }
    return out;
  }

  /** This institution's inquiries as its events tell them, by processing number after `after`. */
  async requesterExchanges(after: string | undefined, limit: number): Promise<RequesterExchange[]> {
    const page = await this.deps.store.listRequesterRecordsByProcessingNumber(after, limit);
    const folds = await this.fold(page.map((r) => r.processingNumber));
    return page.flatMap((r) => {
      const exchange = requesterExchangeOf(folds.get(r.processingNumber));
      return exchange ? [exchange] : [];
    });
  }

  /** This institution's provisions as its events tell them, by processing number after `after`. */
  async providerExchanges(after: string | undefined, limit: number): Promise<ProviderExchange[]> {
    const page = await this.deps.store.listProviderRecordsByProcessingNumber(after, limit);
    const folds = await this.fold(page.map((r) => r.processingNumber));
    return page.flatMap((r) => {
      const exchange = providerExchangeOf(folds.get(r.processingNumber));
      return exchange ? [exchange] : [];
    });
  }

  /** The exchanges with these processing numbers that this institution's events know, per role. */
  async exchangesOf(processingNumbers: readonly string[]): Promise<{
    requester: Map<string, RequesterExchange>;
    provider: Map<string, ProviderExchange>;
  }> {
    const folds = await this.fold(processingNumbers);
    const requester = new Map<string, RequesterExchange>();
    const provider = new Map<string, ProviderExchange>();
    for (const [pn, folded] of folds) {
      const r = requesterExchangeOf(folded);
      if (r) requester.set(pn, r);
      const p = providerExchangeOf(folded);
      if (p) provider.set(pn, p);
    }
    return { requester, provider };
  }

  /**
   * What the core's three-party cross-check asks (`networkApi.checkRecords`): the latest signed head
   * and this institution's records of these exchanges, per role, never a code (the exchanges have no
   * field for one). With `since` (the size of the last head the core kept), a consistency proof
   * from that size to the head answered, made from the Merkle log as it is now: a log rewritten since
   * gives a proof that does not verify against the core's earlier head, which is the point.
   */
  async check(processingNumbers: readonly string[], since?: number): Promise<RecordCheckAnswer> {
    const exchanges = await this.exchangesOf(processingNumbers);
    return answerRecordCheck(this.deps.store, exchanges, since, this.deps.logger);
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

function requesterExchangeOf(folded: Folded | undefined): RequesterExchange | undefined {
  const record = folded?.requester?.record;
  if (folded?.requester === undefined || record === undefined) return undefined;
  return {
    processingNumber: record.processingNumber,
    opened: folded.requester.opened,
    ...(record.providerId === undefined ? {} : { providerId: record.providerId }),
    ...(record.clauseNo === undefined ? {} : { clauseNo: record.clauseNo }),
    ...(record.procedureId === undefined ? {} : { procedureId: record.procedureId }),
    ...(record.itemNos === undefined ? {} : { itemNos: record.itemNos }),
    outcome: record.outcome,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    recordedAt: record.recordedAt,
  };
}

function providerExchangeOf(folded: Folded | undefined): ProviderExchange | undefined {
  const record = folded?.provider?.record;
  return folded?.provider === undefined || record === undefined
    ? undefined
    : sharedProviderExchangeOf(record, folded.provider.events);
}
