/**
 * Bulk inquiries (一括照会): a business system hands over many persons for one clause, procedure,
 * provider and item list; they go to the core in batches (`InquiryService.inquireBatch`, up to
 * `MAX_BATCH_MEMBERS` persons in one signed message, a few batches in flight), and every person is
 * still an inquiry of its own: its own processing number, the same checks, the same record at the
 * three parties and the same answer checks as a clerk's. We considered sending each person as a
 * single exchange (the first version: 68 persons/s, 32 in flight), but a signature, a code
 * conversion and a commit per person at each party cannot reach a million persons in five minutes.
 *
 * Durable: the persons are stored with the bulk inquiry before the 202; each batch's persons are
 * marked sent with their processing numbers, in one transaction, once the core has answered. A node
 * that restarts resumes every unfinished bulk inquiry from the first batch not marked sent. A batch's
 * id is made from the bulk number and its first position, so a batch the core accepted but that was
 * not marked before a crash is sent again under the same id: the core answers as the first time and
 * records nothing twice.
 */
import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';
import { MAX_BATCH_MEMBERS } from '../../../../protocol/messages.ts';
import type { BulkInquiryInput, BulkInquiryStatus, BulkResultPage } from '../../../../protocol/business.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import { Sleeper } from '../../../../shared/sleeper.ts';
import type { BulkInquiryRecord, BulkInquiryStore, BulkProgress, IntermediateStore } from '../store.ts';
import type { InquiryService } from './inquiries.ts';

export interface BulkInquiryServiceDeps {
  store: BulkInquiryStore;
  inquiries: InquiryService;
  clock: Clock;
  logger: Logger;
  /** Where the persons' codes are (the intermediate store). */
  persons: Pick<IntermediateStore, 'findPersons'>;
  /** Batches in flight at once, per bulk inquiry (default 4). */
  batchesInFlight?: number;
  /** Persons per batch (default and most: `MAX_BATCH_MEMBERS`). */
  batchSize?: number;
  /** How often a bulk inquiry that has sent everything looks for its last answers (default 1 s). */
  pollMs?: number;
}

/** The namespace of batch ids (UUIDv5 of the bulk number and the batch's first position). */
const BATCH_NAMESPACE = '9b1f4c62-3c55-4a8e-9d0e-5b7a1c2f8e41';
/** A pending inquiry's answer is asked of the core (the clerk's read path) after this long. */
const FETCH_AFTER_MS = 15_000;
/** Progress of a large bulk inquiry is counted at most this often per bulk inquiry. */
const PROGRESS_CACHE_MS = 1_000;

export class BulkInquiryService {
  private readonly running = new Map<string, Promise<void>>();
  private readonly progressCache = new Map<string, { at: number; progress: BulkProgress; tookMs: number }>();

  private readonly sleeper = new Sleeper();
  private closed = false;

  constructor(private readonly deps: BulkInquiryServiceDeps) {}

  /**
   * Store the bulk inquiry and its persons, start sending, and answer where it stands.
   * `requestedBy` is the business credential it came with (the access record of each inquiry).
   */
  async submit(input: BulkInquiryInput, access: { requestedBy?: string } = {}): Promise<BulkInquiryStatus> {
    const bulk: BulkInquiryRecord = {
      bulkNumber: uuidv7(),
      providerId: input.providerId,
      clauseNo: input.clauseNo,
      procedureId: input.procedureId,
      itemNos: input.itemNos,
      nonDisclosure: input.nonDisclosure ?? false,
      total: input.addresseeNumbers.length,
      createdAt: this.deps.clock.now().toISOString(),
      ...(access.requestedBy === undefined ? {} : { requestedBy: access.requestedBy }),
    };
    await this.deps.store.createBulk(bulk, input.addresseeNumbers);
    this.deps.logger.info({ bulkNumber: bulk.bulkNumber, total: bulk.total }, 'bulk inquiry accepted');
    this.start(bulk.bulkNumber);
    return this.status(bulk.bulkNumber);
  }

