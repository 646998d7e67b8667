/**
 * The Myna Portal's APIs for other services, on its web listener under `/api/v1/` (served by
 * src/nodes/portal/api-router.ts, which validates each request with these schemas): the
 * 自己情報取得API and the 申請API. Their callers are the services the portal's operator registered,
 * with a resident's OAuth 2.0 access token (`Authorization: Bearer`) from the portal's authorization
 * server (`/oidc`). Their OpenAPI 3.1 document, generated from this table by openapi.ts
 * (`portalWebApiDocument`), is `GET /api/v1/openapi.json`.
 *
 * Not a route table of the network (routes.ts): no node-to-node message, no certificate; the portal's
 * web listener serves it with its own rate limits and JSON errors.
 */
import { z } from 'zod';
import { defineApi } from './api.ts';
import { ItemNo } from './identifiers.ts';
import { AnsweredItem } from './messages.ts';
import { OpenApiDocument } from './routes.ts';

const Text = (max: number) => z.string().trim().min(1).max(max);

/** One field of a ぴったりサービス form, as the catalogue declares it (and the 申請API lists it). */
export const FormField = z
  .object({
    name: z.string().regex(/^[a-z][A-Za-z0-9]{0,39}$/, 'camelCase'),
    label: Text(100),
    labelEn: Text(100),
    type: z.enum(['text', 'textarea', 'date', 'integer', 'select']),
    required: z.boolean(),
    maxLength: z.number().int().min(1).max(5000).optional(),
    pattern: z.string().max(200).optional(),
    min: z.number().int().optional(),
    max: z.number().int().optional(),
    /** A select's choices: each is the value sent, in Japanese, as the municipality reads it. */
    options: z.array(Text(100)).min(1).max(50).optional(),
    /** The same choices in English, in the same order: shown in English, never sent. */
    optionsEn: z.array(Text(100)).min(1).max(50).optional(),
    hint: Text(200).optional(),
    hintEn: Text(200).optional(),
  })
  .strict();
export type FormField = z.infer<typeof FormField>;

export const SelfInformationQuery = z.object({
  items: z
    .string()
    .regex(/^\d{1,3}(,\d{1,3}){0,19}$/, 'item numbers, comma-separated')
    .optional()
    .describe('The items to read, among those consented (default: every consented item).'),
});

export const SelfInformation = z.object({
  /** The pairwise subject: the resident at this client, never their person id or number. */
  subject: z.string(),
  /** Every institution answered (else some are still `pending` after the portal's wait). */
  complete: z.boolean(),
  institutions: z.array(
    z.object({
      institutionId: z.string(),
      name: z.string(),
      outcome: z.enum(['pending', 'provided', 'not_held', 'refused', 'failed']),
      itemsAsked: z.array(ItemNo),
      items: z.array(AnsweredItem.extend({ name: z.string().optional() })).optional(),
    }),
  ),
});

export const ProcedureQuery = z.object({
  event: z.string().max(40).optional().describe('A life event: kosodate, kaigo, hisai, hikkoshi…'),
  municipality: z.string().max(6).optional().describe('A municipality’s six-digit code.'),
  q: z.string().max(100).optional().describe('Keyword, in the procedure’s name.'),
});

export const Procedures = z.object({
  procedures: z.array(
    z.object({
      municipality: z.object({ id: z.string(), name: z.string() }),
      procedure: z.object({
        id: z.string(),
        name: z.string(),
        /** 添付不要: the attachments the network's answers replace. */
        attachmentsOmitted: z.array(z.string()),
        form: z.array(FormField),
      }),
    }),
  ),
});

export const ApplicationInput = z.object({
  municipality: z.string().max(6),
  procedure: z.string().max(40),
  /** The form's fields by name, checked as the portal's own form checks them. */
  fields: z.record(z.string().max(40), z.union([z.string().max(5000), z.number()])).optional(),
});

export const PreparedApplication = z.object({
  requestId: z.string(),
  /** The document's bytes, base64: what the resident's card signs (CMS SignedData). */
  content: z.string(),
  expiresAt: z.iso.datetime(),
});

export const SigningRequestParams = z.object({ request: z.string().max(64) });

export const ApplicationSignature = z.object({
  /** The CMS SignedData made at the resident's card reader, base64. */
  signedData: z
    .string()
    .min(1)
    .max(64 * 1024)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'base64'),
});

export const ReceivedApplication = z.object({
  applicationNumber: z.string(),
  municipality: z.string(),
  procedure: z.string(),
  receivedAt: z.iso.datetime(),
});

export const portalWebApi = defineApi('portalWebApi', {
  /**
   * 自己情報取得API: the resident's information from the institutions holding it, the items their
   * consent names (`item:<n>` scopes), fetched through the network as わたしの情報 does; each release
   * recorded and shown to the resident on 連携サービス. Errors: ERR_INVALID_TOKEN,
   * ERR_INSUFFICIENT_SCOPE, ERR_VALIDATION, ERR_API_THROTTLED.
   */
  selfInformation: {
    method: 'GET',
    path: '/api/v1/self-information',
    status: 200,
    callers: ['api-client'],
    label: 'request',
    query: SelfInformationQuery,
    response: SelfInformation,
  },
  /** 申請API's search: ぴったりサービス's finder, with each form's fields. Public. Errors: ERR_VALIDATION, ERR_API_THROTTLED. */
  searchProcedures: {
    method: 'GET',
    path: '/api/v1/procedures',
    status: 200,
    callers: ['anyone'],
    label: 'search',
    query: ProcedureQuery,
    response: Procedures,
  },
  /**
   * 申請API: an application for the resident (scope `application`), validated as the portal's own
   * form; answers the document the resident's card signs. Errors: ERR_VALIDATION (with each field's
   * message), ERR_ROUTE_NOT_FOUND, ERR_INVALID_TOKEN, ERR_INSUFFICIENT_SCOPE, ERR_API_THROTTLED.
   */
  prepareApplication: {
    method: 'POST',
    path: '/api/v1/applications',
    status: 201,
    callers: ['api-client'],
    label: 'application',
    body: ApplicationInput,
    response: PreparedApplication,
  },
  /**
   * 申請API: the signature made at the resident's card reader; the application is then stored for
   * the municipality's 申請データダウンロード. Errors: ERR_MESSAGE_STALE (not this client's request),
   * ERR_MESSAGE_REPLAYED, ERR_IDENTITY_MISMATCH (another person's card), ERR_SIGNATURE_INVALID,
   * ERR_CERT_REVOKED, ERR_VALIDATION, ERR_INVALID_TOKEN, ERR_INSUFFICIENT_SCOPE, ERR_API_THROTTLED.
   */
  signApplication: {
    method: 'POST',
    path: '/api/v1/applications/:request/signature',
    status: 201,
    callers: ['api-client'],
    label: 'signature',
    params: SigningRequestParams,
    body: ApplicationSignature,
    response: ReceivedApplication,
  },
  /** This document. Public. */
  apiDocument: {
    method: 'GET',
    path: '/api/v1/openapi.json',
    status: 200,
    callers: ['anyone'],
    label: 'request',
    response: OpenApiDocument,
  },
});
