/**
 * The three-party cross-check (三者照合) the oversight console runs from the core: the core asks an
 * institution's intermediate server, over the network's mutual TLS (`networkApi.checkRecords`, callers:
 * the core only), for its signed record-log tree head and what its records say of a set of exchanges,
 * and compares them with its own (src/nodes/core/service/record-checks.ts).
 *
 * What the answer carries is what the core already knows of each exchange: the parties, clause,
 * procedure, item numbers, outcome and reason, as the institution's record events tell them (the same
 * fold `renkei records verify` compares). Never a code, an addressee number or an item's data: the
 * schemas have no field for them.
 */
import { z } from 'zod';
import type { Logger } from '../shared/logger.ts';
import type { StoredTreeHead } from '../shared/record-log.ts';
import { createMerkleLog, toHex, type MerkleStore } from '../trust/merkle/index.ts';
import { InquiryOutcome } from './business.ts';
import { ClauseNo, InstitutionId, ItemNo, Outcome, ProcedureId, ProcessingNumber } from './identifiers.ts';

/** At most this many processing numbers per request: one page of the institution's records. */
export const RECORD_CHECK_LIMIT = 500;

/**
 * At most this many pages of a party's own numbers per role in one cross-check (`numbered.page`):
 * 20,000 numbers, a busy municipality's weeks. A longer period is listed in part (`truncated`).
 */
export const RECORD_CHECK_PAGES = 40;

/**
 * core → institution: `POST /network/v1/record-checks`. The exchanges the core recorded with this
 * institution (as requester or provider), by processing number.
 */
export const RecordCheckRequest = z.strictObject({
  /** None: the head alone (and its consistency proof), as the core's head watch asks every so often. */
  processingNumbers: z.array(ProcessingNumber).max(RECORD_CHECK_LIMIT),
  /**
   * The size of the latest tree head of this institution that the core kept from an earlier check:
   * the institution answers, beside its latest head, a consistency proof from that size to its head's
   * (RFC 9162 §2.1.4), so the core can tell a log that grew from one that was rewritten.
   */
  since: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  /**
   * A period: the institution also lists the processing numbers of its own records whose numbers the
   * core gave in it (a processing number is a UUIDv7: its first 48 bits are the time the core gave
   * it), so that the core finds what an institution recorded and the core has no record of, which
   * asking by the core's own numbers cannot. Failed inquiries are left out: they never reached the
   * core, under a number the requester made itself.
   */
  numbered: z
    .strictObject({
      from: z.iso.datetime(),
      to: z.iso.datetime(),
      /**
       * The next page of one role's listing, after an answer that had to stop (`truncated`): only that
       * role's numbers are listed, those after `after` (the last one listed).
       */
      page: z.strictObject({ role: z.enum(['requester', 'provider']), after: ProcessingNumber }).optional(),
    })
    .optional(),
});
export type RecordCheckRequest = z.infer<typeof RecordCheckRequest>;

/** An inquiry as the requester's record events tell it. */
export const RequesterExchange = z.object({
  processingNumber: ProcessingNumber,
  /** How the inquiry was opened; undefined while only an answer has arrived. */
  opened: z.enum(['inquiry_sent', 'inquiry_refused', 'inquiry_failed']).optional(),
  providerId: InstitutionId.optional(),
  clauseNo: ClauseNo.optional(),
  procedureId: ProcedureId.optional(),
  itemNos: z.array(ItemNo).max(100).optional(),
  outcome: InquiryOutcome,
  reason: z.string().max(64).optional(),
  recordedAt: z.iso.datetime(),
});
export type RequesterExchange = z.infer<typeof RequesterExchange>;

/** A provision as the provider's record events tell it (the latest answer). */
export const ProviderExchange = z.object({
  processingNumber: ProcessingNumber,
  requesterId: InstitutionId,
  clauseNo: ClauseNo,
  procedureId: ProcedureId,
  itemNos: z.array(ItemNo).max(100),
  outcome: Outcome,
  reason: z.string().max(64).optional(),
  recordedAt: z.iso.datetime(),
  /** How many times it was answered (more than once: the same request came again). */
  answers: z.number().int().min(1),
});
export type ProviderExchange = z.infer<typeof ProviderExchange>;

/**
 * institution → core: its latest signed tree head (null when it has signed none) and its records of
 * the exchanges asked about, per role. A processing number absent from both lists is one it has no
 * record of. Who answers is the signed answer's sender (the institution's certificate).
 */
