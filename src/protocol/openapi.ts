/**
 * A node's OpenAPI 3.1 document, generated from the route table (`routes.ts`) and the zod schemas
 * that `serve` validates requests with, so that the document cannot drift from the code: there is
 * no hand-written copy to forget. Each node serves its own at `GET /openapi.json` (`serveOpenApi`),
 * and `renkei openapi <node>` prints it.
 *
 * Schemas are converted by zod's own `z.toJSONSchema` (JSON Schema 2020-12, OpenAPI 3.1's dialect),
 * on their input side: what a client sends and what a handler answers, before any transform (a
 * handler's answer is the input of the route's answer schema, which callers parse). Every schema
 * exported by the wire-contract files is a component under its export name, which by house rule is
 * its name (`InquiryRequest`); a schema written inline in the route table is inlined.
 *
 * We considered annotating the schemas with `.meta({ id })` for the component names, but that would
 * put a second name beside every export, which could drift from it; the export name is the name.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES, HTTP_STATUS } from '../shared/errors.ts';
import * as admin from './admin.ts';
import { ErrorBody } from './error-body.ts';
import type { Api, NamedRoute } from './api.ts';
import * as business from './business.ts';
import * as cards from './cards.ts';
import * as identifiers from './identifiers.ts';
import * as messages from './messages.ts';
import * as jpki from './jpki.ts';
import * as onestopApplications from './onestop-applications.ts';
import * as portalWeb from './portal-web-api.ts';
import { portalWebApi } from './portal-web-api.ts';
import * as residents from './residents.ts';
import * as routes from './routes.ts';
import { NODE_APIS, healthApi, type NodeKind, type OpenApiDocument } from './routes.ts';
import { serve } from './server.ts';

/** The one shape of every error answer of every node. */
export { ErrorBody };

/**
 * A signed message as it travels, `application/jose`: a compact JWS (RFC 7515 §7.1), three base64url
 * parts. What it must hold is checked by the trust layer (src/trust/envelope/), not by this pattern.
 */
export const SignedMessage = z
  .string()
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
  .describe('A compact JWS whose `msg` claim is the message named by x-renkei-signed-message.');

/** Where the component schemas come from: every zod schema these files export, by its export name. */
const WIRE_CONTRACT: readonly Record<string, unknown>[] = [
  identifiers,
  admin,
  business,
  cards,
  messages,
  residents,
  jpki,
  onestopApplications,
  portalWeb,
  routes,
  { ErrorBody, SignedMessage },
];

export interface OpenApiOptions {
  title: string;
  /** The APIs of the route table the document lists, e.g. `NODE_APIS.core`. */
  apis: readonly Api[];
  /**
   * The server's base URL. Absent, the document names none, and OpenAPI reads paths relative to
   * where the document was fetched from: right for `GET /openapi.json`, whose node cannot know under
   * which name its callers reach it.
   */
  serverUrl?: string;
  /** How callers authenticate, when not the network's mutual TLS (the portal's `/api/v1/`). */
  security?: {
    schemes: Record<string, Record<string, unknown>>;
    /** The security requirements of an operation not open to `anyone`. */
    of: (route: NamedRoute) => Record<string, string[]>[];
    description: string;
  };
}

type JsonSchema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const COMPONENT = '#/components/schemas/';
const DIALECT = 'https://json-schema.org/draft/2020-12/schema';

const SIGNED = { $ref: `${COMPONENT}SignedMessage` };

const PLAIN_AND_SIGNED =
  'On the network (mutual TLS, the trust layer) the body is a signed message, `application/jose`; ' +
  'a node started without the trust layer (development, tests) takes and answers the message itself as JSON.';

