/**
 * The institution node's whole HTTP API, in one place.
 *
 * `/business/v1/*` is for the institution's own business systems (既存システム) and clerks;
 * `/network/v1/*` is what the core calls. Both are on one listener for now; they will become two
 * listeners, the network one behind mutual TLS with certificates from the network's CA, the business
 * one reachable only from inside the institution. Until then anyone who can reach the port can call
 * either side: run it on a private network.
 *
 * Every error answer is an `ErrorBody` (`src/shared/errors.ts`); the codes each route can answer are
 * listed beside it. Any route can also answer `ERR_VALIDATION`, `ERR_BODY_NOT_JSON`,
 * `ERR_BODY_TOO_LARGE`, `ERR_UNSUPPORTED_MEDIA_TYPE` and `ERR_INTERNAL`.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  AnswerDelivery,
  CodeDelivery,
  ItemNo,
  ProcessingNumber,
  ProvisionRequest,
} from '../../network/messages.ts';
import { parseInput } from '../../shared/http.ts';
import { AddresseeNumber } from './addressee-number.ts';
import type { AddresseeService } from './addressee/service.ts';
import {
  CodeReissuePageInput,
  CopyInput,
  InquiryInput,
  MAX_WAIT_MS,
  type IntermediateService,
} from './intermediate/service.ts';

const RegisterPersonBody = z.object({
  individualNumber: z.string().max(64),
  addresseeNumber: AddresseeNumber.optional(),
});

const CopyBatchBody = z.object({ copies: z.array(z.unknown()) });

const CopyParams = z.object({ addresseeNumber: AddresseeNumber, itemNo: z.coerce.number().pipe(ItemNo) });

const InquiryParams = z.object({ processingNumber: ProcessingNumber });
const InquiryQuery = z.object({ waitMs: z.coerce.number().int().min(0).max(MAX_WAIT_MS).default(0) });

const RecordsQuery = z.object({
  role: z.enum(['requester', 'provider']).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(100),
});

/** Large enough for a batch of 10,000 copies; every other route keeps the app's 1 MiB limit. */
const BATCH_BODY_LIMIT = 64 * 1024 * 1024;

