/**
 * Helpers for the core's tests: a tiny legal table, stand-ins for the institutions on the other side
 * of the wire (small real Fastify apps speaking messages.ts), and a core on a real SQLite file in a
 * temporary directory, listening on a real port; two municipalities exchanging through it, and its
 * consoles and oversight service over it, as the consoles' tests start them. Nothing of the core's
 * own is mocked.
 *
 * The legal table here is built from a few in-memory clauses by the real loader.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type {
  Clause,
  InfoItem,
  InstitutionSelector,
  LegalTable,
  Procedure,
} from '../../domain/legal-table/types.ts';
import type { InstitutionRegistration } from '../../protocol/admin.ts';
import type { ResidentNoticeDelivery } from '../../protocol/resident-notices.ts';
import type { PortalNoticeDelivery } from '../../protocol/portal-notices.ts';
import type { RecordCheckRequest } from '../../protocol/record-checks.ts';
import type { InstitutionKind } from '../../protocol/identifiers.ts';
import type {
  AnswerBatchDelivery,
  AnswerDelivery,
  CodeDelivery,
  InquiryRequest,
  ProvisionBatchRequest,
  ProvisionFailure,
  ProvisionRequest,
} from '../../protocol/messages.ts';
import { fixedClock, type Clock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { createHttpApp, listen } from '../../shared/http.ts';
import { silentLogger, type Logger } from '../../shared/logger.ts';
import { httpTransport } from '../../protocol/http-transport.ts';
import { createCore, type Core, type CoreDeps } from './core.ts';
import { generateCoreKeys, type CoreKeys } from './keys.ts';
import { nodeDatabase } from '../../shared/db.ts';
import { dropTestSchemas, schemaText, testPostgres } from '../../shared/test-databases.ts';
import { openCoreStore, type KyselyCoreStore } from './kysely-store.ts';
import type { InquiryState, ProvisionRecord } from './model.ts';
import { buildLegalTable, type LegalFiles } from '../../domain/legal-table/load.ts';
import type { FastifyInstance } from 'fastify';
import { AccountService } from '../../shared/web/console/accounts.ts';
import type { ConsoleRole } from '../../shared/web/console/store.ts';
import { createCoreConsole, type CoreConsoleDeps } from './console/core-console.ts';
import { operatorConsole } from './console/operator-console.ts';
import { createWebApp } from '../../shared/web/server.ts';
import { AnomalyService } from './service/anomalies.ts';
import { OversightService, type OversightServiceOptions } from './service/oversight.ts';

// ── A tiny legal table ─────────────────────────────────────────────────────────────────────────

const selector = (kinds: InstitutionKind[], institutions: string[] = []): InstitutionSelector => ({
  kinds,
  institutions,
});

const CLAUSES: Clause[] = [
  {
    clauseNo: '74',
    business: '児童手当法による児童手当の支給に関する事務',
    businessEn: 'child allowance',
    law: '児童手当法',
    lawEn: 'Child Allowance Act',
    requester: selector(['municipality']),
    provisions: [{ provider: selector(['municipality']), itemNos: [1, 2] }],
    effectiveFrom: '2015-01-01',
    modelled: true,
  },
  {
    clauseNo: '1',
    business: '健康保険法による保険給付の支給に関する事務',
    businessEn: 'health insurance benefits',
    law: '健康保険法',
    lawEn: 'Health Insurance Act',
    requester: selector(['health_insurer']),
    provisions: [{ provider: selector(['municipality']), itemNos: [2] }],
    effectiveFrom: '2015-01-01',
    modelled: true,
  },
];

const PROCEDURES: Procedure[] = [
  {
    procedureId: '074-01',
    clauseNo: '74',
    name: '児童手当の認定請求',
    nameEn: 'child allowance claim',
    appliedTo: '市区町村',
    appliedToEn: 'Municipality',
    itemNos: [2],
    attachmentsOmitted: [{ name: '課税証明書', nameEn: 'Tax certificate', itemNos: [2] }],
    itemNosWithoutAttachment: [],
    effectiveFrom: '2015-01-01',
    modelled: true,
  },
  {
    procedureId: '001-01',
    clauseNo: '1',
    name: '高額療養費の支給申請',
    nameEn: 'high-cost medical expense benefit',
    appliedTo: '協会けんぽ',
    appliedToEn: 'Japan Health Insurance Association',
    itemNos: [2],
    attachmentsOmitted: [{ name: '課税証明書', nameEn: 'Tax certificate', itemNos: [2] }],
    itemNosWithoutAttachment: [],
    effectiveFrom: '2015-01-01',
    modelled: true,
  },
];

const ITEMS: InfoItem[] = [1, 2, 31].map((itemNo) => ({
  itemNo,
  name: `item ${itemNo}`,
  nameEn: `item ${itemNo}`,
  layouts: [
    {
      version: '1',
      effectiveFrom: '2015-01-01',
      fields: [{ name: 'value', label: '値', labelEn: 'Value', type: 'string', required: false }],
      example: {},
    },
  ],
  modelled: true,
}));

/**
 * A `LegalTable` over clauses 74 (municipality ↔ municipality, item 2) and 1 (insurer → municipality),
 * built by the real loader.
 */