export const RecordCheckAnswer = z.object({
  treeHead: z
    .object({
      treeSize: z.number().int().min(0),
      timestamp: z.number(),
      kid: z.string().max(200),
      jws: z.string().max(4096),
    })
    .nullable(),
  requester: z.array(RequesterExchange).max(RECORD_CHECK_LIMIT),
  provider: z.array(ProviderExchange).max(RECORD_CHECK_LIMIT),
  /**
   * Asked with `since` and a head to answer: PROOF(since, D[treeHead.treeSize]), each node's hash in
   * lower-case hex (at most 2·log₂ n of them). Absent when the log is smaller than `since` (the core
   * names it) or the proof cannot be made.
   */
  consistency: z
    .object({
      from: z.number().int().min(0),
      to: z.number().int().min(0),
      proof: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(128),
    })
    .optional(),
  /**
   * Asked with `numbered`: the processing numbers of its records numbered in the period, oldest
   * first, per role, at most `RECORD_CHECK_LIMIT` each (`truncated` when there were more).
   */
  numbered: z
    .object({
      requester: z.array(ProcessingNumber).max(RECORD_CHECK_LIMIT),
      provider: z.array(ProcessingNumber).max(RECORD_CHECK_LIMIT),
      truncated: z.boolean(),
    })
    .optional(),
});
export type RecordCheckAnswer = z.infer<typeof RecordCheckAnswer>;

/**
 * A party's answer to the cross-check (institutions and the portal alike): its latest signed head,
 * its records of the exchanges asked about, per role, and with `since` (the size of the last head the
 * core kept) a consistency proof from that size to the head answered, made from the Merkle log as it
 * is now: a log rewritten since gives a proof that does not verify against the core's earlier head,
 * which is the point. A proof that cannot be made (a node missing from the store) is left out, which
 * the core names as a finding.
 */
export async function answerRecordCheck(
  log: { latestTreeHead(): Promise<StoredTreeHead | undefined>; merkleStore(): MerkleStore },
  exchanges: {
    requester: ReadonlyMap<string, RequesterExchange>;
    provider: ReadonlyMap<string, ProviderExchange>;
  },
  since: number | undefined,
  logger: Logger,
  numbered?: RecordCheckAnswer['numbered'],
): Promise<RecordCheckAnswer> {
  const head = await log.latestTreeHead();
  let consistency: RecordCheckAnswer['consistency'];
  if (head !== undefined && since !== undefined && since <= head.treeSize) {
    try {
      const proof = await createMerkleLog({ store: log.merkleStore() }).consistencyProof(
        since,
        head.treeSize,
      );
      consistency = { from: since, to: head.treeSize, proof: proof.map(toHex) };
    } catch (error) {
      logger.warn({ code: (error as { code?: string }).code }, 'no consistency proof');
    }
  }
  return {
    treeHead:
      head === undefined
        ? null
        : { treeSize: head.treeSize, timestamp: head.timestamp, kid: head.kid, jws: head.jws },
    requester: [...exchanges.requester.values()],
    provider: [...exchanges.provider.values()],
    ...(consistency === undefined ? {} : { consistency }),
    ...(numbered === undefined ? {} : { numbered }),
  };
}

/** The smallest UUIDv7 of the millisecond `ms`, less than every processing number given in it. */
function firstNumberOf(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12);
  return `${hex.slice(0, 8)}-${hex.slice(8)}-0000-0000-000000000000`;
}

/** The millisecond a processing number (UUIDv7) was given in. */
export function numberedAt(processingNumber: string): number {
  return parseInt(processingNumber.slice(0, 8) + processingNumber.slice(9, 13), 16);
}

/**
 * A party's processing numbers given in `period` (`RecordCheckRequest.numbered`), oldest first, per
 * role, at most `limit` each, from its pages of exchanges by processing number. A failed inquiry is
 * left out (its number is the requester's own, and the core never saw it).
 */
export async function listNumbered(
  pages: {
    requesterExchanges(after: string | undefined, limit: number): Promise<RequesterExchange[]>;
    providerExchanges(after: string | undefined, limit: number): Promise<ProviderExchange[]>;
  },
  period: NonNullable<RecordCheckRequest['numbered']>,
  limit = RECORD_CHECK_LIMIT,
): Promise<NonNullable<RecordCheckAnswer['numbered']>> {
  const from = Date.parse(period.from);
  const to = Date.parse(period.to);
  let truncated = false;
  const collect = async <T extends { processingNumber: string }>(
    page: (after: string | undefined, limit: number) => Promise<T[]>,
    keep: (exchange: T) => boolean,
    role: 'requester' | 'provider',
  ): Promise<string[]> => {
    const numbers: string[] = [];
    if (period.page !== undefined && period.page.role !== role) return numbers;
    // The next page starts after the last number listed, never before the period.
    const start =
      period.page !== undefined && period.page.after > firstNumberOf(from)
        ? period.page.after
        : firstNumberOf(from);
    for (let after = start; ;) {
      const rows = await page(after, limit + 1);
      for (const row of rows) {
        if (numberedAt(row.processingNumber) > to) return numbers;
        if (!keep(row)) continue;
        if (numbers.length === limit) {
          truncated = true;
          return numbers;
        }
        numbers.push(row.processingNumber);
      }
      // A page may hold fewer exchanges than records (a record whose events fold to nothing): the
      // listing ends at an empty page, not a short one.
      const last = rows.at(-1);
      if (last === undefined) return numbers;
      after = last.processingNumber;
    }
  };
  const requester = await collect(
    pages.requesterExchanges.bind(pages),
    (r) => r.opened !== 'inquiry_failed',
    'requester',
  );
  const provider = await collect(pages.providerExchanges.bind(pages), () => true, 'provider');
  return { requester, provider, truncated };
}
