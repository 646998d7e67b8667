/**
 * The core's tamper-evident record log: signing its tree heads on a schedule, and verifying that the
 * database still holds what the log says (the events against the Merkle tree and the signed heads,
 * the projection rows against the events). The events themselves are written by the store, in the
 * transaction of each record change (record-events.ts).
 *
 * Heads are signed with the core's identity key, when it has one (`signer`); without one, the log is
 * still kept and checked against its stored hashes, but nothing outside the database vouches for it,
 * which is said once in the log at start.
 */
import type { Clock } from '../../../shared/clock.ts';
import type { Logger } from '../../../shared/logger.ts';
import {
  PartyRecordLog,
  checkRecords,
  eventParser,
  type LoggedRecord,
  type ProjectionCheck,
  type RecordLogSigner,
} from '../../../trust/merkle/index.ts';
import type { InquiryState, ProvisionRecord } from '../model.ts';
import {
  CoreRecordEvent,
  coreExchangeOf,
  foldCoreEvents,
  projectionDifferences,
  type CoreExchange,
} from '../record-events.ts';
import type { CoreStore } from '../store.ts';

export type { RecordLogSigner, VerifyOptions } from '../../../trust/merkle/index.ts';

export interface RecordLogOptions {
  store: CoreStore;
  clock: Clock;
  logger: Logger;
  signer?: RecordLogSigner;
  /** Sign a head after this many events (default 100) and every `everyMs` (default 60 s) if it grew. */
  everyAppends?: number;
  everyMs?: number;
}

/** A record as `renkei records show` prints it: the projection rows and every event behind them. */
export interface ShownRecord {
  record: ProvisionRecord | undefined;
  state: InquiryState | undefined;
  events: {
    index: number;
    body: string;
    /**
     * The signed message this event records, once nodes store them with their events (issue 6, part 4):
     * `renkei records show` prints and checks it here. Not stored yet.
     */
    message?: { jws: string };
  }[];
}

/** A provision record with its inquiry's state: the core's projection of one record's events. */
interface CoreRow {
  record: ProvisionRecord;
  state: InquiryState | undefined;
}

const parse = eventParser(CoreRecordEvent);

/**
 * `verify` (PartyRecordLog's) checks the core's log and records; never throws for what it finds.
 * Findings name the log index or the processing number. A store that cannot be read rejects with its
 * own error.
 */
export class RecordLogService extends PartyRecordLog {
  constructor(private readonly options: RecordLogOptions) {
    super(options.store, options, CoreRecordEvent);
  }

  /**
   * The projection rows against the events, record by record, in pages. The core has one kind of
   * record and no roles: its records are named `Record 42`, and a row whose events open no record is
   * named by its events' problems only.
   */
  protected override checks(): (() => Promise<ProjectionCheck>)[] {
    const { store } = this.options;
    return [
      () =>
        checkRecords<CoreRow>({
          name: (pn) => `Record ${pn}`,
          eventName: 'event',
          unopenedIsUnlogged: false,
          rows: (after, limit) => store.listRecordsByProcessingNumber(after, limit),
          processingNumber: (row) => row.record.processingNumber,
          fold: async (pns) => {
            const out = new Map<string, LoggedRecord<CoreRow>>();
            for (const [pn, fold] of await this.fold(pns)) {
              out.set(pn, {
                expected: fold.record && { record: fold.record, state: fold.state },
                problems: fold.problems,
                firstIndex: fold.firstIndex,
              });
            }
            return out;
          },
          differences: projectionDifferences,
          eventsWithoutRecord: (after, limit) => store.listEventsWithoutRecord(after, limit),
        }),
    ];
  }

  /**
   * The events of these records, parsed and folded, by processing number; `firstIndex` is the first
   * row filed under the record, whether or not it parses.
   */
  private async fold(processingNumbers: readonly string[]) {
    const events = await this.options.store.listRecordEventsOf(processingNumbers);
    const byRecord = new Map<string, { index: number; event: CoreRecordEvent }[]>();
    const firstIndex = new Map<string, number>();
    for (const row of events) {
      if (row.body === null || row.processingNumber === null) continue;
      const pn = row.processingNumber;
      if (!firstIndex.has(pn)) firstIndex.set(pn, row.idx);
      const event = parse(row.body);
      // Not an event (named by the audit's pass over the rows), or one filed under another record
      // (its columns edited: named there too).
      if (event === undefined || event.processingNumber !== pn) continue;
      const list = byRecord.get(pn) ?? [];
      list.push({ index: row.idx, event });
      byRecord.set(pn, list);
    }
    const out = new Map<string, ReturnType<typeof foldCoreEvents> & { firstIndex: number | undefined }>();
    for (const [pn, events] of byRecord) {
      out.set(pn, { ...foldCoreEvents(events), firstIndex: firstIndex.get(pn) });
    }
    return out;
  }

  /** Exchanges as the core's events tell them, by processing number, `limit` after `after`. */
  async exchanges(after: string | undefined, limit: number): Promise<CoreExchange[]> {
    const page = await this.options.store.listRecordsByProcessingNumber(after, limit);
    const folds = await this.fold(page.map((p) => p.record.processingNumber));
    return page.flatMap((p) => {
      const fold = folds.get(p.record.processingNumber);
      const exchange = fold && coreExchangeOf(fold);
      return exchange ? [exchange] : [];
    });
  }

  /** The exchanges with these processing numbers that the core's events know. */
  async exchangesOf(processingNumbers: readonly string[]): Promise<Map<string, CoreExchange>> {
    const folds = await this.fold(processingNumbers);
    const out = new Map<string, CoreExchange>();
    for (const [pn, fold] of folds) {
      const exchange = coreExchangeOf(fold);
      if (exchange) out.set(pn, exchange);
    }
    return out;
  }

  /** One record, its projection and its events, for `renkei records show`. */
  async show(processingNumber: string): Promise<ShownRecord> {
    const { store } = this.options;
    const found = await store.findRecord(processingNumber);
    const events = await store.listRecordEventsOf([processingNumber]);
    return {
      record: found?.record,
      state: found?.state,
      events: events.flatMap((e) => (e.body === null ? [] : [{ index: e.idx, body: e.body }])),
    };
  }
}
