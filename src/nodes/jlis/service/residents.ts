/**
 * Numbering (付番): a municipality reports a new resident; J-LIS gives them a fresh resident record
 * code and the Individual Number derived from it with J-LIS's secret key (`numbering.ts`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { secureRandom, type RandomSource } from '../../../domain/identifiers/random-source.ts';
import { generateResidentRecordCode } from '../../../domain/identifiers/resident-record-code.ts';
import type { ResidentNoticeContent } from '../../../protocol/resident-notices.ts';
import type {
  HistoryEntry,
  IdentityRecordView,
  NewResident,
  NumberChange,
  NumberedResident,
  ResidentChange,
  ResidentLookup,
} from '../../../protocol/residents.ts';
import { jstDate, type Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { JpkiCertificateService } from './jpki-certificates.ts';
import { NUMBERING_KEY_BYTES, deriveIndividualNumber } from '../numbering.ts';
import type {
  BasicFourInfo,
  ChangeConsequences,
  HistoryField,
  HistoryRow,
  IdentityRecord,
  JlisStore,
  NoticeWrite,
  ResidentNoticeToSend,
  ResidentStatus,
} from '../store.ts';

/** Where committed changes go to be told to the institutions holding the resident (resident-notices.ts). */
export interface NoticeOutbox {
  writeOf(notice: ResidentNoticeToSend): NoticeWrite;
  send(write: NoticeWrite): void;
}

export interface ResidentServiceDeps {
  store: JlisStore;
  clock: Clock;
  logger: Logger;
  /** The secret HMAC key of `numbering.ts`. */
  numberingKey: Uint8Array;
  /** Where resident record codes come from (seeded in tests). */
  random?: RandomSource;
  /** Notices of change to the institutions holding a resident; none are written without it. */
  notices?: NoticeOutbox;
  /**
   * J-LIS's JPKI CA, told which certificates an identity change revoked (in the change's own
   * transaction, through the store) so that it signs its CRLs again.
   */
  jpki?: Pick<JpkiCertificateService, 'revokedWithChange'>;
}

/**
 * Which identity changes revoke the signing certificate (it carries the four information), and why;
 * a death revokes both, and ends the card. A correction revokes it only when it changes one of the
 * four information as they stand today (below).
 */
const REVOKING_CHANGES = {
  move_in: 'move',
  move_out: 'move',
  name_change: 'name_change',
  death: 'death',
} as const;

/**
 * The four information the signing certificate carries (jpki/profiles.ts): the name's reading is not
 * among them, so a correction of nameKana alone leaves the certificate in force.
 */
const CERTIFIED_FIELDS = ['name', 'address', 'dateOfBirth', 'sex'] as const;

/** How many fresh resident record codes to try, and derivation counters per code, before giving up. */
const MAX_CODE_ATTEMPTS = 20;
const MAX_COUNTER = 20;

export class ResidentService {
  private readonly random: RandomSource;

  constructor(private readonly deps: ResidentServiceDeps) {
    this.random = deps.random ?? secureRandom;
  }

