/**
 * The core's record events: every change to a provision record, as the core's Merkle log holds it.
 * A record is opened once (`accepted` or `refused`), answered once (`answered`: the provider's outcome,
 * or the failure to get one), and its answer's delivery to the requester ends once (`delivery`). The
 * `provision_records` and `inquiries` rows are the readable projection of these events; the store
 * writes both in one transaction, and `foldCoreEvents` says what the rows must be.
 *
 * A leaf holds what the record holds, no more: never a code (the core's record has none; `personKey`
 * is a keyed hash of the linking code, which the record keeps for the portal), never an item's data,
 * never an Individual Number. Its bytes are the canonical JSON of the event (src/trust/merkle/), so that
 * `v` and the member names are a format: change them only with a new `v`.
 */
import { z } from 'zod';
import { canonicalJson } from '../../trust/merkle/index.ts';
import type { RecordEventRow } from '../../shared/record-log.ts';
import type { DeliveryState, InquiryState, ProvisionRecord, RecordOutcome } from './model.ts';

const base = {
  v: z.literal(1),
  role: z.literal('core'),
  processingNumber: z.string().min(1),
  at: z.string().min(1),
};

const OpenedEvent = z.strictObject({
  ...base,
  event: z.enum(['accepted', 'refused']),
  requesterId: z.string(),
  providerId: z.string(),
  clauseNo: z.string(),
  procedureId: z.string(),
  itemNos: z.array(z.number().int()),
  personKey: z.string().nullable(),
  nonDisclosure: z.boolean(),
  legalTableDigest: z.string(),
  /** For `refused`: the legal table's rule or the error code. */
  reason: z.string().optional(),
});

const AnsweredEvent = z.strictObject({
  ...base,
  event: z.literal('answered'),
  outcome: z.enum(['provided', 'not_held', 'failed']),
  reason: z.string().nullable(),
});

const DeliveryEvent = z.strictObject({
  ...base,
  event: z.literal('delivery'),
  delivery: z.enum(['delivered', 'failed']),
  attempts: z.number().int().nonnegative(),
  /** Why a delivery failed, when the core knows: `ERR_ANSWER_GONE` for a kept answer expired unacknowledged. */
  reason: z.string().optional(),
});

/**
 * The requester lifted the record's non-disclosure (不開示の解除): from then on the resident sees the
 * record in the Myna Portal. Only the requester may lift it, once; it is never set again.
 */
const DisclosedEvent = z.strictObject({
  ...base,
  event: z.literal('disclosed'),
  requesterId: z.string(),
});

/** One event of a record at the core, as its leaf's canonical JSON says it. */
export const CoreRecordEvent = z.union([OpenedEvent, AnsweredEvent, DeliveryEvent, DisclosedEvent]);
export type CoreRecordEvent = z.infer<typeof CoreRecordEvent>;

/** The event that opens a record: `accepted` for a pending one, `refused` for a refusal. */
export function openedEvent(record: ProvisionRecord): CoreRecordEvent {
  const refused = record.outcome === 'refused';
  return {
    v: 1,
    role: 'core',
    event: refused ? 'refused' : 'accepted',
    processingNumber: record.processingNumber,
    at: record.requestedAt,
    requesterId: record.requesterId,
    providerId: record.providerId,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    personKey: record.personKey,
    nonDisclosure: record.nonDisclosure,
    legalTableDigest: record.legalTableDigest,
    ...(refused ? { reason: record.reason ?? '' } : {}),
  };
}

export function answeredEvent(
  processingNumber: string,
  outcome: 'provided' | 'not_held' | 'failed',
  reason: string | null,
  answeredAt: string,
): CoreRecordEvent {
  return { v: 1, role: 'core', event: 'answered', processingNumber, at: answeredAt, outcome, reason };
}

export function deliveryEvent(
  processingNumber: string,
  delivery: 'delivered' | 'failed',
  attempts: number,
  at: string,
  reason?: string,
): CoreRecordEvent {
  return {
    v: 1,
    role: 'core',
    event: 'delivery',
    processingNumber,
    at,
    delivery,
    attempts,
    ...(reason === undefined ? {} : { reason }),
  };
}

export function disclosedEvent(processingNumber: string, requesterId: string, at: string): CoreRecordEvent {
  return { v: 1, role: 'core', event: 'disclosed', processingNumber, at, requesterId };
}

