/**
 * The Myna Portal's tamper-evident record log, as every party of the network keeps one: its heads
 * signed on a schedule with the portal's identity key, and the checks that the database still holds
 * what the log says — the events against the Merkle tree and the signed heads (the trust layer's
 * `auditRecordLog`), and each projection row against its events: the requester records (わたしの情報),
 * the provider records (公金受取口座), the notices received (お知らせ). The events are written by the
 * stores, in the transaction of each change (record-log-store.ts `write`).
 *
 * It also answers what the three-party cross-check asks (`networkApi.checkRecords`, callers: the core
 * only; and `renkei records verify` over the database): the portal's records of some exchanges, as its
 * events tell them, with its latest signed head. The provider side is the shared fold every provider
 * uses (src/protocol/provider-record-events.ts); the requester side is the portal's own, since the
 * portal knows a person by its own id where an institution has an addressee number.
 */
import type { ProviderRecord } from '../../../protocol/provider.ts';
import type { ProviderRecordEvent } from '../../../protocol/provider-record-events.ts';
import {
  differingFields,
  foldProviderEvents,
  providerExchangeOf,
} from '../../../protocol/provider-record-events.ts';
import {
  answerRecordCheck,
  type ProviderExchange,
  type RecordCheckAnswer,
  type RequesterExchange,
} from '../../../protocol/record-checks.ts';
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
import type { PortalRequesterEvent } from '../record-events.ts';
import {
  NoticeReceived,
  PortalRecordEvent,
  foldRequesterEvents,
  sha256Hex,
  type PortalRequesterFold,
} from '../record-events.ts';
import type { KyselyPortalRecordLog } from '../record-log-store.ts';

export interface PortalRecordLogDeps {
  log: KyselyPortalRecordLog;
  /** The provider records, latest per processing number (the money store's). */
  providerRecords: (after: string | undefined, limit: number) => Promise<ProviderRecord[]>;
  clock: Clock;
  logger: Logger;
  signer?: RecordLogSigner | undefined;
  everyAppends?: number;
  everyMs?: number;
}

export interface VerifyOptions {
  /** The portal's public key (from its identity certificate); without it, heads are not checked. */
  publicKey?: TreeHeadKey;
  purgeCutoff?: Date;
}

/** A logged notice as page A shows it: its entry in the log, and whether a signed head covers it yet. */
export interface NoticeEntry {
  index: number;
  /** The size of the latest signed head; the entry is covered when `index < signedSize`. */
  signedSize: number;
}

const PAGE = 500;

interface Folded {
  requester?: PortalRequesterFold & { firstIndex: number };
  provider?: { record: ProviderRecord | undefined; events: number; firstIndex: number };
}