export function openApiDocument(options: OpenApiOptions): OpenApiDocument {
  const allRoutes = options.apis.flatMap((api) => Object.values(api));
  const schemas = new SchemaSet(allRoutes);
  const comments = routeComments();
  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of allRoutes) {
    const path = openApiPath(route.path);
    const item = (paths[path] ??= {});
    const method = route.method.toLowerCase();
    if (item[method] !== undefined) {
      throw new TypeError(`two routes at ${route.method} ${route.path} (${route.api}.${route.name})`);
    }
    const operation = operationOf(route, schemas, comments.get(`${route.api}.${route.name}`));
    if (options.security && !route.callers.includes('anyone'))
      operation.security = options.security.of(route);
    item[method] = operation;
  }
  return {
    openapi: '3.1.1',
    jsonSchemaDialect: DIALECT,
    info: {
      title: options.title,
      version: packageVersion(),
      description:
        'Generated from the route table of Renkei (src/protocol/routes.ts) and the schemas that validate ' +
        'each request. Every error answer is an `ErrorBody` with a stable code; the 4XX and 5XX responses ' +
        'list the codes of each status.' +
        (options.security ? ` ${options.security.description}` : ''),
    },
    ...(options.serverUrl === undefined ? {} : { servers: [{ url: options.serverUrl }] }),
    tags: options.apis.map((api) => ({ name: apiName(api) })),
    paths,
    components: {
      schemas: schemas.components(paths),
      responses: {
        ClientError: errorResponse('The request was refused', (status) => status < 500),
        ServerError: errorResponse('The node or a node it depends on failed', (status) => status >= 500),
      },
      securitySchemes: options.security?.schemes ?? {
        mutualTLS: {
          type: 'mutualTLS',
          description:
            'TLS 1.3 with a client certificate from the network’s CA: it names the caller’s party and role, ' +
            'which the route’s callers (x-renkei-callers) are checked against.',
        },
      },
    },
  };
}

/**
 * The document of one kind of node: every route of the APIs it may serve (`NODE_APIS`), as
 * `renkei openapi <node>` prints it. A running node answers `servedOpenApiDocument`: these routes,
 * less those it was not configured to serve.
 */
export function nodeOpenApiDocument(node: NodeKind, serverUrl?: string): OpenApiDocument {
  return nodeDocument(node, NODE_APIS[node], serverUrl);
}

function nodeDocument(node: NodeKind, apis: readonly Api[], serverUrl: string | undefined): OpenApiDocument {
  return openApiDocument({
    title: `Renkei ${NODE_TITLES[node]}`,
    apis,
    ...(serverUrl === undefined ? {} : { serverUrl }),
  });
}

/**
 * The document of the Myna Portal's APIs for other services (`/api/v1/` on its web listener,
 * portal-web-api.ts): a resident's access token from the portal's authorization server, described
 * both as a bearer token and as the OAuth 2.0 authorization code flow that gives it (PKCE required),
 * with the scopes the portal knows (`scopes`: name → what it lets a service read or do). `served`:
 * the app the portal serves them on, whose routes alone are then listed (without ぴったりサービス,
 * no 申請API); absent, every route of the table (`renkei openapi portal-web`).
 */
export function portalWebApiDocument(options: {
  origin: string;
  scopes: Record<string, string>;
  served?: FastifyInstance;
}): OpenApiDocument {
  const oidc = `${options.origin}/oidc`;
  const scopeOf: Partial<Record<string, string[]>> = {
    selfInformation: Object.keys(options.scopes).filter((s) => s.startsWith('item:')),
    prepareApplication: ['application'],
    signApplication: ['application'],
  };
  return openApiDocument({
    title: 'Renkei Myna Portal (マイナポータル): APIs for other services (自己情報取得API, 申請API)',
    apis: options.served ? servedApis(options.served, [portalWebApi]) : [portalWebApi],
    serverUrl: options.origin,
    security: {
      description:
        'Callers are services registered by the portal’s operator, with a resident’s access token: ' +
        `the authorization code flow with PKCE (S256) at ${oidc} (discovery: ` +
        `${oidc}/.well-known/openid-configuration), the resident logging in with their card and consenting.`,
      schemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An opaque access token (10 minutes) of the resident’s consent; refused with 401 ERR_INVALID_TOKEN ' +
            'once expired or withdrawn, 403 ERR_INSUFFICIENT_SCOPE beyond the consent (RFC 6750).',
        },
        oauth2: {
          type: 'oauth2',
          description:
            'The portal’s authorization server (oidc-provider). PKCE (S256) is required of every client; ' +
            '`offline_access` (with prompt=consent) gives a rotating refresh token to a client registered for it.',
          flows: {
            authorizationCode: {
              authorizationUrl: `${oidc}/auth`,
              tokenUrl: `${oidc}/token`,
              refreshUrl: `${oidc}/token`,
              scopes: options.scopes,
            },
          },
        },
      },
      of: (route): Record<string, string[]>[] => [{ bearer: [] }, { oauth2: scopeOf[route.name] ?? [] }],
    },
  });
}

