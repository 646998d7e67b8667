/**
 * What every party (the core, each intermediate server, the Myna Portal) checks of its projection rows
 * the same way: each row against what its events fold to, page by page, and each record the log has
 * events of but no row for. What differs between parties is only what they hand in: how a finding
 * names a record (the core has one kind of record, `Record 42`; a party with a requester and a
 * provider side says `The requester record 42`), how its rows are listed and compared, and how its
 * events fold (`fold`). We considered leaving the loop in each node, as it began, but three copies of
 * the check that says whether a row was edited had already started to drift in their wording.
 *
 * The findings' kinds and messages are part of `renkei records verify`'s output: change them only
 * knowingly.
 */
import type { PartyAudit, RecordFinding } from './party-audit.ts';
import { auditRecordLog, scheduleHeadSigning, type HeadSigning, type PartyLogStore } from './party-log.ts';
import type { TreeHeadSigner } from './head-signer.ts';
import type { TreeHeadKey } from './tree-head.ts';
import type { Clock } from '../../shared/clock.ts';

/** How many rows (or processing numbers) a check reads at a time. */
export const AUDIT_PAGE = 500;

/** What a record's events, folded, say of its row. */
export interface LoggedRecord<Row> {
  /** The row as the events say it must be; undefined when they open no record. */
  expected: Row | undefined;
  /** The events that do not follow from the ones before them, in log order. */
  problems: readonly { index: number; message: string }[];
  /** The log index of the record's first event, to name a deleted row by. */
  firstIndex: number | undefined;
}

/** One kind of a party's records (the core's provision records; a party's requester records…). */
export interface RecordKind<Row> {
  /** How a finding names the record: `Record 42` (the core), `The requester record 42`. */
  name: (processingNumber: string) => string;
  /** How a finding names one of its events: `event` (the core), `requester event`. */
  eventName: string;
  /**
   * Whether a row whose events open no record is also said to have no event. A party says so; the
   * core says only what is wrong with the events (its fold names them `belongs to a record that was
   * never opened`).
   */
  unopenedIsUnlogged: boolean;
  /** The rows, by processing number, `limit` after `after`. */
  rows: (after: string | undefined, limit: number) => Promise<Row[]>;
  processingNumber: (row: Row) => string;
  /** The events of these records, folded, by processing number (absent: no event of this kind). */
  fold: (processingNumbers: readonly string[]) => Promise<Map<string, LoggedRecord<Row>>>;
  /** The names of the fields in which the row differs from what its events say. */
  differences: (expected: Row, actual: Row) => string[];
  /** Processing numbers with events of this kind but no row, in order, `limit` after `after`. */
  eventsWithoutRecord: (after: string | undefined, limit: number) => Promise<string[]>;
}

/** The records checked and what was found. */
export interface ProjectionCheck {
  records: number;
  findings: RecordFinding[];
}

/** An event that does not follow from the ones before it, as a finding. */
export function outOfSequence(
  eventName: string,
  processingNumber: string,
  problem: { index: number; message: string },
): RecordFinding {
  return {
    kind: 'event-out-of-sequence',
    index: problem.index,
    processingNumber,
    message: `The ${eventName} at log index ${String(problem.index)} (record ${processingNumber}) ${problem.message}.`,
  };
}

/** A page-by-page walk: `list(after, limit)` until a short page, `after` the key of the last item. */
export async function* pages<T, K>(
  list: (after: K, limit: number) => Promise<T[]>,
  keyOf: (item: T) => K,
  first: K,
  limit = AUDIT_PAGE,
): AsyncGenerator<T[]> {
  for (let after = first; ;) {
    const page = await list(after, limit);
    yield page;
    const last = page.at(-1);
    if (page.length < limit || last === undefined) return;
    after = keyOf(last);
  }
}