export function testLegalTable(): LegalTable {
  return buildLegalTable(
    { clauses: CLAUSES, procedures: PROCEDURES, items: ITEMS },
    'test-legal-table-digest',
  );
}

/**
 * The test table as the three files an operator loads (what `renkei legal load` and the console
 * send), with `change` applied to its parsed entries first.
 */
export function testLegalFiles(
  change: (t: { clauses: unknown[]; procedures: unknown[] }) => void = () => {},
): LegalFiles {
  const table = testLegalTable();
  const clauses = structuredClone([...table.clauses]) as unknown[];
  const procedures = structuredClone([...table.procedures]) as unknown[];
  change({ clauses, procedures });
  return { clauses: stringify(clauses), procedures: stringify(procedures), items: stringify(table.items) };
}

// ── Stand-ins for institutions' network endpoints ──────────────────────────────────────────────

/** Answers a provision request; may answer anything at all, to test how the core takes nonsense. */
export type ProvisionHandler = (request: ProvisionRequest) => unknown;

export interface StandIn {
  url: string;
  deliveries: CodeDelivery[];
  provisionRequests: ProvisionRequest[];
  answers: AnswerDelivery[];
  /** The failures the core told this stand-in of, as provider. */
  failureNotices: ProvisionFailure[];
  /** How many of the next failure notices to refuse with HTTP 503 before acknowledging. */
  failNextNotices: number;
  /** How the stand-in answers provision requests (default: provided, one item with `marker`). */
  onProvision: ProvisionHandler;
  /** How many of the next answer deliveries to refuse with HTTP 503 before accepting. */
  failNextAnswers: number;
  /** As `failNextAnswers`, for pushes of batch answers. */
  failNextAnswerBatches: number;
  /** Batches: the provision batches received, and how the stand-in answers one (default: all not held). */
  provisionBatches: ProvisionBatchRequest[];
  onProvisionBatch: (request: ProvisionBatchRequest) => unknown;
  /** Batch answers delivered to this stand-in, as requester. */
  answerBatches: AnswerBatchDelivery[];
  /** Notices of change delivered to this stand-in, and how many of the next to refuse with 503. */
  residentNotices: ResidentNoticeDelivery[];
  failNextResidentNotices: number;
  /** Refuse every notice of change for good (400 ERR_DECRYPTION_FAILED), as a holder that cannot open it. */
  refuseResidentNotices: boolean;
  /** As the Myna Portal: institutions' notices delivered to this stand-in. */
  portalNotices: PortalNoticeDelivery[];
  /** The core's record checks (the oversight console's cross-check), and how the stand-in answers one. */
  recordChecks: RecordCheckRequest[];
  onRecordCheck: (request: RecordCheckRequest) => unknown;
  /** The code this stand-in received for an acquisition number. */
  codeFor(acquisitionNumber: string): string;
  close(): Promise<void>;
}

export const ITEM_MARKER = 'ITEM-MARKER-7f3a9c';

