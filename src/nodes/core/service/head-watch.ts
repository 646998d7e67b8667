/**
 * The head watch: every so often the core asks each institution in its registry (the Myna Portal
 * included) for its latest signed tree head, with a consistency proof from the head the core kept
 * last, and judges it as the oversight cross-check does (its signature with the institution's
 * certificate of the head's time, then its history: head-history.ts). Every head with a finding is
 * kept; of the heads that pass, the first and the last of each day.
 *
 * Why: the cross-check keeps heads only when the commission runs one, so a log rewritten and grown
 * again between two checks was found at the second, weeks later perhaps, and a log rewritten back to
 * where it was before a check could slip between them. Watched every few minutes, a rewritten log is
 * found within the interval, when it happens, and each head kept narrows what an institution can take
 * back. A finding is logged (the institution and the kind of finding, never a record's content) and
 * counted in the core's metrics (`renkei_core_head_watch_total{result}`), where an operator's alert
 * sees it; the oversight console's cross-check shows it as any kept head's finding.
 *
 * We considered the core signing each exchange's answer into its own view of the institution's log
 * (no request at all), but the core sees only its own exchanges, not what the institution's log holds
 * beside them; only the institution's own head covers its whole log.
 */
import type { Clock } from '../../../shared/clock.ts';
import type { Logger } from '../../../shared/logger.ts';
import { toHex, verifyTreeHead } from '../../../trust/merkle/index.ts';
import type { HeadKey } from '../../../trust/pki/index.ts';
import type { CoreStore } from '../store.ts';
import type { ExchangeFinding } from './exchange-comparison.ts';
import { checkHeadHistory, headClaims, type HeadHistory } from './head-history.ts';
import type { PartyCheck, RecordCheckService } from './record-checks.ts';
import type { Registry } from './registry.ts';

/** The certificate key of an institution's head key id, valid at the head's time (`partyHeadKey`). */
export type HeadKeyOf = (institutionId: string, kid: string, at: Date) => Promise<HeadKey>;

/**
 * The head an institution answered (`party`, filled in here with `headCheck` and `history`): its
 * signature checked with the institution's certificate of the head's key id (valid at the head's
 * time, an earlier one after a re-key included), then against the head the core kept before (a
 * consistency proof: head-history.ts). The head is kept (one row per distinct head) with the kind of
 * its first finding; the institution's other passing heads of that day but its first are dropped
 * (`thinInstitutionTreeHeads`). Returns the findings.
 */
export async function judgeHead(
  party: PartyCheck,
  deps: { headKeyOf?: HeadKeyOf | undefined; store: CoreStore; clock: Clock },
): Promise<ExchangeFinding[]> {
  const { headKeyOf, store, clock } = deps;
  const head = party.treeHead;
  const findings: ExchangeFinding[] = [];
  let rootHash: string | undefined;
  if (head !== null) {
    const claims = headClaims(head.jws);
    const key = headKeyOf
      ? await headKeyOf(party.institutionId, head.kid, new Date(head.timestamp))
      : undefined;
    if (key === undefined || key.status === 'unavailable') {
      party.headCheck = key === undefined ? 'no-key' : 'other-key';
      rootHash = claims?.rootHash;
    } else if (key.status === 'refused') {
      party.headCheck = key.kind === 'certificate-untrusted' ? 'no-key' : 'refused';
      findings.push({ party: party.institutionId, kind: key.kind, message: key.message });
    } else {
      const verified = await verifyTreeHead(head.jws, key.key).catch(() => undefined);
      const matches = verified?.treeSize === head.treeSize && verified.timestamp === head.timestamp;
      party.headCheck = !matches ? 'invalid' : key.current ? 'verified' : 'verified-earlier';
      if (matches) rootHash = toHex(verified.rootHash);
      else {
        findings.push({
          party: party.institutionId,
          kind: 'head-signature-invalid',
          detail: { treeSize: head.treeSize },
          message: `${party.institutionId}'s tree head of size ${head.treeSize} does not verify with its identity certificate.`,
        });
      }
    }
    // Claims that are not those of the head answered are no head at all.
    if (claims === undefined || claims.treeSize !== head.treeSize || claims.timestamp !== head.timestamp) {
      rootHash = undefined;
    }
  }
  // A head whose signature or key was refused is a finding already; its history is not compared.
  if (findings.length === 0 && (head === null || rootHash !== undefined)) {
    const checked = checkHeadHistory(
      party.institutionId,
      party.kept,
      head === null || rootHash === undefined ? undefined : { treeSize: head.treeSize, rootHash },
      party.consistency,
    );
    if (party.kept !== undefined || head !== null) party.history = checked.history;
    if (checked.finding) findings.push(checked.finding);
    // No head to keep with this finding: it is kept by the head the institution had given instead.
    if (checked.history === 'head-missing' && party.kept !== undefined) {
      await store.keepInstitutionHeadAbsence({
        institutionId: party.institutionId,
        earlierSize: party.kept.treeSize,
        earlierTimestamp: party.kept.timestamp,
        seenAt: clock.now().toISOString(),
      });
    }
  }
  if (head !== null) {
    const claimed = rootHash ?? headClaims(head.jws)?.rootHash;
    if (claimed !== undefined) {
      const seenAt = clock.now().toISOString();
      await store.keepInstitutionTreeHead({
        institutionId: party.institutionId,
        treeSize: head.treeSize,
        rootHash: claimed,
        timestamp: head.timestamp,
        kid: head.kid,
        jws: head.jws,
        seenAt,
        finding: findings[0]?.kind ?? null,
      });
      // Watched every few minutes, an institution's passing heads would be a row each (3,600
      // institutions every ten minutes: some 190 million a year). The newest is what the next head is
      // proved from, and must be kept; of the others, the first and the last of each day, as evidence
      // of what the institution vouched for then. Every head with a finding stays.
      if (findings.length === 0) await store.thinInstitutionTreeHeads(party.institutionId, seenAt);
    }
  }
  return findings;
}

