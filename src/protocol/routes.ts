/**
 * The route table of the whole network: every API, every operation, in one place. Each node's router
 * serves its tables with `serve` (server.ts) and every caller reaches them through `createClient`, so
 * a path, a method, a status or a schema is written once.
 *
 *   API            served by                   called by
 *   healthApi      every node                  anyone (operators' probes, the CLI, API tooling)
 *   monitoringApi  every node                  the network's monitoring (Prometheus), an operator:monitoring certificate
 *   coreApi        the core                    J-LIS (code issuance, notices of change), institutions (inquiries, re-keying),
 *                                              the Myna Portal (a person's records)
 *   adminApi       the core                    the network's operators
 *   jlisApi        J-LIS                       institutions' addressee systems; municipalities; the portal
 *   jpkiApi        J-LIS (JPKI)                relying parties (banks…); J-LIS's operators
 *   networkApi     each institution            the core (the portal serves its deliverCode)
 *   portalApi      the Myna Portal             the core (institutions' notices to residents); municipalities (申請データダウンロード)
 *   businessApi    each institution            that institution's business systems and clerks
 *   corporateApi   the corporate-number service anyone (lookups); the NTA's business systems (designations)
 *
 * Every route also answers `ERR_VALIDATION`, `ERR_BODY_NOT_JSON`, `ERR_BODY_TOO_LARGE`,
 * `ERR_UNSUPPORTED_MEDIA_TYPE` and `ERR_INTERNAL`; the codes listed beside a route are its own.
 */
import {
  ApplicationBulk,
  ApplicationBulkRequest,
  ApplicationDownload,
  ApplicationList,
  ApplicationListQuery,
  ApplicationParams,
} from './onestop-applications.ts';
import { z } from 'zod';
import {
  InstitutionList,
  NetworkDirectory,
  InstitutionParams,
  InstitutionRegistration,
  Institution,
  KeyRotated,
  SuspensionChange,
  SuspensionHistory,
  LegalVersionFiles,
  LegalVersionList,
  LegalVersionLoad,
  LegalVersionLoaded,
  LegalVersionParams,
  ProvisionRecordList,
  ProvisionRecordQuery,
  RecordsPurged,
  Statistics,
  StatisticsQuery,
} from './admin.ts';
import { NoContent, defineApi, pickRoutes } from './api.ts';
import { RecordCheckAnswer, RecordCheckRequest } from './record-checks.ts';
import { PortalCodeAcquisitionRequest } from './portal.ts';
import {
  PaymentConfirmationDelivery,
  PaymentConfirmationSubmission,
  PaymentRequestParams,
  PaymentRequestStatus,
} from './payments.ts';
import {
  PortalNoticeAccepted,
  PortalNoticeDelivery,
  PortalNoticeSubmission,
  ResidentMessageInput,
  ResidentMessageSent,
} from './portal-notices.ts';
import {
  CardApplication,
  CardDelivery,
  CardEndorsement,
  CardIssuance,
  CardIssued,
  CardLookup,
  CardReissue,
  CardRenewal,
  CardRevocation,
  CardSuspension,
  CardSuspensionLift,
  CardView,
  PinUnlock,
  SigningCertificateIssuance,
} from './cards.ts';
import {
  AuthenticationSerialAnswer,
  LinkRegistered,
  LinkRequest,
  NewestSigningAnswer,
  RelyingPartyList,
  RelyingPartyRegistration,
  RelyingPartyView,
  SigningSerialQuery,
} from './jpki.ts';
import {
  ChangesPage,
  ChangesQuery,
  Corporation,
  CorporationChange,
  CorporationCsv,
  CorporationPage,
  CorporationParams,
  CorporationQuery,
  CorporationSearch,
  Designation,
  DownloadQuery,
} from './corporate.ts';
import {
  BulkInquiryInput,
  BulkInquiryParams,
  BulkInquiryStatus,
  BulkResultPage,
  BulkResultsQuery,
  CodeReissuePage,
  CodeReissuePageInput,
  CopiesWritten,
  CopyBatch,
  CopyInput,
  CopyParams,
  InquiryInput,
  InquiryParams,
  InquiryReply,
  InquirySetInput,
  InquirySetReply,
  InquiryStatus,
  InquiryWait,
  InstitutionRecordList,
  InstitutionRecordsPurged,
  NonDisclosureLiftInput,
  PersonRegistered,
  PersonRegistration,
  RecordsQuery,
  StoredCopy,
} from './business.ts';
import { InstitutionId, ProcessingNumber } from './identifiers.ts';
import {
  AnswerBatchDelivery,
  AnswerBatchAcknowledgement,
  AnswerBatchFetch,
  AnswerDelivery,
  AnswerAcknowledgement,
  AnswerFetch,
  CodeAcquisitionRelayed,
  CodeAcquisitionRequest,
  CodeDelivery,
  CodeIssuanceRequest,
  CodeIssued,
  CodeReissueAnswer,
  CodeReissueCompletion,
  CodeReissueRequest,
  InquiryAccepted,
  InquiryBatchAccepted,
  InquiryBatchRequest,
  InquiryRequest,
  NetworkInquiryStatus,
  ProvisionAnswer,
  ProvisionBatchAnswer,
  ProvisionBatchRequest,
  ProvisionFailure,
  ProvisionRequest,
} from './messages.ts';
import {
  NonDisclosureLift,
  NonDisclosureLifted,
  PersonRecordPage,
  PersonRecordQuery,
} from './person-records.ts';
import {
  CodeHolderLookup,
  CodeHolders,
  ResidentNoticeAccepted,
  ResidentNoticeDelivery,
  ResidentNoticeList,
  ResidentNoticeQuery,
  ResidentNoticeSubmission,
} from './resident-notices.ts';
import {
  IdentityRecordView,
  NewResident,
  NumberChange,
  NumberedResident,
  ResidentChange,
  ResidentCount,
  ResidentLookup,
} from './residents.ts';

export const Health = z.object({ status: z.literal('ok'), node: z.string() });
export type Health = z.infer<typeof Health>;
export const Readiness = z.object({ status: z.literal('ready'), node: z.string() });
export type Readiness = z.infer<typeof Readiness>;

/** An OpenAPI 3.1 document (openapi.ts makes it): its full schema is OpenAPI's, not ours. */
export const OpenApiDocument = z.looseObject({
  openapi: z.string(),
  /** Path → method → operation. */
  paths: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.unknown()))),
});
export type OpenApiDocument = z.infer<typeof OpenApiDocument>;

export const healthApi = defineApi('health', {
  /** `GET /healthz`: the node is up, and which node it is (`core`, `jlis`, `institution:<id>`). */
  health: {
    method: 'GET',
    path: '/healthz',
    status: 200,
    callers: ['anyone'],
    label: 'request',
    response: Health,
  },
  /**
   * `GET /readyz`: the node can do its work now: each of its databases answered a `select 1` within
   * 2 s, and the disk of its data directory has room (src/shared/readiness.ts), for a load balancer or
   * an orchestrator. Errors: ERR_DATABASE_UNAVAILABLE (503) with `details.database` naming which of
   * its databases (`core`, `intermediate`…), never where it is; ERR_STORAGE_FULL (503) with
   * `details.freeBytes`.
   */
  ready: {
    method: 'GET',
    path: '/readyz',
    status: 200,
    callers: ['anyone'],
    label: 'request',
    response: Readiness,
  },
  /**
   * `GET /openapi.json`: the node's OpenAPI 3.1 document, generated from this table and its schemas
   * (`serveOpenApi` in openapi.ts), listing exactly the routes of `NODE_APIS` for its kind that the
   * node serves (one configured without a part, the portal without ぴったりサービス, lists no route of it).
   */
  apiDocument: {
    method: 'GET',
    path: '/openapi.json',
    status: 200,
    callers: ['anyone'],
    label: 'request',
    response: OpenApiDocument,
  },
});

