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
import { differingFields } from '../../../protocol/provider-record-events.ts';
import {
  foldPartyEvents,
  partyExchangesOf,
  partyRecordChecks,
  type PartyFold,
} from '../../../protocol/party-record-fold.ts';
import {
  answerRecordCheck,
  listNumbered,
  type ProviderExchange,
  type RecordCheckAnswer,
  type RequesterExchange,
} from '../../../protocol/record-checks.ts';
import type { Clock } from '../../../shared/clock.ts';
import type { Logger } from '../../../shared/logger.ts';
import {
  PartyRecordLog,
  eventParser,
  pages,
  type ProjectionCheck,
  type RecordFinding,
  type RecordLogSigner,
} from '../../../trust/merkle/index.ts';
import {
  NoticeReceived,
  PortalRecordEvent,
  foldRequesterEvents,
  type PortalRequesterFold,
} from '../record-events.ts';
import type { KyselyPortalRecordLog } from '../record-log-store.ts';
import { sha256Hex } from '../../../shared/hash.ts';

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

export type { VerifyOptions } from '../../../trust/merkle/index.ts';

/** A logged notice as page A shows it: its entry in the log, and whether a signed head covers it yet. */
export interface NoticeEntry {
  index: number;
  /** The size of the latest signed head; the entry is covered when `index < signedSize`. */
  signedSize: number;
}

type Folded = PartyFold<PortalRequesterFold>;

const parse = eventParser(PortalRecordEvent);

/**
 * `verify` (PartyRecordLog's) checks the portal's log and its records; never throws for what it
 * finds. Findings name the log index, the processing number or the notice. A database that cannot be
 * read rejects with its error.
 */
export class PortalRecordLogService extends PartyRecordLog {
  constructor(private readonly deps: PortalRecordLogDeps) {
    super(deps.log, deps, PortalRecordEvent);
  }

  /** The requester rows, the provider rows, then the notices, each against their events. */
  protected override checks(): (() => Promise<ProjectionCheck>)[] {
    const { log } = this.deps;
    return [
      ...partyRecordChecks({
        requesterRows: (after, limit) => log.listRequesterRecords(after, limit),
        providerRows: this.deps.providerRecords,
        fold: (pns) => this.fold(pns),
        eventsWithoutRecord: (role, after, limit) => log.listEventsWithoutRecord(role, after, limit),
      }),
      () => this.verifyNotices(),
    ];
  }

  /** Each notice row against the event its `log_index` names; each notice event against a row. */
  private async verifyNotices(): Promise<{ records: number; findings: RecordFinding[] }> {
    const { log } = this.deps;
    const findings: RecordFinding[] = [];
    let records = 0;
    const noticePages = pages(
      (after, limit) => log.listLoggedNotices(after, limit),
      (n) => n.noticeId,
      undefined as string | undefined,
    );
    for await (const page of noticePages) {
      const events = await log.findRecordEventsAt(
        page.flatMap((n) => (n.logIndex === null ? [] : [n.logIndex])),
      );
      for (const notice of page) {
        records++;
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
    }
    const orphanPages = pages(
      (after, limit) => log.listNoticeEventsWithoutRow(after, limit),
      (index) => index,
      -1,
    );
    for await (const orphans of orphanPages) {
      for (const index of orphans) {
        findings.push({
          kind: 'record-missing',
          index,
          message: `The notice event at log index ${String(index)} has no notice row that names it: the row was deleted or its entry changed.`,
        });
      }
    }
    return { records, findings };
  }

  /** The events of these records, parsed and folded per role, by processing number. */
  private async fold(processingNumbers: readonly string[]): Promise<Map<string, Folded>> {
    const rows = await this.deps.log.listRecordEventsOf(processingNumbers);
    return foldPartyEvents(rows, parse, foldRequesterEvents);
  }

  /** The exchanges with these processing numbers that the portal's events know, per role. */
  async exchangesOf(processingNumbers: readonly string[]): Promise<{
    requester: Map<string, RequesterExchange>;
    provider: Map<string, ProviderExchange>;
  }> {
    return partyExchangesOf(await this.fold(processingNumbers), requesterExchangeOf);
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
  async check(
    processingNumbers: readonly string[],
    since?: number,
    numbered?: { from: string; to: string },
  ): Promise<RecordCheckAnswer> {
    const exchanges = await this.exchangesOf(processingNumbers);
    const listed = numbered === undefined ? undefined : await listNumbered(this, numbered);
    return answerRecordCheck(this.deps.log, exchanges, since, this.deps.logger, listed);
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

function requesterExchangeOf(folded: PortalRequesterFold): RequesterExchange | undefined {
  const { record } = folded;
  if (record === undefined) return undefined;
  return {
    processingNumber: record.processingNumber,
    ...(folded.opened === undefined ? {} : { opened: folded.opened }),
    providerId: record.providerId,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    outcome: record.outcome,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    recordedAt: record.recordedAt.toISOString(),
  };
}
