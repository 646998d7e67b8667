/**
 * The OpenAPI documents, checked by an implementation that is not ours (@readme/openapi-parser for
 * the document, Ajv for its JSON Schemas), and against the nodes as they run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate, compileErrors } from '@readme/openapi-parser';
// Ajv and ajv-formats come with Fastify; an independent JSON Schema 2020-12 validator.
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoNetwork, type DemoNetwork } from '../../test/support/demo-network.ts';
import { startPortalNetwork, type PortalNetwork } from '../../test/support/portal-network.ts';
import { RenkeiError } from '../shared/errors.ts';
import { createHttpApp } from '../shared/http.ts';
import { silentLogger } from '../shared/logger.ts';
import { systemClock } from '../shared/clock.ts';
import { initPki, issuePartyCertificates } from '../trust/pki/authority.ts';
import { partyPaths, pkiPaths } from '../trust/pki/files.ts';
import type { NamedRoute } from './api.ts';
import { InquiryInput } from './business.ts';
import {
  ErrorBody,
  nodeOpenApiDocument,
  openApiPath,
  portalWebApiDocument,
  serveOpenApi,
  servedOpenApiDocument,
} from './openapi.ts';
import { portalWebApi } from './portal-web-api.ts';
import { NewResident } from './residents.ts';
import { serve } from './server.ts';
import {
  NODE_APIS,
  coreApi,
  jlisApi,
  businessApi,
  corporateApi,
  healthApi,
  portalApi,
  portalNetworkApi,
  type NodeKind,
  type OpenApiDocument,
} from './routes.ts';
import * as routes from './routes.ts';

const KINDS = Object.keys(NODE_APIS) as NodeKind[];

/** Every route of the whole table, whichever node serves it (once: a part of an API holds its entries). */
const TABLE: NamedRoute[] = [
  ...new Set(
    (Object.values(routes) as unknown[]).flatMap((value) =>
      typeof value === 'object' && value !== null ? Object.values(value).filter(isRoute) : [],
    ),
  ),
];

function isRoute(value: unknown): value is NamedRoute {
  return typeof value === 'object' && value !== null && 'api' in value && 'method' in value;
}

/** The value at `keys` in a JSON document, for reading the generated one in assertions. */
function at(value: unknown, ...keys: string[]): unknown {
  let here = value;
  for (const key of keys) here = (here as Record<string, unknown> | undefined)?.[key];
  return here;
}

