/**
 * The core's HTTP API: `coreApi` (J-LIS and intermediate servers) and `adminApi` (operators), as
 * `src/protocol/routes.ts` declares them, with their error codes. Handlers only call a service; input
 * is parsed by `serve` (failing closed with ERR_VALIDATION) and errors become HTTP statuses once, in
 * shared/http.ts.
 *
 * No route carries a code or a resident record code in its URL: they travel in bodies, which are
 * never logged. The admin routes have no authentication yet (operator network only); the trust layer
 * adds operator credentials with roles (`callers` in the route table).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Statistics } from '../../protocol/admin.ts';
import { serveOpenApi } from '../../protocol/openapi.ts';
import { serveMetrics } from '../../protocol/monitoring.ts';
import { adminApi, coreApi } from '../../protocol/routes.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { serve } from '../../protocol/server.ts';
import { statisticsCsv } from '../../protocol/statistics-csv.ts';
import type { CodeService } from './service/codes.ts';
import type { InquiryService } from './service/inquiries.ts';
import type { InquiryBatchService } from './service/inquiry-batches.ts';
import type { PersonRecordService } from './service/person-records.ts';
import type { RecordService } from './service/records.ts';
import type { Registry } from './service/registry.ts';
import type { ResidentNoticeService } from './service/resident-notices.ts';
import type { PortalNoticeService } from './service/portal-notices.ts';
import type { PaymentConfirmationRelay } from './service/payment-confirmations.ts';
import type { LegalVersionService } from './service/legal-versions.ts';
import type { NetworkHealthService } from './service/network-health.ts';
import type { RecordCheckService } from './service/record-checks.ts';

export interface CoreServices {
  registry: Registry;
  codes: CodeService;
  inquiries: InquiryService;
  batches: InquiryBatchService;
  records: RecordService;
  residentNotices: ResidentNoticeService;
  personRecords: PersonRecordService;
  portalNotices: PortalNoticeService;
  paymentConfirmations: PaymentConfirmationRelay;
  legalVersions: LegalVersionService;
  /** For the operator's console (src/nodes/core/console/), not an API route. */
  health: NetworkHealthService;
  /** For the oversight console's three-party cross-check, not an API route. */
  recordChecks: RecordCheckService;
}

