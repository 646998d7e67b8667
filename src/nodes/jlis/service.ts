import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseIndividualNumber } from '../../domain/identifiers/individual-number.ts';
import { secureRandom, type RandomSource } from '../../domain/identifiers/random-source.ts';
import { generateResidentRecordCode } from '../../domain/identifiers/resident-record-code.ts';
import type { NodeClient } from '../../network/client.ts';
import type {
  AcquisitionNumber,
  CodeAcquisitionRequest,
  CodeIssuanceRequest,
} from '../../network/messages.ts';
import type { Clock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { NUMBERING_KEY_BYTES, deriveIndividualNumber } from './numbering.ts';
import type { JlisStore, RelayOutcome } from './store.ts';

/** A new resident as a municipality reports them (転入・出生): the basic four info. */
export const NewResident = z.object({
  name: z.string().trim().min(1).max(100),
  nameKana: z.string().trim().min(1).max(100).optional(),
  address: z.string().trim().min(1).max(200),
  dateOfBirth: z.iso.date('must be a date YYYY-MM-DD'),
  sex: z.enum(['male', 'female', 'other']),
});
export type NewResident = z.infer<typeof NewResident>;

export interface NumberedResident {
  residentRecordCode: string;
  individualNumber: string;
}

export interface RelayAccepted {
  acquisitionNumber: AcquisitionNumber;
  status: 'relayed';
}

/** J-LIS's domain operations. Knows nothing of HTTP; the core is reached through a `NodeClient` port. */
export interface JlisService {
  /**
   * Number a new resident: a fresh resident record code and the Individual Number derived from it.
   * Errors: ERR_VALIDATION (a date of birth in the future), ERR_INTERNAL (numbering space exhausted).
   */
  registerResident(resident: NewResident): Promise<NumberedResident>;
  countResidents(): Promise<number>;
  /**
   * Relay a code acquisition (符号取得): turn the Individual Number into the resident record code and
   * ask the core to issue the institution's code. J-LIS never sees the code: the core delivers it to
   * the institution directly. Every call that names an institution is recorded, refusals included.
   * Errors: ERR_INVALID_CHECK_DIGIT (and the other identifier errors), ERR_UNKNOWN_RESIDENT, and
   * whatever the core answers (ERR_UNKNOWN_INSTITUTION, ERR_DUPLICATE, …) or ERR_UPSTREAM_UNAVAILABLE.
   */
  relayCodeAcquisition(request: CodeAcquisitionRequest): Promise<RelayAccepted>;
}

export interface JlisServiceDeps {
  store: JlisStore;
  clock: Clock;
  logger: Logger;
  core: NodeClient;
  /** The secret HMAC key of `numbering.ts`. */
  numberingKey: Uint8Array;
  /** Where resident record codes come from (seeded in tests). */
  random?: RandomSource;
}

/** How many fresh resident record codes to try, and derivation counters per code, before giving up. */
const MAX_CODE_ATTEMPTS = 20;
const MAX_COUNTER = 20;

export function createJlisService(deps: JlisServiceDeps): JlisService {
  const { store, clock, logger, core, numberingKey } = deps;
  const random = deps.random ?? secureRandom;

  async function recordRelay(
    request: CodeAcquisitionRequest,
    outcome: RelayOutcome,
    error?: unknown,
  ): Promise<void> {
    const errorCode =
      error instanceof RenkeiError ? error.code : error === undefined ? undefined : 'ERR_INTERNAL';
    await store.recordRelay({
      relayedAt: clock.now(),
      institutionId: request.institutionId,
      acquisitionNumber: request.acquisitionNumber,
      outcome,
      errorCode,
    });
    // Who asked and what happened: never the number, the code or the acquisition number.
    logger.info({ institutionId: request.institutionId, outcome, code: errorCode }, 'code acquisition');
  }

  return {
    async registerResident(resident) {
      const now = clock.now();
      if (resident.dateOfBirth > now.toISOString().slice(0, 10)) {
        throw new RenkeiError('ERR_VALIDATION', 'The date of birth is in the future.', {
          issues: [{ path: 'dateOfBirth', message: 'must not be in the future' }],
        });
      }
      for (let attempt = 0; attempt < MAX_CODE_ATTEMPTS; attempt++) {
        const residentRecordCode = generateResidentRecordCode(random);
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
    },

    countResidents: () => store.countResidents(),

    async relayCodeAcquisition(request) {
      let residentRecordCode: string | undefined;
      try {
        residentRecordCode = await store.findResidentRecordCode(
          parseIndividualNumber(request.individualNumber),
        );
      } catch (error) {
        await recordRelay(request, 'refused', error);
        throw error;
      }
      if (residentRecordCode === undefined) {
        const error = new RenkeiError('ERR_UNKNOWN_RESIDENT', 'No resident has this Individual Number.');
        await recordRelay(request, 'refused', error);
        throw error;
      }
      const issuance: CodeIssuanceRequest = {
        institutionId: request.institutionId,
        acquisitionNumber: request.acquisitionNumber,
        residentRecordCode,
      };
      try {
        await core.post('/v1/code-issuances', issuance);
      } catch (error) {
        await recordRelay(request, 'failed', error);
        throw error;
      }
      await recordRelay(request, 'relayed');
      return { acquisitionNumber: request.acquisitionNumber, status: 'relayed' };
    },
  };
}

/** A fresh random numbering key: for tests, and for `main.ts` on first start. */
export function newNumberingKey(): Uint8Array {
  return new Uint8Array(randomBytes(NUMBERING_KEY_BYTES));
}