/** One kind of record's rows against its events, then the records whose rows are gone. */
export async function checkRecords<Row>(kind: RecordKind<Row>): Promise<ProjectionCheck> {
  const findings: RecordFinding[] = [];
  let records = 0;
  for await (const page of pages(kind.rows, kind.processingNumber, undefined as string | undefined)) {
    const folds = await kind.fold(page.map(kind.processingNumber));
    for (const actual of page) {
      records++;
      const pn = kind.processingNumber(actual);
      const logged = folds.get(pn);
      findings.push(...(logged?.problems ?? []).map((p) => outOfSequence(kind.eventName, pn, p)));
      if (logged === undefined || (logged.expected === undefined && kind.unopenedIsUnlogged)) {
        findings.push({
          kind: 'record-without-events',
          processingNumber: pn,
          message: `${kind.name(pn)} has no event in the log: it was inserted without being logged (or before the log existed).`,
        });
        continue;
      }
      if (logged.expected === undefined) continue;
      const differ = kind.differences(logged.expected, actual);
      if (differ.length > 0) {
        findings.push({
          kind: 'record-differs',
          processingNumber: pn,
          message: `${kind.name(pn)} does not match its logged events (${differ.join(', ')}): the row or an event was edited.`,
        });
      }
    }
  }
  for await (const orphans of pages(kind.eventsWithoutRecord, (pn) => pn, undefined as string | undefined)) {
    const folds = await kind.fold(orphans);
    for (const pn of orphans) {
      const first = folds.get(pn)?.firstIndex;
      findings.push({
        kind: 'record-missing',
        processingNumber: pn,
        ...(first === undefined ? {} : { index: first }),
        message: `${kind.name(pn)} has events in the log${first === undefined ? '' : ` (the first at index ${String(first)})`} but no record row: the row was deleted.`,
      });
    }
  }
  return { records, findings };
}

/** What a party's `verify` is given (`renkei records verify`). */
export interface VerifyOptions {
  /** The party's public key (from its identity certificate); without it, stored heads are not checked. */
  publicKey?: TreeHeadKey;
  /** Purged records younger than this are premature purges (now minus the retention period). */
  purgeCutoff?: Date;
}

/**
 * A party's record log as its service holds it: the heads signed on a schedule, and `verify`: the
 * events against the Merkle log and the stored heads (`auditRecordLog`), then each of the party's
 * checks of its rows (`checks`, in order), their findings after the log's.
 */
export abstract class PartyRecordLog {
  private readonly signer: TreeHeadSigner | undefined;

  /** `schema`: the party's events (its zod schema, structurally), what `auditRecordLog` checks bodies by. */
  protected constructor(
    private readonly log: PartyLogStore,
    options: HeadSigning & {
      clock: Clock;
      logger: { warn(message: string): void; error(message: string): void };
    },
    private readonly schema: { safeParse(value: unknown): { success: boolean } },
  ) {
    this.signer = scheduleHeadSigning(log, options);
  }

  /** The party's checks of its rows against its events, run in this order. */
  protected abstract checks(): (() => Promise<ProjectionCheck>)[];

  /** Sign a head now if the log grew since the last one (no-op without a signer). */
  async signHead(): Promise<void> {
    await this.signer?.signNow();
  }

  /** Stop the schedule and sign what the last head does not cover. Before the store closes. */
  async close(): Promise<void> {
    await this.signer?.close();
  }

  /**
   * Checks the party's log and records; never throws for what it finds. Findings name the log index,
   * the processing number (and the kind of record), or the party's own key of a record. A store that
   * cannot be read rejects with its own error.
   */
  async verify(options: VerifyOptions = {}): Promise<PartyAudit & { records: number }> {
    const audit = await auditRecordLog(this.log, {
      isEvent: (body) => this.schema.safeParse(body).success,
      ...options,
    });
    const findings = [...audit.findings];
    let records = 0;
    for (const check of this.checks()) {
      const checked = await check();
      records += checked.records;
      findings.push(...checked.findings);
    }
    return { ...audit, records, findings };
  }
}

/** A parse of a stored body by the party's schema (zod's `safeParse`, structurally). */
export function eventParser<E>(schema: {
  safeParse(value: unknown): { success: true; data: E } | { success: false };
}): (body: string) => E | undefined {
  return (body) => {
    try {
      const parsed = schema.safeParse(JSON.parse(body));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  };
}
