/**
 * What every requester of the network that keeps a record log (an institution's intermediate server;
 * the Myna Portal, for わたしの情報) logs of an inquiry the same way: it is opened once, by what the
 * core said (`inquiry_sent`, the core accepted it; `inquiry_refused`; `inquiry_failed`, the core could
 * not be asked), and answered once (`answer_received`). How a party names the person (an addressee
 * number and a code there, a person id here) is its own, so the opening's fields below are the common
 * part each party's schema extends; the answer is the same schema for both.
 *
 * We considered a copy per node, as the portal's began, but two copies of an event's schema are two
 * formats that could drift while the cross-check reads them as one.
 */
import { z } from 'zod';
import { recordEventBase } from './provider-record-events.ts';

/** The fields of the event that opens a requester record, common to every requester. */
export const inquiryOpenedFields = {
  ...recordEventBase,
  role: z.literal('requester'),
  event: z.enum(['inquiry_sent', 'inquiry_refused', 'inquiry_failed']),
  providerId: z.string(),
  clauseNo: z.string(),
  procedureId: z.string(),
  itemNos: z.array(z.number().int()),
  requestedAt: z.string(),
  reason: z.string().optional(),
};

export const AnswerReceived = z.strictObject({
  ...recordEventBase,
  role: z.literal('requester'),
  event: z.literal('answer_received'),
  outcome: z.enum(['provided', 'not_held', 'refused', 'failed']),
  reason: z.string().optional(),
  answeredAt: z.string(),
});
export type AnswerReceived = z.infer<typeof AnswerReceived>;

const OPENING = {
  pending: 'inquiry_sent',
  refused: 'inquiry_refused',
  failed: 'inquiry_failed',
} as const;

/** The event that opens a requester record of this outcome; a TypeError for one an inquiry cannot open with. */
export function openingEvent(outcome: string): (typeof OPENING)[keyof typeof OPENING] {
  if (outcome !== 'pending' && outcome !== 'refused' && outcome !== 'failed') {
    throw new TypeError(`An inquiry is not recorded as ${outcome} before it is answered.`);
  }
  return OPENING[outcome];
}

/** The outcome a requester record opens with, by its opening event (the inverse of `openingEvent`). */
export function openedOutcome(
  event: (typeof OPENING)[keyof typeof OPENING],
): 'pending' | 'refused' | 'failed' {
  return event === 'inquiry_sent' ? 'pending' : event === 'inquiry_refused' ? 'refused' : 'failed';
}

/** The event of an answer received (times as ISO 8601 strings). */
export function answerReceivedEvent(answer: {
  processingNumber: string;
  at: string;
  outcome: AnswerReceived['outcome'];
  reason?: string | undefined;
  answeredAt: string;
}): AnswerReceived {
  return {
    v: 1,
    role: 'requester',
    event: 'answer_received',
    processingNumber: answer.processingNumber,
    at: answer.at,
    outcome: answer.outcome,
    ...(answer.reason === undefined ? {} : { reason: answer.reason }),
    answeredAt: answer.answeredAt,
  };
}