const NODE_TITLES: Record<NodeKind, string> = {
  core: 'core (情報提供ネットワークシステム)',
  jlis: 'J-LIS',
  institution: 'institution (intermediate server)',
  corporate: 'corporate-number service (法人番号公表サイト)',
  portal: 'Myna Portal (マイナポータル), network side',
};

/**
 * `GET /openapi.json` on `app`: the document of the node kind it is, listing the routes of its APIs
 * (`NODE_APIS`) that `app` serves, and no other. A node serves some routes only when configured so
 * (the portal's 申請データダウンロード, only with ぴったりサービス): the table says what a kind of
 * node may serve, the app what this one does, and a route the app does not have is not documented.
 *
 * The document is made once, when `app` is ready (Fastify's `onReady`), not when this is called:
 * Fastify takes no route after it is ready, so the set is final then whatever the order the node
 * registers its routes and this in, and a document that cannot be made (two routes at one path)
 * fails the node's start rather than its first caller. We considered making it here and failing
 * when routes are missing, but that could only catch a call before every route (an empty document),
 * not one before some (a document missing the routes registered after it); and making it at the
 * first request would turn the same mistake into a 500 for a client instead of a start that fails.
 *
 * It is `anyone`'s, like `/healthz`: on the trust layer it needs no client certificate, because the
 * document holds no more than the open source code does, and a party must be able to read how to
 * connect before it holds a certificate. (A certificate presented is still checked.)
 */
export function serveOpenApi(app: FastifyInstance, node: NodeKind): void {
  let document: OpenApiDocument | undefined;
  app.addHook('onReady', (done) => {
    try {
      document = servedOpenApiDocument(app, node);
      done();
    } catch (error) {
      done(error instanceof Error ? error : new TypeError(String(error)));
    }
  });
  serve(app, healthApi.apiDocument, () => {
    // Unreachable: Fastify answers no request before it is ready.
    if (document === undefined) throw new TypeError('the OpenAPI document is made when the node is ready');
    return document;
  });
}

/**
 * The document of a node kind as `app` serves it: of the routes of `NODE_APIS[node]`, those `app`
 * has (`hasRoute`, with the route's path as `serve` registers it, Fastify's syntax). An API none of
 * whose routes are served is left out, tag and all.
 */
export function servedOpenApiDocument(app: FastifyInstance, node: NodeKind): OpenApiDocument {
  return nodeDocument(node, servedApis(app, NODE_APIS[node]), undefined);
}

/** The routes of `apis` that `app` serves, each API keeping its served routes (none: left out). */
function servedApis(app: FastifyInstance, apis: readonly Api[]): Api[] {
  return apis
    .map((api) =>
      Object.fromEntries(
        Object.entries(api).filter(([, route]) => app.hasRoute({ method: route.method, url: route.path })),
      ),
    )
    .filter((api) => Object.keys(api).length > 0);
}

function operationOf(route: NamedRoute, schemas: SchemaSet, comment: string | undefined): Operation {
  const parameters = [
    ...parametersOf(route.params, 'path', schemas),
    ...parametersOf(route.query, 'query', schemas),
  ];
  const signedMessage = route.message === undefined ? undefined : schemas.ref(route.body);
  return {
    operationId: `${route.api}.${route.name}`,
    summary: sentenceOf(route.name),
    ...(comment === undefined ? {} : { description: comment }),
    tags: [route.api],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body === undefined ? {} : { requestBody: requestBodyOf(route, schemas) }),
    responses: {
      [String(route.status)]: successOf(route, schemas),
      '4XX': { $ref: '#/components/responses/ClientError' },
      '5XX': { $ref: '#/components/responses/ServerError' },
    },
    security: route.callers.includes('anyone') ? [] : [{ mutualTLS: [] }],
    'x-renkei-callers': [...route.callers],
    ...(signedMessage === undefined
      ? {}
      : { 'x-renkei-signed-message': { type: route.message, schema: signedMessage } }),
    ...(route.boundTo === undefined ? {} : { 'x-renkei-bound-to': route.boundTo }),
  };
}