/** The canonical JSON of an event (its leaf's bytes, as text) and the columns that repeat it. */
export function eventRow(event: CoreRecordEvent, idx: number): RecordEventRow {
  return {
    idx,
    processingNumber: event.processingNumber,
    role: event.role,
    event: event.event,
    at: event.at,
    body: canonicalJson(event),
  };
}

/** What a record's events say its projection rows are, and what in them does not follow. */
export interface CoreFold {
  record: ProvisionRecord | undefined;
  state: InquiryState | undefined;
  /** Events that do not follow from the ones before them (a second opening, an answer before one…). */
  problems: { index: number; message: string }[];
}

/**
 * Folds one record's events, in log order, into the rows they imply. Pure; never throws.
 */
export function foldCoreEvents(events: readonly { index: number; event: CoreRecordEvent }[]): CoreFold {
  let record: ProvisionRecord | undefined;
  let state: InquiryState | undefined;
  const problems: CoreFold['problems'] = [];
  for (const { index, event } of events) {
    switch (event.event) {
      case 'accepted':
      case 'refused': {
        if (record !== undefined) {
          problems.push({ index, message: 'opens a record that was already opened' });
          break;
        }
        const refused = event.event === 'refused';
        record = {
          processingNumber: event.processingNumber,
          requesterId: event.requesterId,
          providerId: event.providerId,
          clauseNo: event.clauseNo,
          procedureId: event.procedureId,
          itemNos: event.itemNos,
          personKey: event.personKey,
          requestedAt: event.at,
          answeredAt: refused ? event.at : null,
          outcome: refused ? 'refused' : 'pending',
          reason: refused ? (event.reason ?? null) : null,
          nonDisclosure: event.nonDisclosure,
          legalTableDigest: event.legalTableDigest,
        };
        state = {
          processingNumber: event.processingNumber,
          delivery: refused ? 'none' : 'pending',
          deliveryAttempts: 0,
          deliveredAt: null,
        };
        break;
      }
      case 'answered':
        if (record?.outcome !== 'pending') {
          problems.push({ index, message: 'answers a record that is not pending' });
          break;
        }
        record = { ...record, outcome: event.outcome, reason: event.reason, answeredAt: event.at };
        break;
      case 'delivery':
        if (state?.delivery !== 'pending' || record?.outcome === 'pending') {
          problems.push({ index, message: 'ends a delivery that was not under way' });
          break;
        }
        state = {
          ...state,
          delivery: event.delivery,
          deliveryAttempts: event.attempts,
          deliveredAt: event.delivery === 'delivered' ? event.at : null,
        };
        break;
      case 'disclosed':
        if (record?.nonDisclosure !== true || record.requesterId !== event.requesterId) {
          problems.push({
            index,
            message: 'lifts a non-disclosure that was not set, or not by its requester',
          });
          break;
        }
        record = { ...record, nonDisclosure: false };
        break;
    }
  }
  if (record === undefined && events.length > 0) {
    problems.push({ index: events[0]?.index ?? 0, message: 'belongs to a record that was never opened' });
  }
  return { record, state, problems };
}

/** The fields in which a projection row differs from what the events say, by name. */
export function projectionDifferences(
  expected: { record: ProvisionRecord; state: InquiryState | undefined },
  actual: { record: ProvisionRecord; state: InquiryState | undefined },
): string[] {
  const fields: string[] = [];
  const r = expected.record;
  const a = actual.record;
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  for (const key of Object.keys(r) as (keyof ProvisionRecord)[]) {
    if (!same(r[key], a[key])) fields.push(key);
  }
  if (expected.state === undefined || actual.state === undefined) {
    if (expected.state !== actual.state) fields.push('delivery');
    return fields;
  }
  for (const key of ['delivery', 'deliveryAttempts', 'deliveredAt'] as const) {
    if (!same(expected.state[key], actual.state[key])) fields.push(key);
  }
  return fields;
}

/** One exchange as the core's events tell it: what the other two parties' records must agree with. */
export interface CoreExchange {
  processingNumber: string;
  requesterId: string;
  providerId: string;
  clauseNo: string;
  procedureId: string;
  itemNos: number[];
  requestedAt: string;
  outcome: RecordOutcome;
  reason: string | null;
  delivery: DeliveryState;
}

export function coreExchangeOf(fold: CoreFold): CoreExchange | undefined {
  const { record, state } = fold;
  if (record === undefined) return undefined;
  return {
    processingNumber: record.processingNumber,
    requesterId: record.requesterId,
    providerId: record.providerId,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    requestedAt: record.requestedAt,
    outcome: record.outcome,
    reason: record.reason,
    delivery: state?.delivery ?? 'none',
  };
}