export const monitoringApi = defineApi('monitoring', {
  /**
   * `GET /metrics`: the node's figures in Prometheus's text format (src/shared/metrics.ts): requests
   * by route pattern, method and status with their durations, errors by code, and the process's CPU,
   * memory, event-loop delay and garbage collection. For the network's monitoring only (an
   * `operator:monitoring:…` certificate): no personal data, but how busy each route is and which
   * errors a node answers are the operator's to know.
   */
  metrics: {
    method: 'GET',
    path: '/metrics',
    status: 200,
    callers: ['operator:monitoring'],
    label: 'request',
    response: z.string(),
    answerMediaType: 'text/plain; version=0.0.4; charset=utf-8',
  },
});

export const coreApi = defineApi('core', {
  /**
   * J-LIS relays a code acquisition with the resident record code; the core finds or creates the
   * linking code, derives the institution's code and delivers it to the institution (`networkApi.deliverCode`)
   * before answering. The code is never in the answer: J-LIS never sees it.
   * Errors: ERR_UNKNOWN_INSTITUTION, ERR_UPSTREAM_UNAVAILABLE, or the institution's refusal.
   */
  issueCode: {
    method: 'POST',
    path: '/v1/code-issuances',
    status: 200,
    callers: ['jlis'],
    label: 'code issuance request',
    body: CodeIssuanceRequest,
    message: 'CodeIssuanceRequest',
    answer: 'CodeIssued',
    response: CodeIssued,
  },
  /**
   * One page (≤ 1000) of an institution's codes re-keyed under its current key version, in order;
   * null for a code not the institution's. Errors: ERR_UNKNOWN_INSTITUTION.
   */
  reissueCodes: {
    method: 'POST',
    path: '/v1/code-reissues',
    status: 200,
    callers: ['institution'],
    label: 'code reissue request',
    body: CodeReissueRequest,
    message: 'CodeReissueRequest',
    answer: 'CodeReissueAnswer',
    boundTo: 'institutionId',
    response: CodeReissueAnswer,
  },
  /**
   * The institution confirms every code it holds is under `keyVersion`.
   * Errors: ERR_UNKNOWN_INSTITUTION, ERR_KEY_VERSION_CHANGED.
   */
  completeReissue: {
    method: 'POST',
    path: '/v1/code-reissues/completions',
    status: 200,
    callers: ['institution'],
    label: 'code reissue completion',
    body: CodeReissueCompletion,
    message: 'CodeReissueCompletion',
    answer: 'CodeReissueCompleted',
    boundTo: 'institutionId',
    response: z.object({ institutionId: InstitutionId, keyVersion: z.number(), rekeyedVersion: z.number() }),
  },
  /**
   * An intermediate server's inquiry: numbered, authorized against the legal table, recorded, then
   * forwarded to the provider; the outcome goes to the requester's `networkApi.deliverAnswer`. The
   * Myna Portal asks too, as a requester of kind `portal` (自己情報表示: the legal table's clause 900
   * names it, and no other clause does).
   * Errors (each refusal with `details.processingNumber`, recorded): ERR_UNKNOWN_INSTITUTION,
   * ERR_UNKNOWN_PERSON_CODE, ERR_UNKNOWN_CLAUSE, ERR_UNKNOWN_PROCEDURE, ERR_UNKNOWN_ITEM,
   * ERR_INQUIRY_NOT_AUTHORIZED (`details.rule`).
   */
  submitInquiry: {
    method: 'POST',
    path: '/v1/inquiries',
    status: 202,
    callers: ['institution', 'portal'],
    label: 'inquiry',
    body: InquiryRequest,
    message: 'InquiryRequest',
    answer: 'InquiryAccepted',
    boundTo: 'requesterId',
    response: InquiryAccepted,
  },
  /**
   * The network's directory: every institution in the registry, its name and kind (no address), for
   * the clerk consoles' list of providers. Only the network's parties; J-LIS has no use for it.
   */
  getDirectory: {
    method: 'GET',
    path: '/v1/directory',
    status: 200,
    callers: ['institution', 'portal'],
    label: 'directory request',
    response: NetworkDirectory,
  },
  /**
   * Where an inquiry is (outcome, times, delivery; never items), for its requester.
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER.
   */
  getInquiryStatus: {
    method: 'GET',
    path: '/v1/inquiries/:processingNumber',
    status: 200,
    callers: ['institution'],
    label: 'inquiry status request',
    params: z.object({ processingNumber: ProcessingNumber }),
    query: z.object({ requesterId: InstitutionId.optional() }),
    response: NetworkInquiryStatus,
  },
  /**
   * The requester fetches an answer it has not received (it was down when the core pushed it, or the
   * push failed): the same `AnswerDelivery` the push carries, sealed items as the provider sealed
   * them. The fetch changes nothing at the core: it may be repeated, and gets the same answer (the
   * same sealed bytes), until the requester acknowledges it (`acknowledgeAnswer`) once it has recorded
   * it, or a push lands, or the kept answer expires. So an answer lost in transit (the requester
   * killed, the connection cut after the core sent it) is fetched again, never gone. Only the
   * inquiry's requester may fetch; for anyone else the inquiry does not exist (and the refusal is
   * recorded).
   *
   * A POST with a signed body, not a GET: a GET has no body, so on the trust layer it could carry no
   * signed request, and `serve` signs an answer only in response to one (naming its hash). The signed
   * request proves who fetched, is fresh and never replayed, and binds the core's signed answer to it.
   *
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER (unknown, or another institution's), ERR_ANSWER_NOT_READY
   * (the provider has not answered yet), ERR_ANSWER_GONE (acknowledged already, expired, or items that
   * were never kept: without the trust layer the core never keeps items in clear).
   */
  fetchAnswer: {
    method: 'POST',
    path: '/v1/answer-fetches',
    status: 200,
    callers: ['institution', 'portal'],
    label: 'answer fetch',
    body: AnswerFetch,
    message: 'AnswerFetch',
    answer: 'AnswerDelivery',
    boundTo: 'requesterId',
    response: AnswerDelivery,
  },
  /**
   * The requester has recorded a fetched answer durably: the core records the delivery `delivered`
   * (event `delivery`) and drops the kept answer, in one transaction. Idempotent: an acknowledgement
   * of a delivery already ended (acknowledged, pushed, expired) changes nothing and is answered the
   * same. A requester that never acknowledges (an older node) still ends its deliveries: the core's
   * push goes on until one lands, and a push answered 2xx is an acknowledgement (the requester
   * answers it only once it has recorded the answer). Only the inquiry's requester may acknowledge;
   * for anyone else the inquiry does not exist (and the refusal is recorded).
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER (unknown, or another institution's), ERR_ANSWER_NOT_READY
   * (the provider has not answered yet: there is nothing to acknowledge).
   */
  acknowledgeAnswer: {
    method: 'POST',
    path: '/v1/answer-acknowledgements',
    status: 204,
    callers: ['institution', 'portal'],
    label: 'answer acknowledgement',
    body: AnswerAcknowledgement,
    message: 'AnswerAcknowledgement',
    boundTo: 'requesterId',
    response: NoContent,
  },
  /**
   * Many inquiries in one signed message (a batch, for bulk inquiries): up to `MAX_BATCH_MEMBERS`
   * persons for one provider, clause, procedure and item list. Authorized once (the decision is the
   * same for every member), each member numbered and recorded as an inquiry of its own, all in one
   * transaction; then forwarded to the provider as one `networkApi.requestProvisionBatch`, and the
   * outcomes pushed back as one `networkApi.deliverAnswerBatch`. A member whose code is not one the
   * core issued to the requester is refused alone (`ERR_UNKNOWN_PERSON_CODE` in its `reason`); a
   * batch that is not authorized is accepted with every member refused (each recorded). A resend
   * under the same `batchId` gets the first answer again and changes nothing.
   * Errors: ERR_UNKNOWN_INSTITUTION (the requester), ERR_DUPLICATE (the batch id is another's).
   */
  submitInquiryBatch: {
    method: 'POST',
    path: '/v1/inquiry-batches',
    status: 202,
    callers: ['institution'],
    label: 'inquiry batch',
    body: InquiryBatchRequest,
    message: 'InquiryBatchRequest',
    answer: 'InquiryBatchAccepted',
    boundTo: 'requesterId',
    response: InquiryBatchAccepted,
  },
  /**
   * The requester fetches a batch's answer it has not received (as `fetchAnswer`: repeatable, the
   * same answer each time, until acknowledged with `acknowledgeAnswerBatch`, pushed, or expired).
   * Only the batch's requester may fetch.
   * Errors: ERR_UNKNOWN_BATCH (unknown, or another institution's), ERR_ANSWER_NOT_READY, ERR_ANSWER_GONE.
   */
  fetchAnswerBatch: {
    method: 'POST',
    path: '/v1/answer-batch-fetches',
    status: 200,
    callers: ['institution'],
    label: 'answer batch fetch',
    body: AnswerBatchFetch,
    message: 'AnswerBatchFetch',
    answer: 'AnswerBatchDelivery',
    boundTo: 'requesterId',
    response: AnswerBatchDelivery,
  },
  /**
   * Which institutions hold a code for the person (the core recorded each issuance: `code_holders`),
   * for J-LIS to seal a notice of change to each. J-LIS only: an institution may not learn who else
   * holds a person. Errors: none of its own (a person with no code has no holders).
   */
  listCodeHolders: {
    method: 'POST',
    path: '/v1/code-holder-lookups',
    status: 200,
    callers: ['jlis'],
    label: 'code holder lookup',
    body: CodeHolderLookup,
    message: 'CodeHolderLookup',
    answer: 'CodeHolders',
    response: CodeHolders,
  },
  /**
   * A notice of change sealed by J-LIS for each holder: stored (one row per holder, the ciphertext
   * only), answered 202, then delivered to each holder with its own code (`networkApi.deliverResidentNotice`),
   * retried until acknowledged, across restarts. Idempotent on `noticeId`: a resend is answered as the
   * first and stores nothing. Institutions that hold no code for the person are `skipped`.
   * Errors: none of its own beyond validation.
   */
  submitResidentNotice: {
    method: 'POST',
    path: '/v1/resident-notices',
    status: 202,
    callers: ['jlis'],
    label: 'resident notice',
    body: ResidentNoticeSubmission,
    message: 'ResidentNoticeSubmission',
    answer: 'ResidentNoticeAccepted',
    response: ResidentNoticeAccepted,
  },
  /**
   * The requester has recorded a fetched batch answer (every member) durably: the core records every
   * member still pending `delivered` and drops the kept answer, in one transaction (as
   * `acknowledgeAnswer`; idempotent). Only the batch's requester may acknowledge.
   * Errors: ERR_UNKNOWN_BATCH (unknown, or another institution's), ERR_ANSWER_NOT_READY.
   */
  acknowledgeAnswerBatch: {
    method: 'POST',
    path: '/v1/answer-batch-acknowledgements',
    status: 204,
    callers: ['institution'],
    label: 'answer batch acknowledgement',
    body: AnswerBatchAcknowledgement,
    message: 'AnswerBatchAcknowledgement',
    boundTo: 'requesterId',
    response: NoContent,
  },
  /**
   * The Myna Portal's view of one person's records (やりとり履歴): the portal names the person by its
   * own code; the core answers the records about them, newest first, a page at a time, each with its
   * events' leaves and inclusion proofs against one signed tree head (the core signs a fresh one when
   * its latest does not cover the page). Records under non-disclosure are left out, and nothing in the
   * answer says there were any. A caller whose registry entry is not of kind `portal` is refused.
   * Errors: ERR_UNKNOWN_PERSON_CODE (not a code the core issued to this portal; recorded in the
   * security log), ERR_CALLER_NOT_ALLOWED (not a portal in the registry), ERR_VALIDATION (a cursor
   * the core did not make).
   */
  listPersonRecords: {
    method: 'POST',
    path: '/v1/person-record-lookups',
    status: 200,
    callers: ['portal'],
    label: 'person record lookup',
    body: PersonRecordQuery,
    message: 'PersonRecordQuery',
    answer: 'PersonRecordPage',
    boundTo: 'portalId',
    response: PersonRecordPage,
  },
  /**
   * The requester lifts the non-disclosure it asked for (不開示の解除): recorded (event `disclosed` in
   * the record log), and the record appears to the portal from then on. Only the inquiry's requester
   * may lift it; for anyone else the record does not exist (the refusal recorded). Idempotent: a record
   * not (or no longer) under non-disclosure is answered `lifted: false`.
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER (unknown, or another institution's).
   */
  liftNonDisclosure: {
    method: 'POST',
    path: '/v1/non-disclosure-lifts',
    status: 200,
    callers: ['institution'],
    label: 'non-disclosure lift',
    body: NonDisclosureLift,
    message: 'NonDisclosureLift',
    answer: 'NonDisclosureLifted',
    boundTo: 'requesterId',
    response: NonDisclosureLifted,
  },
  /**
   * A notice from an institution to a resident at the Myna Portal (お知らせ), naming the person by the
   * sender's own code, its content sealed to the portal (src/protocol/portal-notices.ts). The core
   * converts the code into the portal's, stores the notice (sender, time, ciphertext; never the
   * content) and delivers it to the portal's network listener until the portal acknowledges it
   * (`portalApi.deliverPortalNotice`). A person the portal holds no code for yet (never logged in) is
   * held until the portal acquires one; the answer is the same either way. Idempotent on `noticeId`.
   * Errors: ERR_UNKNOWN_PERSON_CODE (not a code the core issued to the sender; recorded in the
   * security log), ERR_DUPLICATE (the notice id was used for another notice), ERR_UNKNOWN_INSTITUTION
   * (no portal in the registry).
   */
  submitPortalNotice: {
    method: 'POST',
    path: '/v1/portal-notices',
    status: 202,
    callers: ['institution'],
    label: 'portal notice',
    body: PortalNoticeSubmission,
    message: 'PortalNoticeSubmission',
    answer: 'PortalNoticeAccepted',
    boundTo: 'senderId',
    response: PortalNoticeAccepted,
  },
  /**
   * The portal's confirmation that a notice's payment request was paid (公金決済), sealed by the portal
   * to the notice's sender (src/protocol/payments.ts). The core finds the notice it relayed to this
   * portal and forwards the confirmation to that notice's sender only
   * (`networkApi.deliverPaymentConfirmation`), answering once the sender took it; it stores nothing,
   * and the portal sends again until it is taken. Errors: ERR_UNKNOWN_NOTICE (no notice of that id
   * was delivered to this portal; recorded in the security log), ERR_UPSTREAM_UNAVAILABLE (the
   * sender could not be reached: send again), the sender's refusal.
   */
  relayPaymentConfirmation: {
    method: 'POST',
    path: '/v1/payment-confirmations',
    status: 204,
    callers: ['portal'],
    label: 'payment confirmation',
    body: PaymentConfirmationSubmission,
    message: 'PaymentConfirmationSubmission',
    boundTo: 'portalId',
    response: NoContent,
  },
});

