/**
 * Notices of change from J-LIS (番号の変更, 本人確認情報の変更), relayed by the core to this
 * institution because it holds a code for the person. The addressee system takes them: it is the
 * one part of an institution that may see an Individual Number, and a number change is its to apply.
 *
 * The notice is opened (J-LIS's signature, this institution's key: resident-notice-sealing.ts), the
 * person found by the code the core sent (this institution's, current or previous key version) in the
 * intermediate server, then:
 * - a number change replaces the person's Individual Number in the addressee system, the old one kept
 *   as replaced, so that it no longer resolves;
 * - an identity change is recorded for the business systems to read (`listResidentNotices`).
 * Every notice is recorded in the intermediate server (`resident_notices`: kind, outcome, addressee
 * number, and an identity change's fields; never a number), once per notice id: a resend changes
 * nothing and is acknowledged again. A code no longer held here is acknowledged and recorded `not_held`.
 */
import { parseIndividualNumber } from '../../../../domain/identifiers/index.ts';
import type { ResidentNoticeOpener } from '../../../../protocol/resident-notice-sealing.ts';
import type {
  ReceivedResidentNotice,
  ResidentNoticeContent,
  ResidentNoticeDelivery,
} from '../../../../protocol/resident-notices.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { IntermediateStore, StoredResidentNotice } from '../../intermediate/store.ts';
import type { AddresseeStore } from '../store.ts';

export interface ResidentNoticeReceiverDeps {
  store: AddresseeStore;
  /** Where persons are found by code and notices recorded (no Individual Number crosses to it). */
  intermediate: Pick<
    IntermediateStore,
    'findAddresseeNumberByCode' | 'findResidentNotice' | 'recordResidentNotice' | 'listResidentNotices'
  >;
  /** Opens notices with this institution's encryption key; absent without the trust layer. */
  opener?: ResidentNoticeOpener | undefined;
  clock: Clock;
  logger: Logger;
}

export class ResidentNoticeReceiver {
  constructor(private readonly deps: ResidentNoticeReceiverDeps) {}

  /**
   * Take a notice (idempotent on its id). Errors, each recorded `refused` before it is answered:
   * ERR_ENCRYPTION_REQUIRED (no trust layer here), ERR_DECRYPTION_FAILED, ERR_SIGNATURE_INVALID,
   * ERR_CERT_*, ERR_ANSWER_MISMATCH (not J-LIS's, another notice's, or another kind than the core said).
   */
  async receive(delivery: ResidentNoticeDelivery): Promise<void> {
    const { intermediate, opener, logger } = this.deps;
    const { noticeId, kind } = delivery;
    if (await intermediate.findResidentNotice(noticeId)) return;
    let content: ResidentNoticeContent;
    try {
      if (!opener) {
        throw new RenkeiError(
          'ERR_ENCRYPTION_REQUIRED',
          'Notices of change are taken on the trust layer only.',
        );
      }
      content = await opener.open(noticeId, delivery.sealed);
      if (content.kind !== kind) {
        throw new RenkeiError('ERR_ANSWER_MISMATCH', 'The sealed notice is of another kind than delivered.');
      }
    } catch (error) {
      const reason = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
      await this.record({ noticeId, kind, outcome: 'refused', reason });
      logger.warn({ noticeId, code: reason }, 'resident notice refused');
      throw error;
    }
    const codes = [
      delivery.personCode,
      ...(delivery.previousPersonCode ? [delivery.previousPersonCode] : []),
    ];
    const addresseeNumber = await intermediate.findAddresseeNumberByCode(codes);
    if (addresseeNumber === undefined) {
      await this.record({ noticeId, kind, outcome: 'not_held' });
      logger.info({ noticeId, kind }, 'resident notice for a code not held here');
      return;
    }
    if (content.kind === 'number_change') {
      const replaced = await this.deps.store.replaceIndividualNumber({
        addresseeNumber,
        from: parseIndividualNumber(content.oldIndividualNumber),
        to: parseIndividualNumber(content.newIndividualNumber),
        noticeId,
        at: this.deps.clock.now(),
      });
      if (replaced === 'unknown') {
        await this.record({ noticeId, kind, outcome: 'not_held', addresseeNumber });
      } else if (replaced === 'conflict') {
        // The addressee system holds another number for the person than J-LIS replaced (or the new
        // one is someone else's here): a clerk must look. Acknowledged: sending it again cannot help.
        await this.record({ noticeId, kind, outcome: 'refused', reason: 'ERR_DUPLICATE', addresseeNumber });
        logger.error({ noticeId }, 'number change does not match the addressee system; recorded refused');
      } else {
        await this.record({
          noticeId,
          kind,
          outcome: 'applied',
          addresseeNumber,
          effectiveDate: content.effectiveDate,
        });
        logger.info({ noticeId, kind }, 'individual number replaced in the addressee system');
      }
      return;
    }
    const fields = Object.fromEntries(
      Object.entries(content.fields).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    await this.record({
      noticeId,
      kind,
      outcome: 'applied',
      addresseeNumber,
      change: content.change,
      effectiveDate: content.effectiveDate,
      fields,
    });
    logger.info({ noticeId, kind, change: content.change }, 'identity change recorded');
  }

  /** The notices received after `since` (a sequence), in order, for the business systems. */
  async list(since: number, limit: number): Promise<ReceivedResidentNotice[]> {
    return this.deps.intermediate.listResidentNotices(since, limit);
  }

  private async record(notice: Omit<StoredResidentNotice, 'sequence' | 'receivedAt'>): Promise<void> {
    await this.deps.intermediate.recordResidentNotice({
      ...notice,
      receivedAt: this.deps.clock.now().toISOString(),
    });
  }
}