  /**
   * Number a new resident (出生 or a first registration): the resident record code the municipality
   * gives (or a fresh one when it gives none) and the Individual Number derived from it.
   * Errors: ERR_VALIDATION (a date of birth or effective date in the future, an effective date
   * before birth), ERR_DUPLICATE (the municipality's resident record code is someone's already),
   * ERR_INTERNAL (numbering space exhausted).
   */
  async registerResident(resident: NewResident): Promise<NumberedResident> {
    const { store, clock, logger, numberingKey } = this.deps;
    const now = clock.now();
    const today = jstDate(now);
    if (resident.dateOfBirth > today) throw futureDate('dateOfBirth');
    const effectiveDate = resident.effectiveDate ?? today;
    if (effectiveDate > today) throw futureDate('effectiveDate');
    if (effectiveDate < resident.dateOfBirth) throw beforeBirth();
    const { residentRecordCode: given, event, effectiveDate: _e, ...info } = resident;
    const first = { change: event ?? 'first_registration', effectiveDate };
    for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt++) {
      const residentRecordCode = given ?? generateResidentRecordCode(this.random);
      for (let counter = 0; counter < MAX_COUNTER; counter++) {
        const individualNumber = deriveIndividualNumber(numberingKey, residentRecordCode, counter);
        const result = await store.insertResident(
          { residentRecordCode, individualNumber, numberingCounter: counter, status: 'resident', ...info },
          now,
          first,
        );
        if (result === 'inserted') {
          logger.info({ counter, event: first.change }, 'resident numbered');
          return { residentRecordCode, individualNumber };
        }
        if (result === 'code_taken') {
          if (given !== undefined) {
            throw new RenkeiError(
              'ERR_DUPLICATE',
              'This resident record code is registered already; a resident is registered once. Report a change instead.',
            );
          }
          break;
        }
      }
    }
    // Only reachable with a broken random source or a nearly full numbering space.
    throw new RenkeiError('ERR_INTERNAL', 'No free resident record code or Individual Number was found.');
  }

  /**
   * Record a change of a resident's identity record, effective on its date (本人確認情報の変更).
   * Errors: ERR_UNKNOWN_RESIDENT, ERR_VALIDATION (a date in the future or before birth),
   * ERR_RESIDENT_STATE (the change does not fit where the resident stood on that day: anything but a
   * correction on or after death, a move-out of one who had moved out).
   */
  async recordChange(change: ResidentChange): Promise<IdentityRecordView> {
    const { store, clock, logger } = this.deps;
    const now = clock.now();
    const record = await this.find(change.residentRecordCode);
    if (change.effectiveDate > jstDate(now)) throw futureDate('effectiveDate');
    const history = await store.listHistory(change.residentRecordCode);
    if (history.every((h) => h.effectiveDate > change.effectiveDate)) {
      throw new RenkeiError('ERR_VALIDATION', 'The effective date is before the resident was registered.', {
        issues: [{ path: 'effectiveDate', message: 'before the registration' }],
      });
    }
    const then = foldHistory(history, change.effectiveDate);
    if (change.effectiveDate < then.dateOfBirth) throw beforeBirth();
    if (then.status === 'deceased' && change.change !== 'correction') {
      throw stateError('The resident had died by that date; only a correction can follow.');
    }
    if (change.change === 'move_out' && then.status === 'moved_out') {
      throw stateError('The resident had moved out already by that date; a move-in comes next.');
    }
    const { changedFields, values } = entryOf(change);
    const entry: HistoryRow = {
      ...then,
      ...values,
      change: change.change,
      effectiveDate: change.effectiveDate,
      changedAt: now,
      changedFields,
    };
    const today = foldHistory([...history, entry], jstDate(now));
    const notice = this.noticeOf(change.residentRecordCode, now, (noticeId) => ({
      kind: 'identity_change',
      noticeId,
      change: change.change,
      effectiveDate: change.effectiveDate,
      fields: values,
    }));
    // What the change ends is written in its transaction: a crash after the commit cannot leave a
    // moved resident with a signing certificate in force that names the old address. We considered
    // a durable intent finished after the commit (as notices are sent), but the certificates and
    // the cards are rows of this same database, and an intent leaves a window in which OCSP still
    // answers good for a certificate the record already contradicts.
    const consequences = this.consequencesOf(change, foldHistory(history, jstDate(now)), today, now);
    const outcome = await store.appendChange(change.residentRecordCode, entry, today, notice, consequences);
    if (notice) this.deps.notices?.send(notice);
    this.deps.jpki?.revokedWithChange(outcome.revokedKinds);
    logger.info(
      {
        change: change.change,
        revoked: outcome.revokedKinds,
        cardRevoked: outcome.revokedCardId !== undefined,
      },
      'identity record changed',
    );
    return this.view(record.residentRecordCode, record.individualNumber, [...history, entry], jstDate(now));
  }

  /**
   * A resident's identity record as it stood at the end of `asOf` (today by default), with its
   * history when asked. Errors: ERR_UNKNOWN_RESIDENT (also before the resident was registered).
   */
  async lookup(query: ResidentLookup): Promise<IdentityRecordView> {
    const record = await this.find(query.residentRecordCode);
    const history = await this.deps.store.listHistory(query.residentRecordCode);
    const asOf = query.asOf ?? jstDate(this.deps.clock.now());
    if (history.every((h) => h.effectiveDate > asOf)) {
      throw new RenkeiError('ERR_UNKNOWN_RESIDENT', `The resident was not registered yet on ${asOf}.`);
    }
    const view = this.view(record.residentRecordCode, record.individualNumber, history, asOf);
    return query.history ? { ...view, history: history.map(historyView) } : view;
  }

  /**
   * 番号の変更: a new Individual Number in place of one that leaked, derived with the next counter;
   * the old one is kept as replaced and refused for any new use (ERR_INDIVIDUAL_NUMBER_REPLACED).
   * Errors: ERR_UNKNOWN_RESIDENT, ERR_RESIDENT_STATE (a deceased resident).
   */
  async changeNumber(change: NumberChange): Promise<NumberedResident> {
    const { store, clock, logger, numberingKey } = this.deps;
    const record = await this.find(change.residentRecordCode);
    if (record.status === 'deceased') throw stateError('A deceased resident’s number is not changed.');
    for (
      let counter = record.numberingCounter + 1;
      counter < record.numberingCounter + MAX_COUNTER;
      counter++
    ) {
      const individualNumber = deriveIndividualNumber(numberingKey, record.residentRecordCode, counter);
      const now = clock.now();
      const notice = this.noticeOf(record.residentRecordCode, now, (noticeId) => ({
        kind: 'number_change',
        noticeId,
        oldIndividualNumber: record.individualNumber,
        newIndividualNumber: individualNumber,
        effectiveDate: jstDate(now),
      }));
      const result = await store.replaceNumber(
        record.residentRecordCode,
        individualNumber,
        counter,
        change.reason,
        now,
        notice,
      );
      if (result === 'replaced') {
        if (notice) this.deps.notices?.send(notice);
        logger.info({ reason: change.reason, counter }, 'individual number changed');
        return { residentRecordCode: record.residentRecordCode, individualNumber };
      }
    }
    throw new RenkeiError('ERR_INTERNAL', 'No free Individual Number was found.');
  }

  /**
   * What a change ends, in its transaction: a move or a name change revokes the signing certificate;
   * a correction does when it changes one of the four information as they stood today (a
   * correction dated back that a later change has overtaken leaves today's certificate right); a
   * death revokes both certificates and the card (廃止, recorded with J-LIS as the actor).
   */
  private consequencesOf(
    change: ResidentChange,
    before: State,
    after: State,
    at: Date,
  ): ChangeConsequences | undefined {
    if (change.change === 'death') {
      return {
        revokeCertificates: { kinds: ['signing', 'authentication'], reason: 'death' },
        revokeCard: { cardEvent: { at, operation: 'revoke', actor: 'jlis', outcome: 'done' } },
      };
    }
    if (change.change === 'correction') {
      const changed = CERTIFIED_FIELDS.some((field) => before[field] !== after[field]);
      return changed ? { revokeCertificates: { kinds: ['signing'], reason: 'correction' } } : undefined;
    }
    return { revokeCertificates: { kinds: ['signing'], reason: REVOKING_CHANGES[change.change] } };
  }

  /** The notice of a change, to be written in its transaction (none without an outbox). */
  private noticeOf(
    residentRecordCode: string,
    at: Date,
    content: (noticeId: string) => ResidentNoticeContent,
  ): NoticeWrite | undefined {
    const { notices } = this.deps;
    if (!notices) return undefined;
    const noticeId = randomUUID();
    const made = content(noticeId);
    return notices.writeOf({
      noticeId,
      residentRecordCode,
      kind: made.kind,
      content: JSON.stringify(made),
      createdAt: at,
    });
  }

  private async find(residentRecordCode: string): Promise<IdentityRecord> {
    const record = await this.deps.store.findResident(residentRecordCode);
    if (!record) throw new RenkeiError('ERR_UNKNOWN_RESIDENT', 'No resident has this resident record code.');
    return record;
  }

  private view(
    residentRecordCode: string,
    individualNumber: string,
    history: readonly HistoryRow[],
    asOf: string,
  ): IdentityRecordView {
    const state = foldHistory(history, asOf);
    return {
      residentRecordCode,
      individualNumber,
      asOf,
      name: state.name,
      ...(state.nameKana === undefined ? {} : { nameKana: state.nameKana }),
      address: state.address,
      dateOfBirth: state.dateOfBirth,
      sex: state.sex,
      status: state.status,
    };
  }

  countResidents(): Promise<number> {
    return this.deps.store.countResidents();
  }
}

