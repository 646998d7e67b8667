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
  };
}