export const adminApi = defineApi('admin', {
  /** Register an institution (201, key version 1) or update it (200, key version kept). */
  registerInstitution: {
    method: 'PUT',
    path: '/admin/v1/institutions/:id',
    status: 201,
    callers: ['operator:registry'],
    label: 'institution registration',
    params: InstitutionParams,
    body: InstitutionRegistration,
    response: Institution,
  },
  listInstitutions: {
    method: 'GET',
    path: '/admin/v1/institutions',
    status: 200,
    callers: ['operator:registry', 'operator:audit'],
    label: 'request',
    response: InstitutionList,
  },
  /** Errors: ERR_UNKNOWN_INSTITUTION. */
  getInstitution: {
    method: 'GET',
    path: '/admin/v1/institutions/:id',
    status: 200,
    callers: ['operator:registry', 'operator:audit'],
    label: 'institution id',
    params: InstitutionParams,
    response: Institution,
  },
  /**
   * Move the institution's codes to the next key version. Errors: ERR_UNKNOWN_INSTITUTION,
   * ERR_REKEY_PENDING (not re-keyed since the last rotation), ERR_VALIDATION (no versions left).
   */
  rotateInstitutionKey: {
    method: 'POST',
    path: '/admin/v1/institutions/:id/key-rotations',
    status: 200,
    callers: ['operator:keys'],
    label: 'institution id',
    params: InstitutionParams,
    response: KeyRotated,
  },
  /**
   * Suspend an institution (`renkei registry suspend`): from then on the core refuses every inquiry
   * it sends or that is addressed to it (ERR_INSTITUTION_SUSPENDED, recorded), its code issuances and
   * its notices to residents; notices of change to it are held. Suspending a suspended institution
   * changes nothing and adds no history. Errors: ERR_UNKNOWN_INSTITUTION.
   */
  suspendInstitution: {
    method: 'POST',
    path: '/admin/v1/institutions/:id/suspensions',
    status: 200,
    callers: ['operator:registry'],
    label: 'institution suspension',
    params: InstitutionParams,
    body: SuspensionChange,
    response: SuspensionHistory,
  },
  /** Lift a suspension (`renkei registry reinstate`). Errors: ERR_UNKNOWN_INSTITUTION. */
  reinstateInstitution: {
    method: 'POST',
    path: '/admin/v1/institutions/:id/reinstatements',
    status: 200,
    callers: ['operator:registry'],
    label: 'institution reinstatement',
    params: InstitutionParams,
    body: SuspensionChange,
    response: SuspensionHistory,
  },
  /** An institution with its suspensions and reinstatements (`renkei registry history`). */
  getSuspensionHistory: {
    method: 'GET',
    path: '/admin/v1/institutions/:id/suspensions',
    status: 200,
    callers: ['operator:registry', 'operator:audit'],
    label: 'institution id',
    params: InstitutionParams,
    response: SuspensionHistory,
  },
  /** Newest first; `from` inclusive, `to` exclusive (instants or UTC days); `limit` 1–1000. */
  listProvisionRecords: {
    method: 'GET',
    path: '/admin/v1/provision-records',
    status: 200,
    callers: ['operator:audit'],
    label: 'query',
    query: ProvisionRecordQuery,
    response: ProvisionRecordList,
  },
  /** Delete the records older than the retention policy (by the core's clock). */
  purgeProvisionRecords: {
    method: 'POST',
    path: '/admin/v1/provision-records/purge',
    status: 200,
    callers: ['operator:audit'],
    label: 'request',
    response: RecordsPurged,
  },
  /**
   * The network's statistics over a period (JST days): provisions (提供件数) apart from not-held
   * answers, refusals and failures, per week and by procedure, item, clause, requester kind and provider
   * kind (`by`). `format=csv` or `Accept: text/csv` answers the same as CSV (protocol/statistics-csv.ts).
   * Errors: ERR_VALIDATION (an unknown breakdown or parameter, a day that does not exist, from after to).
   * Callers: the operator's `renkei stats`, and the operator's console.
   */
  getStatistics: {
    method: 'GET',
    path: '/admin/v1/statistics',
    status: 200,
    callers: ['operator:audit'],
    label: 'query',
    query: StatisticsQuery,
    response: Statistics,
  },
  /**
   * Load a new version of the legal table (別表第二, procedures, items and layouts), to take effect on
   * `effectiveFrom` (a JST day, today or later). Validated in full, as at start-up, before it is
   * stored; 201 with the version and the loader's notes. The same files for the same day again answer
   * 201 with `stored: false`. Errors: ERR_LEGAL_TABLE_INVALID (the loader's error: file, entry,
   * problem), ERR_VALIDATION (a day in the past or that does not exist; files missing).
   * Callers: the operator's `renkei legal load`.
   */
  loadLegalVersion: {
    method: 'POST',
    path: '/admin/v1/legal-versions',
    status: 201,
    callers: ['operator:legal'],
    label: 'legal table version',
    body: LegalVersionLoad,
    bodyLimit: 16 * 1024 * 1024,
    response: LegalVersionLoaded,
  },
  /** Every version the core keeps, by the day it takes effect. Callers: `renkei legal versions`. */
  listLegalVersions: {
    method: 'GET',
    path: '/admin/v1/legal-versions',
    status: 200,
    callers: ['operator:legal', 'operator:audit'],
    label: 'request',
    response: LegalVersionList,
  },
  /** One version with its files (`renkei legal diff <digest> …`). Errors: ERR_UNKNOWN_LEGAL_VERSION. */
  getLegalVersion: {
    method: 'GET',
    path: '/admin/v1/legal-versions/:digest',
    status: 200,
    callers: ['operator:legal', 'operator:audit'],
    label: 'legal table digest',
    params: LegalVersionParams,
    response: LegalVersionFiles,
  },
});

