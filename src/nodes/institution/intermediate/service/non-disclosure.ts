/**
 * Lifting non-disclosure (不開示の解除): an inquiry sent with `nonDisclosure` (an ongoing investigation,
 * say) keeps its record out of the resident's view in the Myna Portal until this institution, its
 * requester, lifts it. The portal reads the core's records, so the lift is the core's to record first;
 * this institution then records it in its own log (event `non_disclosure_lifted`).
 *
 * The provider's record keeps the flag as it was sent: the provider is not told. We considered a
 * notice to the provider (as for failures, `notifyProvisionFailure`), but the flag changes nothing the
 * provider does, and its record says what it was asked, which stays true.
 */
import type { Client } from '../../../../protocol/api.ts';
import type { ProcessingNumber } from '../../../../protocol/identifiers.ts';
import type { NonDisclosureLifted } from '../../../../protocol/person-records.ts';
import type { coreApi } from '../../../../protocol/routes.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { IntermediateStore } from '../store.ts';

export interface NonDisclosureServiceDeps {
  institutionId: string;
  store: IntermediateStore;
  core: Client<typeof coreApi>;
  clock: Clock;
  logger: Logger;
}

export class NonDisclosureService {
  constructor(private readonly deps: NonDisclosureServiceDeps) {}

  /**
   * Lift the non-disclosure of one of this institution's inquiries: at the core first (which the
   * portal reads, and which refuses anyone but the requester), then in this institution's record. In
   * that order, so that a lift this record shows is one the core has; if the local write fails after
   * the core's, lifting again completes it (the core answers `lifted: false`, the record here still
   * changes). Errors: ERR_UNKNOWN_PROCESSING_NUMBER (not an inquiry of this institution), the core's
   * errors (ERR_UPSTREAM_UNAVAILABLE…: nothing changed here).
   */
  async lift(processingNumber: ProcessingNumber): Promise<NonDisclosureLifted> {
    const { store, core, institutionId, clock, logger } = this.deps;
    const record = await store.findInquiry(processingNumber);
    if (record === undefined) {
      throw new RenkeiError(
        'ERR_UNKNOWN_PROCESSING_NUMBER',
        'No inquiry of this institution has that processing number.',
        { processingNumber },
      );
    }
    const atCore = await core.liftNonDisclosure({ body: { requesterId: institutionId, processingNumber } });
    const here = await store.liftNonDisclosure(processingNumber, clock.now().toISOString());
    if (atCore.lifted || here) logger.info({ processingNumber }, 'non-disclosure lifted');
    return { processingNumber, lifted: atCore.lifted || here };
  }
}
