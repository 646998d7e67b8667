/**
 * Numbering (付番): a municipality reports a new resident; J-LIS gives them a fresh resident record
 * code and the Individual Number derived from it with J-LIS's secret key (`numbering.ts`).
 */
import { randomBytes } from 'node:crypto';
import { secureRandom, type RandomSource } from '../../../domain/identifiers/random-source.ts';
import { generateResidentRecordCode } from '../../../domain/identifiers/resident-record-code.ts';
import type { NewResident, NumberedResident } from '../../../protocol/residents.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { NUMBERING_KEY_BYTES, deriveIndividualNumber } from '../numbering.ts';
import type { JlisStore } from '../store.ts';

export interface ResidentServiceDeps {
  store: JlisStore;
  clock: Clock;
  logger: Logger;
  /** The secret HMAC key of `numbering.ts`. */
  numberingKey: Uint8Array;
  /** Where resident record codes come from (seeded in tests). */
  random?: RandomSource;
}

/** How many fresh resident record codes to try, and derivation counters per code, before giving up. */
const MAX_CODE_ATTEMPTS = 20;
const MAX_COUNTER = 20;

export class ResidentService {
  private readonly random: RandomSource;

  constructor(private readonly deps: ResidentServiceDeps) {
    this.random = deps.random ?? secureRandom;
  }

  /**
   * Number a new resident: a fresh resident record code and the Individual Number derived from it.
   * Errors: ERR_VALIDATION (a date of birth in the future), ERR_INTERNAL (numbering space exhausted).
   */
  async registerResident(resident: NewResident): Promise<NumberedResident> {
    const { store, clock, logger, numberingKey } = this.deps;
    const now = clock.now();
    if (resident.dateOfBirth > now.toISOString().slice(0, 10)) {
      throw new RenkeiError('ERR_VALIDATION', 'The date of birth is in the future.', {
        issues: [{ path: 'dateOfBirth', message: 'must not be in the future' }],
      });
    }
    for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt++) {
      const residentRecordCode = generateResidentRecordCode(this.random);
      for (let counter = 0; counter < MAX_COUNTER; counter++) {
        const individualNumber = deriveIndividualNumber(numberingKey, residentRecordCode, counter);
        const result = await store.insertResident(
          { residentRecordCode, individualNumber, numberingCounter: counter, ...resident },
          now,
        );
        if (result === 'inserted') {
          logger.info({ counter }, 'resident numbered');
          return { residentRecordCode, individualNumber };
        }
        if (result === 'code_taken') break;
      }
    }
    // Only reachable with a broken random source or a nearly full numbering space.
    throw new RenkeiError('ERR_INTERNAL', 'No free resident record code or Individual Number was found.');
  }

  countResidents(): Promise<number> {
    return this.deps.store.countResidents();
  }
}

/** A fresh random numbering key: for tests, and for `main.ts` on first start. */
export function newNumberingKey(): Uint8Array {
  return new Uint8Array(randomBytes(NUMBERING_KEY_BYTES));
}