export const jlisApi = defineApi('jlis', {
  /**
   * Relay a code acquisition (符号取得) to the core: 202 once the core accepted the issuance.
   * Errors: ERR_INVALID_CHECK_DIGIT (and the other identifier errors), ERR_UNKNOWN_RESIDENT, the
   * core's answer passed through (ERR_UNKNOWN_INSTITUTION, ERR_DUPLICATE…), ERR_UPSTREAM_UNAVAILABLE.
   */
  acquireCode: {
    method: 'POST',
    path: '/v1/code-acquisitions',
    status: 202,
    callers: ['institution'],
    label: 'code acquisition',
    body: CodeAcquisitionRequest,
    message: 'CodeAcquisitionRequest',
    answer: 'CodeAcquisitionRelayed',
    boundTo: 'institutionId',
    response: CodeAcquisitionRelayed,
  },
  /**
   * The Myna Portal's code acquisition (符号取得) for a resident who has just logged in with their
   * card: the user-authentication certificate and the card's signature over the login challenge
   * (src/protocol/portal.ts) stand in for the Individual Number, which the portal never holds. J-LIS
   * checks both against its own records of the certificate, then relays as `acquireCode` does.
   * Errors: ERR_UNKNOWN_CERTIFICATE, ERR_CERT_REVOKED, ERR_CERT_EXPIRED, ERR_SIGNATURE_INVALID,
   * ERR_MESSAGE_STALE (the challenge expired), the core's answer passed through, ERR_UPSTREAM_UNAVAILABLE.
   */
  acquirePortalCode: {
    method: 'POST',
    path: '/v1/portal-code-acquisitions',
    status: 202,
    callers: ['portal'],
    label: 'portal code acquisition',
    body: PortalCodeAcquisitionRequest,
    message: 'PortalCodeAcquisitionRequest',
    answer: 'CodeAcquisitionRelayed',
    boundTo: 'institutionId',
    response: CodeAcquisitionRelayed,
  },
  /**
   * Number a new resident (出生, first registration), under the municipality's resident record code
   * when it gives one. Errors: ERR_VALIDATION (e.g. a date of birth in the future), ERR_DUPLICATE
   * (the resident record code is registered already), ERR_INVALID_CHECK_DIGIT.
   */
  registerResident: {
    method: 'POST',
    path: '/admin/v1/residents',
    status: 201,
    callers: ['municipality'],
    label: 'resident',
    body: NewResident,
    response: NumberedResident,
  },
  /**
   * A dated change of an identity record (move in or out, name change, death, correction).
   * Errors: ERR_UNKNOWN_RESIDENT, ERR_RESIDENT_STATE, ERR_VALIDATION.
   */
  recordResidentChange: {
    method: 'POST',
    path: '/admin/v1/resident-changes',
    status: 201,
    callers: ['municipality'],
    label: 'change',
    body: ResidentChange,
    response: IdentityRecordView,
  },
  /**
   * An identity record as it stood on a day, with its history if asked; a POST, so that the resident
   * record code travels in the body, never in a URL. Errors: ERR_UNKNOWN_RESIDENT.
   */
  lookupResident: {
    method: 'POST',
    path: '/admin/v1/resident-lookups',
    status: 200,
    callers: ['municipality'],
    label: 'lookup',
    body: ResidentLookup,
    response: IdentityRecordView,
  },
  /**
   * 番号の変更: a new Individual Number in place of a leaked one; the old one is refused from now on
   * (ERR_INDIVIDUAL_NUMBER_REPLACED). Errors: ERR_UNKNOWN_RESIDENT, ERR_RESIDENT_STATE.
   */
  changeIndividualNumber: {
    method: 'POST',
    path: '/admin/v1/number-changes',
    status: 201,
    callers: ['municipality'],
    label: 'number change',
    body: NumberChange,
    response: NumberedResident,
  },
  countResidents: {
    method: 'GET',
    path: '/admin/v1/residents/count',
    status: 200,
    callers: ['municipality', 'operator:audit'],
    label: 'request',
    response: ResidentCount,
  },
  // The Individual Number Card (個人番号カード), src/nodes/jlis/service/cards.ts. Every card route may
  // also answer ERR_UNKNOWN_CARD and ERR_CARD_STATE (the operation does not fit the card's state).
  /** 申請: an application for a card. Errors: ERR_UNKNOWN_RESIDENT, ERR_RESIDENT_STATE, ERR_CARD_STATE (holds one). */
  applyForCard: {
    method: 'POST',
    path: '/admin/v1/card-applications',
    status: 201,
    callers: ['municipality'],
    label: 'card application',
    body: CardApplication,
    response: CardView,
  },
  /**
   * 交付: the card made at the counter under the holder's PIN and password, with its certificates; the
   * card file in the answer. Errors: ERR_RESIDENT_STATE, ERR_UPSTREAM_UNAVAILABLE (JPKI).
   */
  issueCard: {
    method: 'POST',
    path: '/admin/v1/card-issuances',
    status: 201,
    callers: ['municipality'],
    label: 'card issuance',
    body: CardIssuance,
    response: CardIssued,
  },
  /** 交付済: the holder received the card. */
  deliverCard: {
    method: 'POST',
    path: '/admin/v1/card-deliveries',
    status: 200,
    callers: ['municipality'],
    label: 'card delivery',
    body: CardDelivery,
    response: CardView,
  },
  /**
   * 一時停止: lost or stolen; both certificates on hold (一時保留). Errors: ERR_UNKNOWN_CARD,
   * ERR_CARD_STATE, ERR_UPSTREAM_UNAVAILABLE.
   */
  suspendCard: {
    method: 'POST',
    path: '/admin/v1/card-suspensions',
    status: 200,
    callers: ['municipality'],
    label: 'card suspension',
    body: CardSuspension,
    response: CardView,
  },
  /**
   * 一時停止の解除: found again; the held certificates released, valid again (a card whose certificates
   * were revoked instead is re-keyed under the PIN given). Errors: ERR_UNKNOWN_CARD, ERR_CARD_STATE,
   * ERR_RESIDENT_STATE, ERR_VALIDATION, ERR_UPSTREAM_UNAVAILABLE.
   */
  liftCardSuspension: {
    method: 'POST',
    path: '/admin/v1/card-suspension-lifts',
    status: 200,
    callers: ['municipality'],
    label: 'lifting of a card suspension',
    body: CardSuspensionLift,
    response: CardIssued,
  },
  /** 廃止: for good; the certificates revoked. Errors: ERR_UPSTREAM_UNAVAILABLE. */
  revokeCard: {
    method: 'POST',
    path: '/admin/v1/card-revocations',
    status: 200,
    callers: ['municipality'],
    label: 'card revocation',
    body: CardRevocation,
    response: CardView,
  },
  /** 再交付: a new card in place of the old, revoked. Errors: ERR_RESIDENT_STATE, ERR_UPSTREAM_UNAVAILABLE. */
  reissueCard: {
    method: 'POST',
    path: '/admin/v1/card-reissues',
    status: 201,
    callers: ['municipality'],
    label: 'card reissue',
    body: CardReissue,
    response: CardIssued,
  },
  /** 更新: a new card from 3 months before expiry. Errors: ERR_RESIDENT_STATE, ERR_UPSTREAM_UNAVAILABLE. */
  renewCard: {
    method: 'POST',
    path: '/admin/v1/card-renewals',
    status: 201,
    callers: ['municipality'],
    label: 'card renewal',
    body: CardRenewal,
    response: CardIssued,
  },
  /** 暗証番号のロック解除. Errors: ERR_WRONG_PIN, ERR_UPSTREAM_UNAVAILABLE (when re-keying). */
  unlockCardPin: {
    method: 'POST',
    path: '/admin/v1/card-pin-unlocks',
    status: 200,
    callers: ['municipality'],
    label: 'PIN unlock',
    body: PinUnlock,
    response: CardIssued,
  },
  /**
   * 券面事項の追記: the card face and its input assist take the identity record's current values (a
   * move, a name change), the old ones kept as 追記 history. Errors: ERR_RESIDENT_STATE (deceased or
   * moved out), ERR_CARD_STATE (not delivered; the card shows the record already), ERR_WRONG_PIN,
   * ERR_PIN_LOCKED, ERR_VALIDATION (not this card).
   */
  endorseCard: {
    method: 'POST',
    path: '/admin/v1/card-endorsements',
    status: 200,
    callers: ['municipality'],
    label: 'card endorsement',
    body: CardEndorsement,
    response: CardIssued,
  },
  /**
   * 署名用電子証明書の発行 onto the same card, after a change revoked the old one. Errors:
   * ERR_RESIDENT_STATE (deceased, moved out, under 15), ERR_CARD_STATE (not delivered; its signing
   * certificate is in force: the record did not change), ERR_VALIDATION, ERR_UPSTREAM_UNAVAILABLE.
   */
  issueSigningCertificate: {
    method: 'POST',
    path: '/admin/v1/signing-certificate-issuances',
    status: 201,
    callers: ['municipality'],
    label: 'signing certificate issuance',
    body: SigningCertificateIssuance,
    response: CardIssued,
  },
  /** A card's state, dates, certificates' serials and every operation recorded on it. */
  lookupCard: {
    method: 'POST',
    path: '/admin/v1/card-lookups',
    status: 200,
    callers: ['municipality'],
    label: 'card lookup',
    body: CardLookup,
    response: CardView,
  },
});

