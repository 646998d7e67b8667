/**
 * What the oversight console (個人情報保護委員会, the Personal Information Protection Commission) reads
 * at the core: the provision records searched, the figures per institution (volumes, refusals and
 * failures, non-disclosure flags), and the core's tamper-evident record log verified. Read-only: it
 * changes no record (a tree head may be signed, as the portal's lookups do, so that a record's proof
 * can be checked).
 *
 * Never a person key: a record here has none (the keyed hash of the person's linking code that the
 * core keeps to answer the portal). A person is found only as a complaint brings them: an institution
 * and that institution's code for the person (`person`), which the core opens as it opens the portal's
 * (person-records.ts); never an Individual Number, and every such view is recorded in the oversight use
 * log with the institution and the officer's reason, before anything is shown. Counting non-disclosure
 * flags tells the commission how often institutions withhold records from residents, never whose.
 */
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { StoredTreeHead } from '../../../shared/record-log.ts';
import type { HeadKey } from '../../../trust/pki/index.ts';
import { verifyRecordEvidence, type EvidenceVerdict, type PartyAudit } from '../../../trust/merkle/index.ts';
import type { ProvisionRecord, ProvisionRecordFilter, RecordOutcome } from '../model.ts';
import { v7 as uuidv7 } from 'uuid';
import type { HeadFinding, OversightUse } from '../model.ts';
import type { CoreStore } from '../store.ts';
import type { Anomaly, AnomalyService } from './anomalies.ts';
import { judgeHead } from './head-watch.ts';
import type { PersonRecordService } from './person-records.ts';
import { recordsEvidence } from './record-evidence.ts';
import type { RecordCheckQuery, RecordCheckResult, RecordCheckService } from './record-checks.ts';
import type { RecordLogService } from './record-log.ts';
import type { Registry } from './registry.ts';

/** A record as the commission sees it: the core's record without the person key. */
export type OversightRecord = Omit<ProvisionRecord, 'personKey'>;

export interface OversightSearch extends Omit<ProvisionRecordFilter, 'limit' | 'before'> {
  /** The cursor of the previous page's last row (`nextCursor`). */
  cursor?: string | undefined;
  limit: number;
}

export interface OutcomeCounts {
  total: number;
  provided: number;
  notHeld: number;
  refused: number;
  failed: number;
  pending: number;
  /** Records under non-disclosure (不開示): withheld from the person's view at the portal. */
  nonDisclosure: number;
}

export interface InstitutionFigures {
  institutionId: string;
  /** The registry's name; null when it has left the registry. */
  name: string | null;
  asRequester: OutcomeCounts;
  asProvider: OutcomeCounts;
  /** Refused and failed inquiries it made, by clause (most first). */
  refusalsByClause: { clauseNo: string; refused: number; failed: number }[];
  /** Refused and failed inquiries it made or was asked, by reason (most first). */
  reasons: { side: 'requester' | 'provider'; outcome: 'refused' | 'failed'; reason: string; count: number }[];
}

export interface OversightFigures {
  total: OutcomeCounts;
  institutions: InstitutionFigures[];
}

export interface LogVerification {
  checkedAt: string;
  audit: PartyAudit & { records: number };
  /** Whether the heads were checked with the core's key (its identity certificate's). */
  keyed: boolean;
}

export interface RecordVerification {
  processingNumber: string;
  head: { treeSize: number; timestamp: number } | undefined;
  verdict: EvidenceVerdict | { ok: false; reason: 'no-key' | 'no-head' | 'unknown' };
}

export interface OversightServiceOptions {
  store: CoreStore;
  registry: Registry;
  recordLog: RecordLogService;
  clock: Clock;
  /** The core's public key (from its identity certificate): heads and proofs are checked with it. */
  headKey?: CryptoKey | undefined;
  /** Opens an institution's code for a person to the person key (the per-resident view). */
  personRecords: Pick<PersonRecordService, 'personKeyOfInstitutionCode'>;
  anomalies: AnomalyService;
  recordChecks: Pick<RecordCheckService, 'check'>;
  /** Records a page of the per-resident view (default PERSON_PAGE_SIZE). */
  personPageSize?: number;
  /** How long a per-resident view is kept for its further pages (default PERSON_VIEW_TTL_MS). */
  personViewTtlMs?: number;
  /**
   * The key an institution's head of key id `kid`, signed at `at`, is checked with, from the network's
   * PKI (`partyHeadKey`: the certificate of that serial, valid then). Absent: heads are shown unchecked.
   */
  headKeyOf?: ((institutionId: string, kid: string, at: Date) => Promise<HeadKey>) | undefined;
}

