/**
 * The Myna Portal's record events: every change to one of its records, as its tamper-evident log holds
 * it (the shared tables of src/shared/record-log-tables.ts, the Merkle log of src/trust/merkle/). One
 * log for the portal's three kinds of record (`role` says which):
 *
 * - as **requester** (わたしの情報, the 自己情報取得API): the inquiry is opened once, by what the core
 *   said (`inquiry_sent`, `inquiry_refused`, `inquiry_failed`: the core could not be asked), and
 *   answered once (`answer_received`). Unlike an intermediate server's, the portal's answer is taken
 *   only for an inquiry it opened (my-information-store.ts), so an answer never comes first.
 * - as **provider** (公金受取口座, item 70): the provider events every provider logs
 *   (src/protocol/provider-record-events.ts).
 * - as **recipient** (お知らせ): `notice_received`, a notice the core delivered from an institution and
 *   the portal stored for a person. It belongs to no exchange, so it has no processing number; the
 *   notice's text is in the log by its SHA-256 only (the row keeps the text; the log proves it unchanged).
 *
 * The `requester_records`, `provider_records` and `notices` rows are the readable projection of these
 * events, written with them in one transaction. A leaf holds the portal's own person id or its code
 * for the person, as the record does; never an item's data, never an Individual Number or a name.
 */
import { z } from 'zod';
import { ProviderRecordEvent, recordEventRow } from '../../protocol/provider-record-events.ts';
import {
  AnswerReceived,
  answerReceivedEvent,
  inquiryOpenedFields,
  openedOutcome,
  openingEvent,
} from '../../protocol/requester-record-events.ts';
import type { RecordEventRow } from '../../shared/record-log.ts';
import type { PortalRequesterRecord, RequesterOutcome } from './my-information-store.ts';
import type { NoticeRow } from './store.ts';
import { sha256Hex } from '../../shared/hash.ts';

const InquiryOpened = z.strictObject({ ...inquiryOpenedFields, personId: z.string() });

export const NoticeReceived = z.strictObject({
  v: z.literal(1),
  role: z.literal('recipient'),
  event: z.literal('notice_received'),
  at: z.string().min(1),
  noticeId: z.string(),
  personId: z.string(),
  senderId: z.string(),
  senderName: z.string(),
  title: z.string(),
  /** The SHA-256 (hex) of the notice's text. */
  bodySha256: z.string(),
  sentAt: z.string(),
});
export type NoticeReceived = z.infer<typeof NoticeReceived>;

export const PortalRequesterEvent = z.union([InquiryOpened, AnswerReceived]);
export type PortalRequesterEvent = z.infer<typeof PortalRequesterEvent>;
export const PortalRecordEvent = z.union([
  InquiryOpened,
  AnswerReceived,
  ProviderRecordEvent,
  NoticeReceived,
]);
export type PortalRecordEvent = z.infer<typeof PortalRecordEvent>;

/** The event that opens a requester record; a TypeError for an outcome an inquiry cannot open with. */
export function inquiryEvent(record: PortalRequesterRecord): PortalRequesterEvent {
  return {
    v: 1,
    role: 'requester',
    event: openingEvent(record.outcome),
    processingNumber: record.processingNumber,
    at: record.recordedAt.toISOString(),
    personId: record.personId,
    providerId: record.providerId,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    requestedAt: record.requestedAt.toISOString(),
    ...(record.reason === undefined ? {} : { reason: record.reason }),
  };
}

export function answerEvent(
  answer: {
    processingNumber: string;
    outcome: Exclude<RequesterOutcome, 'pending'>;
    reason: string | undefined;
    answeredAt: Date;
  },
  at: Date,
): PortalRequesterEvent {
  return answerReceivedEvent({
    ...answer,
    at: at.toISOString(),
    answeredAt: answer.answeredAt.toISOString(),
  });
}

export function noticeEvent(row: NoticeRow): NoticeReceived {
  return {
    v: 1,
    role: 'recipient',
    event: 'notice_received',
    at: row.receivedAt.toISOString(),
    noticeId: row.noticeId,
    personId: row.personId,
    senderId: row.senderId,
    senderName: row.senderName,
    title: row.title,
    bodySha256: sha256Hex(row.body),
    sentAt: row.sentAt.toISOString(),
  };
}

export function eventRow(event: PortalRecordEvent): Omit<RecordEventRow, 'idx'> {
  const { idx: _idx, ...row } = recordEventRow(event, 0);
  return row;
}

/** A requester record as its events say it is, and what in them does not follow. */
export interface PortalRequesterFold {
  record: PortalRequesterRecord | undefined;
  opened: 'inquiry_sent' | 'inquiry_refused' | 'inquiry_failed' | undefined;
  problems: { index: number; message: string }[];
}

/** Folds one requester record's events, in log order, into the row they imply. Pure. */
export function foldRequesterEvents(
  events: readonly { index: number; event: PortalRequesterEvent }[],
): PortalRequesterFold {
  let record: PortalRequesterRecord | undefined;
  let opened: PortalRequesterFold['opened'];
  const problems: PortalRequesterFold['problems'] = [];
  for (const { index, event } of events) {
    if (event.event === 'answer_received') {
      if (record === undefined || record.outcome !== 'pending') {
        problems.push({ index, message: 'answers an inquiry that was not pending' });
        continue;
      }
      record = {
        ...record,
        outcome: event.outcome,
        reason: event.reason,
        answeredAt: new Date(event.answeredAt),
      };
      continue;
    }
    if (opened !== undefined) {
      problems.push({ index, message: 'opens an inquiry that was already opened' });
      continue;
    }
    opened = event.event;
    record = {
      processingNumber: event.processingNumber,
      personId: event.personId,
      providerId: event.providerId,
      clauseNo: event.clauseNo,
      procedureId: event.procedureId,
      itemNos: event.itemNos,
      requestedAt: new Date(event.requestedAt),
      outcome: openedOutcome(event.event),
      reason: event.reason,
      answeredAt: undefined,
      recordedAt: new Date(event.at),
    };
  }
  return { record, opened, problems };
}