export function registerInstitutionRoutes(
  app: FastifyInstance,
  services: { addressee: AddresseeService; intermediate: IntermediateService },
): void {
  const { addressee, intermediate } = services;

  // ── Business side ─────────────────────────────────────────────────────────────────────────

  /**
   * POST /business/v1/persons {individualNumber, addresseeNumber?}
   * → 201 {addresseeNumber, codeStatus: 'acquired'} for a new person, 200 for one already registered.
   * The addressee system registers the person and acquires their code through J-LIS (符号取得).
   * Errors: ERR_INVALID_CHARACTER, ERR_INVALID_LENGTH, ERR_INVALID_CHECK_DIGIT, ERR_DUPLICATE; after
   * registration, with details.addresseeNumber (the person stays registered; call again to retry):
   * ERR_UNKNOWN_RESIDENT, ERR_UPSTREAM_UNAVAILABLE, or another code from J-LIS or the core.
   */
  app.post('/business/v1/persons', async (request, reply) => {
    const body = parseInput(RegisterPersonBody, request.body, 'person');
    const person = await addressee.registerPerson({
      individualNumber: body.individualNumber,
      ...(body.addresseeNumber === undefined ? {} : { addresseeNumber: body.addresseeNumber }),
    });
    return reply
      .status(person.created ? 201 : 200)
      .send({ addresseeNumber: person.addresseeNumber, codeStatus: person.codeStatus });
  });

  /**
   * PUT /business/v1/copies {addresseeNumber, itemNo, data}
   * → 200 {addresseeNumber, itemNo, layoutVersion, updatedAt}. Registers or replaces a copy (副本).
   * Errors: ERR_UNKNOWN_ADDRESSEE_NUMBER, ERR_NO_PERSON_CODE, ERR_UNKNOWN_ITEM, ERR_LAYOUT_VIOLATION
   * (details.problems).
   */
  app.put('/business/v1/copies', async (request) => {
    return intermediate.putCopy(parseInput(CopyInput, request.body, 'copy'));
  });

  /**
   * POST /business/v1/copies:batch {copies: [{addresseeNumber, itemNo, data}, …]} (at most 10,000)
   * → 200 {written}. All rows are checked, then all written in one transaction, or none.
   * Errors: ERR_VALIDATION (not a list, or too many), ERR_IMPORT_INVALID (details.rows: every bad
   * row as {index, code, message, problems?}).
   */
  app.post('/business/v1/copies::batch', { bodyLimit: BATCH_BODY_LIMIT }, async (request) => {
    const body = parseInput(CopyBatchBody, request.body, 'batch');
    return intermediate.putCopies(body.copies);
  });

  /**
   * DELETE /business/v1/copies/:addresseeNumber/:itemNo → 204. Idempotent.
   * Errors: ERR_UNKNOWN_ADDRESSEE_NUMBER.
   */
  app.delete('/business/v1/copies/:addresseeNumber/:itemNo', async (request, reply) => {
    const params = parseInput(CopyParams, request.params, 'path');
    await intermediate.deleteCopy(params.addresseeNumber, params.itemNo);
    return reply.status(204).send();
  });

  /**
   * POST /business/v1/inquiries {addresseeNumber, providerId, clauseNo, procedureId, itemNos, nonDisclosure?}
   * → 202 {processingNumber, status: 'pending', requestedAt}. A clerk's inquiry (情報照会), recorded.
   * Errors: ERR_UNKNOWN_ADDRESSEE_NUMBER, ERR_NO_PERSON_CODE; the core's refusal with its code (e.g.
   * ERR_INQUIRY_NOT_AUTHORIZED, ERR_UNKNOWN_CLAUSE, ERR_UNKNOWN_INSTITUTION) and
   * details.{processingNumber, rule}; ERR_UPSTREAM_UNAVAILABLE with a local details.processingNumber.
   */
  app.post('/business/v1/inquiries', async (request, reply) => {
    const accepted = await intermediate.inquire(parseInput(InquiryInput, request.body, 'inquiry'));
    return reply.status(202).send(accepted);
  });

  /**
   * GET /business/v1/inquiries/:processingNumber?waitMs=N (N ≤ 30000)
   * → 200 {processingNumber, status: 'pending'|'answered', outcome, reason?, providerId, clauseNo,
   * procedureId, itemNos, requestedAt, answeredAt?, nonDisclosure, items?}. With waitMs, waits that
   * long for a pending answer (long poll).
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER.
   */
  app.get('/business/v1/inquiries/:processingNumber', async (request) => {
    const { processingNumber } = parseInput(InquiryParams, request.params, 'path');
    const { waitMs } = parseInput(InquiryQuery, request.query, 'query');
    return intermediate.getInquiry(processingNumber, waitMs);
  });

  /**
   * GET /business/v1/provision-records?role=requester|provider&limit=N (default 100, max 10000)
   * → 200 {records: [...]}, newest first, both roles when role is absent. Person codes are not shown:
   * a record names the person by addressee number, when known here.
   */
  app.get('/business/v1/provision-records', async (request) => {
    const query = parseInput(RecordsQuery, request.query, 'query');
    return { records: await intermediate.listProvisionRecords(query.role, query.limit) };
  });

  /**
   * POST /business/v1/provision-records/purge → 200 {before, requester, provider}: deletes records
   * older than the retention period (retentionYears, default 7) and the answers received with them.
   */
  app.post('/business/v1/provision-records/purge', async () => {
    return intermediate.purgeProvisionRecords();
  });

  /**
   * POST /business/v1/code-reissues {after?, limit? (≤ 1000), keyVersion?}
   * → 200 {keyVersion, total, checked, reissued, cleared, next, completed}. One page of re-keying
   * this institution's codes after the core rotated its key; call again with `after: next` and the
   * first page's `keyVersion` until `completed` (`renkei codes reissue` does this with a progress bar).
   * Errors: ERR_KEY_VERSION_CHANGED (rotated meanwhile: start again), ERR_UPSTREAM_UNAVAILABLE, or
   * the core's error code.
   */
  app.post('/business/v1/code-reissues', async (request) => {
    return intermediate.reissueCodesPage(
      parseInput(CodeReissuePageInput, request.body ?? {}, 'code reissue'),
    );
  });

  // ── Network side (called by the core) ─────────────────────────────────────────────────────

  /**
   * POST /network/v1/code-deliveries CodeDelivery → 204. The code for a pending acquisition number.
   * Errors: ERR_UNKNOWN_ACQUISITION_NUMBER, ERR_DUPLICATE.
   */
  app.post('/network/v1/code-deliveries', async (request, reply) => {
    await intermediate.deliverCode(parseInput(CodeDelivery, request.body, 'code delivery'));
    return reply.status(204).send();
  });

  /**
   * POST /network/v1/provision-requests ProvisionRequest → 200 ProvisionAnswer: the automatic answer
   * (自動応答) from this institution's copies; not_held when none (or the person is unknown here).
   * Errors: ERR_LAYOUT_VIOLATION (a copy does not follow the layout in force on the request date).
   */
  app.post('/network/v1/provision-requests', async (request) => {
    return intermediate.answerProvisionRequest(
      parseInput(ProvisionRequest, request.body, 'provision request'),
    );
  });

  /**
   * POST /network/v1/answers AnswerDelivery → 204. The outcome (and items) of this institution's
   * inquiry; stored whether or not the inquiry's 202 was already recorded.
   */
  app.post('/network/v1/answers', async (request, reply) => {
    await intermediate.receiveAnswer(parseInput(AnswerDelivery, request.body, 'answer'));
    return reply.status(204).send();
  });
}
