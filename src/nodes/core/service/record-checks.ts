/**
 * The three-party cross-check (三者照合) for the oversight console, run from the core over the network:
 * the core takes its records of a period (newest first, at most `limit`), asks each institution on
 * either side of them for its records of those exchanges and its latest signed tree head
 * (`networkApi.checkRecords`, over the core's transport: mutual TLS and signed messages on the trust
 * layer, callers the core only), and compares them with its own, exchange by exchange, as
 * `renkei records verify` does over the databases (service/exchange-comparison.ts).
 *
 * We considered letting the console read the institutions' databases, as `renkei records verify`
 * does, but the core has no business holding another party's database credentials (分散管理): each
 * party answers for its own records, in a signed answer the core keeps in its message archive.
 *
 * It also finds what asking by the core's numbers cannot: an exchange an institution recorded that
 * the core has no record of (or has with another party). Every registered institution (or the one
 * asked for) is asked, beside its own exchanges, for the processing numbers of its records numbered
 * in the period (`RecordCheckRequest.numbered`: the period asked, or from the oldest record compared
 * until now); each number the core has no record of with that institution in that role is an
 * `exchange-unknown-at-core` finding, whatever the time the core would have recorded it at.
 *
 * The Myna Portal is asked as any institution is: it keeps its requester and provider records in a
 * record log of its own, with heads signed by its identity key, and answers the same request.
 */
import {
  RECORD_CHECK_LIMIT,
  RECORD_CHECK_PAGES,
  numberedAt,
  type RecordCheckAnswer,
} from '../../../protocol/record-checks.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { Institution, InstitutionTreeHead } from '../model.ts';
import type { CoreExchange } from '../record-events.ts';
import type { CoreStore } from '../store.ts';
import type { HeadHistory } from './head-history.ts';
import {
  compareProvider,
  compareRequester,
  unknownAtCore,
  type ExchangeFinding,
} from './exchange-comparison.ts';
import type { InstitutionReach } from './reach.ts';
import type { RecordLogService } from './record-log.ts';
import type { Registry } from './registry.ts';

export interface RecordCheckServiceOptions {
  store: CoreStore;
  registry: Registry;
  recordLog: RecordLogService;
  reach: InstitutionReach;
  clock: Clock;
  logger: Logger;
  /**
   * From when the core still holds every record: its retention cutoff and a day (parties purge by
   * their own times, and an institution may keep records longer). Institutions' numbers older than
   * this are not asked for, as `renkei records verify` leaves them out. None: from the beginning.
   */
  keptSince?: () => Date;
}

/** What one institution answered (or why it did not). */
export interface PartyCheck {
  institutionId: string;
  name: string | null;
  /** How many of the core's exchanges it was asked about. */
  asked: number;
  /** `answered`, `unreachable` (an error code in `error`), or `not-asked` (it left the registry). */
  status: 'answered' | 'unreachable' | 'not-asked';
  error?: string;
  treeHead: { treeSize: number; timestamp: number; kid: string; jws: string } | null;
  /**
   * The head's signature checked with the institution's identity certificate of the head's key id
   * (the oversight service's, from the network's PKI): `verified` (its current certificate),
   * `verified-earlier` (an earlier certificate, valid at the head's time), `invalid` (a finding),
   * `refused` (the certificate was not valid at the head's time, or is unknown: a finding),
   * `other-key` (an earlier certificate the PKI kept no copy of: not checked), `no-key` (none to
   * check with). Absent: no head.
   */
  headCheck?: 'verified' | 'verified-earlier' | 'invalid' | 'refused' | 'other-key' | 'no-key';
  /** The latest head of this institution the core kept from an earlier check (with no finding). */
  kept?: InstitutionTreeHead;
  /** The consistency proof the institution answered from the kept head's size to its head's. */
  consistency?: RecordCheckAnswer['consistency'];
  /** How the head stands against the kept one (head-history.ts); absent when not compared. */
  history?: HeadHistory;
  /** How many processing numbers of the period it listed of its own (absent: it listed none). */
  listed?: number;
  /** It had more of its own in the period than `RECORD_CHECK_PAGES` pages list (or a page failed). */
  listedTruncated?: boolean;
}