function operationsOf(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

function routesOf(kind: NodeKind): NamedRoute[] {
  return NODE_APIS[kind].flatMap((api) => Object.values(api) as NamedRoute[]);
}

describe('the OpenAPI document of each node', () => {
  it.each(KINDS)('is valid OpenAPI 3.1 for the %s, by an independent validator', async (kind) => {
    const document = nodeOpenApiDocument(kind);
    // The parser dereferences in place: give it a copy.
    const result = await validate(structuredClone(document) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(document.openapi).toMatch(/^3\.1\./);
  });

  it.each(KINDS)('lists every route of the APIs the %s serves, and no other', (kind) => {
    const document = nodeOpenApiDocument(kind);
    const expected = routesOf(kind).map((route) => `${route.method} ${openApiPath(route.path)}`);
    expect(operationsOf(document).sort()).toEqual([...expected].sort());
    const ids = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((operation) => operation.operationId),
    );
    expect(ids.sort()).toEqual(
      routesOf(kind)
        .map((route) => `${route.api}.${route.name}`)
        .sort(),
    );
  });

  it('documents each route with one node only, but the part of networkApi the portal serves too, and every route of the table with some node', () => {
    // Every node serves the health and monitoring routes.
    const everywhere = new Set(
      TABLE.filter((route) => route.api === 'health' || route.api === 'monitoring').map(
        (route) => `${route.method} ${openApiPath(route.path)}`,
      ),
    );
    expect(everywhere).toContain('GET /metrics');
    for (const kind of KINDS) {
      const operations = operationsOf(nodeOpenApiDocument(kind));
      for (const operation of everywhere) expect(operations, kind).toContain(operation);
    }
    const documented = KINDS.flatMap((kind) => operationsOf(nodeOpenApiDocument(kind))).filter(
      (operation) => !everywhere.has(operation),
    );
    // The portal's network listener serves these as an institution's does: both document them.
    const shared = new Set(
      Object.values(portalNetworkApi).map((route) => `${route.method} ${openApiPath(route.path)}`),
    );
    expect(shared.size).toBeGreaterThan(0);
    for (const operation of shared) {
      expect(
        documented.filter((d) => d === operation),
        operation,
      ).toHaveLength(2);
    }
    const once = documented.filter((operation) => !shared.has(operation));
    expect(new Set(once).size).toBe(once.length);
    const table = TABLE.filter((route) => route.api !== 'health' && route.api !== 'monitoring').map(
      (route) => `${route.method} ${openApiPath(route.path)}`,
    );
    expect([...new Set(documented)].sort()).toEqual(table.sort());
  });

  it('describes each operation with its doc comment in the route table, error codes included', () => {
    const inquiry = nodeOpenApiDocument('core').paths['/v1/inquiries']?.post;
    expect(inquiry?.summary).toBe('Submit inquiry');
    expect(inquiry?.description).toMatch(/^An intermediate server's inquiry: numbered, authorized/);
    expect(inquiry?.description).toContain('ERR_INQUIRY_NOT_AUTHORIZED');
    const described = KINDS.flatMap((kind) =>
      Object.values(nodeOpenApiDocument(kind).paths).flatMap((item) => Object.values(item)),
    ).filter((operation) => typeof operation.description === 'string');
    // Most routes have a comment (listInstitutions and a few others have none); the parse must find them.
    expect(described.length).toBeGreaterThan(20);
  });

  it('puts the callers on every operation, and asks for a client certificate unless anyone may call', () => {
    const document = nodeOpenApiDocument('core');
    const inquiry = document.paths['/v1/inquiries']?.post;
    expect(inquiry?.['x-renkei-callers']).toEqual(['institution', 'portal']);
    expect(inquiry?.security).toEqual([{ mutualTLS: [] }]);
    const health = document.paths['/healthz']?.get;
    expect(health?.['x-renkei-callers']).toEqual(['anyone']);
    expect(health?.security).toEqual([]);
  });

  it('documents a node-to-node body as a compact JWS, with the signed message type and its msg schema', () => {
    const document = nodeOpenApiDocument('core');
    const inquiry = document.paths['/v1/inquiries']?.post;
    expect(Object.keys(at(inquiry, 'requestBody', 'content') ?? {})).toEqual([
      'application/jose',
      'application/json',
    ]);
    expect(at(inquiry, 'requestBody', 'content', 'application/jose', 'schema')).toEqual({
      $ref: '#/components/schemas/SignedMessage',
    });
    expect(inquiry?.['x-renkei-signed-message']).toEqual({
      type: coreApi.submitInquiry.message,
      schema: { $ref: '#/components/schemas/InquiryRequest' },
    });
    expect(at(inquiry, 'responses', '202', 'x-renkei-signed-message')).toEqual({
      type: coreApi.submitInquiry.answer,
      schema: { $ref: '#/components/schemas/InquiryAccepted' },
    });
    // A business route takes JSON only: the trust layer signs nothing there.
    const business = nodeOpenApiDocument('institution').paths['/business/v1/inquiries']?.post;
    expect(Object.keys(at(business, 'requestBody', 'content') ?? {})).toEqual(['application/json']);
    expect(business?.['x-renkei-signed-message']).toBeUndefined();
  });

  it('lists every stable error code, and an error body of the nodes follows the error schema', () => {
    const document = nodeOpenApiDocument('jlis');
    const body = new RenkeiError('ERR_UNKNOWN_RESIDENT', 'No such resident.', { field: 'x' }).toJSON();
    expect(ErrorBody.parse(body)).toEqual(body);
    const schema = compile(document, { $ref: '#/components/schemas/ErrorBody' });
    expect(schema(body)).toBe(true);
    expect(schema({ error: { code: 'ERR_MADE_UP', message: '', details: {} } })).toBe(false);
    const described = ['ClientError', 'ServerError']
      .map((name) => String(at(document, 'components', 'responses', name, 'description')))
      .join(' ');
    for (const code of [
      'ERR_VALIDATION',
      'ERR_CLIENT_CERT_REQUIRED',
      'ERR_UNKNOWN_RESIDENT',
      'ERR_INTERNAL',
    ]) {
      expect(described).toContain(code);
    }
  });

  // The document's schemas are zod's, converted: a client validating with them refuses what the
  // node refuses, and never refuses what the node accepts. What JSON Schema cannot say (a refinement
  // such as a check digit, a string trimmed before its length is checked) leaves the document looser.
  describe.each([
    {
      route: businessApi.inquire,
      zod: InquiryInput,
      samples: [
        { addresseeNumber: 'A1', providerId: '131016', clauseNo: '74', procedureId: '074-01', itemNos: [2] },
        { addresseeNumber: 'A1', providerId: '131016', clauseNo: '74', procedureId: '074-01', itemNos: [] },
        { addresseeNumber: 'A1', providerId: '131016', clauseNo: '74', procedureId: '074-01' },
        { addresseeNumber: 'A 1', providerId: '131016', clauseNo: '74', procedureId: '074-01', itemNos: [2] },
        { addresseeNumber: 'A1', providerId: '131016', clauseNo: '74', procedureId: '074-01', itemNos: [0] },
        { addresseeNumber: 'A1', providerId: 'X', clauseNo: '74', procedureId: '074-01', itemNos: [2] },
        { addresseeNumber: 'A1', providerId: '131016', clauseNo: 'a', procedureId: '074-01', itemNos: [2.5] },
        {
          addresseeNumber: 'A1',
          providerId: '131016',
          clauseNo: '74',
          procedureId: '074-01',
          itemNos: [2],
          nonDisclosure: 'yes',
        },
      ],
    },
    {
      route: jlisApi.registerResident,
      zod: NewResident,
      samples: [
        { name: '佐藤 一郎', address: '東京都千代田区千代田1番1号', dateOfBirth: '1970-01-01', sex: 'other' },
        { name: '佐藤 一郎', address: '東京都千代田区千代田1番1号', dateOfBirth: '1970-13-01', sex: 'other' },
        { name: '佐藤 一郎', address: '東京都千代田区千代田1番1号', dateOfBirth: '1970-01-01', sex: 'x' },
        { name: '', address: '東京都千代田区千代田1番1号', dateOfBirth: '1970-01-01', sex: 'male' },
        { name: '佐藤 一郎', dateOfBirth: '1970-01-01', sex: 'female' },
        { name: 'x'.repeat(101), address: 'a', dateOfBirth: '1970-01-01', sex: 'female' },
        'not an object',
      ],
    },
  ])('the request body of $route.api.$route.name', ({ route, zod, samples }) => {
    const kind = KINDS.find((k) => routesOf(k).includes(route)) ?? 'core';
    const document = nodeOpenApiDocument(kind);
    const operation = document.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
    const check = compile(document, at(operation, 'requestBody', 'content', 'application/json', 'schema'));

    it.each(samples.map((sample, i) => [i, sample] as const))(
      'judges sample %i as the route’s zod schema does',
      (_, sample) => {
        expect(check(sample)).toBe(zod.safeParse(sample).success);
      },
    );

    it('has samples zod accepts and samples zod refuses', () => {
      const accepted = samples.filter((sample) => zod.safeParse(sample).success);
      expect(accepted.length).toBeGreaterThan(0);
      expect(accepted.length).toBeLessThan(samples.length);
    });
  });

  it('is looser than zod only where JSON Schema cannot follow: a name of spaces, trimmed before its length', () => {
    const document = nodeOpenApiDocument('jlis');
    const check = compile(document, { $ref: '#/components/schemas/NewResident' });
    const spaces = { name: '   ', address: 'a', dateOfBirth: '1970-01-01', sex: 'female' };
    expect(NewResident.safeParse(spaces).success).toBe(false);
    expect(check(spaces)).toBe(true);
  });
});

describe('serveOpenApi', () => {
  it('documents the routes the app serves, those registered after it too, and no route the app lacks', async () => {
    const app = createHttpApp({ logger: silentLogger(), node: 'corporate' });
    try {
      // Called before the routes: the document is made when the app is ready, not here.
      serveOpenApi(app, 'corporate');
      serve(app, corporateApi.showCorporation, () => {
        throw new RenkeiError('ERR_UNKNOWN_CORPORATION', 'No such corporation.', {});
      });
      const response = await app.inject({ method: 'GET', url: '/openapi.json' });
      expect(response.statusCode).toBe(200);
      const document = response.json<OpenApiDocument>();
      expect(operationsOf(document).sort()).toEqual(
        [healthApi.health, healthApi.ready, healthApi.apiDocument, corporateApi.showCorporation]
          .map((route) => `${route.method} ${openApiPath(route.path)}`)
          .sort(),
      );
      // The kind's whole document lists the corporate routes this app lacks.
      expect(operationsOf(nodeOpenApiDocument('corporate')).length).toBeGreaterThan(3);
    } finally {
      await app.close();
    }
  });

  it('keeps the path of a route whose path has a literal colon (Fastify’s `::`)', async () => {
    const app = createHttpApp({ logger: silentLogger(), node: 'institution' });
    try {
      serveOpenApi(app, 'institution');
      serve(app, businessApi.putCopies, () => {
        throw new RenkeiError('ERR_INTERNAL', 'Not called.', {});
      });
      await app.ready();
      expect(operationsOf(servedOpenApiDocument(app, 'institution'))).toContain(
        `POST ${openApiPath(businessApi.putCopies.path)}`,
      );
      expect(businessApi.putCopies.path).toContain('::');
    } finally {
      await app.close();
    }
  });
});

/** A JSON Schema of `document` (with `$ref`s into its components), compiled by Ajv. */
function compile(document: OpenApiDocument, schema: unknown): (value: unknown) => boolean {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'https://renkei.invalid/openapi.json', components: document.components });
  const validateValue = ajv.compile({
    $id: 'https://renkei.invalid/sample.json',
    $ref: rebase(schema),
  });
  return (value) => validateValue(value);

  function rebase(inner: unknown): string {
    const ref = (inner as { $ref?: unknown }).$ref;
    if (typeof ref !== 'string') throw new TypeError('expected a $ref');
    return `https://renkei.invalid/openapi.json${ref}`;
  }
}