/** Records a page of the per-resident view shows (newest first); further pages follow by cursor. */
export const PERSON_PAGE_SIZE = 100;
/**
 * How long a per-resident view is kept for its further pages (15 minutes). A view is kept in the core's
 * database (`oversight_person_views`, migration 0019: the person key, never the code, the account that
 * asked, the institution and reason, until it expires), not in a process's memory: with `--workers` any
 * worker serves the next page. We considered carrying the code in the next page's link, or the person
 * key, but a link lands in the browser's history and in proxies' logs; the code must not be shown back
 * at all. Expired views are deleted as each new view is kept (see `CoreStore.keepOversightPersonView`):
 * the table holds about one TTL's worth of views, so there is no cap on their number as there was in
 * memory.
 */
export const PERSON_VIEW_TTL_MS = 15 * 60_000;

/** Who looks at a person, and why: what the oversight use log keeps of a per-resident view. */
export interface PersonLookup {
  accountId: string;
  institutionId: string;
  personCode: string;
  reason: string;
}

export interface PersonView {
  /** One page of the records about the person, non-disclosure included (flagged), newest first. */
  records: OversightRecord[];
  /** The cursor of the next page (older records), null on the last page. */
  nextCursor: string | null;
  /** The view's use id: what the next page's link carries, with the cursor. */
  useId: string;
  /** 1 for the view's first page. */
  page: number;
}

const OUTCOME_FIELD: Record<RecordOutcome, keyof OutcomeCounts> = {
  provided: 'provided',
  not_held: 'notHeld',
  refused: 'refused',
  failed: 'failed',
  pending: 'pending',
};

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/;

const emptyCounts = (): OutcomeCounts => ({
  total: 0,
  provided: 0,
  notHeld: 0,
  refused: 0,
  failed: 0,
  pending: 0,
  nonDisclosure: 0,
});

export class OversightService {
  constructor(private readonly options: OversightServiceOptions) {}

