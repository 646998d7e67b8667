/**
 * The intermediate server's record events: every change to one of its provision records, as its Merkle
 * log holds it. One log per institution, for both roles (`role` says which):
 *
 * - as **requester**: the inquiry is opened once, by what the core said (`inquiry_sent`, the core
 *   accepted it; `inquiry_refused`; `inquiry_failed`, the core could not be asked), and answered once
 *   (`answer_received`). Either may come first (the core's answer can overtake its 202); a second
 *   opening or a second answer is not an event: it changes nothing.
 * - as **provider**: one event per provision request answered, named by its outcome (`provided`,
 *   `not_held`, `failed`). A request the core sends again under the same processing number adds an
 *   event; the projection then shows the latest, and the log keeps both.
 *
 * The `requester_records` and `provider_records` rows are the readable projection of these events,
 * written with them in one transaction; `foldRequesterEvents` and `foldProviderEvents` say what the rows
 * must be. A leaf holds what the record holds: the institution's own code for the person and the
 * addressee number (both in the record already), never an item's data, never an Individual Number.
 */
import { z } from 'zod';
import {
  ProviderRecordEvent,
  recordEventBase,
  recordEventRow,
} from '../../../protocol/provider-record-events.ts';
import {
  AnswerReceived,
  answerReceivedEvent,
  inquiryOpenedFields,
  openedOutcome,
  openingEvent,
} from '../../../protocol/requester-record-events.ts';
import type { RecordEventRow } from '../../../shared/record-log.ts';
import type { AnswerToStore, InquiryOutcome, RequesterRecord, RequesterRecordInput } from './store.ts';

const base = recordEventBase;

const InquiryOpened = z.strictObject({
  ...inquiryOpenedFields,
  addresseeNumber: z.string(),
  personCode: z.string(),
  nonDisclosure: z.boolean(),
  /** The business credential that made the inquiry (アクセス記録); absent off the trust layer. */
  requestedBy: z.string().optional(),
});

/**
 * This institution, as requester, lifted the non-disclosure it asked for (不開示の解除), and the core
 * took it: the resident sees the record in the Myna Portal from then on.
 */
const NonDisclosureLifted = z.strictObject({
  ...base,
  role: z.literal('requester'),
  event: z.literal('non_disclosure_lifted'),
});

export const RequesterRecordEvent = z.union([InquiryOpened, AnswerReceived, NonDisclosureLifted]);
export type RequesterRecordEvent = z.infer<typeof RequesterRecordEvent>;
export const IntermediateRecordEvent = z.union([
  InquiryOpened,
  AnswerReceived,
  NonDisclosureLifted,
  ProviderRecordEvent,
]);
export type IntermediateRecordEvent = z.infer<typeof IntermediateRecordEvent>;

/** The event that opens a requester record; a TypeError for an outcome an inquiry cannot open with. */
export function inquiryEvent(record: RequesterRecordInput): RequesterRecordEvent {
  return {
    v: 1,
    role: 'requester',
    event: openingEvent(record.outcome),
    processingNumber: record.processingNumber,
    at: record.recordedAt,
    addresseeNumber: record.addresseeNumber,
    personCode: record.personCode,
    providerId: record.providerId,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    requestedAt: record.requestedAt,
    nonDisclosure: record.nonDisclosure,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    ...(record.requestedBy === undefined ? {} : { requestedBy: record.requestedBy }),
  };
}

export function answerEvent(answer: AnswerToStore): RequesterRecordEvent {
  return answerReceivedEvent({ ...answer, at: answer.receivedAt });
}

export function nonDisclosureLiftedEvent(processingNumber: string, at: string): RequesterRecordEvent {
  return { v: 1, role: 'requester', event: 'non_disclosure_lifted', processingNumber, at };
}

/** The canonical JSON of an event (its leaf's bytes, as text) and the columns that repeat it. */
export function eventRow(event: IntermediateRecordEvent, idx: number): RecordEventRow {
  return recordEventRow(event, idx);
}

interface Problem {
  index: number;
  message: string;
}

/** A requester record as its events say it is, and what in them does not follow. */
export interface RequesterFold {
  record: RequesterRecord | undefined;
  /** How the inquiry was opened; undefined while only the answer has arrived. */
  opened: 'inquiry_sent' | 'inquiry_refused' | 'inquiry_failed' | undefined;
  problems: Problem[];
}

/** Folds one requester record's events, in log order, into the row they imply. Pure. */
export function foldRequesterEvents(
  events: readonly { index: number; event: RequesterRecordEvent }[],
): RequesterFold {
  let record: RequesterRecord | undefined;
  let opened: RequesterFold['opened'];
  let answered = false;
  const problems: Problem[] = [];
  for (const { index, event } of events) {
    if (event.event === 'non_disclosure_lifted') {
      if (record?.nonDisclosure !== true || opened === undefined) {
        problems.push({ index, message: 'lifts a non-disclosure the inquiry was not sent with' });
        continue;
      }
      record = { ...record, nonDisclosure: false };
      continue;
    }
    if (event.event === 'answer_received') {
      if (answered || (record !== undefined && record.outcome !== 'pending')) {
        problems.push({ index, message: 'answers an inquiry that was already settled' });
        continue;
      }
      answered = true;
      record = {
        ...(record ?? {
          processingNumber: event.processingNumber,
          nonDisclosure: false,
          recordedAt: event.at,
        }),
        outcome: event.outcome,
        answeredAt: event.answeredAt,
      };
      if (event.reason === undefined) delete record.reason;
      else record.reason = event.reason;
      continue;
    }
    if (opened !== undefined) {
      problems.push({ index, message: 'opens an inquiry that was already opened' });
      continue;
    }
    opened = event.event;
    const outcome: InquiryOutcome = openedOutcome(event.event);
    const next: RequesterRecord = {
      ...(record ?? { processingNumber: event.processingNumber, outcome, recordedAt: event.at }),
      addresseeNumber: event.addresseeNumber,
      personCode: event.personCode,
      providerId: event.providerId,
      clauseNo: event.clauseNo,
      procedureId: event.procedureId,
      itemNos: event.itemNos,
      requestedAt: event.requestedAt,
      nonDisclosure: event.nonDisclosure,
    };
    if (event.requestedBy !== undefined) next.requestedBy = event.requestedBy;
    // The answer may have come first: it keeps its outcome and reason.
    if (!answered && event.reason !== undefined) next.reason = event.reason;
    record = next;
  }
  if (record === undefined && events.length > 0) {
    problems.push({ index: events[0]?.index ?? 0, message: 'belongs to a record that was never opened' });
  }
  return { record, opened, problems };
}

// Shared with every provider (the Myna Portal provides too): src/protocol/provider-record-events.ts.
export {
  ProviderRecordEvent,
  differingFields,
  foldProviderEvents,
  provisionEvent,
} from '../../../protocol/provider-record-events.ts';