/** An institution's network side, as a small real Fastify app: it records what the core sends it. */
export async function startStandIn(): Promise<StandIn> {
  const app = createHttpApp({ logger: silentLogger(), node: 'stand-in' });
  const standIn: StandIn = {
    url: '',
    deliveries: [],
    provisionRequests: [],
    answers: [],
    failureNotices: [],
    failNextNotices: 0,
    onProvision: (request) => ({
      processingNumber: request.processingNumber,
      outcome: 'provided',
      items: request.itemNos.map((itemNo) => ({ itemNo, layoutVersion: '1', data: { marker: ITEM_MARKER } })),
      answeredAt: new Date().toISOString(),
    }),
    failNextAnswers: 0,
    failNextAnswerBatches: 0,
    provisionBatches: [],
    onProvisionBatch: (request) => ({
      batchId: request.batchId,
      members: request.members.map((m) => ({ processingNumber: m.processingNumber, outcome: 'not_held' })),
      items: [],
      answeredAt: new Date().toISOString(),
    }),
    answerBatches: [],
    residentNotices: [],
    failNextResidentNotices: 0,
    refuseResidentNotices: false,
    portalNotices: [],
    recordChecks: [],
    onRecordCheck: () => ({ treeHead: null, requester: [], provider: [] }),
    codeFor(acquisitionNumber) {
      const delivery = standIn.deliveries.find((d) => d.acquisitionNumber === acquisitionNumber);
      if (!delivery) throw new TypeError(`no code delivered for ${acquisitionNumber}`);
      return delivery.personCode;
    },
    close: () => app.close(),
  };
  app.post('/network/v1/code-deliveries', (request, reply) => {
    standIn.deliveries.push(request.body as CodeDelivery);
    return reply.status(204).send();
  });
  app.post('/network/v1/provision-requests', async (request) => {
    const provisionRequest = request.body as ProvisionRequest;
    standIn.provisionRequests.push(provisionRequest);
    return await standIn.onProvision(provisionRequest);
  });
  app.post('/network/v1/provision-batches', async (request) => {
    const batch = request.body as ProvisionBatchRequest;
    standIn.provisionBatches.push(batch);
    return await standIn.onProvisionBatch(batch);
  });
  app.post('/network/v1/answer-batches', (request, reply) => {
    if (standIn.failNextAnswerBatches > 0) {
      standIn.failNextAnswerBatches--;
      return reply.status(503).send('busy');
    }
    standIn.answerBatches.push(request.body as AnswerBatchDelivery);
    return reply.status(204).send();
  });
  app.post('/network/v1/provision-failures', (request, reply) => {
    if (standIn.failNextNotices > 0) {
      standIn.failNextNotices--;
      return reply.status(503).send('busy');
    }
    standIn.failureNotices.push(request.body as ProvisionFailure);
    return reply.status(204).send();
  });
  app.post('/network/v1/resident-notices', (request, reply) => {
    if (standIn.refuseResidentNotices) {
      return reply
        .status(400)
        .send({ error: { code: 'ERR_DECRYPTION_FAILED', message: 'stand-in cannot open it', details: {} } });
    }
    if (standIn.failNextResidentNotices > 0) {
      standIn.failNextResidentNotices--;
      return reply.status(503).send('busy');
    }
    standIn.residentNotices.push(request.body as ResidentNoticeDelivery);
    return reply.status(204).send();
  });
  app.post('/network/v1/record-checks', async (request) => {
    const check = request.body as RecordCheckRequest;
    standIn.recordChecks.push(check);
    return await standIn.onRecordCheck(check);
  });
  app.post('/network/v1/portal-notices', (request, reply) => {
    standIn.portalNotices.push(request.body as PortalNoticeDelivery);
    return reply.status(204).send();
  });
  app.post('/network/v1/answers', (request, reply) => {
    if (standIn.failNextAnswers > 0) {
      standIn.failNextAnswers--;
      return reply.status(503).send('busy');
    }
    standIn.answers.push(request.body as AnswerDelivery);
    return reply.status(204).send();
  });
  standIn.url = await listen(app, 0);
  return standIn;
}

/** A provision handler that answers with a RenkeiError, as an institution's error body. */
export function providerError(code: 'ERR_LAYOUT_VIOLATION' | 'ERR_INTERNAL'): ProvisionHandler {
  return () => {
    throw new RenkeiError(code, 'stand-in failure');
  };
}

// ── An inquiry written straight into a core store ─────────────────────────────────────────────

/**
 * What the core writes with `recordInquiry` when it accepts the seeds' 児童手当 inquiry (三条市 asks
 * 新宿区 for item 2 under clause 74) and has not yet answered it: the pending record and its pending
 * delivery, for the store's own tests, which write inquiries without a core around the store.
 * `record` changes the record (another requester and provider, a person key, an outcome already
 * reached); the delivery stays pending.
 */