  /** Where a bulk inquiry stands. Errors: ERR_UNKNOWN_BULK_NUMBER. */
  async status(bulkNumber: string): Promise<BulkInquiryStatus> {
    const bulk = await this.find(bulkNumber);
    const progress = await this.progress(bulkNumber, bulk.finishedAt !== undefined);
    return {
      bulkNumber,
      status: bulk.finishedAt === undefined ? 'running' : 'done',
      providerId: bulk.providerId,
      clauseNo: bulk.clauseNo,
      procedureId: bulk.procedureId,
      itemNos: bulk.itemNos,
      total: bulk.total,
      sent: progress.sent,
      finished: progress.finished,
      outcomes: progress.outcomes,
      createdAt: bulk.createdAt,
      ...(bulk.finishedAt === undefined ? {} : { finishedAt: bulk.finishedAt }),
      ...(bulk.requestedBy === undefined ? {} : { requestedBy: bulk.requestedBy }),
    };
  }

  /** A page of results, in the order submitted. Errors: ERR_UNKNOWN_BULK_NUMBER. */
  async results(bulkNumber: string, after: number | undefined, limit: number): Promise<BulkResultPage> {
    await this.find(bulkNumber);
    const results = await this.deps.store.results(bulkNumber, after ?? -1, limit);
    const last = results.at(-1);
    return {
      results: results.map((r) => ({
        position: r.position,
        addresseeNumber: r.addresseeNumber,
        outcome: r.outcome,
        ...(r.processingNumber === undefined ? {} : { processingNumber: r.processingNumber }),
        ...(r.reason === undefined ? {} : { reason: r.reason }),
        ...(r.items === undefined ? {} : { items: r.items }),
      })),
      ...(last !== undefined && results.length === limit ? { next: last.position } : {}),
    };
  }

  /** Resume every unfinished bulk inquiry (at start). */
  async resume(): Promise<number> {
    const unfinished = await this.deps.store.listUnfinishedBulks();
    for (const bulkNumber of unfinished) this.start(bulkNumber);
    if (unfinished.length > 0) this.deps.logger.info({ count: unfinished.length }, 'bulk inquiries resumed');
    return unfinished.length;
  }

  /** Resolves when no bulk inquiry is running (all finished, or stopped by `close`). */
  async whenIdle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /** Stop sending; what is not sent stays stored for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    this.sleeper.wakeAll();
    await this.whenIdle();
  }

  private async find(bulkNumber: string): Promise<BulkInquiryRecord> {
    const bulk = await this.deps.store.findBulk(bulkNumber);
    if (!bulk) {
      throw new RenkeiError(
        'ERR_UNKNOWN_BULK_NUMBER',
        'No bulk inquiry of this institution has this number.',
      );
    }
    return bulk;
  }

  /**
   * Progress is counted over every person of the bulk inquiry (a join with the requester records),
   * which takes about a second for a million persons: it is counted again at most once per
   * `PROGRESS_CACHE_MS` or ten times as long as it last took, so that watching a large bulk inquiry
   * costs it at most a tenth of its time.
   */
  private async progress(bulkNumber: string, fresh: boolean): Promise<BulkProgress> {
    const cached = this.progressCache.get(bulkNumber);
    const now = Date.now();
    if (!fresh && cached && now - cached.at < Math.max(PROGRESS_CACHE_MS, 10 * cached.tookMs)) {
      return cached.progress;
    }
    const progress = await this.deps.store.progress(bulkNumber);
    this.progressCache.set(bulkNumber, { at: now, progress, tookMs: Date.now() - now });
    return progress;
  }