  /**
   * Records matching the search, newest first, `limit` a page. Errors: ERR_VALIDATION (a cursor the
   * console did not make).
   */
  async search(query: OversightSearch): Promise<{ records: OversightRecord[]; nextCursor: string | null }> {
    const { cursor, limit, ...filter } = query;
    const rows = await this.options.store.listProvisionRecords({
      ...filter,
      ...(cursor === undefined ? {} : { before: readCursor(cursor) }),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      records: page.map(({ personKey: _personKey, ...record }) => record),
      nextCursor: rows.length > limit && last ? cursorOf(last) : null,
    };
  }

  /**
   * Every exchange about the person an institution holds `personCode` for, across the network (both
   * directions, refusals and failures, records under non-disclosure flagged), newest first, one page.
   * The use is recorded in the oversight use log (who, the institution, the reason, how many records;
   * never the code) before the records are returned, refusals included. The view is kept in the core's
   * database under the use's id (the person key, never the code; for `personViewTtlMs`, for this account
   * only) so that its further pages (`personPage`) need only that id and a cursor, whichever core
   * worker serves them. Errors:
   * ERR_UNKNOWN_INSTITUTION, ERR_UNKNOWN_PERSON_CODE (not a code the core issued to that institution).
   */
  async person(lookup: PersonLookup): Promise<PersonView> {
    const { personRecords } = this.options;
    const use = {
      action: 'person',
      accountId: lookup.accountId,
      institutionId: lookup.institutionId,
      reason: lookup.reason,
    };
    let personKey: string;
    try {
      personKey = await personRecords.personKeyOfInstitutionCode(lookup.institutionId, lookup.personCode);
    } catch (error) {
      await this.recordUse({
        ...use,
        outcome: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL',
        records: null,
      });
      throw error;
    }
    const page = await this.personRecordsPage(personKey, undefined);
    const useId = await this.recordUse({ ...use, outcome: 'shown', records: page.records.length });
    const now = this.options.clock.now();
    const ttlMs = this.options.personViewTtlMs ?? PERSON_VIEW_TTL_MS;
    await this.options.store.keepOversightPersonView(
      {
        useId,
        accountId: lookup.accountId,
        personKey,
        institutionId: lookup.institutionId,
        reason: lookup.reason,
        expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
      },
      now.toISOString(),
    );
    return { ...page, useId, page: 1 };
  }

  /**
   * A further page of a resident's view, by the view's use id and the cursor its previous page gave,
   * for the account that asked for the view, while it is kept. Each page is a use of its own
   * (`person-page`, tied to the view by `viewOf`), refusals included. Errors: ERR_PERSON_VIEW_GONE
   * (no such view kept for this account: expired, never made, or another account's), ERR_VALIDATION
   * (a cursor the console did not make).
   */
  async personPage(request: {
    accountId: string;
    useId: string;
    cursor: string;
    page: number;
  }): Promise<PersonView> {
    const view = await this.options.store.findOversightPersonView(
      request.useId,
      request.accountId,
      this.options.clock.now().toISOString(),
    );
    const use = {
      action: 'person-page',
      accountId: request.accountId,
      institutionId: view?.institutionId ?? null,
      reason: view?.reason ?? null,
      viewOf: request.useId,
    };
    if (view === undefined) {
      await this.recordUse({ ...use, outcome: 'ERR_PERSON_VIEW_GONE' });
      throw new RenkeiError(
        'ERR_PERSON_VIEW_GONE',
        'This view of a resident’s exchanges is no longer kept (it expires, and is only for the account that asked for it): ask for it again with the institution’s code.',
      );
    }
    let page: Omit<PersonView, 'useId' | 'page'>;
    try {
      page = await this.personRecordsPage(view.personKey, readCursor(request.cursor));
    } catch (error) {
      await this.recordUse({ ...use, outcome: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL' });
      throw error;
    }
    await this.recordUse({ ...use, outcome: 'shown', records: page.records.length });
    return { ...page, useId: request.useId, page: request.page };
  }

  private async personRecordsPage(
    personKey: string,
    before: { requestedAt: string; processingNumber: string } | undefined,
  ): Promise<Omit<PersonView, 'useId' | 'page'>> {
    const size = this.options.personPageSize ?? PERSON_PAGE_SIZE;
    const rows = await this.options.store.listPersonRecords(personKey, before, size + 1, {
      withNonDisclosure: true,
    });
    const records = rows.slice(0, size).map(({ personKey: _personKey, ...record }) => record);
    const last = records.at(-1);
    return { records, nextCursor: rows.length > size && last ? cursorOf(last) : null };
  }

  /** Record one use of the console in the oversight use log; returns its id. */
  async recordUse(
    use: Omit<OversightUse, 'useId' | 'at' | 'institutionId' | 'reason' | 'records' | 'viewOf'> &
      Partial<OversightUse>,
  ): Promise<string> {
    const useId = uuidv7();
    await this.options.store.recordOversightUse({
      useId,
      at: this.options.clock.now().toISOString(),
      institutionId: null,
      reason: null,
      records: null,
      viewOf: null,
      ...use,
    });
    return useId;
  }

  /** The newest uses of the console, newest first. */
  uses(limit: number): Promise<OversightUse[]> {
    return this.options.store.listOversightUses(limit);
  }

  /** The anomalies of the JST days `from` to `to`, by the rules the console was given. */
  anomalies(period: { from: string; to: string }): Promise<Anomaly[]> {
    return this.options.anomalies.find(period);
  }

  get anomalyRules(): AnomalyService['rules'] {
    return this.options.anomalies.rules;
  }

  /**
   * The three-party cross-check of the period's newest records (service/record-checks.ts), and each
   * institution's head: its signature checked with the institution's certificate of the head's key id
   * (valid at the head's time, an earlier one after a re-key included), then against the head the core
   * kept from an earlier check (a consistency proof: head-history.ts). Every head answered is kept
   * (one row per distinct head) with the kind of what was found wrong with it, if anything.
   */
  async crossCheck(query: RecordCheckQuery): Promise<RecordCheckResult> {
    const result = await this.options.recordChecks.check(query);
    for (const party of result.parties) {
      if (party.status !== 'answered') continue;
      result.findings.push(...(await judgeHead(party, this.options)));
    }
    return result;
  }

  /** The newest heads kept with a finding (the head watch's and the cross-checks'), newest first. */
  headFindings(limit: number): Promise<HeadFinding[]> {
    return this.options.store.listInstitutionTreeHeadFindings(limit);
  }

  /** Each institution's figures over `[from, to)` (instants), by total inquiries made, most first. */
  async figures(range: { from?: string; to?: string }): Promise<OversightFigures> {
    const { store, registry } = this.options;
    const [counts, reasons, registered] = await Promise.all([
      store.countRecordsByInstitution(range),
      store.countRecordsByReason(range),
      registry.list(),
    ]);
    const names = new Map(registered.map((i) => [i.id, i.name]));
    const byId = new Map<string, InstitutionFigures>();
    const figuresOf = (id: string) => {
      let found = byId.get(id);
      if (!found) {
        found = {
          institutionId: id,
          name: names.get(id) ?? null,
          asRequester: emptyCounts(),
          asProvider: emptyCounts(),
          refusalsByClause: [],
          reasons: [],
        };
        byId.set(id, found);
      }
      return found;
    };
    const total = emptyCounts();
    const clauses = new Map<string, Map<string, { refused: number; failed: number }>>();
    for (const c of counts) {
      const f = figuresOf(c.institutionId);
      const side = c.side === 'requester' ? f.asRequester : f.asProvider;
      for (const target of c.side === 'requester' ? [side, total] : [side]) {
        target[OUTCOME_FIELD[c.outcome]] += c.count;
        target.total += c.count;
        if (c.nonDisclosure) target.nonDisclosure += c.count;
      }
      if (c.side === 'requester' && (c.outcome === 'refused' || c.outcome === 'failed')) {
        const perClause =
          clauses.get(c.institutionId) ?? new Map<string, { refused: number; failed: number }>();
        const row = perClause.get(c.clauseNo) ?? { refused: 0, failed: 0 };
        row[c.outcome] += c.count;
        perClause.set(c.clauseNo, row);
        clauses.set(c.institutionId, perClause);
      }
    }
    for (const [id, perClause] of clauses) {
      figuresOf(id).refusalsByClause = [...perClause]
        .map(([clauseNo, n]) => ({ clauseNo, ...n }))
        .sort(
          (a, b) => b.refused + b.failed - (a.refused + a.failed) || a.clauseNo.localeCompare(b.clauseNo),
        );
    }
    for (const r of reasons) {
      for (const [id, side] of [
        [r.requesterId, 'requester'],
        [r.providerId, 'provider'],
      ] as const) {
        figuresOf(id).reasons.push({ side, outcome: r.outcome, reason: r.reason, count: r.count });
      }
    }
    for (const f of byId.values()) f.reasons.sort((a, b) => b.count - a.count);
    return {
      total,
      institutions: [...byId.values()].sort(
        (a, b) =>
          b.asRequester.total - a.asRequester.total ||
          b.asProvider.total - a.asProvider.total ||
          a.institutionId.localeCompare(b.institutionId),
      ),
    };
  }

  /** The newest signed tree heads, newest first, and how many there are. */
  heads(limit: number): Promise<{ count: number; heads: StoredTreeHead[] }> {
    return this.options.store.newestTreeHeads(limit);
  }

  /**
   * The whole log checked as `renkei records verify` checks the core's: each head's signature, the
   * heads' consistency with the stored tree and with each other, every event against its leaf, and
   * every record row against its events. Never throws for what it finds.
   */
  async verifyLog(): Promise<LogVerification> {
    const { headKey, clock, recordLog } = this.options;
    const audit = await recordLog.verify(headKey === undefined ? {} : { publicKey: headKey });
    return { checkedAt: clock.now().toISOString(), audit, keyed: headKey !== undefined };
  }

  /**
   * One record's events proved included in the log under the latest signed head, checked as a
   * resident's browser checks them at the portal (`verifyRecordEvidence`). A head is signed first
   * when none covers the record yet.
   */
  async verifyRecord(processingNumber: string): Promise<RecordVerification> {
    const { store, recordLog, headKey } = this.options;
    const { head, leaves } = await recordsEvidence(store, [processingNumber], () => recordLog.signHead());
    const shownHead = head && { treeSize: head.treeSize, timestamp: head.timestamp };
    const recordLeaves = leaves.get(processingNumber);
    if (recordLeaves === undefined)
      return { processingNumber, head: shownHead, verdict: { ok: false, reason: 'unknown' } };
    if (head === undefined)
      return { processingNumber, head: shownHead, verdict: { ok: false, reason: 'no-head' } };
    if (headKey === undefined)
      return { processingNumber, head: shownHead, verdict: { ok: false, reason: 'no-key' } };
    const verdict = await verifyRecordEvidence(
      { treeHead: head.jws, leaves: recordLeaves },
      headKey,
      processingNumber,
    );
    return { processingNumber, head: shownHead, verdict };
  }
}

function cursorOf(last: { requestedAt: string; processingNumber: string }): string {
  return Buffer.from(`${last.requestedAt}|${last.processingNumber}`, 'utf8').toString('base64url');
}

function readCursor(cursor: string): { requestedAt: string; processingNumber: string } {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1] || !match[2]) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      'The page cursor is not one the console gave; start from the first page.',
    );
  }
  return { requestedAt: match[1], processingNumber: match[2] };
}