export function pendingInquiry(
  processingNumber: string,
  requestedAt = '2026-01-01T00:00:00.000Z',
  record: Partial<Omit<ProvisionRecord, 'processingNumber' | 'requestedAt'>> = {},
): [ProvisionRecord, InquiryState] {
  return [
    {
      processingNumber,
      requesterId: '152048',
      providerId: '131041',
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      personKey: null,
      requestedAt,
      answeredAt: null,
      outcome: 'pending',
      reason: null,
      nonDisclosure: false,
      legalTableDigest: 'test',
      ...record,
    },
    { processingNumber, delivery: 'pending', deliveryAttempts: 0, deliveredAt: null },
  ];
}

// ── A core under test ──────────────────────────────────────────────────────────────────────────

export interface TestCore {
  core: Core;
  /** The core's own store (the same one its services use): for the consoles' tests. */
  store: KyselyCoreStore;
  url: string;
  dir: string;
  keys: CoreKeys;
  clock: ReturnType<typeof fixedClock>;
  /** Real HTTP against the core: status and parsed body. */
  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  /** Register an institution whose network side is `networkUrl`. */
  register(id: string, kind: InstitutionKind, networkUrl: string): Promise<void>;
  /** Issue a person's code to an institution (as J-LIS would) and return what the institution got. */
  issue(institution: { id: string; standIn: StandIn }, residentRecordCode: string): Promise<string>;
  /** All the core's database holds, as text (its SQLite file's bytes, WAL included, or its PostgreSQL rows). */
  databaseText(): Promise<string>;
  /** Close the core (not the directory). */
  close(): Promise<void>;
  /** Close the core and delete the directory. */
  dispose(): Promise<void>;
}

let acquisitionCounter = 0;

export function newAcquisitionNumber(): string {
  acquisitionCounter++;
  return `${Date.now().toString(16).padStart(16, '0')}${acquisitionCounter.toString(16).padStart(16, '0')}`;
}

/** What `startTestCore` may be given (each has a default). */
export type TestCoreOptions = Partial<
  Pick<
    CoreDeps,
    | 'retentionYears'
    | 'deliveryRetryDelaysMs'
    | 'fetchTimeoutMs'
    | 'recordLog'
    | 'providerTimeoutMs'
    | 'maxCallsPerInstitution'
    | 'maxRetryDelayMs'
    | 'maxOutboundCalls'
  >
> & {
  clock?: ReturnType<typeof fixedClock>;
  logger?: Logger;
  legalTable?: LegalTable;
};

export async function startTestCore(options: TestCoreOptions = {}): Promise<TestCore> {
  const dir = mkdtempSync(join(tmpdir(), 'renkei-core-'));
  // SQLite, or PostgreSQL in the suite's PostgreSQL run (src/shared/test-databases.ts).
  // One database, the node's production pool (10 connections): see `testPostgres`.
  const postgres = testPostgres({ poolSize: 10 });
  const store = await openCoreStore(nodeDatabase(postgres, join(dir, 'core.sqlite'), 'core'));
  const keys = generateCoreKeys();
  const clock = options.clock ?? fixedClock('2025-06-01T01:00:00.000Z');
  const transport = httpTransport();
  const core = createCore({
    store,
    keys,
    transport,
    clock: clock satisfies Clock,
    logger: options.logger ?? silentLogger(),
    legalTable: options.legalTable ?? testLegalTable(),
    fetchTimeoutMs: options.fetchTimeoutMs ?? 2_000,
    deliveryRetryDelaysMs: options.deliveryRetryDelaysMs ?? [10, 20],
    ...(options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears }),
    providerTimeoutMs: options.providerTimeoutMs ?? 2_000,
    ...(options.maxCallsPerInstitution === undefined
      ? {}
      : { maxCallsPerInstitution: options.maxCallsPerInstitution }),
    maxRetryDelayMs: options.maxRetryDelayMs ?? 100,
    ...(options.maxOutboundCalls === undefined ? {} : { maxOutboundCalls: options.maxOutboundCalls }),
    ...(options.recordLog === undefined ? {} : { recordLog: options.recordLog }),
  });
  const url = await listen(core.app, 0);

  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(new URL(path, url), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  const test: TestCore = {
    core,
    store,
    url,
    dir,
    keys,
    clock,
    call,
    async register(id, kind, networkUrl) {
      const registration: InstitutionRegistration = { name: id, nameEn: id, kind, networkUrl };
      const { status } = await call('PUT', `/admin/v1/institutions/${id}`, registration);
      if (status !== 200 && status !== 201) throw new Error(`registration of ${id} failed: ${status}`);
    },
    async issue(institution, residentRecordCode) {
      const acquisitionNumber = newAcquisitionNumber();
      const { status } = await call('POST', '/v1/code-issuances', {
        institutionId: institution.id,
        acquisitionNumber,
        residentRecordCode,
      });
      if (status !== 200) throw new Error(`code issuance failed: ${status}`);
      return institution.standIn.codeFor(acquisitionNumber);
    },
    async databaseText() {
      if (postgres) return schemaText(postgres, `${postgres.schemaPrefix ?? ''}core`);
      return ['core.sqlite', 'core.sqlite-wal']
        .map((name) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name)).toString('latin1') : ''))
        .join('');
    },
    async close() {
      await core.close();
      await transport.close();
    },
    async dispose() {
      await core.close();
      await transport.close();
      await dropTestSchemas(postgres);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return test;
}

