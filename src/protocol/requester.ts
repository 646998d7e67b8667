/**
 * What every requester of the network does with the answer to its inquiry, whoever it is: an
 * institution's intermediate server (src/nodes/institution/intermediate/service/inquiries.ts) or the
 * Myna Portal asking for a resident's own information (src/nodes/portal/service/my-information.ts).
 * Both send the same `InquiryRequest` to `coreApi.submitInquiry` and receive the same
 * `AnswerDelivery`; the checks an answer must pass before anyone reads it live here once:
 *
 * 1. the items arrive sealed to this party and open (`ItemSealer.open`: decrypted, signed by the
 *    provider asked, for this processing number, answering an inquiry this party signed and sent);
 * 2. the inquiry they answer is the one this party's record of that processing number holds;
 * 3. every item was asked for, once, and follows the data layout in force on the request date.
 *
 * An answer that fails any check becomes a `failed` answer with the check's code as its reason: it
 * is recorded so, and its items are never shown. We considered making the portal an intermediate
 * server of its own (the institution's store and service in a database of the portal's), but its
 * records name persons by addressee number and its service carries bulk inquiries, coalescing and
 * re-keying that the portal has no use for; the checks are what both must share.
 */
import type { LegalTable } from '../domain/legal-table/types.ts';
import { RenkeiError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { ItemSealer } from './item-sealing.ts';
import type { AnswerDelivery, AnsweredItem, InquiryRequest } from './messages.ts';

/** What a requester's record of an inquiry holds (the fields the checks compare with the answer). */
export interface SentInquiry {
  providerId?: string | undefined;
  personCode?: string | undefined;
  clauseNo?: string | undefined;
  procedureId?: string | undefined;
  itemNos?: readonly number[] | undefined;
  nonDisclosure: boolean;
  /** ISO 8601; absent when the answer overtook the core's 202 being recorded. */
  requestedAt?: string | undefined;
}

export interface AnswerCheckDeps {
  /** Opens items sealed by the provider; on the trust layer items only arrive sealed. */
  sealer?: ItemSealer | undefined;
  legalTable: LegalTable;
  logger: Logger;
}

/**
 * The answer as it may be recorded: opened and checked (1–3 above), or `failed` with the code of the
 * check it did not pass and no items. `inquiry` is this party's record of the processing number.
 */
export async function acceptAnswer(
  delivery: AnswerDelivery,
  inquiry: SentInquiry | undefined,
  deps: AnswerCheckDeps,
): Promise<AnswerDelivery> {
  const received = await openAnswer(delivery, inquiry, deps);
  const problem =
    received.outcome === 'provided'
      ? problemWithItems(received.processingNumber, inquiry, received.items, received.answeredAt, deps)
      : undefined;
  return problem === undefined ? received : { ...received, outcome: 'failed', reason: problem, items: [] };
}

/**
 * The answer with its items opened: sealed items are decrypted and their provider's signature
 * checked; on the trust layer, items in clear are refused (the core must not have seen them).
 * A failure is the answer's failure with its code, never passed on to whoever reads it.
 */
export async function openAnswer(
  delivery: AnswerDelivery,
  inquiry: SentInquiry | undefined,
  deps: Pick<AnswerCheckDeps, 'sealer' | 'logger'>,
): Promise<AnswerDelivery> {
  const { sealer, logger } = deps;
  if (!sealer || delivery.outcome !== 'provided') return delivery;
  const failed = (reason: string): AnswerDelivery => ({
    ...delivery,
    outcome: 'failed',
    reason,
    items: [],
  });
  if (delivery.sealedItems === undefined) {
    logger.warn({ processingNumber: delivery.processingNumber }, 'an answer came with items in clear');
    return failed('ERR_ENCRYPTION_REQUIRED');
  }
  try {
    const { items, inquiry: asked } = await sealer.open({
      processingNumber: delivery.processingNumber,
      providerId: inquiry?.providerId,
      sealed: delivery.sealedItems,
    });
    // The provider signed the hash of the inquiry it answers; that inquiry, as this party sent it,
    // must be the one its record of this processing number holds (unless the answer overtook the
    // core's 202, and the record has no inquiry yet: then the provider is checked against it).
    if (inquiry?.requestedAt !== undefined && !sameInquiry(asked, inquiry)) {
      throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The items answer another inquiry than this one.');
    }
    const { sealedItems: _sealed, ...rest } = delivery;
    return { ...rest, items };
  } catch (error) {
    const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
    logger.warn({ processingNumber: delivery.processingNumber, code }, 'sealed items could not be opened');
    return failed(code);
  }
}

/**
 * Why the items of a provided answer (a single one, or a batch's member) cannot be accepted, as the
 * code recorded for it; undefined when they can. The answer may overtake the core's 202 being
 * recorded (no request date yet): then the layout of the answer's date.
 */
export function problemWithItems(
  processingNumber: string,
  inquiry: SentInquiry | undefined,
  items: readonly AnsweredItem[],
  answeredAt: string,
  deps: Pick<AnswerCheckDeps, 'legalTable' | 'logger'>,
): string | undefined {
  const on = new Date(inquiry?.requestedAt ?? answeredAt);
  const seen = new Set<number>();
  for (const item of items) {
    const asked = inquiry?.itemNos === undefined || inquiry.itemNos.includes(item.itemNo);
    if (!asked || seen.has(item.itemNo)) {
      deps.logger.warn({ processingNumber, itemNo: item.itemNo }, 'an answer carried an item not asked for');
      return 'ERR_ANSWER_MISMATCH';
    }
    seen.add(item.itemNo);
    const check = deps.legalTable.checkLayout(item.itemNo, on, item.data);
    if (!check.ok) {
      deps.logger.warn(
        { processingNumber, itemNo: item.itemNo, layoutVersion: check.version },
        'an answer does not follow the layout in force on the request date',
      );
      return 'ERR_LAYOUT_VIOLATION';
    }
  }
  return undefined;
}

/**
 * The core's answers that do not say whether it kept the inquiry: its database failed under the
 * request (a COMMIT whose connection dropped may have landed; a lock wait that ran out), or an
 * error escaped its handler, maybe after the commit. Sending again under the same request id is
 * safe: the core answers the processing number it gave, or takes the inquiry then. A core whose
 * storage is full kept nothing, but will once space is freed: its inquiries are kept and sent again
 * too, rather than failed for what the operator puts right.
 */
const UNSETTLING_ANSWERS: ReadonlySet<string> = new Set([
  'ERR_DATABASE_UNAVAILABLE',
  'ERR_DATABASE_BUSY',
  'ERR_STORAGE_FULL',
  'ERR_INTERNAL',
]);

/**
 * Whether a failed send leaves it unknown if the core received the inquiry: no answer came (the
 * connection dropped, the deadline passed, a proxy answered), except a connection refused on the
 * first send of a fresh inquiry, which no core can have seen; or the core answered that its own
 * store failed under the request (`UNSETTLING_ANSWERS`). Every other answer of the core settles it.
 */
export function inDoubt(error: RenkeiError, fresh: boolean): boolean {
  if (UNSETTLING_ANSWERS.has(error.code)) return true;
  if (error.code !== 'ERR_UPSTREAM_UNAVAILABLE') return false;
  return !(fresh && error.details.cause === 'ECONNREFUSED');
}

/**
 * What a clerk is told of an inquiry in doubt: that it is kept and sent again, with its request id
 * to ask again. The core's failure is the operator's (in the log), not the clerk's: whatever the
 * core answered, the clerk's node says its upstream is unavailable (502), not that its own database
 * is (503).
 */
export function keptInDoubt(requestId: string): RenkeiError {
  return new RenkeiError(
    'ERR_UPSTREAM_UNAVAILABLE',
    'The core did not say whether it took the inquiry: it did not answer, or its database failed under the request. The inquiry is kept and sent again until the core answers; send it again with this requestId to learn its processing number.',
    { requestId, queued: true, peer: 'core' },
  );
}

/** The inquiry as sent and as recorded ask the same thing of the same provider about the same person. */
export function sameInquiry(sent: InquiryRequest, recorded: SentInquiry): boolean {
  return (
    sent.providerId === recorded.providerId &&
    sent.personCode === recorded.personCode &&
    sent.clauseNo === recorded.clauseNo &&
    sent.procedureId === recorded.procedureId &&
    sent.nonDisclosure === recorded.nonDisclosure &&
    JSON.stringify(sent.itemNos) === JSON.stringify(recorded.itemNos)
  );
}