/**
 * J-LIS's JPKI (公的個人認証サービス) for relying parties (署名検証者: banks and other businesses or
 * institutions with a network certificate, registered by J-LIS's operators) and the linking service.
 * The CRLs and OCSP are served apart, on J-LIS's plain-HTTP publication listener (not JSON).
 */
export const jpkiApi = defineApi('jpki', {
  /** Register (or rename) a relying party by its certificate's party id. Errors: ERR_VALIDATION. */
  registerRelyingParty: {
    method: 'POST',
    path: '/admin/v1/relying-parties',
    status: 201,
    callers: ['operator:registry'],
    label: 'relying party',
    body: RelyingPartyRegistration,
    response: RelyingPartyView,
  },
  listRelyingParties: {
    method: 'GET',
    path: '/admin/v1/relying-parties',
    status: 200,
    callers: ['operator:registry', 'operator:audit'],
    label: 'request',
    response: RelyingPartyList,
  },
  /**
   * Register a link to a signing certificate with the holder's signed consent (CMS SignedData naming
   * the relying party). Errors: ERR_NOT_REGISTERED_RELYING_PARTY, ERR_SIGNATURE_INVALID,
   * ERR_CERT_UNTRUSTED, ERR_CERT_EXPIRED, ERR_CERT_REVOKED, ERR_UNKNOWN_CERTIFICATE.
   */
  registerLink: {
    method: 'POST',
    path: '/jpki/v1/links',
    status: 201,
    callers: ['relying-party'],
    label: 'link',
    body: LinkRequest,
    response: LinkRegistered,
  },
  /**
   * S→R: the user-authentication certificate issued with a linked signing certificate.
   * Errors: ERR_NOT_REGISTERED_RELYING_PARTY, ERR_UNKNOWN_CERTIFICATE, ERR_CERTIFICATE_NOT_LINKED.
   */
  lookupAuthenticationSerial: {
    method: 'POST',
    path: '/jpki/v1/authentication-serial-lookups',
    status: 200,
    callers: ['relying-party'],
    label: 'lookup',
    body: SigningSerialQuery,
    response: AuthenticationSerialAnswer,
  },
  /**
   * 最新性確認: old S → the newest signing certificate, and whether the four information changed.
   * Errors: ERR_NOT_REGISTERED_RELYING_PARTY, ERR_UNKNOWN_CERTIFICATE, ERR_CERTIFICATE_NOT_LINKED.
   */
  lookupNewestSigning: {
    method: 'POST',
    path: '/jpki/v1/newest-signing-lookups',
    status: 200,
    callers: ['relying-party'],
    label: 'lookup',
    body: SigningSerialQuery,
    response: NewestSigningAnswer,
  },
});