// ── The running nodes ───────────────────────────────────────────────────────────────────────────

async function get(agent: Agent, url: string, method: NamedRoute['method'] = 'GET') {
  const response = await request(url, { method, dispatcher: agent });
  const text = await response.body.text();
  return { status: response.statusCode, type: response.headers['content-type'], text };
}

/** The document the listener at `url` answers at `/openapi.json`, checked by the independent validator. */
async function fetchDocument(agent: Agent, kind: NodeKind, url: string): Promise<OpenApiDocument> {
  expect(url).toMatch(/^https:/);
  const response = await get(agent, `${url}/openapi.json`);
  expect(response.status, kind).toBe(200);
  expect(response.type).toMatch(/^application\/json/);
  const document = JSON.parse(response.text) as OpenApiDocument;
  const result = await validate(structuredClone(document) as never);
  expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  return document;
}

/**
 * That the listener at `url` answers its kind's whole generated document: every route of the APIs
 * its kind serves is served (a route the node always serves but did not register is missing there).
 */
async function expectAnswersItsDocument(agent: Agent, kind: NodeKind, url: string): Promise<void> {
  expect(await fetchDocument(agent, kind, url), kind).toEqual(nodeOpenApiDocument(kind));
}

/**
 * That the listener at `url` serves exactly the routes of the whole table that the document it
 * answers lists: each route is asked for, without a certificate, so that the listener's own routing
 * says whether it has it.
 */