export interface RecordCheckResult {
  checkedAt: string;
  /** The core's records compared (the newest `limit` of the period). */
  checked: number;
  /** True when the period holds more records than were compared. */
  truncated: boolean;
  parties: PartyCheck[];
  /** Exchanges on which an institution's record disagrees with the core's, or is missing. */
  findings: ExchangeFinding[];
}

export interface RecordCheckQuery {
  from?: string;
  to?: string;
  institutionId?: string;
  limit: number;
}

export class RecordCheckService {
  constructor(private readonly options: RecordCheckServiceOptions) {}

  /**
   * Cross-check the core's newest `limit` records of the period with their institutions. Never throws
   * for what it finds or for an institution that does not answer (its status says so); ERR_VALIDATION
   * for a limit beyond what one request to an institution carries.
   */
  async check(query: RecordCheckQuery): Promise<RecordCheckResult> {
    const { store, recordLog, clock } = this.options;
    if (query.limit < 1 || query.limit > RECORD_CHECK_LIMIT) {
      throw new RenkeiError('ERR_VALIDATION', `A cross-check compares 1 to ${RECORD_CHECK_LIMIT} records.`);
    }
    const rows = await store.listProvisionRecords({
      ...(query.from === undefined ? {} : { from: query.from }),
      ...(query.to === undefined ? {} : { to: query.to }),
      ...(query.institutionId === undefined ? {} : { institutionId: query.institutionId }),
      limit: query.limit + 1,
    });
    const records = rows.slice(0, query.limit);
    const exchanges = await recordLog.exchangesOf(records.map((r) => r.processingNumber));
    const byParty = new Map<string, string[]>();
    for (const c of exchanges.values()) {
      for (const id of new Set([c.requesterId, c.providerId])) {
        byParty.set(id, [...(byParty.get(id) ?? []), c.processingNumber]);
      }
    }
    // Every registered institution is asked for its own numbers of the period, those the core has no
    // exchange with in it too: theirs are the records the core would never ask about.
    for (const institution of await this.options.registry.list()) {
      if (query.institutionId !== undefined && institution.id !== query.institutionId) continue;
      if (!byParty.has(institution.id)) byParty.set(institution.id, []);
    }
    const oldest = records.at(-1);
    const from =
      query.from !== undefined
        ? Date.parse(query.from)
        : oldest === undefined
          ? 0
          : numberedAt(oldest.processingNumber);
    const numbered = {
      from: new Date(Math.max(from, this.options.keptSince?.().getTime() ?? 0)).toISOString(),
      // `to` is the end of the period, not in it.
      to: new Date(query.to !== undefined ? Date.parse(query.to) - 1 : clock.now().getTime()).toISOString(),
    };
    const parties: PartyCheck[] = [];
    const answers = new Map<string, RecordCheckAnswer>();
    for (const [id, processingNumbers] of [...byParty].sort(([a], [b]) => a.localeCompare(b))) {
      const { party, answer } = await this.ask(id, processingNumbers, numbered);
      parties.push(party);
      if (answer) answers.set(id, answer);
    }
    const findings: ExchangeFinding[] = [];
    const index = (answer: RecordCheckAnswer | undefined) =>
      answer && {
        requester: new Map(answer.requester.map((r) => [r.processingNumber, r])),
        provider: new Map(answer.provider.map((p) => [p.processingNumber, p])),
      };
    const indexed = new Map([...answers].map(([id, answer]) => [id, index(answer)]));
    for (const c of exchanges.values()) {
      const requester = indexed.get(c.requesterId);
      if (requester) findings.push(...compareRequester(c, requester.requester.get(c.processingNumber)));
      const provider = indexed.get(c.providerId);
      if (provider) findings.push(...compareProvider(c, provider.provider.get(c.processingNumber)));
    }
    findings.push(...(await this.unknownAtCore(answers)));
    return {
      checkedAt: clock.now().toISOString(),
      checked: exchanges.size,
      truncated: rows.length > query.limit,
      parties,
      findings,
    };
  }