/**
 * The largest answer of an inquiry a node sends or reads: a provision answer, or its delivery to
 * the requester. The protocol lets sealed items be 8 MiB (`SealedItems`), which a signed message
 * carries base64url-encoded (×4/3, about 10.7 MiB) with a small envelope: 12 MiB takes the largest
 * answer the protocol allows. Twenty items of the legal table's layouts are far smaller.
 */
export const ANSWER_BODY_LIMIT = 12 * 1024 * 1024;

export const networkApi = defineApi('network', {
  /** The code for a pending acquisition number. Errors: ERR_UNKNOWN_ACQUISITION_NUMBER, ERR_DUPLICATE. */
  deliverCode: {
    method: 'POST',
    path: '/network/v1/code-deliveries',
    status: 204,
    callers: ['core'],
    label: 'code delivery',
    body: CodeDelivery,
    message: 'CodeDelivery',
    response: NoContent,
  },
  /**
   * The automatic answer (自動応答) from the institution's copies; not_held when none.
   * Errors: ERR_LAYOUT_VIOLATION (a copy does not follow the layout in force on the request date).
   */
  requestProvision: {
    method: 'POST',
    path: '/network/v1/provision-requests',
    status: 200,
    callers: ['core'],
    label: 'provision request',
    body: ProvisionRequest,
    message: 'ProvisionRequest',
    answer: 'ProvisionAnswer',
    response: ProvisionAnswer,
  },
  /**
   * The core recorded a provision request it forwarded here as failed (silent past `answerBy`,
   * unreachable, an answer it could not take): the provider records `failed` too, adding an event to
   * a record that said otherwise; a record already failed, or none (the request never arrived), is
   * left as it is. Idempotent: the core sends it until it is acknowledged.
   * Errors: ERR_ANSWER_NOT_READY (the request is still being answered: send it again).
   */
  notifyProvisionFailure: {
    method: 'POST',
    path: '/network/v1/provision-failures',
    status: 204,
    callers: ['core'],
    label: 'provision failure',
    body: ProvisionFailure,
    message: 'ProvisionFailure',
    response: NoContent,
  },
  /**
   * The three-party cross-check (oversight console): this institution's latest signed tree head and
   * its records (either role) of the exchanges named, as its record events tell them. Read-only, and
   * nothing a code, an addressee number or an item's data (`RecordCheckAnswer` has no field for them).
   */
  checkRecords: {
    method: 'POST',
    path: '/network/v1/record-checks',
    status: 200,
    callers: ['core'],
    label: 'record check',
    body: RecordCheckRequest,
    message: 'RecordCheckRequest',
    answer: 'RecordCheckAnswer',
    response: RecordCheckAnswer,
  },
  /** The outcome (and items) of this institution's inquiry. */
  deliverAnswer: {
    method: 'POST',
    path: '/network/v1/answers',
    status: 204,
    callers: ['core'],
    label: 'answer',
    body: AnswerDelivery,
    message: 'AnswerDelivery',
    bodyLimit: ANSWER_BODY_LIMIT,
    response: NoContent,
  },
  /**
   * The automatic answer to a batch: the members' copies looked up in one query, their provider
   * records written in one transaction, the provided items sealed once for the whole batch.
   * Errors: ERR_PROVIDER_UNAVAILABLE (past `answerBy`: every member recorded failed),
   * ERR_ENCRYPTION_REQUIRED, ERR_ANSWER_MISMATCH (no inquiry hash).
   */
  requestProvisionBatch: {
    method: 'POST',
    path: '/network/v1/provision-batches',
    status: 200,
    callers: ['core'],
    label: 'provision batch',
    body: ProvisionBatchRequest,
    message: 'ProvisionBatchRequest',
    answer: 'ProvisionBatchAnswer',
    response: ProvisionBatchAnswer,
  },
  /**
   * The outcomes (and sealed items) of this institution's inquiry batch, recorded in one
   * transaction. Errors: ERR_BATCH_NOT_READY (the batch's acceptance is not recorded here yet: the
   * core sends it again), ERR_UNKNOWN_BATCH.
   */
  deliverAnswerBatch: {
    method: 'POST',
    path: '/network/v1/answer-batches',
    status: 204,
    callers: ['core'],
    label: 'answer batch',
    body: AnswerBatchDelivery,
    message: 'AnswerBatchDelivery',
    bodyLimit: ANSWER_BODY_LIMIT,
    response: NoContent,
  },
  /**
   * A notice of change from J-LIS, relayed by the core: opened here (J-LIS's signature, this
   * institution's key), the person found by code; a number change replaces the Individual Number in
   * the addressee system (the old one kept as replaced), an identity change is recorded for the
   * business systems (`businessApi.listResidentNotices`). 204 once recorded; idempotent on
   * `noticeId`. A code this institution no longer holds is acknowledged and recorded `not_held`.
   * Errors: ERR_ENCRYPTION_REQUIRED (no trust layer here), ERR_DECRYPTION_FAILED,
   * ERR_SIGNATURE_INVALID, ERR_CERT_* (not sealed by J-LIS), ERR_ANSWER_MISMATCH (sealed for another
   * notice or kind).
   */
  deliverResidentNotice: {
    method: 'POST',
    path: '/network/v1/resident-notices',
    status: 204,
    callers: ['core'],
    label: 'resident notice',
    body: ResidentNoticeDelivery,
    message: 'ResidentNoticeDelivery',
    response: NoContent,
  },
  /**
   * The portal's confirmation that the resident paid a notice's payment request, relayed by the core
   * to this notice's sender: opened (the portal's signature, this institution's key), matched to the
   * request sent with the notice (amount, reference), recorded paid once. 204 once recorded;
   * idempotent (a second confirmation of a paid request changes nothing). Errors:
   * ERR_ENCRYPTION_REQUIRED (no trust layer here), ERR_DECRYPTION_FAILED, ERR_SIGNATURE_INVALID,
   * ERR_CERT_*, ERR_ANSWER_MISMATCH (not the portal's, another notice's, or not what was asked),
   * ERR_UNKNOWN_NOTICE (no payment request was sent with this notice).
   */
  deliverPaymentConfirmation: {
    method: 'POST',
    path: '/network/v1/payment-confirmations',
    status: 204,
    callers: ['core'],
    label: 'payment confirmation',
    body: PaymentConfirmationDelivery,
    message: 'PaymentConfirmationDelivery',
    response: NoContent,
  },
});