async function expectServesItsRoutes(agent: Agent, kind: NodeKind, url: string): Promise<void> {
  const documented = new Set(operationsOf(await fetchDocument(agent, kind, url)));
  let served = 0;
  for (const route of TABLE) {
    const path = route.path.replace(/(::)|:([A-Za-z]+)/g, (_, colon: string | undefined, name: string) =>
      colon ? ':' : name === 'itemNo' ? '1' : 'x',
    );
    const { status, text } = await get(agent, `${url}${path}`, route.method);
    // Without a certificate a served route refuses (or, for anyone's, answers); only a route the
    // node does not have is ERR_ROUTE_NOT_FOUND.
    const has = !(status === 404 && text.includes('ERR_ROUTE_NOT_FOUND'));
    const operation = `${route.method} ${openApiPath(route.path)}`;
    expect(has, `${kind}: ${operation}`).toBe(documented.has(operation));
    if (has) served++;
  }
  expect(served, kind).toBeGreaterThan(2);
}

describe('GET /openapi.json on a running network', () => {
  let demo: DemoNetwork | undefined;
  let agent: Agent;

  beforeAll(async () => {
    demo = await startDemoNetwork('openapi');
    // Trusting the network's CA, but presenting no certificate: the document is anyone's.
    const ca = readFileSync(pkiPaths(demo.network.pkiDir ?? '').caBundle, 'utf8');
    agent = new Agent({ connect: { ca } });
  });

  afterAll(async () => {
    await agent.close();
    await demo?.dispose();
  });

  function nodes(): [NodeKind, string][] {
    const network = demo?.network;
    if (!network) throw new TypeError('no network');
    const institution = [...network.institutions.values()][0];
    if (!institution) throw new TypeError('no institution');
    return [
      ['core', network.core.url],
      ['jlis', network.jlis.url],
      ['institution', institution.url],
    ];
  }

  it('answers each node’s generated document over mutual TLS, without a client certificate', async () => {
    for (const [kind, url] of nodes()) await expectAnswersItsDocument(agent, kind, url);
  });

  it('still checks a certificate presented for it: one of another CA is refused, as on every route', async () => {
    const stranger = join(demo?.dir ?? '', 'stranger-pki');
    await initPki({ dir: stranger, clock: systemClock });
    await issuePartyCertificates({ dir: stranger, partyId: 'jlis', role: 'jlis', clock: systemClock });
    const files = partyPaths(stranger, 'jlis');
    const forged = new Agent({
      connect: {
        ca: readFileSync(pkiPaths(demo?.network.pkiDir ?? '').caBundle, 'utf8'),
        key: readFileSync(files.identityKey, 'utf8'),
        cert: readFileSync(files.identityCert, 'utf8'),
      },
    });
    try {
      const [, coreUrl] = nodes()[0] ?? [];
      const response = await request(`${coreUrl}/openapi.json`, { dispatcher: forged });
      const text = await response.body.text();
      expect(response.statusCode).toBe(401);
      expect(text).toContain('ERR_CERT_UNTRUSTED');
    } finally {
      await forged.close();
    }
  });

  it('serves at each node exactly the routes of the table its document lists', async () => {
    for (const [kind, url] of nodes()) await expectServesItsRoutes(agent, kind, url);
  });
});