  /**
   * Ask one institution for its records of these exchanges (none: its head alone, as the head watch
   * asks) and its latest signed head, with a consistency proof from the head the core kept last.
   * Never throws for an institution that does not answer: its status and error code say so.
   */
  async ask(
    institutionId: string,
    processingNumbers: string[],
    numbered?: { from: string; to: string },
  ): Promise<{ party: PartyCheck; answer?: RecordCheckAnswer }> {
    const { store, registry } = this.options;
    const institution = await registry.find(institutionId);
    const party: PartyCheck = {
      institutionId,
      name: institution?.name ?? null,
      asked: processingNumbers.length,
      status: 'not-asked',
      treeHead: null,
    };
    if (institution === undefined) return { party };
    const kept = await store.findLatestInstitutionTreeHead(institutionId);
    if (kept !== undefined) party.kept = kept;
    try {
      const answer = await this.options.reach(institution).checkRecords({
        body: {
          processingNumbers,
          ...(kept === undefined ? {} : { since: kept.treeSize }),
          ...(numbered === undefined ? {} : { numbered }),
        },
      });
      party.status = 'answered';
      if (answer.consistency !== undefined) party.consistency = answer.consistency;
      if (answer.numbered !== undefined && numbered !== undefined) {
        const listing = await this.restOfListing(institution, numbered, answer.numbered);
        answer.numbered = listing;
        party.listed = listing.requester.length + listing.provider.length;
        party.listedTruncated = listing.truncated;
      }
      party.treeHead = answer.treeHead && {
        treeSize: answer.treeHead.treeSize,
        timestamp: answer.treeHead.timestamp,
        kid: answer.treeHead.kid,
        jws: answer.treeHead.jws,
      };
      return { party, answer };
    } catch (error) {
      party.status = 'unreachable';
      party.error = error instanceof RenkeiError ? error.code : 'ERR_UPSTREAM_UNAVAILABLE';
      this.options.logger.warn({ institutionId, code: party.error }, 'record check not answered');
      return { party };
    }
  }

  /**
   * An institution's listing of its numbers in the period, whole: after a first answer that had to stop
   * (`truncated`, a role at `RECORD_CHECK_LIMIT`), the next pages of each such role, up to
   * `RECORD_CHECK_PAGES` pages a role (`truncated` still when even those were not enough). A page that
   * fails leaves the listing truncated where it stopped.
   */
  private async restOfListing(
    institution: Institution,
    numbered: { from: string; to: string },
    first: NonNullable<RecordCheckAnswer['numbered']>,
  ): Promise<NonNullable<RecordCheckAnswer['numbered']>> {
    if (!first.truncated) return first;
    const listing = { requester: [...first.requester], provider: [...first.provider], truncated: false };
    for (const role of ['requester', 'provider'] as const) {
      let page = first[role];
      for (let pages = 1; page.length === RECORD_CHECK_LIMIT; pages++) {
        const after = page.at(-1);
        if (pages === RECORD_CHECK_PAGES || after === undefined) {
          listing.truncated = true;
          break;
        }
        try {
          const answer = await this.options.reach(institution).checkRecords({
            body: { processingNumbers: [], numbered: { ...numbered, page: { role, after } } },
          });
          page = answer.numbered?.[role] ?? [];
        } catch (error) {
          this.options.logger.warn(
            { institutionId: institution.id, code: error instanceof RenkeiError ? error.code : undefined },
            'record check listing not answered past its first pages',
          );
          listing.truncated = true;
          break;
        }
        listing[role].push(...page);
      }
    }
    return listing;
  }

  /**
   * The numbers institutions listed (`numbered`) that the core has no exchange of with them in that
   * role: what they recorded and the core did not, or recorded with another party.
   */
  private async unknownAtCore(answers: ReadonlyMap<string, RecordCheckAnswer>): Promise<ExchangeFinding[]> {
    const findings: ExchangeFinding[] = [];
    for (const [id, answer] of answers) {
      if (answer.numbered === undefined) continue;
      const { requester, provider } = answer.numbered;
      // In pages: a listing may hold thousands of numbers, more than one statement takes.
      const listed = [...new Set([...requester, ...provider])];
      const atCore = new Map<string, CoreExchange>();
      for (let i = 0; i < listed.length; i += RECORD_CHECK_LIMIT) {
        const page = await this.options.recordLog.exchangesOf(listed.slice(i, i + RECORD_CHECK_LIMIT));
        for (const [pn, exchange] of page) atCore.set(pn, exchange);
      }
      findings.push(
        ...unknownAtCore(id, 'requester', requester, atCore),
        ...unknownAtCore(id, 'provider', provider, atCore),
      );
    }
    return findings;
  }
}