function requestBodyOf(route: NamedRoute, schemas: SchemaSet): Record<string, unknown> {
  const json = { 'application/json': { schema: schemas.ref(route.body) } };
  if (route.message === undefined) {
    return { required: true, description: `The ${route.label}.`, content: json };
  }
  return {
    required: true,
    description: `The ${route.label}, as the signed message ${route.message}. ${PLAIN_AND_SIGNED}`,
    content: { 'application/jose': { schema: SIGNED }, ...json },
  };
}

function successOf(route: NamedRoute, schemas: SchemaSet): Record<string, unknown> {
  if (route.status === 204) return { description: 'Done; no content.' };
  if (route.answerMediaType !== undefined) {
    return {
      description: 'Success.',
      content: { [route.answerMediaType]: { schema: schemas.ref(route.response) } },
    };
  }
  const json = { 'application/json': { schema: schemas.ref(route.response) } };
  if (route.answer === undefined) return { description: 'Success.', content: json };
  return {
    description: `Success: the signed message ${route.answer}. ${PLAIN_AND_SIGNED}`,
    content: { 'application/jose': { schema: SIGNED }, ...json },
    'x-renkei-signed-message': { type: route.answer, schema: schemas.ref(route.response) },
  };
}

function parametersOf(
  schema: z.ZodType | undefined,
  where: 'path' | 'query',
  schemas: SchemaSet,
): Record<string, unknown>[] {
  if (schema === undefined) return [];
  const object = schemas.resolve(schemas.ref(schema));
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    schema: property,
  }));
}

/** The codes of the statuses `which` selects, each with its status, in the table's order. */
function errorResponse(what: string, which: (status: number) => boolean): Record<string, unknown> {
  const codes = ERROR_CODES.filter((code) => which(HTTP_STATUS[code]));
  return {
    description: `${what}: an ErrorBody with one of these codes (and its status): ${codes
      .map((code) => `${code} (${HTTP_STATUS[code]})`)
      .join(', ')}.`,
    content: { 'application/json': { schema: { $ref: `${COMPONENT}ErrorBody` } } },
  };
}

/**
 * The JSON Schemas of a set of routes: the named ones as components, referenced by `$ref`, the
 * inline ones inlined; only the components the routes reach are kept.
 */
class SchemaSet {
  private readonly converted: Record<string, JsonSchema>;
  private readonly ids = new Map<z.ZodType, string>();
  private readonly named = new Set<string>();

  constructor(routes: readonly NamedRoute[]) {
    const registry = z.registry<{ id: string }>();
    for (const module of WIRE_CONTRACT) {
      for (const [name, value] of Object.entries(module)) {
        if (!(value instanceof z.ZodType) || this.ids.has(value)) continue;
        if (this.named.has(name)) throw new TypeError(`two wire schemas are named ${name}`);
        this.ids.set(value, name);
        this.named.add(name);
        registry.add(value, { id: name });
      }
    }
    // Inline schemas of the table join the registry under a name no export can have, so that one
    // conversion gives them `$ref`s to the named ones; they are inlined again where used.
    for (const route of routes) {
      for (const part of ['params', 'query', 'body', 'response'] as const) {
        const schema = route[part];
        // A 204 answers no body: its `NoContent` has no JSON Schema.
        if (schema === undefined || this.ids.has(schema) || (part === 'response' && route.status === 204))
          continue;
        const id = `~${route.api}.${route.name}.${part}`;
        this.ids.set(schema, id);
        registry.add(schema, { id });
      }
    }
    const { schemas } = z.toJSONSchema(registry, {
      target: 'draft-2020-12',
      io: 'input',
      unrepresentable: 'throw',
      uri: (id) => `${COMPONENT}${id}`,
    });
    this.converted = Object.fromEntries(
      Object.entries(schemas).map(([id, schema]) => {
        const { $schema: _dialect, $id: _id, ...rest } = schema as JsonSchema;
        return [id, rest];
      }),
    );
  }