/** A portal network for the enclosing describe, and an agent that trusts its CA (no client certificate). */
function portalNetworkWithAgent(
  name: string,
  options?: Parameters<typeof startPortalNetwork>[1],
): () => { net: PortalNetwork; agent: Agent } {
  let net: PortalNetwork | undefined;
  let agent: Agent | undefined;
  beforeAll(async () => {
    net = await startPortalNetwork(name, options);
    const ca = readFileSync(pkiPaths(net.network.pkiDir ?? '').caBundle, 'utf8');
    agent = new Agent({ connect: { ca } });
  }, 120_000);
  afterAll(async () => {
    await agent?.close();
    await net?.dispose();
  });
  return () => ({ net: net!, agent: agent! });
}

describe('GET /openapi.json on the Myna Portal’s network listener', () => {
  const started = portalNetworkWithAgent('openapi-portal');

  it('answers the portal’s generated document over mutual TLS, without a client certificate', async () => {
    await expectAnswersItsDocument(started().agent, 'portal', started().net.portal.networkUrl);
  });

  it('serves exactly the routes of the table its document lists', async () => {
    await expectServesItsRoutes(started().agent, 'portal', started().net.portal.networkUrl);
  });
});

describe('GET /openapi.json on a Myna Portal without ぴったりサービス', () => {
  const started = portalNetworkWithAgent('openapi-portal-bare', { portal: { onestopDir: false } });
  // 申請データダウンロード: served (and documented) only by a portal with ぴったりサービス.
  const downloads = [
    portalApi.listApplications,
    portalApi.getApplication,
    portalApi.downloadApplications,
  ].map((route) => `${route.method} ${openApiPath(route.path)}`);

  it('documents every route of the portal’s table but the three application downloads, which a portal with it documents', async () => {
    const document = await fetchDocument(started().agent, 'portal', started().net.portal.networkUrl);
    const whole = operationsOf(nodeOpenApiDocument('portal'));
    for (const operation of downloads) expect(whole).toContain(operation);
    expect(operationsOf(document).sort()).toEqual(whole.filter((o) => !downloads.includes(o)).sort());
    // The tag of portalApi stays (deliverPortalNotice is served); no schema only the downloads use is left.
    expect(at(document, 'tags')).toEqual(at(nodeOpenApiDocument('portal'), 'tags'));
    const schemas = (document: OpenApiDocument) => Object.keys(at(document, 'components', 'schemas') ?? {});
    expect(schemas(nodeOpenApiDocument('portal'))).toContain('ApplicationBulkRequest');
    expect(schemas(document)).not.toContain('ApplicationBulkRequest');
  });

  it('serves exactly the routes of the table its document lists', async () => {
    await expectServesItsRoutes(started().agent, 'portal', started().net.portal.networkUrl);
  });

  it('lists in its web listener’s /api/v1/ document no 申請API, which it does not serve either', async () => {
    const response = await request(`${started().net.portal.url}/api/v1/openapi.json`);
    expect(response.statusCode).toBe(200);
    const document = (await response.body.json()) as OpenApiDocument;
    const result = await validate(structuredClone(document) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    const applicationApi = [
      portalWebApi.searchProcedures,
      portalWebApi.prepareApplication,
      portalWebApi.signApplication,
    ].map((route) => `${route.method} ${openApiPath(route.path)}`);
    const whole = operationsOf(portalWebApiDocument({ origin: started().net.portal.url, scopes: {} }));
    for (const operation of applicationApi) expect(whole).toContain(operation);
    expect(operationsOf(document).sort()).toEqual(whole.filter((o) => !applicationApi.includes(o)).sort());
    const served = started()
      .net.portal.apiRoutes()
      .map((route) => {
        const [method, path] = route.split(' ');
        return `${method} ${openApiPath(path ?? '')}`;
      });
    expect([...new Set(served)].sort()).toEqual(operationsOf(document).sort());
  });
});
