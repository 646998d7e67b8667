/**
 * The core's whole HTTP API, in one place. Handlers only parse input (failing closed with
 * ERR_VALIDATION) and call a service; errors become HTTP statuses once, in shared/http.ts.
 *
 * No route carries a code or a resident record code in its URL: they travel in bodies, which are
 * never logged. The admin routes have no authentication yet (operator network only); mutual TLS with
 * an operator certificate is planned with the rest of the network's TLS.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  CodeIssuanceRequest,
  CodeReissueCompletion,
  CodeReissueRequest,
  InquiryRequest,
  InstitutionId,
  InstitutionRegistration,
  ProcessingNumber,
} from '../../network/messages.ts';
import { parseInput } from '../../shared/http.ts';
import type { RecordOutcome } from './model.ts';
import type { CodeService } from './service/codes.ts';
import type { InquiryService } from './service/inquiries.ts';
import type { RecordService } from './service/records.ts';
import type { Registry } from './service/registry.ts';

export interface CoreServices {
  registry: Registry;
  codes: CodeService;
  inquiries: InquiryService;
  records: RecordService;
}

const InstitutionParams = z.object({ id: InstitutionId });
const InquiryParams = z.object({ processingNumber: ProcessingNumber });
const InquiryStatusQuery = z.object({ requesterId: InstitutionId.optional() });

/** An instant or a calendar day (UTC midnight), normalized to `toISOString()` form so it compares as text. */
const Instant = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value).toISOString());

const RecordOutcomeParam = z.enum([
  'pending',
  'provided',
  'not_held',
  'refused',
  'failed',
]) satisfies z.ZodType<RecordOutcome>;