export function registerCoreRoutes(app: FastifyInstance, services: CoreServices): void {
  const csvAnswers = new WeakSet<FastifyRequest>();
  const {
    registry,
    codes,
    inquiries,
    batches,
    records,
    residentNotices,
    personRecords,
    portalNotices,
    legalVersions,
  } = services;

  // ── Registry (operator) ─────────────────────────────────────────────────────────────────────
  serve(app, adminApi.registerInstitution, async ({ params, body, reply }) => {
    const { institution, created } = await registry.register(params.id, body);
    reply.status(created ? 201 : 200);
    return institution;
  });
  serve(app, adminApi.listInstitutions, async () => ({ institutions: await registry.list() }));
  serve(app, adminApi.getInstitution, async ({ params }) => registry.get(params.id));
  serve(app, adminApi.rotateInstitutionKey, async ({ params, request }) => {
    const rotated = await registry.rotateInstitutionKey(params.id);
    request.log.info({ institutionId: params.id, keyVersion: rotated.keyVersion }, 'institution key rotated');
    return { institutionId: rotated.id, keyVersion: rotated.keyVersion };
  });

  // Who suspends is the caller's certificate (`operator:registry:<person>`); without the trust layer
  // (unit tests) there is no caller to name.
  serve(app, adminApi.suspendInstitution, async ({ params, body, caller, request }) => {
    const by = caller?.partyId ?? 'operator';
    const { changed, ...answer } = await registry.setSuspended(params.id, 'suspended', body.reason, by);
    request.log.warn({ institutionId: params.id, by, changed }, 'institution suspended');
    return answer;
  });
  serve(app, adminApi.reinstateInstitution, async ({ params, body, caller, request }) => {
    const by = caller?.partyId ?? 'operator';
    const { changed, ...answer } = await registry.setSuspended(params.id, 'reinstated', body.reason, by);
    request.log.warn({ institutionId: params.id, by, changed }, 'institution reinstated');
    return answer;
  });
  serve(app, adminApi.getSuspensionHistory, async ({ params }) => registry.history(params.id));

  // ── Legal table versions (operator) ─────────────────────────────────────────────────────────
  // Who loaded it is the caller's certificate (`operator:legal:<person>`); without the trust layer
  // (unit tests) there is no caller to name.
  // The service logs the load or its refusal with who and the day.
  serve(app, adminApi.loadLegalVersion, async ({ body, caller, reply }) => {
    const loaded = await legalVersions.load(body, caller?.partyId ?? 'operator');
    reply.status(201);
    return loaded;
  });
  serve(app, adminApi.listLegalVersions, () => ({ versions: legalVersions.list() }));
  serve(app, adminApi.getLegalVersion, ({ params }) => {
    const { version, files } = legalVersions.get(params.digest);
    return { version, files: { ...files } };
  });

  // ── Codes (J-LIS and institutions) ──────────────────────────────────────────────────────────
  // An issuance to a suspended institution is recorded as a refusal (J-LIS is told why).
  serve(app, coreApi.issueCode, async ({ body, refuse }) => {
    try {
      return await codes.issueCode(body);
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_INSTITUTION_SUSPENDED')
        throw await refuse(error);
      throw error;
    }
  });
  serve(app, coreApi.reissueCodes, async ({ body }) =>
    codes.reissueCodes(body.institutionId, body.personCodes),
  );
  serve(app, coreApi.completeReissue, async ({ body }) => codes.completeReissue(body));

  // ── Notices of change (J-LIS) ───────────────────────────────────────────────────────────────
  serve(app, coreApi.listCodeHolders, async ({ body }) => residentNotices.holders(body.residentRecordCode));
  serve(app, coreApi.submitResidentNotice, async ({ body }) => residentNotices.submit(body));

  // ── Notices to residents at the Myna Portal (institutions) ──────────────────────────────────
  // A code that is not the sender's (forged, mistyped, another party's) is recorded as a refusal.
  serve(app, coreApi.submitPortalNotice, async ({ body, refuse }) => {
    try {
      return await portalNotices.submit(body);
    } catch (error) {
      if (
        error instanceof RenkeiError &&
        ['ERR_UNKNOWN_PERSON_CODE', 'ERR_DUPLICATE', 'ERR_INSTITUTION_SUSPENDED'].includes(error.code)
      ) {
        throw await refuse(error);
      }
      throw error;
    }
  });
  // A notice the portal names that the core never delivered to it is recorded as a refusal.
  serve(app, coreApi.relayPaymentConfirmation, async ({ body, refuse }) => {
    try {
      await services.paymentConfirmations.relay(body);
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_UNKNOWN_NOTICE') throw await refuse(error);
      throw error;
    }
    return undefined;
  });

  // ── Inquiries (intermediate servers) ────────────────────────────────────────────────────────
  serve(app, coreApi.submitInquiry, async ({ body, signed }) =>
    inquiries.submit(body, signed === undefined ? {} : { inquiryHash: signed.hash }),
  );
  // A suspended institution is left out: the core would refuse an inquiry to it.
  serve(app, coreApi.getDirectory, async () => ({
    institutions: (await registry.list())
      .filter((institution) => !institution.suspended)
      .map(({ id, name, nameEn, kind }) => ({ id, name, nameEn, kind })),
  }));
  // Behind the trust layer the requester is the caller's certificate; `requesterId` only without it.
  serve(app, coreApi.getInquiryStatus, async ({ params, query, caller }) =>
    inquiries.status(params.processingNumber, caller?.partyId ?? query.requesterId),
  );
  // `requesterId` is bound to the caller's certificate party on the trust layer (the route's
  // `boundTo`). Asking for an inquiry that is not one's own is answered as an unknown processing
  // number and recorded as a refusal; so is a number the core does not know (it cannot tell a
  // guess from a mistake, and should not: both answers must look the same).
  serve(app, coreApi.fetchAnswer, async ({ body, refuse }) => {
    try {
      return await inquiries.fetchAnswer(body.processingNumber, body.requesterId);
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_UNKNOWN_PROCESSING_NUMBER') {
        throw await refuse(error);
      }
      throw error;
    }
  });

  // As `fetchAnswer`: only the requester acknowledges its own inquiry's answer.
  serve(app, coreApi.acknowledgeAnswer, async ({ body, refuse }) => {
    try {
      await inquiries.acknowledgeAnswer(body.processingNumber, body.requesterId);
      return undefined;
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_UNKNOWN_PROCESSING_NUMBER') {
        throw await refuse(error);
      }
      throw error;
    }
  });

  // ── Batches of inquiries (bulk inquiries) ───────────────────────────────────────────────────
  serve(app, coreApi.submitInquiryBatch, async ({ body, signed }) =>
    batches.submit(body, signed === undefined ? {} : { inquiryHash: signed.hash }),
  );
  // As `fetchAnswer`: another's batch is an unknown one, and the refusal is recorded.
  serve(app, coreApi.fetchAnswerBatch, async ({ body, refuse }) => {
    try {
      return await batches.fetch(body.batchId, body.requesterId);
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_UNKNOWN_BATCH') throw await refuse(error);
      throw error;
    }
  });
  serve(app, coreApi.acknowledgeAnswerBatch, async ({ body, refuse }) => {
    try {
      await batches.acknowledge(body.batchId, body.requesterId);
      return undefined;
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_UNKNOWN_BATCH') throw await refuse(error);
      throw error;
    }
  });

  // ── A person's records (the Myna Portal) and the lift of non-disclosure (requesters) ─────────
  // A code that is not the portal's is a security event: the portal asked about someone it has no
  // code for (a bug, or a portal asking about people who never logged in); so is a portal
  // certificate whose party the registry does not list as the portal.
  serve(app, coreApi.listPersonRecords, async ({ body, refuse }) => {
    try {
      return await personRecords.list(body);
    } catch (error) {
      if (
        error instanceof RenkeiError &&
        (error.code === 'ERR_UNKNOWN_PERSON_CODE' || error.code === 'ERR_CALLER_NOT_ALLOWED')
      ) {
        throw await refuse(error);
      }
      throw error;
    }
  });
  // As `fetchAnswer`: another's record is an unknown one, and the refusal is recorded.
  serve(app, coreApi.liftNonDisclosure, async ({ body, refuse }) => {
    try {
      return await personRecords.lift(body.requesterId, body.processingNumber);
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_UNKNOWN_PROCESSING_NUMBER') {
        throw await refuse(error);
      }
      throw error;
    }
  });

  // ── Provision records and statistics (operator) ─────────────────────────────────────────────
  serve(app, adminApi.listProvisionRecords, async ({ query }) => ({ records: await records.list(query) }));
  serve(app, adminApi.purgeProvisionRecords, async () => ({
    purged: await records.purgeExpiredRecords(),
    retentionYears: records.retentionYears,
  }));
  serve(app, adminApi.getStatistics, async ({ query, request }) => {
    if (
      query.format === 'csv' ||
      (query.format === undefined && /\btext\/csv\b/i.test(request.headers.accept ?? ''))
    ) {
      csvAnswers.add(request);
    }
    return records.statistics(query);
  });
  // The CSV is the same answer in another form, rendered after the route's schema-checked JSON: the
  // route table (and the typed client) stay JSON. We considered a second route for CSV, but one path
  // with content negotiation is what an operator's spreadsheet or curl expects.
  app.addHook('onSend', async (request, reply, payload) => {
    if (!csvAnswers.has(request) || reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    void reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="renkei-statistics.csv"');
    return statisticsCsv(Statistics.parse(JSON.parse(payload)));
  });

  // ── This node's OpenAPI document (anyone) ───────────────────────────────────────────────────
  serveOpenApi(app, 'core');
  serveMetrics(app);
}