/** How one institution's head stood at a watch: `finding` whatever the history, `unreachable` unasked. */
export type HeadWatchResult = 'first' | 'same' | 'consistent' | 'no-head' | 'finding' | 'unreachable';

function resultOf(party: PartyCheck, findings: readonly ExchangeFinding[]): HeadWatchResult {
  if (party.status !== 'answered') return 'unreachable';
  if (findings.length > 0) return 'finding';
  if (party.treeHead === null) return 'no-head';
  return party.history === 'same' || party.history === 'consistent' ? party.history : 'first';
}

export interface WatchedParty {
  institutionId: string;
  result: HeadWatchResult;
  history?: HeadHistory;
  treeSize?: number;
  /** The error code when it did not answer. */
  error?: string;
  findings: ExchangeFinding[];
}

export interface HeadWatchOptions {
  registry: Registry;
  recordChecks: RecordCheckService;
  store: CoreStore;
  clock: Clock;
  logger: Logger;
  headKeyOf?: HeadKeyOf | undefined;
  /** Told of each institution's result (the node counts them in its metrics). */
  onResult?: (result: HeadWatchResult) => void;
}

export class HeadWatch {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private closed = false;

  constructor(private readonly options: HeadWatchOptions) {}

  /**
   * Ask every institution of the registry for its head and judge it, one after another (a watch is a
   * few requests a minute, not a burst). Suspended institutions are watched too: a suspension is when
   * a log is most worth watching. Never throws for what an institution answers or does not.
   */
  async watchOnce(): Promise<WatchedParty[]> {
    const { registry, recordChecks, logger, onResult } = this.options;
    const watched: WatchedParty[] = [];
    for (const institution of await registry.list()) {
      if (this.closed) break;
      const { party } = await recordChecks.ask(institution.id, []);
      const findings = party.status === 'answered' ? await judgeHead(party, this.options) : [];
      const result = resultOf(party, findings);
      const entry: WatchedParty = { institutionId: institution.id, result, findings };
      if (party.history !== undefined) entry.history = party.history;
      if (party.treeHead) entry.treeSize = party.treeHead.treeSize;
      if (party.error !== undefined) entry.error = party.error;
      watched.push(entry);
      onResult?.(result);
      for (const finding of findings) {
        logger.warn(
          { institutionId: institution.id, finding: finding.kind, ...(finding.detail ?? {}) },
          'head watch: an institution’s tree head is not what it vouched for before',
        );
      }
    }
    return watched;
  }

  /**
   * Watch every `intervalMs` (the first after one interval: a node starting is busy enough), never two
   * at once. A watch that fails (the core's own database) is logged and the next one tried.
   */
  start(intervalMs: number): void {
    if (this.timer !== undefined || intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.watchOnce()
        .catch(() => this.options.logger.error('head watch failed'))
        .finally(() => (this.running = undefined));
    }, intervalMs).unref();
  }

  /** Stop watching; waits for a watch under way to finish its institution. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
