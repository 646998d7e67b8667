/**
 * The relay of code acquisition (符号取得): an institution's addressee system sends J-LIS a one-time
 * acquisition number with the Individual Number; J-LIS turns the number into the resident record
 * code and asks the core to issue the institution's code. J-LIS never sees the code (the core
 * delivers it to the institution), and the core never sees the Individual Number.
 */
import { parseIndividualNumber } from '../../../domain/identifiers/individual-number.ts';
import type { Client } from '../../../protocol/api.ts';
import type { CodeAcquisitionRelayed, CodeAcquisitionRequest } from '../../../protocol/messages.ts';
import type { coreApi } from '../../../protocol/routes.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { JlisStore, RelayOutcome } from '../store.ts';

export interface CodeAcquisitionRelayDeps {
  store: JlisStore;
  clock: Clock;
  logger: Logger;
  /** The core, for code issuance. */
  core: Client<typeof coreApi>;
}

export class CodeAcquisitionRelay {
  constructor(private readonly deps: CodeAcquisitionRelayDeps) {}

  /**
   * Relay one acquisition. Every call that names an institution is recorded, refusals included.
   * Errors: ERR_INVALID_CHECK_DIGIT (and the other identifier errors), ERR_UNKNOWN_RESIDENT, and
   * whatever the core answers (ERR_UNKNOWN_INSTITUTION, ERR_DUPLICATE, …) or ERR_UPSTREAM_UNAVAILABLE.
   */
  async relay(request: CodeAcquisitionRequest): Promise<CodeAcquisitionRelayed> {
    const { store, core } = this.deps;
    let residentRecordCode: string | undefined;
    try {
      residentRecordCode = await store.findResidentRecordCode(
        parseIndividualNumber(request.individualNumber),
      );
    } catch (error) {
      await this.record(request, 'refused', error);
      throw error;
    }
    if (residentRecordCode === undefined) {
      const replaced = await store.isReplacedNumber(request.individualNumber);
      const error = replaced
        ? new RenkeiError(
            'ERR_INDIVIDUAL_NUMBER_REPLACED',
            'This Individual Number was replaced by a new one (番号の変更) and is no longer valid; ask the person for their current number.',
          )
        : new RenkeiError('ERR_UNKNOWN_RESIDENT', 'No resident has this Individual Number.');
      await this.record(request, 'refused', error);
      throw error;
    }
    try {
      await core.issueCode({
        body: {
          institutionId: request.institutionId,
          acquisitionNumber: request.acquisitionNumber,
          residentRecordCode,
        },
      });
    } catch (error) {
      await this.record(request, 'failed', error);
      throw error;
    }
    await this.record(request, 'relayed');
    return { acquisitionNumber: request.acquisitionNumber, status: 'relayed' };
  }

  private async record(
    request: CodeAcquisitionRequest,
    outcome: RelayOutcome,
    error?: unknown,
  ): Promise<void> {
    const errorCode =
      error instanceof RenkeiError ? error.code : error === undefined ? undefined : 'ERR_INTERNAL';
    await this.deps.store.recordRelay({
      relayedAt: this.deps.clock.now(),
      institutionId: request.institutionId,
      acquisitionNumber: request.acquisitionNumber,
      outcome,
      errorCode,
    });
    // Who asked and what happened: never the number, the code or the acquisition number.
    this.deps.logger.info(
      { institutionId: request.institutionId, outcome, code: errorCode },
      'code acquisition',
    );
  }
}
