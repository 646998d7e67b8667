/**
 * What every provider of the network logs of a provision, in its tamper-evident record log: one event
 * per provision request answered, named by its outcome (`provided`, `not_held`, `failed`). A request
 * the core sends again under the same processing number adds an event; the record is then the first
 * request's fields with the latest answer, and the log keeps both.
 *
 * Shared by the providers (an institution's intermediate server; the Myna Portal, which provides the
 * public-funds receiving account) as `provider.ts` is: their provider records are the same
 * `ProviderRecord`, so their events, the fold that says what the record must be, and what the
 * three-party cross-check is told of it must be the same too. We considered a copy per node, but a
 * cross-check that two copies of one rule agree is exactly what drifts apart unnoticed.
 *
 * A leaf holds what the record holds: the provider's own code for the person, never an item's data,
 * never an Individual Number.
 */
import { z } from 'zod';
import { canonicalJson } from '../trust/merkle/index.ts';
import type { RecordEventRow } from '../shared/record-log.ts';
import type { ProviderRecord } from './provider.ts';
import type { ProviderExchange } from './record-checks.ts';

/** The fields every record event of a party carries: the version, the record, when it was logged. */
export const recordEventBase = {
  v: z.literal(1),
  processingNumber: z.string().min(1),
  at: z.string().min(1),
};

export const ProviderRecordEvent = z.strictObject({
  ...recordEventBase,
  role: z.literal('provider'),
  event: z.enum(['provided', 'not_held', 'failed']),
  requesterId: z.string(),
  personCode: z.string(),
  clauseNo: z.string(),
  procedureId: z.string(),
  itemNos: z.array(z.number().int()),
  providedItemNos: z.array(z.number().int()),
  requestedAt: z.string(),
  answeredAt: z.string(),
  nonDisclosure: z.boolean(),
  reason: z.string().optional(),
});
export type ProviderRecordEvent = z.infer<typeof ProviderRecordEvent>;

/** The event of one provision; a TypeError for `refused`, which only the core decides. */
export function provisionEvent(record: ProviderRecord): ProviderRecordEvent {
  const outcome = record.outcome;
  if (outcome === 'refused') throw new TypeError('A provider does not record a refusal.');
  return {
    v: 1,
    role: 'provider',
    event: outcome,
    processingNumber: record.processingNumber,
    at: record.recordedAt,
    requesterId: record.requesterId,
    personCode: record.personCode,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    providedItemNos: record.providedItemNos,
    requestedAt: record.requestedAt,
    answeredAt: record.answeredAt,
    nonDisclosure: record.nonDisclosure,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
  };
}

/**
 * The canonical JSON of an event (its leaf's bytes, as text) and the columns that repeat it; an event
 * that belongs to no processing number (a notice at the portal) leaves that column empty.
 */
export function recordEventRow(
  event: { processingNumber?: string; role: string; event: string; at: string },
  idx: number,
): RecordEventRow {
  return {
    idx,
    processingNumber: event.processingNumber ?? null,
    role: event.role,
    event: event.event,
    at: event.at,
    body: canonicalJson(event),
  };
}

/** A provider record as its events say it is: the first request's fields, the latest answer. Pure. */
export function foldProviderEvents(events: readonly { index: number; event: ProviderRecordEvent }[]): {
  record: ProviderRecord | undefined;
  problems: { index: number; message: string }[];
} {
  let record: ProviderRecord | undefined;
  for (const { event } of events) {
    const latest = {
      providedItemNos: event.providedItemNos,
      answeredAt: event.answeredAt,
      outcome: event.event,
    };
    if (record === undefined) {
      record = {
        processingNumber: event.processingNumber,
        requesterId: event.requesterId,
        personCode: event.personCode,
        clauseNo: event.clauseNo,
        procedureId: event.procedureId,
        itemNos: event.itemNos,
        requestedAt: event.requestedAt,
        nonDisclosure: event.nonDisclosure,
        recordedAt: event.at,
        ...latest,
      };
    } else {
      record = { ...record, ...latest };
      delete record.reason;
    }
    if (event.reason !== undefined) record.reason = event.reason;
  }
  return { record, problems: [] };
}

/** A provision as the cross-check is told it: the folded record and how many answers it had. */
export function providerExchangeOf(record: ProviderRecord, answers: number): ProviderExchange {
  return {
    processingNumber: record.processingNumber,
    requesterId: record.requesterId,
    clauseNo: record.clauseNo,
    procedureId: record.procedureId,
    itemNos: record.itemNos,
    outcome: record.outcome,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    recordedAt: record.recordedAt,
    answers,
  };
}

/** The names of the fields in which two records differ (undefined and absent are the same). */
export function differingFields<T extends object>(expected: T, actual: T): string[] {
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]) as Set<keyof T>;
  return [...keys].filter((key) => JSON.stringify(expected[key]) !== JSON.stringify(actual[key])) as string[];
}