type State = BasicFourInfo & { status: ResidentStatus };

/**
 * The record as it stood at the end of `day`: the entries that took effect by then, in order of
 * effective date (and of recording, for one day), each applying only the fields it changed. So a
 * correction recorded late, dated back, changes every later day's record, and a change dated ahead
 * of entries recorded before it takes its place among them.
 */
export function foldHistory(history: readonly HistoryRow[], day: string): State {
  const applied = history
    .map((entry, order) => ({ entry, order }))
    .filter(({ entry }) => entry.effectiveDate <= day)
    .sort((a, b) => a.entry.effectiveDate.localeCompare(b.entry.effectiveDate) || a.order - b.order);
  const first = applied[0]?.entry ?? history[0];
  if (!first) throw new Error('a resident without history');
  const state: State = {
    name: first.name,
    nameKana: first.nameKana,
    address: first.address,
    dateOfBirth: first.dateOfBirth,
    sex: first.sex,
    status: first.status,
  };
  for (const { entry } of applied) {
    for (const field of entry.changedFields) (state as Record<HistoryField, unknown>)[field] = entry[field];
  }
  return state;
}

/** What a change sets, and the fields it changes. */
function entryOf(change: ResidentChange): { changedFields: HistoryField[]; values: Partial<State> } {
  const given = {
    ...(change.name === undefined ? {} : { name: change.name }),
    ...(change.nameKana === undefined ? {} : { nameKana: change.nameKana }),
    ...(change.address === undefined ? {} : { address: change.address }),
    ...(change.dateOfBirth === undefined ? {} : { dateOfBirth: change.dateOfBirth }),
    ...(change.sex === undefined ? {} : { sex: change.sex }),
  } as Partial<State>;
  const status: Partial<State> =
    change.change === 'move_in'
      ? { status: 'resident' }
      : change.change === 'move_out'
        ? { status: 'moved_out' }
        : change.change === 'death'
          ? { status: 'deceased' }
          : {};
  const values = { ...given, ...status };
  return { changedFields: Object.keys(values) as HistoryField[], values };
}

function historyView(entry: HistoryRow): HistoryEntry {
  return {
    change: entry.change,
    effectiveDate: entry.effectiveDate,
    recordedAt: entry.changedAt.toISOString(),
    name: entry.name,
    ...(entry.nameKana === undefined ? {} : { nameKana: entry.nameKana }),
    address: entry.address,
    dateOfBirth: entry.dateOfBirth,
    sex: entry.sex,
    status: entry.status,
  };
}

function futureDate(path: string): RenkeiError {
  return new RenkeiError('ERR_VALIDATION', `The ${path} is in the future.`, {
    issues: [{ path, message: 'must not be in the future' }],
  });
}

function beforeBirth(): RenkeiError {
  return new RenkeiError('ERR_VALIDATION', 'The effective date is before the date of birth.', {
    issues: [{ path: 'effectiveDate', message: 'must not be before the date of birth' }],
  });
}

function stateError(message: string): RenkeiError {
  return new RenkeiError('ERR_RESIDENT_STATE', message);
}

/** A fresh random numbering key: for tests, and for `main.ts` on first start. */
export function newNumberingKey(): Uint8Array {
  return new Uint8Array(randomBytes(NUMBERING_KEY_BYTES));
}
