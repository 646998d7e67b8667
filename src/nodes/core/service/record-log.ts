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
  auditRecordLog,
  scheduleHeadSigning,
  type PartyAudit,
  type RecordFinding,
  type RecordLogSigner,
  type TreeHeadKey,
  type TreeHeadSigner,
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

export type { RecordLogSigner } from '../../../trust/merkle/index.ts';

export interface RecordLogOptions {
  store: CoreStore;
  clock: Clock;
  logger: Logger;
  signer?: RecordLogSigner;
  /** Sign a head after this many events (default 100) and every `everyMs` (default 60 s) if it grew. */
  everyAppends?: number;
  everyMs?: number;
}

export interface VerifyOptions {
  /** The core's public key (from its identity certificate); without it, stored heads are not checked. */
  publicKey?: TreeHeadKey;
  /** Purged records younger than this are premature purges (now minus the retention period). */
  purgeCutoff?: Date;
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

const PAGE = 500;

function parse(body: string): CoreRecordEvent | undefined {
  try {
    const parsed = CoreRecordEvent.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export class RecordLogService {
  private readonly signer: TreeHeadSigner | undefined;

  constructor(private readonly options: RecordLogOptions) {
    const { store } = options;
    this.signer = scheduleHeadSigning(store, options);
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
   * Checks the core's log and records; never throws for what it finds. Findings name the log index or
   * the processing number. A store that cannot be read rejects with its own error.
   */
  async verify(options: VerifyOptions = {}): Promise<PartyAudit & { records: number }> {
    const { store } = this.options;
    const audit = await auditRecordLog(store, {
      isEvent: (body) => CoreRecordEvent.safeParse(body).success,
      ...options,
    });
    const projection = await this.verifyProjection();
    return {
      ...audit,
      records: projection.records,
      findings: [...audit.findings, ...projection.findings],
    };
  }

  /** The projection rows against the events, record by record, in pages. */
  private async verifyProjection(): Promise<{ records: number; findings: RecordFinding[] }> {
    const { store } = this.options;
    const findings: RecordFinding[] = [];
    let records = 0;
    for (let after: string | undefined; ;) {
      const page = await store.listRecordsByProcessingNumber(after, PAGE);
      const folds = await this.fold(page.map((p) => p.record.processingNumber));
      for (const actual of page) {
        records++;
        const processingNumber = actual.record.processingNumber;
        after = processingNumber;
        const fold = folds.get(processingNumber);
        if (fold === undefined) {
          findings.push({
            kind: 'record-without-events',
            processingNumber,
            message: `Record ${processingNumber} has no event in the log: it was inserted without being logged (or before the log existed).`,
          });
          continue;
        }
        findings.push(...fold.findings);
        if (fold.record === undefined) continue;
        const differ = projectionDifferences({ record: fold.record, state: fold.state }, actual);
        if (differ.length > 0) {
          findings.push({
            kind: 'record-differs',
            processingNumber,
            message: `Record ${processingNumber} does not match its logged events (${differ.join(', ')}): the row or an event was edited.`,
          });
        }
      }
      if (page.length < PAGE) break;
    }
    for (let after: string | undefined; ;) {
      const orphans = await store.listEventsWithoutRecord(after, PAGE);
      const folds = await this.fold(orphans);
      for (const processingNumber of orphans) {
        after = processingNumber;
        const first = folds.get(processingNumber)?.firstIndex;
        findings.push({
          kind: 'record-missing',
          processingNumber,
          ...(first === undefined ? {} : { index: first }),
          message: `Record ${processingNumber} has events in the log${first === undefined ? '' : ` (the first at index ${String(first)})`} but no record row: the row was deleted.`,
        });
      }
      if (orphans.length < PAGE) break;
    }
    return { records, findings };
  }

  /** The events of these records, parsed and folded, by processing number. */
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
    const out = new Map<
      string,
      ReturnType<typeof foldCoreEvents> & { findings: RecordFinding[]; firstIndex: number | undefined }
    >();
    for (const [pn, events] of byRecord) {
      const fold = foldCoreEvents(events);
      out.set(pn, {
        ...fold,
        firstIndex: firstIndex.get(pn),
        findings: [
          ...fold.problems.map((p) => ({
            kind: 'event-out-of-sequence',
            index: p.index,
            processingNumber: pn,
            message: `The event at log index ${String(p.index)} (record ${pn}) ${p.message}.`,
          })),
        ],
      });
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