  private start(bulkNumber: string): void {
    if (this.running.has(bulkNumber) || this.closed) return;
    const run = this.run(bulkNumber)
      .catch((error: unknown) => {
        // Stored state is intact: the next start resumes it.
        this.deps.logger.error(
          { bulkNumber, code: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL' },
          'bulk inquiry stopped',
        );
      })
      .finally(() => this.running.delete(bulkNumber));
    this.running.set(bulkNumber, run);
  }

  private async run(bulkNumber: string): Promise<void> {
    const { store, inquiries, logger, persons } = this.deps;
    const bulk = await this.find(bulkNumber);
    const input = {
      providerId: bulk.providerId,
      clauseNo: bulk.clauseNo,
      procedureId: bulk.procedureId,
      itemNos: bulk.itemNos,
      nonDisclosure: bulk.nonDisclosure,
    };
    const access = bulk.requestedBy === undefined ? {} : { requestedBy: bulk.requestedBy };
    const inFlight = this.deps.batchesInFlight ?? 4;
    const batchSize = this.deps.batchSize ?? MAX_BATCH_MEMBERS;
    let backoffMs = 0;
    while (!this.closed) {
      // Batches are read one after another from a cursor, and sent `inFlight` at a time: a batch is
      // the next `batchSize` persons not yet sent, so after a restart the first unsent batch is
      // read again with the same persons and the same id (made from its first position).
      let cursor = -1;
      let reading: Promise<unknown> = Promise.resolve();
      let unavailable = false;
      let sentAny = false;
      const nextBatch = () => {
        const read = reading.then(async () => {
          const rows = await store.nextUnsentAfter(bulkNumber, cursor, batchSize);
          const last = rows.at(-1);
          if (last) cursor = last.position;
          return rows;
        });
        reading = read.catch(() => undefined);
        return read;
      };
      const worker = async () => {
        while (!this.closed && !unavailable) {
          const group = await nextBatch();
          const first = group[0];
          if (!first) return;
          sentAny = true;
          const batchId = uuidv5(`${bulkNumber}/${first.position}`, BATCH_NAMESPACE);
          const found = await persons.findPersons(group.map((m) => m.addresseeNumber));
          const rows: {
            position: number;
            addresseeNumber: string;
            processingNumber?: string;
            errorCode?: string;
          }[] = [];
          const sendable: { position: number; addresseeNumber: string; personCode: string }[] = [];
          for (const member of group) {
            const person = found.get(member.addresseeNumber);
            if (!person) rows.push({ ...member, errorCode: 'ERR_UNKNOWN_ADDRESSEE_NUMBER' });
            else if (person.personCode === undefined)
              rows.push({ ...member, errorCode: 'ERR_NO_PERSON_CODE' });
            else sendable.push({ ...member, personCode: person.personCode });
          }
          if (sendable.length > 0) {
            try {
              const results = await inquiries.inquireBatch({ batchId, ...input }, sendable, access);
              results.forEach((r, i) => {
                const member = sendable[i]!;
                rows.push({
                  position: member.position,
                  addresseeNumber: member.addresseeNumber,
                  processingNumber: r.processingNumber,
                });
              });
            } catch (error) {
              if (error instanceof RenkeiError && error.status < 500) {
                // Refused whole by the core (a batch it cannot take): each person fails with the code.
                for (const member of sendable) {
                  rows.push({
                    position: member.position,
                    addresseeNumber: member.addresseeNumber,
                    errorCode: error.code,
                  });
                }
              } else {
                // The core cannot be reached or failed: nothing of this batch is an inquiry yet; it is
                // sent again, under the same id, after a wait.
                logger.warn(
                  { bulkNumber, batchId, code: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL' },
                  'a batch could not be sent',
                );
                unavailable = true;
                return;
              }
            }
          }
          rows.sort((a, b) => a.position - b.position);
          await store.markBatchSent(bulkNumber, batchId, rows);
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      if (!unavailable && !sentAny) break;
      if (unavailable) {
        backoffMs = Math.min(30_000, Math.max(1_000, backoffMs * 2));
        logger.warn({ bulkNumber, retryInMs: backoffMs }, 'the core is unreachable: bulk inquiry waits');
        await this.sleeper.sleep(backoffMs);
      } else {
        backoffMs = 0;
      }
    }
    // Everything sent: wait for the last answers, asking the core for those that take long.
    let waitingSince = Date.now();
    while (!this.closed) {
      const progress = await this.progress(bulkNumber, true);
      if (progress.finished >= progress.total) {
        await store.finishBulk(bulkNumber, this.deps.clock.now().toISOString());
        logger.info({ bulkNumber, ...progress.outcomes }, 'bulk inquiry finished');
        return;
      }
      if (Date.now() - waitingSince >= FETCH_AFTER_MS) {
        // Answers the core could not push: fetched batch by batch.
        for (const { batchId, processingNumbers } of await store.listPendingBatches(bulkNumber, 10_000)) {
          await inquiries.fetchAnswerBatch(batchId, processingNumbers).catch(() => undefined);
        }
        waitingSince = Date.now();
      }
      await this.sleeper.sleep(
        Math.max(this.deps.pollMs ?? 1_000, 10 * (this.progressCache.get(bulkNumber)?.tookMs ?? 0)),
      );
    }
  }
}
