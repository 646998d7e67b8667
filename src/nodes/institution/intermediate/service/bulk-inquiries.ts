/**
 * Bulk inquiries (一括照会): a business system hands over many persons for one clause, procedure,
 * provider and item list; each person's inquiry goes through the same path as a clerk's (the same
 * checks, the same record at the three parties, the same answer checks), sent in the background with
 * a bounded number in flight, and the bulk inquiry tracks them by processing number.
 *
 * Durable: the persons are stored with the bulk inquiry before the 202; each person is marked sent
 * with its processing number once the core has answered; a node that restarts resumes every
 * unfinished bulk inquiry from the first person not marked sent. Each person's inquiry goes with an
 * idempotency key made from the bulk number and the position (a UUIDv5), so a crash between the
 * core's 202 and that mark sends that person again under the same key, and the core answers with the
 * same processing number: no second inquiry.
 */
import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';
import type { BulkInquiryInput, BulkInquiryStatus, BulkResultPage } from '../../../../protocol/business.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import { Sleeper } from '../../../../shared/sleeper.ts';
import type { BulkInquiryRecord, BulkInquiryStore, BulkProgress } from '../store.ts';
import type { InquiryService } from './inquiries.ts';

export interface BulkInquiryServiceDeps {
  store: BulkInquiryStore;
  inquiries: InquiryService;
  clock: Clock;
  logger: Logger;
  /** Persons' inquiries in flight at once, per bulk inquiry (default 32). */
  concurrency?: number;
  /** How often a bulk inquiry that has sent everything looks for its last answers (default 1 s). */
  pollMs?: number;
}

/** Persons read from the store at a time. */
const CHUNK = 512;
/** A pending inquiry's answer is asked of the core (the clerk's read path) after this long. */
const FETCH_AFTER_MS = 15_000;
/** Progress of a large bulk inquiry is counted at most this often per bulk inquiry. */
const PROGRESS_CACHE_MS = 1_000;

export class BulkInquiryService {
  private readonly running = new Map<string, Promise<void>>();
  private readonly progressCache = new Map<string, { at: number; progress: BulkProgress }>();
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

  private async progress(bulkNumber: string, fresh: boolean): Promise<BulkProgress> {
    const cached = this.progressCache.get(bulkNumber);
    const now = Date.now();
    if (!fresh && cached && now - cached.at < PROGRESS_CACHE_MS) return cached.progress;
    const progress = await this.deps.store.progress(bulkNumber);
    this.progressCache.set(bulkNumber, { at: now, progress });
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
    const { store, inquiries, logger } = this.deps;
    const bulk = await this.find(bulkNumber);
    const input = {
      providerId: bulk.providerId,
      clauseNo: bulk.clauseNo,
      procedureId: bulk.procedureId,
      itemNos: bulk.itemNos,
      nonDisclosure: bulk.nonDisclosure,
    };
    const access = bulk.requestedBy === undefined ? {} : { requestedBy: bulk.requestedBy };
    const concurrency = this.deps.concurrency ?? 32;
    let backoffMs = 0;
    while (!this.closed) {
      const chunk = await store.nextUnsent(bulkNumber, CHUNK);
      if (chunk.length === 0) break;
      const sent: { position: number; processingNumber?: string; errorCode?: string }[] = [];
      let unavailable = false;
      let next = 0;
      const worker = async () => {
        while (next < chunk.length && !this.closed && !unavailable) {
          const member = chunk[next++];
          if (!member) break;
          try {
            const pending = await inquiries.inquire(
              {
                ...input,
                addresseeNumber: member.addresseeNumber,
                requestId: uuidv5(String(member.position), bulkNumber),
              },
              access,
            );
            sent.push({ position: member.position, processingNumber: pending.processingNumber });
          } catch (error) {
            if (error instanceof RenkeiError && error.code === 'ERR_UPSTREAM_UNAVAILABLE') {
              // The core cannot be reached: the attempt is recorded failed like a clerk's (or kept in
              // doubt, to be sent again under the same key), but this person stays to be sent, and the
              // bulk inquiry waits rather than failing everyone.
              unavailable = true;
              break;
            }
            // Refused by the core: recorded under its processing number like a clerk's. Not sendable
            // at all (unknown addressee number, no code yet): the code.
            const processingNumber =
              error instanceof RenkeiError ? error.details.processingNumber : undefined;
            sent.push(
              typeof processingNumber === 'string'
                ? { position: member.position, processingNumber }
                : {
                    position: member.position,
                    errorCode: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL',
                  },
            );
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, chunk.length) }, worker));
      await store.markSent(bulkNumber, sent);
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
        for (const processingNumber of await store.listPending(bulkNumber, 1_000)) {
          await inquiries.getInquiry(processingNumber).catch(() => undefined);
        }
        waitingSince = Date.now();
      }
      await this.sleeper.sleep(this.deps.pollMs ?? 1_000);
    }
  }
}