/** Large enough for a batch of 10,000 copies; every other route keeps the node's 1 MiB limit. */
export const BATCH_BODY_LIMIT = 64 * 1024 * 1024;

export const businessApi = defineApi('business', {
  /**
   * Register a person (201; 200 when already registered) and acquire their code through J-LIS.
   * Errors: ERR_INVALID_CHARACTER, ERR_INVALID_LENGTH, ERR_INVALID_CHECK_DIGIT, ERR_DUPLICATE,
   * ERR_INDIVIDUAL_NUMBER_REPLACED (a number a notice of change replaced); after
   * registration, with `details.addresseeNumber` (call again to retry): ERR_UNKNOWN_RESIDENT,
   * ERR_UPSTREAM_UNAVAILABLE, or another code from J-LIS or the core.
   */
  registerPerson: {
    method: 'POST',
    path: '/business/v1/persons',
    status: 201,
    callers: ['business'],
    label: 'person',
    body: PersonRegistration,
    response: PersonRegistered,
  },
  /**
   * Register or replace a copy (副本). Errors: ERR_UNKNOWN_ADDRESSEE_NUMBER, ERR_NO_PERSON_CODE,
   * ERR_UNKNOWN_ITEM, ERR_LAYOUT_VIOLATION (`details.problems`).
   */
  putCopy: {
    method: 'PUT',
    path: '/business/v1/copies',
    status: 200,
    callers: ['business'],
    label: 'copy',
    body: CopyInput,
    response: StoredCopy,
  },
  /**
   * Up to 10,000 copies, all checked, then all written in one transaction, or none.
   * Errors: ERR_IMPORT_INVALID (`details.rows`: every bad row as {index, code, message, problems?}).
   */
  putCopies: {
    method: 'POST',
    path: '/business/v1/copies::batch',
    status: 200,
    callers: ['business'],
    label: 'batch',
    body: CopyBatch,
    response: CopiesWritten,
    bodyLimit: BATCH_BODY_LIMIT,
  },
  /** Remove a copy; idempotent. Errors: ERR_UNKNOWN_ADDRESSEE_NUMBER. */
  deleteCopy: {
    method: 'DELETE',
    path: '/business/v1/copies/:addresseeNumber/:itemNo',
    status: 204,
    callers: ['business'],
    label: 'path',
    params: CopyParams,
    response: NoContent,
  },
  /**
   * A clerk's inquiry (情報照会), recorded: 202 pending; with `waitMs`, 200 and its outcome once the
   * answer came within the wait (one request instead of an inquiry and a read). Errors:
   * ERR_UNKNOWN_ADDRESSEE_NUMBER, ERR_NO_PERSON_CODE; the core's refusal with its code and
   * `details.{processingNumber, rule}`; ERR_UPSTREAM_UNAVAILABLE with a local
   * `details.processingNumber`, or with `details.{requestId, queued}` when in doubt.
   */
  inquire: {
    method: 'POST',
    path: '/business/v1/inquiries',
    status: 202,
    callers: ['business'],
    label: 'inquiry',
    body: InquiryInput,
    response: InquiryReply,
  },
  /**
   * Many inquiries in one request (up to 1,000): each made as `inquire` makes one, answered in the
   * order sent with its status, pending, or the error `inquire` would have answered (`status:
   * 'error'`). 200 whatever each inquiry's outcome; a body that is not a valid set is refused whole
   * (ERR_VALIDATION), with nothing made.
   */
  inquireMany: {
    method: 'POST',
    path: '/business/v1/inquiries::batch',
    status: 200,
    callers: ['business'],
    label: 'inquiry set',
    body: InquirySetInput,
    response: InquirySetReply,
  },
  /**
   * An inquiry's status and, once provided, its items; with `waitMs` (≤ 30 000) a long poll.
   * Errors: ERR_UNKNOWN_PROCESSING_NUMBER.
   */
  getInquiry: {
    method: 'GET',
    path: '/business/v1/inquiries/:processingNumber',
    status: 200,
    callers: ['business'],
    label: 'path',
    params: InquiryParams,
    query: InquiryWait,
    response: InquiryStatus,
  },
  /** The institution's records, newest first; both roles when `role` is absent. */
  listProvisionRecords: {
    method: 'GET',
    path: '/business/v1/provision-records',
    status: 200,
    callers: ['business'],
    label: 'query',
    query: RecordsQuery,
    response: InstitutionRecordList,
  },
  /**
   * Submit a bulk inquiry (一括照会): 202 with its bulk number; the persons' inquiries are sent in
   * the background, each recorded as a clerk's would be. Errors: ERR_VALIDATION.
   */
  submitBulkInquiry: {
    method: 'POST',
    path: '/business/v1/bulk-inquiries',
    status: 202,
    callers: ['business'],
    label: 'bulk inquiry',
    body: BulkInquiryInput,
    response: BulkInquiryStatus,
    bodyLimit: BATCH_BODY_LIMIT,
  },
  /** Where a bulk inquiry stands. Errors: ERR_UNKNOWN_BULK_NUMBER. */
  getBulkInquiry: {
    method: 'GET',
    path: '/business/v1/bulk-inquiries/:bulkNumber',
    status: 200,
    callers: ['business'],
    label: 'path',
    params: BulkInquiryParams,
    response: BulkInquiryStatus,
  },
  /** A page of a bulk inquiry's results, in the order submitted. Errors: ERR_UNKNOWN_BULK_NUMBER. */
  getBulkResults: {
    method: 'GET',
    path: '/business/v1/bulk-inquiries/:bulkNumber/results',
    status: 200,
    callers: ['business'],
    label: 'query',
    params: BulkInquiryParams,
    query: BulkResultsQuery,
    response: BulkResultPage,
  },
  /**
   * Lift the non-disclosure (不開示) this institution asked for on one of its inquiries, once the reason
   * for it (an investigation…) has passed: the core records the lift and the resident sees the record
   * in the Myna Portal from then on; this institution records it too. Idempotent (`lifted: false`
   * when there was nothing to lift). Errors: ERR_UNKNOWN_PROCESSING_NUMBER (not an inquiry of this
   * institution), ERR_UPSTREAM_UNAVAILABLE (the core could not be asked: nothing changed here).
   */
  liftNonDisclosure: {
    method: 'POST',
    path: '/business/v1/non-disclosure-lifts',
    status: 200,
    callers: ['business'],
    label: 'non-disclosure lift',
    body: NonDisclosureLiftInput,
    response: NonDisclosureLifted,
  },
  /**
   * Send a notice to a resident at the Myna Portal (お知らせ): the person by addressee number, the
   * notice sealed to the portal here and sent to the core under this institution's code for them.
   * 202 once the core took it (it delivers it when the portal can take it; the answer does not say
   * whether the resident uses the portal). Recorded here (sender, time, the notice id; not the text).
   * Errors: ERR_UNKNOWN_ADDRESSEE_NUMBER, ERR_NO_PERSON_CODE, ERR_ENCRYPTION_REQUIRED (no trust
   * layer: nothing can be sealed), ERR_UPSTREAM_UNAVAILABLE (the core could not be reached: send again).
   */
  sendResidentMessage: {
    method: 'POST',
    path: '/business/v1/resident-messages',
    status: 202,
    callers: ['business'],
    label: 'resident message',
    body: ResidentMessageInput,
    response: ResidentMessageSent,
  },
  /** Delete records older than the retention period, and the answers received with them. */
  purgeProvisionRecords: {
    method: 'POST',
    path: '/business/v1/provision-records/purge',
    status: 200,
    callers: ['business'],
    label: 'request',
    response: InstitutionRecordsPurged,
  },
  /**
   * One page of re-keying this institution's codes after a key rotation (`renkei codes reissue`).
   * Errors: ERR_KEY_VERSION_CHANGED, ERR_UPSTREAM_UNAVAILABLE, or the core's error code.
   */
  reissueCodes: {
    method: 'POST',
    path: '/business/v1/code-reissues',
    status: 200,
    callers: ['business'],
    label: 'code reissue',
    body: CodeReissuePageInput,
    response: CodeReissuePage,
  },
  /**
   * The notices of change this institution received (number changes and identity changes of the
   * persons it holds), in the order received, after `since` (a notice's `sequence`). Never an
   * Individual Number: the persons are named by addressee number.
   */
  /**
   * A payment request this institution sent with a notice (公金決済), and whether the resident paid
   * it: `requested`, or `paid` with when and the payment provider's receipt, as the portal confirmed
   * it through the core. Errors: ERR_UNKNOWN_NOTICE (no payment request of this institution's with
   * that notice id).
   */
  getPaymentRequest: {
    method: 'GET',
    path: '/business/v1/payment-requests/:noticeId',
    status: 200,
    callers: ['business'],
    label: 'path',
    params: PaymentRequestParams,
    response: PaymentRequestStatus,
  },
  listResidentNotices: {
    method: 'GET',
    path: '/business/v1/resident-notices',
    status: 200,
    callers: ['business'],
    label: 'query',
    query: ResidentNoticeQuery,
    response: ResidentNoticeList,
  },
});

