/**
 * Which of a procedure's omitted attachments (省略可能な書類) the answers make unnecessary: the
 * clerk's question at intake. An attachment is unnecessary once every item that replaces it has been
 * provided; until then the applicant still brings it. Attachments replaced by items nobody asked
 * about are left out of both lists: the clerk did not ask, so the network says nothing about them.
 */
import type { ItemNo } from '../../protocol/identifiers.ts';
import type { Procedure } from './types.ts';

export interface AttachmentsVerdict {
  /** Replaced by items that were all provided: the applicant need not bring these. */
  unnecessary: string[];
  /** Replaced by items asked for of which at least one was not provided: still needed. */
  stillNeeded: string[];
}

export function attachmentsVerdict(
  procedure: Pick<Procedure, 'attachmentsOmitted'>,
  asked: readonly ItemNo[],
  provided: readonly ItemNo[],
): AttachmentsVerdict {
  const verdict: AttachmentsVerdict = { unnecessary: [], stillNeeded: [] };
  for (const attachment of procedure.attachmentsOmitted) {
    if (!attachment.itemNos.some((itemNo) => asked.includes(itemNo))) continue;
    if (attachment.itemNos.every((itemNo) => provided.includes(itemNo))) {
      verdict.unnecessary.push(attachment.name);
    } else {
      verdict.stillNeeded.push(attachment.name);
    }
  }
  return verdict;
}

/** The attachments that the given items replace (wholly or in part): what asking for them is for. */
export function attachmentsReplacedBy(
  procedure: Pick<Procedure, 'attachmentsOmitted'>,
  itemNos: readonly ItemNo[],
): string[] {
  return procedure.attachmentsOmitted
    .filter((attachment) => attachment.itemNos.some((itemNo) => itemNos.includes(itemNo)))
    .map((attachment) => attachment.name);
}