// ── Two municipalities exchanging, and the core's console over them ────────────────────────────

/**
 * What `startTwoMunicipalities` may be given: the core's options, and
 * - `codes`: whose code for the resident is issued, x's (the default), x's then a's (`both`), or none;
 * - `others`: more institutions, each at a stand-in of its own, registered after the two (before any
 *   code is issued), by a name of the test's choosing.
 */
export type TwoMunicipalitiesOptions<K extends string = never> = TestCoreOptions & {
  codes?: 'requester' | 'both' | 'none';
  others?: Record<K, { id: string; kind: InstitutionKind }>;
};

/**
 * A core (`startTestCore(options)`) with two municipalities' stand-ins registered, 131016 (`x`, the
 * requester) and 132012 (`a`, the provider), and x's code for one resident (record code
 * 12345678901; a's too, or neither, as `codes` says): what the core's tests and its consoles' tests
 * exchange over.
 */
export interface TwoMunicipalities<K extends string = never> {
  core: TestCore;
  x: StandIn;
  a: StandIn;
  /** The stand-ins of `options.others`, by their names. */
  others: Record<K, StandIn>;
  /** x's code for the resident ('' with `codes: 'none'`). */
  code: string;
  /** a's code for the resident ('' unless `codes: 'both'`). */
  providerCode: string;
  /** x's inquiry to a for item 2 of the resident under clause 74 (procedure 074-01), with `overrides`. */
  inquiry: (overrides?: Partial<InquiryRequest>) => InquiryRequest;
  /** x asks a for `itemNos` of the resident under clause 74 (procedure 074-01, whose item is 2). */
  inquire: (itemNos: readonly number[], nonDisclosure?: boolean) => Promise<{ status: number }>;
  /**
   * Send `inquiry(overrides)`, wait until the core is idle, and return the inquiry's processing number
   * (an accepted one's, or a refused one's from its error).
   */
  inquireSettled: (overrides?: Partial<InquiryRequest>) => Promise<string>;
  /** Close the core (deleting its directory) and every stand-in. */
  dispose(): Promise<void>;
}

export async function startTwoMunicipalities<K extends string = never>(
  options: TwoMunicipalitiesOptions<K> = {},
): Promise<TwoMunicipalities<K>> {
  const { codes = 'requester', others: otherIds, ...coreOptions } = options;
  const core = await startTestCore(coreOptions);
  const x = await startStandIn();
  const a = await startStandIn();
  const others = {} as Record<K, StandIn>;
  for (const name of Object.keys(otherIds ?? {}) as K[]) others[name] = await startStandIn();
  await core.register('131016', 'municipality', x.url);
  await core.register('132012', 'municipality', a.url);
  for (const name of Object.keys(others) as K[]) {
    const { id, kind } = (otherIds as Record<K, { id: string; kind: InstitutionKind }>)[name];
    await core.register(id, kind, others[name].url);
  }
  const code = codes === 'none' ? '' : await core.issue({ id: '131016', standIn: x }, '12345678901');
  const providerCode = codes === 'both' ? await core.issue({ id: '132012', standIn: a }, '12345678901') : '';
  const inquiry = (overrides: Partial<InquiryRequest> = {}): InquiryRequest => ({
    requesterId: '131016',
    providerId: '132012',
    personCode: code,
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
    nonDisclosure: false,
    ...overrides,
  });
  return {
    core,
    x,
    a,
    others,
    code,
    providerCode,
    inquiry,
    inquire: (itemNos, nonDisclosure = false) =>
      core.call('POST', '/v1/inquiries', inquiry({ itemNos: [...itemNos], nonDisclosure })),
    inquireSettled: async (overrides) => {
      const { body } = await core.call<{
        processingNumber?: string;
        error?: { details: { processingNumber: string } };
      }>('POST', '/v1/inquiries', inquiry(overrides));
      await core.core.whenIdle();
      const processingNumber = body.processingNumber ?? body.error?.details.processingNumber;
      if (processingNumber === undefined) throw new Error('no processing number');
      return processingNumber;
    },
    async dispose() {
      await core.dispose();
      await Promise.all([x.close(), a.close(), ...Object.values<StandIn>(others).map((s) => s.close())]);
    },
  };
}