/**
 * The APIs each kind of node serves: what its `GET /openapi.json` lists. A test starts each kind and
 * checks it serves exactly these routes (openapi.test.ts).
 */
/**
 * The corporate-number service (法人番号公表サイト, run by the National Tax Agency): lookups are public
 * and free, as the law makes the Corporate Number; designations and changes come from the NTA's own
 * business systems (`business` of the node's party, `nta`).
 */
export const corporateApi = defineApi('corporate', {
  /** One corporation as it stands, with `?history=true` every change. Errors: ERR_UNKNOWN_CORPORATION, ERR_INVALID_CHECK_DIGIT. */
  showCorporation: {
    method: 'GET',
    path: '/corporate/v1/corporations/:corporateNumber',
    status: 200,
    callers: ['anyone'],
    label: 'request',
    params: CorporationParams,
    query: CorporationQuery,
    response: Corporation,
  },
  /** Search by name (partial, kana-insensitive), kind, prefecture; open ones unless `includeClosed`. */
  searchCorporations: {
    method: 'GET',
    path: '/corporate/v1/corporations',
    status: 200,
    callers: ['anyone'],
    label: 'search',
    query: CorporationSearch,
    response: CorporationPage,
  },
  /** The history entries whose change date is in [from, to] (the NTA's difference data). */
  listChanges: {
    method: 'GET',
    path: '/corporate/v1/changes',
    status: 200,
    callers: ['anyone'],
    label: 'request',
    query: ChangesQuery,
    response: ChangesPage,
  },
  /** Every corporation's current entry as CSV (the full download), streamed; by prefecture if asked. */
  downloadCorporations: {
    method: 'GET',
    path: '/corporate/v1/corporations.csv',
    status: 200,
    callers: ['anyone'],
    label: 'request',
    query: DownloadQuery,
    response: CorporationCsv,
  },
  /** Designate a Corporate Number (法人番号の指定). Errors: ERR_DUPLICATE. */
  designateCorporation: {
    method: 'POST',
    path: '/corporate/v1/corporations',
    status: 201,
    callers: ['business'],
    label: 'designation',
    body: Designation,
    response: Corporation,
  },
  /**
   * A change of name (11) or address (12), a closure (21) or reopening (22).
   * Errors: ERR_UNKNOWN_CORPORATION, ERR_CORPORATION_STATE.
   */
  changeCorporation: {
    method: 'POST',
    path: '/corporate/v1/corporations/:corporateNumber/changes',
    status: 201,
    callers: ['business'],
    label: 'change',
    params: CorporationParams,
    body: CorporationChange,
    response: Corporation,
  },
});

/**
 * The Myna Portal's network side beyond `portalNetworkApi` (the part of `networkApi` it serves too):
 * what it serves and no institution does.
 */
export const portalApi = defineApi('portal', {
  /**
   * An institution's notice for a resident, relayed by the core with the portal's code for them:
   * opened here (the sender's signature, the portal's key), stored for the person, 204 once stored;
   * idempotent on `noticeId`. Errors: ERR_UNKNOWN_PERSON_CODE (no person here holds the code),
   * ERR_DECRYPTION_FAILED, ERR_SIGNATURE_INVALID, ERR_CERT_*, ERR_ANSWER_MISMATCH (not signed by the
   * sender named, or sealed for another notice).
   */
  deliverPortalNotice: {
    method: 'POST',
    path: '/network/v1/portal-notices',
    status: 204,
    callers: ['core'],
    label: 'portal notice',
    body: PortalNoticeDelivery,
    message: 'PortalNoticeDelivery',
    response: NoContent,
  },
  /**
   * 申請データダウンロード: the ぴったりサービス applications made to the calling municipality (its
   * business-system certificate), newest first; `state` new or downloaded. Another municipality's are
   * never listed.
   */
  listApplications: {
    method: 'GET',
    path: '/business/v1/applications',
    status: 200,
    callers: ['municipality'],
    label: 'application list',
    query: ApplicationListQuery,
    response: ApplicationList,
  },
  /**
   * One application with its bytes, its CMS SignedData and the portal's checks (signature, the signing
   * certificate's status at J-LIS, the user-authentication serial); marks it downloaded.
   * Errors: ERR_UNKNOWN_APPLICATION (none by this number for this municipality).
   */
  getApplication: {
    method: 'GET',
    path: '/business/v1/applications/:applicationNumber',
    status: 200,
    callers: ['municipality'],
    label: 'application',
    params: ApplicationParams,
    response: ApplicationDownload,
  },
  /**
   * Bulk download (一括ダウンロード): every new application, or the numbers given, each as
   * `getApplication` answers it; marks them downloaded. Errors: ERR_UNKNOWN_APPLICATION.
   */
  downloadApplications: {
    method: 'POST',
    path: '/business/v1/application-downloads',
    status: 200,
    callers: ['municipality'],
    label: 'application download',
    body: ApplicationBulkRequest,
    response: ApplicationBulk,
    bodyLimit: 64 * 1024,
  },
});

/**
 * The routes of `networkApi` that the Myna Portal's network listener serves, as an institution's
 * intermediate server does: the core delivers its codes (`deliverCode`) and the answers to its own
 * inquiries (`deliverAnswer`, わたしの情報), asks it as a provider (公金受取口座: `requestProvision`,
 * `requestProvisionBatch`, `notifyProvisionFailure`) and cross-checks its records (`checkRecords`).
 * The portal's routers serve them from here, and its document lists those of `NODE_APIS.portal` it serves.
 */
export const portalNetworkApi = pickRoutes(networkApi, [
  'deliverCode',
  'deliverAnswer',
  'requestProvision',
  'requestProvisionBatch',
  'notifyProvisionFailure',
  'checkRecords',
]);

export const NODE_APIS = {
  core: [healthApi, monitoringApi, coreApi, adminApi],
  jlis: [healthApi, monitoringApi, jlisApi, jpkiApi],
  institution: [healthApi, monitoringApi, networkApi, businessApi],
  corporate: [healthApi, monitoringApi, corporateApi],
  // The Myna Portal's network listener: the part of `networkApi` it serves too, and what only it serves.
  portal: [healthApi, monitoringApi, portalNetworkApi, portalApi],
} as const;

export type NodeKind = keyof typeof NODE_APIS;