  /** A `$ref` to a named schema, or the inline schema itself (with `$ref`s to named ones). */
  ref(schema: z.ZodType | undefined): JsonSchema {
    const id = schema === undefined ? undefined : this.ids.get(schema);
    if (id === undefined) throw new TypeError('a route schema was not converted');
    return this.named.has(id) ? { $ref: `${COMPONENT}${id}` } : this.get(id);
  }

  /** The schema a `$ref` points to (one level). */
  resolve(schema: JsonSchema): JsonSchema {
    const ref = schema.$ref;
    return typeof ref === 'string' && ref.startsWith(COMPONENT)
      ? this.get(ref.slice(COMPONENT.length))
      : schema;
  }

  /** The named schemas `document` reaches, directly or through others, and the error body. */
  components(document: unknown): Record<string, JsonSchema> {
    const reached = new Set<string>(['ErrorBody']);
    const visit = (value: unknown): void => {
      if (Array.isArray(value)) {
        for (const item of value) visit(item);
      } else if (typeof value === 'object' && value !== null) {
        for (const [key, inner] of Object.entries(value)) {
          if (key === '$ref' && typeof inner === 'string' && inner.startsWith(COMPONENT)) {
            const id = inner.slice(COMPONENT.length);
            if (!reached.has(id)) {
              reached.add(id);
              visit(this.get(id));
            }
          } else visit(inner);
        }
      }
    };
    visit(document);
    visit(this.get('ErrorBody'));
    return Object.fromEntries([...reached].sort().map((id) => [id, this.get(id)]));
  }

  private get(id: string): JsonSchema {
    const schema = this.converted[id];
    if (schema === undefined) throw new TypeError(`no schema ${id}`);
    return schema;
  }
}

/**
 * The doc comment of each route of the table, by `api.name`: what the route does and the error codes
 * it answers besides everyone's. Read from routes.ts itself, which the package runs from (tsx), in
 * the layout test/architecture.test.ts reads too. We considered a `description` field in the table,
 * but the comment is what a reader of the code sees; a field beside it would be a second copy.
 */
function routeComments(): Map<string, string> {
  const comments = new Map<string, string>();
  let text = '';
  for (const file of ['./routes.ts', './portal-web-api.ts']) {
    try {
      text += readFileSync(new URL(file, import.meta.url), 'utf8');
    } catch {
      // a build without sources: operations keep their summaries only
    }
  }
  for (const table of text.matchAll(/defineApi\('(\w+)', \{([\s\S]*?)\n\}\);/g)) {
    for (const route of (table[2] ?? '').matchAll(/\n {2}\/\*\*([\s\S]*?)\*\/\n {2}(\w+): \{/g)) {
      const lines = (route[1] ?? '').split('\n').map((line) => line.replace(/^\s*\*\s?/, '').trim());
      comments.set(`${table[1]}.${route[2]}`, lines.filter(Boolean).join(' '));
    }
  }
  return comments;
}

/** `/v1/inquiries/:processingNumber` → `/v1/inquiries/{processingNumber}`; `::` is a literal colon. */
export function openApiPath(path: string): string {
  return path.replace(/(::)|:([A-Za-z]+)/g, (_, escaped: string | undefined, key: string) =>
    escaped ? ':' : `{${key}}`,
  );
}

/** `submitInquiry` → `Submit inquiry`. */
function sentenceOf(name: string): string {
  const words = name.replace(/([A-Z])/g, ' $1').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function apiName(api: Api): string {
  const first = Object.values(api)[0];
  if (first === undefined) throw new TypeError('an API without routes');
  return first.api;
}

function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