function parse(body: string): PortalRecordEvent | undefined {
  try {
    const parsed = PortalRecordEvent.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export class PortalRecordLogService {
  private readonly signer: TreeHeadSigner | undefined;

  constructor(private readonly deps: PortalRecordLogDeps) {
    this.signer = scheduleHeadSigning(deps.log, {
      clock: deps.clock,
      logger: deps.logger,
      ...(deps.signer === undefined ? {} : { signer: deps.signer }),
      ...(deps.everyAppends === undefined ? {} : { everyAppends: deps.everyAppends }),
      ...(deps.everyMs === undefined ? {} : { everyMs: deps.everyMs }),
    });
  }

  /** Sign a head now if the log grew since the last one (no-op without a signer). */
  async signHead(): Promise<void> {
    await this.signer?.signNow();
  }

  /** Stop the schedule and sign what the last head does not cover. Before the database closes. */
  async close(): Promise<void> {
    await this.signer?.close();
  }

  /**
   * Checks the portal's log and its records; never throws for what it finds. Findings name the log
   * index, the processing number or the notice. A database that cannot be read rejects with its error.
   */
  async verify(options: VerifyOptions = {}): Promise<PartyAudit & { records: number }> {
    const audit = await auditRecordLog(this.deps.log, {
      isEvent: (body) => PortalRecordEvent.safeParse(body).success,
      ...options,
    });
    const requester = await this.verifyRequester();
    const provider = await this.verifyProvider();
    const notices = await this.verifyNotices();
    return {
      ...audit,
      records: requester.records + provider.records + notices.records,
      findings: [...audit.findings, ...requester.findings, ...provider.findings, ...notices.findings],
    };
  }

  private async verifyRequester(): Promise<{ records: number; findings: RecordFinding[] }> {
    const { log } = this.deps;
    const findings: RecordFinding[] = [];
    let records = 0;
    for (let after: string | undefined; ;) {
      const page = await log.listRequesterRecords(after, PAGE);
      const folds = await this.fold(page.map((r) => r.processingNumber));
      for (const actual of page) {
        records++;
        after = actual.processingNumber;
        const folded = folds.get(actual.processingNumber)?.requester;
        findings.push(...problemsOf(actual.processingNumber, folded));
        findings.push(...compared('requester', actual.processingNumber, folded?.record, actual));
      }
      if (page.length < PAGE) break;
    }
    findings.push(...(await this.orphans('requester')));
    return { records, findings };
  }

  private async verifyProvider(): Promise<{ records: number; findings: RecordFinding[] }> {
    const findings: RecordFinding[] = [];
    let records = 0;
    for (let after: string | undefined; ;) {
      const page = await this.deps.providerRecords(after, PAGE);
      const folds = await this.fold(page.map((r) => r.processingNumber));
      for (const actual of page) {
        records++;
        after = actual.processingNumber;
        const expected = folds.get(actual.processingNumber)?.provider?.record;
        findings.push(...compared('provider', actual.processingNumber, expected, actual));
      }
      if (page.length < PAGE) break;
    }
    findings.push(...(await this.orphans('provider')));
    return { records, findings };
  }

  /** Each notice row against the event its `log_index` names; each notice event against a row. */
  private async verifyNotices(): Promise<{ records: number; findings: RecordFinding[] }> {
    const { log } = this.deps;
    const findings: RecordFinding[] = [];
    let records = 0;
    for (let after: string | undefined; ;) {
      const page = await log.listLoggedNotices(after, PAGE);
      const events = await log.findRecordEventsAt(
        page.flatMap((n) => (n.logIndex === null ? [] : [n.logIndex])),
      );
      for (const notice of page) {
        records++;
        after = notice.noticeId;
        const stored = notice.logIndex === null ? undefined : events.get(notice.logIndex);
        const event = stored?.body ? NoticeReceived.safeParse(safeJson(stored.body)) : undefined;
        if (notice.logIndex === null || event === undefined || !event.success) {
          findings.push({
            kind: 'record-without-events',
            ...(notice.logIndex === null ? {} : { index: notice.logIndex }),
            message: `The notice ${notice.noticeId} has no notice event in the log${notice.logIndex === null ? '' : ` at its index ${String(notice.logIndex)}`}: it was inserted without being logged (or before the log existed).`,
          });
          continue;
        }
        const said = event.data;
        const differ = differingFields(
          {
            noticeId: said.noticeId,
            personId: said.personId,
            senderId: said.senderId,
            senderName: said.senderName,
            title: said.title,
            body: said.bodySha256,
            sentAt: said.sentAt,
            receivedAt: said.at,
          },
          {
            noticeId: notice.noticeId,
            personId: notice.personId,
            senderId: notice.senderId,
            senderName: notice.senderName,
            title: notice.title,
            body: sha256Hex(notice.body),
            sentAt: notice.sentAt.toISOString(),
            receivedAt: notice.receivedAt.toISOString(),
          },
        );
        if (differ.length > 0) {
          findings.push({
            kind: 'record-differs',
            index: notice.logIndex,
            message: `The notice ${notice.noticeId} does not match its logged event at index ${String(notice.logIndex)} (${differ.join(', ')}): the row or the event was edited.`,
          });
        }
      }
      if (page.length < PAGE) break;
    }
    for (let after = -1; ;) {
      const orphans = await log.listNoticeEventsWithoutRow(after, PAGE);
      for (const index of orphans) {
        after = index;
        findings.push({
          kind: 'record-missing',
          index,
          message: `The notice event at log index ${String(index)} has no notice row that names it: the row was deleted or its entry changed.`,
        });
      }
      if (orphans.length < PAGE) break;
    }
    return { records, findings };
  }

  private async orphans(role: 'requester' | 'provider'): Promise<RecordFinding[]> {
    const findings: RecordFinding[] = [];
    for (let after: string | undefined; ;) {
      const orphans = await this.deps.log.listEventsWithoutRecord(role, after, PAGE);
      const folds = await this.fold(orphans);
      for (const pn of orphans) {
        after = pn;
        const first = folds.get(pn)?.[role]?.firstIndex;
        findings.push({
          kind: 'record-missing',
          processingNumber: pn,
          ...(first === undefined ? {} : { index: first }),
          message: `The ${role} record ${pn} has events in the log${first === undefined ? '' : ` (the first at index ${String(first)})`} but no record row: the row was deleted.`,
        });
      }
      if (orphans.length < PAGE) break;
    }
    return findings;
  }

  /** The events of these records, parsed and folded per role, by processing number. */
  private async fold(processingNumbers: readonly string[]): Promise<Map<string, Folded>> {
    const rows = await this.deps.log.listRecordEventsOf(processingNumbers);
    const requester = new Map<string, { index: number; event: PortalRequesterEvent }[]>();
    const provider = new Map<string, { index: number; event: ProviderRecordEvent }[]>();
    for (const row of rows) {
      if (row.body === null || row.processingNumber === null) continue;
      const event = parse(row.body);
      // Not an event (named by the audit's pass over the rows), or filed under another record.
      if (
        event === undefined ||
        !('processingNumber' in event) ||
        event.processingNumber !== row.processingNumber
      ) {
        continue;
      }
      const pn = row.processingNumber;
      if (event.role === 'provider')
        provider.set(pn, [...(provider.get(pn) ?? []), { index: row.idx, event }]);
      else requester.set(pn, [...(requester.get(pn) ?? []), { index: row.idx, event }]);
    }
    const out = new Map<string, Folded>();
    const entry = (pn: string) => out.get(pn) ?? out.set(pn, {}).get(pn)!;
    for (const [pn, events] of requester) {
      entry(pn).requester = { ...foldRequesterEvents(events), firstIndex: events[0]?.index ?? 0 };
    }
    for (const [pn, events] of provider) {
      entry(pn).provider = {
        record: foldProviderEvents(events).record,
        events: events.length,
        firstIndex: events[0]?.index ?? 0,
      };
    }
    return out;
  }

  /** The exchanges with these processing numbers that the portal's events know, per role. */
  async exchangesOf(processingNumbers: readonly string[]): Promise<{
    requester: Map<string, RequesterExchange>;
    provider: Map<string, ProviderExchange>;
  }> {
    const folds = await this.fold(processingNumbers);
    const requester = new Map<string, RequesterExchange>();
    const provider = new Map<string, ProviderExchange>();
    for (const [pn, folded] of folds) {
      const r = requesterExchangeOf(folded.requester);
      if (r) requester.set(pn, r);
      const p = folded.provider;
      if (p?.record) provider.set(pn, providerExchangeOf(p.record, p.events));
    }
    return { requester, provider };
  }

  /** The portal's inquiries as its events tell them, by processing number after `after`. */
  async requesterExchanges(after: string | undefined, limit: number): Promise<RequesterExchange[]> {
    const page = await this.deps.log.listRequesterRecords(after, limit);
    const { requester } = await this.exchangesOf(page.map((r) => r.processingNumber));
    return page.flatMap((r) => requester.get(r.processingNumber) ?? []);
  }

  /** The portal's provisions as its events tell them, by processing number after `after`. */
  async providerExchanges(after: string | undefined, limit: number): Promise<ProviderExchange[]> {
    const page = await this.deps.providerRecords(after, limit);
    const { provider } = await this.exchangesOf(page.map((r) => r.processingNumber));
    return page.flatMap((r) => provider.get(r.processingNumber) ?? []);
  }

  /**
   * What the core's three-party cross-check asks (`networkApi.checkRecords`, `answerRecordCheck`):
   * the latest signed head, the portal's records of these exchanges per role, and a consistency proof
   * from `since`; never a code or a person id (the exchanges have no field for one).
   */
  async check(processingNumbers: readonly string[], since?: number): Promise<RecordCheckAnswer> {
    const exchanges = await this.exchangesOf(processingNumbers);
    return answerRecordCheck(this.deps.log, exchanges, since, this.deps.logger);
  }

  /** The size the latest signed head covers (0: none yet): page A says whether a notice is covered. */
  async signedSize(): Promise<number> {
    return this.deps.log.latestTreeHeadSize();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function problemsOf(pn: string, folded: PortalRequesterFold | undefined): RecordFinding[] {
  return (folded?.problems ?? []).map((p) => ({
    kind: 'event-out-of-sequence',
    index: p.index,
    processingNumber: pn,
    message: `The requester event at log index ${String(p.index)} (record ${pn}) ${p.message}.`,
  }));
}

function compared<T extends object>(
  role: 'requester' | 'provider',
  pn: string,
  expected: T | undefined,
  actual: T,
): RecordFinding[] {
  if (expected === undefined) {
    return [
      {
        kind: 'record-without-events',
        processingNumber: pn,
        message: `The ${role} record ${pn} has no event in the log: it was inserted without being logged (or before the log existed).`,
      },
    ];
  }
  const differ = differingFields(expected, actual);
  return differ.length === 0
    ? []
    : [
        {
          kind: 'record-differs',
          processingNumber: pn,
          message: `The ${role} record ${pn} does not match its logged events (${differ.join(', ')}): the row or an event was edited.`,
        },
      ];
}

function requesterExchangeOf(folded: PortalRequesterFold | undefined): RequesterExchange | undefined {
  const record = folded?.record;
  if (record === undefined) return undefined;
  return {
    processingNumber: record.processingNumber,
    ...(folded?.opened === undefined ? {} : { opened: folded.opened }),
    providerId: record.providerId,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    outcome: record.outcome,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    recordedAt: record.recordedAt.toISOString(),
  };
}
