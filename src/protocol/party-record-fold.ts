/**
 * How a party that keeps records as requester and as provider (an institution's intermediate server,
 * the Myna Portal) reads its events back: parsed, grouped by record and role, each role folded into
 * the row it implies, and told to the three-party cross-check as exchanges. The provider side is the
 * same for every provider (provider-record-events.ts); the requester side is each party's own (an
 * institution knows a person by an addressee number, the portal by its own id), so it is a parameter.
 *
 * We considered a copy of this in each node, as the portal's began, but the fold behind both
 * `renkei records verify` and the core's cross-check is what must not drift between parties.
 */
import type { StoredRecordEvent } from '../shared/record-log.ts';
import {
  checkRecords,
  type LoggedRecord,
  type ProjectionCheck,
  type RecordKind,
} from '../trust/merkle/index.ts';
import type { ProviderRecord } from './provider.ts';
import {
  differingFields,
  foldProviderEvents,
  providerExchangeOf,
  type ProviderRecordEvent,
} from './provider-record-events.ts';
import type { ProviderExchange, RequesterExchange } from './record-checks.ts';

/** An event of the log, with its index. */
export interface Indexed<E> {
  index: number;
  event: E;
}

/** One record's events folded per role; a role is absent when the log has no event of it. */
export interface PartyFold<RequesterFold> {
  requester?: RequesterFold & { events: number; firstIndex: number };
  provider?: { record: ProviderRecord | undefined; events: number; firstIndex: number };
}

/**
 * The events of some records, folded per role, by processing number. A row that does not parse, or
 * whose event is filed under another record than it names (its columns edited), is left out: the
 * audit's pass over the rows names it.
 */
export function foldPartyEvents<
  RequesterEvent extends { role: 'requester'; processingNumber: string },
  RequesterFold,
>(
  rows: readonly StoredRecordEvent[],
  parse: (body: string) => RequesterEvent | ProviderRecordEvent | { role: string } | undefined,
  foldRequester: (events: readonly Indexed<RequesterEvent>[]) => RequesterFold,
): Map<string, PartyFold<RequesterFold>> {
  const requester = new Map<string, Indexed<RequesterEvent>[]>();
  const provider = new Map<string, Indexed<ProviderRecordEvent>[]>();
  // One entry per record in the order the rows come (by processing number), whichever role is first.
  const out = new Map<string, PartyFold<RequesterFold>>();
  for (const row of rows) {
    if (row.body === null || row.processingNumber === null) continue;
    const event = parse(row.body);
    if (event === undefined || !isRecordEvent<RequesterEvent>(event, row.processingNumber)) continue;
    const pn = row.processingNumber;
    if (!out.has(pn)) out.set(pn, {});
    if (event.role === 'provider') provider.set(pn, [...(provider.get(pn) ?? []), { index: row.idx, event }]);
    else requester.set(pn, [...(requester.get(pn) ?? []), { index: row.idx, event }]);
  }
  for (const [pn, folded] of out) {
    const requesterEvents = requester.get(pn);
    if (requesterEvents !== undefined) {
      folded.requester = {
        ...foldRequester(requesterEvents),
        events: requesterEvents.length,
        firstIndex: requesterEvents[0]?.index ?? 0,
      };
    }
    const providerEvents = provider.get(pn);
    if (providerEvents !== undefined) {
      folded.provider = {
        record: foldProviderEvents(providerEvents).record,
        events: providerEvents.length,
        firstIndex: providerEvents[0]?.index ?? 0,
      };
    }
  }
  return out;
}

/** A requester's or provider's event of this record (not a notice, which has no processing number). */
function isRecordEvent<RequesterEvent extends { role: string; processingNumber?: string }>(
  event: { role: string; processingNumber?: string },
  processingNumber: string,
): event is RequesterEvent | ProviderRecordEvent {
  return (
    (event.role === 'requester' || event.role === 'provider') && event.processingNumber === processingNumber
  );
}

/** The exchanges these folds tell, per role, for the cross-check (`answerRecordCheck`). */
export function partyExchangesOf<RequesterFold>(
  folds: ReadonlyMap<string, PartyFold<RequesterFold>>,
  requesterExchangeOf: (folded: RequesterFold) => RequesterExchange | undefined,
): { requester: Map<string, RequesterExchange>; provider: Map<string, ProviderExchange> } {
  const requester = new Map<string, RequesterExchange>();
  const provider = new Map<string, ProviderExchange>();
  for (const [pn, folded] of folds) {
    const r = folded.requester && requesterExchangeOf(folded.requester);
    if (r) requester.set(pn, r);
    const p = folded.provider;
    if (p?.record) provider.set(pn, providerExchangeOf(p.record, p.events));
  }
  return { requester, provider };
}

/** Where a party's row checks read from: its rows of each role, its fold, its orphans query. */
export interface PartyRecordSource<RequesterRow, RequesterFold> {
  requesterRows: (after: string | undefined, limit: number) => Promise<RequesterRow[]>;
  providerRows: (after: string | undefined, limit: number) => Promise<ProviderRecord[]>;
  fold: (processingNumbers: readonly string[]) => Promise<Map<string, PartyFold<RequesterFold>>>;
  eventsWithoutRecord: (
    role: 'requester' | 'provider',
    after: string | undefined,
    limit: number,
  ) => Promise<string[]>;
}

/**
 * A party's checks of its rows (src/trust/merkle/projection-audit.ts `checkRecords`): the requester
 * rows, then the provider rows, each against what its role's events fold to. Records are named `The
 * requester record 42`, compared field by field, and a row whose events open no record is said to
 * have no event as well.
 */
export function partyRecordChecks<
  RequesterRow extends { processingNumber: string },
  RequesterFold extends {
    record: RequesterRow | undefined;
    problems: readonly { index: number; message: string }[];
  },
>(source: PartyRecordSource<RequesterRow, RequesterFold>): (() => Promise<ProjectionCheck>)[] {
  return [
    () => checkRecords(roleKind('requester', source.requesterRows, source, (f) => f.requester)),
    () => checkRecords(roleKind('provider', source.providerRows, source, (f) => f.provider)),
  ];
}

function roleKind<Row extends { processingNumber: string }, RequesterFold>(
  role: 'requester' | 'provider',
  rows: (after: string | undefined, limit: number) => Promise<Row[]>,
  source: PartyRecordSource<unknown, RequesterFold>,
  ofRole: (folded: PartyFold<RequesterFold>) =>
    | {
        record: Row | undefined;
        problems?: readonly { index: number; message: string }[];
        firstIndex: number;
      }
    | undefined,
): RecordKind<Row> {
  return {
    name: (pn) => `The ${role} record ${pn}`,
    eventName: `${role} event`,
    unopenedIsUnlogged: true,
    rows,
    processingNumber: (row) => row.processingNumber,
    fold: async (pns) => {
      const out = new Map<string, LoggedRecord<Row>>();
      for (const [pn, folded] of await source.fold(pns)) {
        const fold = ofRole(folded);
        if (fold === undefined) continue;
        out.set(pn, { expected: fold.record, problems: fold.problems ?? [], firstIndex: fold.firstIndex });
      }
      return out;
    },
    differences: (expected, actual) => differingFields(expected, actual),
    eventsWithoutRecord: (after, limit) => source.eventsWithoutRecord(role, after, limit),
  };
}