/** Fast scrypt parameters for the consoles' test accounts (production's take a second a login). */
export const FAST_SCRYPT = { log2N: 10, r: 8, p: 1 };

/**
 * The core's console over a test core (its services, store, record log and clock), ready, with these
 * staff accounts made first, each with `password`; the rest of its options as given (a silent logger
 * unless one is).
 */
export async function startTestCoreConsole(
  core: TestCore,
  options: Partial<Omit<CoreConsoleDeps, 'services' | 'coreStore' | 'recordLog' | 'store' | 'clock'>> & {
    accounts: { accountId: string; displayName: string; role: ConsoleRole }[];
    password: string;
  },
): Promise<FastifyInstance> {
  const { accounts: staff, password, ...rest } = options;
  const store = core.store.consoleStore();
  const accounts = new AccountService({ store, clock: core.clock, scrypt: FAST_SCRYPT });
  for (const account of staff) await accounts.create({ ...account, password });
  const web = await createCoreConsole({
    services: core.core.services,
    coreStore: core.store,
    recordLog: core.core.recordLog,
    store,
    clock: core.clock,
    logger: silentLogger(),
    scrypt: FAST_SCRYPT,
    ...rest,
  });
  await web.ready();
  return web;
}

/**
 * The oversight commission's service over a test core (its store, registry, record log, clock and
 * services), checking the heads institutions answer with the keys `headKeyOf` gives; its resident
 * views paged as `paging` says (the defaults otherwise).
 */
export function testOversight(
  core: TestCore,
  headKeyOf: NonNullable<OversightServiceOptions['headKeyOf']>,
  paging: Pick<OversightServiceOptions, 'personPageSize' | 'personViewTtlMs'> = {},
): OversightService {
  const { services, recordLog } = core.core;
  return new OversightService({
    ...paging,
    store: core.store,
    registry: services.registry,
    recordLog,
    clock: core.clock,
    personRecords: services.personRecords,
    recordChecks: services.recordChecks,
    anomalies: new AnomalyService({ store: core.store, registry: services.registry }),
    headKeyOf,
  });
}

/** The header that lets a request past the guard of `startTestOperatorConsole`'s app. */
export const TEST_OPERATOR_HEADERS = { 'x-test-operator': 'yes' };

/**
 * The operator's console plugin alone (at /operator) over a test core, in a web app of its own,
 * behind a guard that lets in only requests with `TEST_OPERATOR_HEADERS` (others: 403,
 * ERR_CALLER_NOT_ALLOWED); `onRoute` is told of every route the app registers. Ready, not listening.
 */
export async function startTestOperatorConsole(
  core: TestCore,
  onRoute?: (route: { method: string | string[]; url: string }) => void,
): Promise<FastifyInstance> {
  const web = await createWebApp({ logger: silentLogger(), errorPage: (e) => `<p>${e.code}</p>` });
  if (onRoute) web.addHook('onRoute', onRoute);
  const { records, legalVersions, health } = core.core.services;
  await web.register(operatorConsole, {
    prefix: '/operator',
    guard: (request, _reply, done) => {
      done(
        request.headers['x-test-operator'] === 'yes'
          ? undefined
          : new RenkeiError('ERR_CALLER_NOT_ALLOWED', 'Operators only.'),
      );
    },
    records,
    legalVersions,
    health,
    now: () => core.clock.now(),
  });
  await web.ready();
  return web;
}