const RecordQuery = z.object({
  from: Instant.optional(),
  to: Instant.optional(),
  requesterId: InstitutionId.optional(),
  providerId: InstitutionId.optional(),
  outcome: RecordOutcomeParam.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const StatisticsQuery = z.object({ from: Instant.optional(), to: Instant.optional() });

export function registerCoreRoutes(app: FastifyInstance, services: CoreServices): void {
  const { registry, codes, inquiries, records } = services;

  // ── Registry (operator) ─────────────────────────────────────────────────────────────────────

  /**
   * `PUT /admin/v1/institutions/:id` — body `InstitutionRegistration`. Registers an institution
   * (201, key version 1) or updates its registration (200, key version kept). Answers the institution.
   * Errors: ERR_VALIDATION.
   */
  app.put('/admin/v1/institutions/:id', async (request, reply) => {
    const { id } = parseInput(InstitutionParams, request.params, 'institution id');
    const registration = parseInput(InstitutionRegistration, request.body, 'institution registration');
    const { institution, created } = await registry.register(id, registration);
    return reply.status(created ? 201 : 200).send(institution);
  });

  /** `GET /admin/v1/institutions` — 200 `{ institutions: Institution[] }`, by id. */
  app.get('/admin/v1/institutions', async () => ({ institutions: await registry.list() }));

  /** `GET /admin/v1/institutions/:id` — 200 `Institution`. Errors: ERR_VALIDATION, ERR_UNKNOWN_INSTITUTION. */
  app.get('/admin/v1/institutions/:id', async (request) => {
    const { id } = parseInput(InstitutionParams, request.params, 'institution id');
    return registry.get(id);
  });

  /**
   * `POST /admin/v1/institutions/:id/key-rotations` — no body. Moves the institution's codes to the
   * next key version; 200 `{ institutionId, keyVersion }`. Codes of the previous version still work
   * until the institution re-keys through `POST /v1/code-reissues` and confirms it.
   * Errors: ERR_VALIDATION (also: no versions left), ERR_UNKNOWN_INSTITUTION, ERR_REKEY_PENDING (the
   * institution has not confirmed re-keying after the last rotation).
   */
  app.post('/admin/v1/institutions/:id/key-rotations', async (request) => {
    const { id } = parseInput(InstitutionParams, request.params, 'institution id');
    const rotated = await registry.rotateInstitutionKey(id);
    request.log.info({ institutionId: id, keyVersion: rotated.keyVersion }, 'institution key rotated');
    return { institutionId: rotated.id, keyVersion: rotated.keyVersion };
  });

  // ── Codes (J-LIS and institutions) ──────────────────────────────────────────────────────────

  /**
   * `POST /v1/code-issuances` (J-LIS) — body `CodeIssuanceRequest`. Finds or creates the person's
   * linking code, derives the institution's code and delivers it to the institution
   * (`POST /network/v1/code-deliveries`); 200 `{ acquisitionNumber, status: 'delivered' }` once the
   * institution accepted it. The code is never in the answer: J-LIS never sees it.
   * Errors: ERR_VALIDATION, ERR_UNKNOWN_INSTITUTION, ERR_UPSTREAM_UNAVAILABLE (institution
   * unreachable), or the institution's own error code when it refuses the delivery.
   */
  app.post('/v1/code-issuances', async (request) => {
    const issuance = parseInput(CodeIssuanceRequest, request.body, 'code issuance request');
    return codes.issueCode(issuance);
  });

  /**
   * `POST /v1/code-reissues` (institution) — body `CodeReissueRequest` (at most 1000 codes; none
   * to learn the current version). 200 `CodeReissueAnswer`: the same persons' codes under the current
   * key version, in order; `null` where a code is not one of this institution's.
   * Errors: ERR_VALIDATION, ERR_UNKNOWN_INSTITUTION.
   */
  app.post('/v1/code-reissues', async (request) => {
    const reissue = parseInput(CodeReissueRequest, request.body, 'code reissue request');
    return codes.reissueCodes(reissue.institutionId, reissue.personCodes);
  });

  /**
   * `POST /v1/code-reissues/completions` (institution) — body `CodeReissueCompletion`: all its codes
   * are now under `keyVersion`. 200 `{ institutionId, keyVersion, rekeyedVersion }`.
   * Errors: ERR_VALIDATION, ERR_UNKNOWN_INSTITUTION, ERR_KEY_VERSION_CHANGED.
   */
  app.post('/v1/code-reissues/completions', async (request) => {
    const completion = parseInput(CodeReissueCompletion, request.body, 'code reissue completion');
    return codes.completeReissue(completion);
  });

  // ── Inquiries (intermediate servers) ────────────────────────────────────────────────────────

  /**
   * `POST /v1/inquiries` — body `InquiryRequest`. 202 `InquiryAccepted`; the core then forwards to
   * the provider and delivers the answer to the requester's `POST /network/v1/answers`.
   * Every refusal carries `details.processingNumber` and, for the known requester, is recorded.
   * Errors: ERR_VALIDATION (malformed body or code; not numbered), ERR_UNKNOWN_INSTITUTION,
   * ERR_UNKNOWN_PERSON_CODE, ERR_UNKNOWN_CLAUSE, ERR_UNKNOWN_PROCEDURE, ERR_UNKNOWN_ITEM,
   * ERR_INQUIRY_NOT_AUTHORIZED (`details.rule` names the legal table's rule).
   */
  app.post('/v1/inquiries', async (request, reply) => {
    const inquiry = parseInput(InquiryRequest, request.body, 'inquiry');
    const accepted = await inquiries.submit(inquiry);
    return reply.status(202).send(accepted);
  });

  /**
   * `GET /v1/inquiries/:processingNumber?requesterId=` — 200 the inquiry's status (outcome, reason,
   * times, delivery; never items). With `requesterId`, an inquiry of another requester is unknown.
   * Errors: ERR_VALIDATION, ERR_UNKNOWN_PROCESSING_NUMBER.
   */
  app.get('/v1/inquiries/:processingNumber', async (request) => {
    const { processingNumber } = parseInput(InquiryParams, request.params, 'processing number');
    const { requesterId } = parseInput(InquiryStatusQuery, request.query, 'query');
    return inquiries.status(processingNumber, requesterId);
  });

  // ── Provision records and statistics (operator) ─────────────────────────────────────────────

  /**
   * `GET /admin/v1/provision-records?from=&to=&requesterId=&providerId=&outcome=&limit=` — 200
   * `{ records: ProvisionRecord[] }`, newest first; `from` inclusive, `to` exclusive (instants or
   * UTC days); `limit` 1–1000, default 100. Errors: ERR_VALIDATION.
   */
  app.get('/admin/v1/provision-records', async (request) => {
    const query = parseInput(RecordQuery, request.query, 'query');
    return { records: await records.list(query) };
  });

  /**
   * `POST /admin/v1/provision-records/purge` — no body. Deletes the records older than the retention
   * policy (by the core's clock); 200 `{ purged, retentionYears }`.
   */
  app.post('/admin/v1/provision-records/purge', async () => {
    const purged = await records.purgeExpiredRecords();
    return { purged, retentionYears: records.retentionYears };
  });

  /**
   * `GET /admin/v1/statistics?from=&to=` — 200 `{ total, byOutcome, byClause, byItem }`.
   * Errors: ERR_VALIDATION.
   */
  app.get('/admin/v1/statistics', async (request) => {
    const range = parseInput(StatisticsQuery, request.query, 'query');
    return records.statistics(range);
  });
}
