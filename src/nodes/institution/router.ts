/**
 * The institution node's HTTP API, as `src/protocol/routes.ts` declares it: `businessApi`
 * (`/business/v1/*`, for the institution's own business systems (既存システム) and clerks) and
 * `networkApi` (`/network/v1/*`, what the core calls). Both are on one listener for now; the trust
 * layer puts the network side behind mutual TLS with certificates from the network's CA and the
 * business side behind the institution's own credentials. Until then anyone who can reach the port
 * can call either side: run it on a private network.
 */
import type { FastifyInstance } from 'fastify';
import { serveOpenApi } from '../../protocol/openapi.ts';
import { serveMetrics } from '../../protocol/monitoring.ts';
import { businessApi, networkApi } from '../../protocol/routes.ts';
import { serve } from '../../protocol/server.ts';
import { loggedErrorResponse } from '../../shared/http.ts';
import type { AddresseeService } from './addressee/service/persons.ts';
import type { ResidentNoticeReceiver } from './addressee/service/resident-notices.ts';
import type { CopyService } from './intermediate/service/copies.ts';
import type { BulkInquiryService } from './intermediate/service/bulk-inquiries.ts';
import type { InquiryService } from './intermediate/service/inquiries.ts';
import type { PersonCodeService } from './intermediate/service/person-codes.ts';
import type { PaymentRequestService } from './intermediate/service/payment-requests.ts';
import type { ProvisionService } from '../../protocol/provider.ts';
import type { NonDisclosureService } from './intermediate/service/non-disclosure.ts';
import type { RecordService } from './intermediate/service/records.ts';
import type { PortalNoticeSender } from './intermediate/service/portal-notices.ts';
import type { RecordLogService } from './intermediate/service/record-log.ts';

export interface InstitutionServices {
  addressee: AddresseeService;
  personCodes: PersonCodeService;
  copies: CopyService;
  inquiries: InquiryService;
  bulkInquiries: BulkInquiryService;
  provisions: ProvisionService;
  records: RecordService;
  nonDisclosure: NonDisclosureService;
  residentNotices: ResidentNoticeReceiver;
  portalNotices: PortalNoticeSender;
  paymentRequests: PaymentRequestService;
  /** The record log: heads, verification, and the core's three-party cross-check. */
  recordLog: RecordLogService;
}

export function registerInstitutionRoutes(app: FastifyInstance, services: InstitutionServices): void {
  const {
    addressee,
    personCodes,
    copies,
    inquiries,
    bulkInquiries,
    provisions,
    records,
    nonDisclosure,
    residentNotices,
    portalNotices,
  } = services;

  // ── Business side ─────────────────────────────────────────────────────────────────────────
  serve(app, businessApi.registerPerson, async ({ body, reply }) => {
    const person = await addressee.registerPerson({
      individualNumber: body.individualNumber,
      ...(body.addresseeNumber === undefined ? {} : { addresseeNumber: body.addresseeNumber }),
    });
    reply.status(person.created ? 201 : 200);
    return { addresseeNumber: person.addresseeNumber, codeStatus: person.codeStatus };
  });
  serve(app, businessApi.putCopy, async ({ body }) => copies.putCopy(body));
  serve(app, businessApi.putCopies, async ({ body }) => copies.putCopies(body.copies));
  serve(app, businessApi.deleteCopy, async ({ params }) => {
    await copies.deleteCopy(params.addresseeNumber, params.itemNo);
    return undefined;
  });
  // The access record (アクセス記録): which business credential made the inquiry, from its certificate.
  serve(app, businessApi.inquire, async ({ body, caller, reply }) => {
    const { waitMs, ...input } = body;
    const status = await inquiries.inquireAndWait(
      input,
      caller === undefined ? {} : { requestedBy: caller.partyId },
      waitMs ?? 0,
    );
    if (status.status === 'answered') reply.status(200);
    return status;
  });
  // Many inquiries in one request: each as `inquire` makes it (they go to the core together, as
  // inquiries arriving at once do), each answered with its status or the error it got.
  serve(app, businessApi.inquireMany, async ({ body, caller, request }) => {
    const access = caller === undefined ? {} : { requestedBy: caller.partyId };
    const results = await Promise.all(
      body.inquiries.map((input) =>
        inquiries.inquireAndWait(input, access, body.waitMs ?? 0).catch((error: unknown) => ({
          status: 'error' as const,
          error: loggedErrorResponse(error, request, 'an inquiry of a set').body.error,
        })),
      ),
    );
    return { results };
  });
  serve(app, businessApi.getInquiry, async ({ params, query }) =>
    inquiries.getInquiry(params.processingNumber, query.waitMs),
  );
  // 一括照会: each person's inquiry made with the submitting credential, as a clerk's would be.
  serve(app, businessApi.submitBulkInquiry, async ({ body, caller }) =>
    bulkInquiries.submit(body, caller === undefined ? {} : { requestedBy: caller.partyId }),
  );
  serve(app, businessApi.getBulkInquiry, async ({ params }) => bulkInquiries.status(params.bulkNumber));
  serve(app, businessApi.getBulkResults, async ({ params, query }) =>
    bulkInquiries.results(params.bulkNumber, query.after, query.limit),
  );
  serve(app, businessApi.listProvisionRecords, async ({ query }) => ({
    records: await records.listProvisionRecords(query.role, query.limit),
  }));
  serve(app, businessApi.purgeProvisionRecords, async () => records.purgeProvisionRecords());
  serve(app, businessApi.liftNonDisclosure, async ({ body }) => nonDisclosure.lift(body.processingNumber));
  serve(app, businessApi.sendResidentMessage, async ({ body, caller }) =>
    portalNotices.send(body, caller === undefined ? {} : { sentBy: caller.partyId }),
  );
  serve(app, businessApi.reissueCodes, async ({ body }) => personCodes.reissueCodesPage(body));
  serve(app, businessApi.listResidentNotices, async ({ query }) => ({
    notices: await residentNotices.list(query.since, query.limit),
  }));

  // ── Network side (called by the core) ─────────────────────────────────────────────────────
  serve(app, networkApi.deliverCode, async ({ body }) => {
    await personCodes.deliverCode(body);
    return undefined;
  });
  serve(app, networkApi.requestProvision, async ({ body }) => provisions.answerProvisionRequest(body));
  serve(app, networkApi.requestProvisionBatch, async ({ body }) => provisions.answerProvisionBatch(body));
  serve(app, networkApi.deliverAnswerBatch, async ({ body }) => {
    await inquiries.receiveAnswerBatch(body);
    return undefined;
  });
  // The oversight commission's cross-check, asked by the core only (the route's callers).
  serve(app, networkApi.checkRecords, async ({ body }) =>
    services.recordLog.check(body.processingNumbers, body.since, body.numbered),
  );
  serve(app, networkApi.notifyProvisionFailure, async ({ body }) => {
    await provisions.recordFailure(body);
    return undefined;
  });
  serve(app, businessApi.getPaymentRequest, async ({ params }) =>
    services.paymentRequests.get(params.noticeId),
  );
  serve(app, networkApi.deliverPaymentConfirmation, async ({ body }) => {
    await services.paymentRequests.confirm(body);
    return undefined;
  });
  serve(app, networkApi.deliverResidentNotice, async ({ body }) => {
    await residentNotices.receive(body);
    return undefined;
  });
  serve(app, networkApi.deliverAnswer, async ({ body }) => {
    await inquiries.receiveAnswer(body);
    return undefined;
  });

  serveOpenApi(app, 'institution');
  serveMetrics(app);
}
