/**
 * An institution's tree heads over time, as the oversight cross-check sees them: the core keeps every
 * distinct head an institution answers with (migration 0018) and, at the next check, asks for a
 * consistency proof from the latest head it kept that passed (RFC 9162 §2.1.4). A head that does
 * not extend the earlier one is a rewritten log, whatever its signature says: the institution, or
 * whoever can write its database and use its key, cannot take back what a head it gave once vouched for.
 *
 * What is a finding here: a smaller tree than before (`head-tree-shrank`), a head of the same size
 * with another root or a proof that does not verify (`head-inconsistent`), no proof when one was
 * asked for (`head-proof-missing`), and no head at all from an institution that gave one before
 * (`head-missing`). We considered keeping only the latest head per institution, but every head kept
 * is evidence of what the institution vouched for, and one row per distinct head is small.
 */
import { z } from 'zod';
import type { RecordCheckAnswer } from '../../../protocol/record-checks.ts';
import { fromHex, verifyConsistency } from '../../../trust/merkle/index.ts';
import type { InstitutionTreeHead } from '../model.ts';
import type { ExchangeFinding } from './exchange-comparison.ts';

/** How a head answered stands against the heads kept before it. */
export type HeadHistory =
  'first' | 'same' | 'consistent' | 'inconsistent' | 'shrank' | 'proof-missing' | 'head-missing';

const Claims = z.strictObject({
  treeSize: z.number().int().nonnegative(),
  rootHash: z.string().regex(/^[0-9a-f]{64}$/),
  timestamp: z.number().int().nonnegative(),
});

/**
 * What a head's JWS says, read without checking its signature (which is checked apart, with the
 * institution's certificate): undefined when it is not a tree head's payload. The answer's own signed
 * message vouches that the institution sent it.
 */
export function headClaims(jws: string): z.infer<typeof Claims> | undefined {
  const payload = jws.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const parsed = Claims.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The answered head (its claims) against the latest head kept without a finding. Returns how it stands
 * and, when it does not, the finding (the English message for the CLI's kind of reader; the page
 * renders its own words from the kind and the sizes).
 */
export function checkHeadHistory(
  institutionId: string,
  kept: InstitutionTreeHead | undefined,
  head: { treeSize: number; rootHash: string } | undefined,
  consistency: RecordCheckAnswer['consistency'],
): { history: HeadHistory; finding?: ExchangeFinding } {
  const party = institutionId;
  if (kept === undefined) return { history: 'first' };
  const detail = { earlierSize: kept.treeSize, ...(head ? { treeSize: head.treeSize } : {}) };
  if (head === undefined) {
    return {
      history: 'head-missing',
      finding: {
        party,
        kind: 'head-missing',
        detail,
        message: `${party} answered no signed tree head, though it gave one of size ${kept.treeSize} before: its heads were deleted.`,
      },
    };
  }
  if (head.treeSize < kept.treeSize) {
    return {
      history: 'shrank',
      finding: {
        party,
        kind: 'head-tree-shrank',
        detail,
        message: `${party}'s tree head is of size ${head.treeSize}, smaller than the ${kept.treeSize} of a head it gave before: records were removed from its log.`,
      },
    };
  }
  const inconsistent = (why: string) => ({
    history: 'inconsistent' as const,
    finding: {
      party,
      kind: 'head-inconsistent',
      detail,
      message: `${party}'s tree head of size ${head.treeSize} is not consistent with the head of size ${kept.treeSize} it gave before (${why}): its log was rewritten.`,
    },
  });
  if (head.treeSize === kept.treeSize) {
    return head.rootHash === kept.rootHash ? { history: 'same' } : inconsistent('same size, another root');
  }
  if (consistency === undefined || consistency.from !== kept.treeSize || consistency.to !== head.treeSize) {
    return {
      history: 'proof-missing',
      finding: {
        party,
        kind: 'head-proof-missing',
        detail,
        message: `${party} answered no consistency proof from its head of size ${kept.treeSize} to its head of size ${head.treeSize}.`,
      },
    };
  }
  const ok = verifyConsistency(
    kept.treeSize,
    head.treeSize,
    fromHex(kept.rootHash),
    fromHex(head.rootHash),
    consistency.proof.map(fromHex),
  );
  return ok ? { history: 'consistent' } : inconsistent('the proof does not verify');
}
