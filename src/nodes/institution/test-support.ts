/**
 * What the institution node's tests share: a small legal table with two layout versions, and real
 * HTTP stand-ins for the other side of the wire (J-LIS, the core), each implementing only the
 * endpoint the institution calls. Not used outside tests.
 */
import { dropTestSchemas, schemaText, testPostgres } from '../../shared/test-databases.ts';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v7 as uuidv7 } from 'uuid';
import { generateIndividualNumber } from '../../domain/identifiers/index.ts';
import type { LegalTable, InfoItem, LayoutField } from '../../domain/legal-table/types.ts';
import { createClient, type Client } from '../../protocol/api.ts';
import { httpTransport } from '../../protocol/http-transport.ts';
import { rawClient, type RawClient } from '../../protocol/raw-client.ts';
import { businessApi } from '../../protocol/routes.ts';
import type { AnswerDelivery, ProvisionRequest } from '../../protocol/messages.ts';
import type { ProviderRecord } from '../../protocol/provider.ts';
import { type PersonCode } from '../../protocol/identifiers.ts';
import {
  AnswerAcknowledgement,
  AnswerFetch,
  CodeAcquisitionRequest,
  InquiryRequest,
  type InquiryAccepted,
} from '../../protocol/messages.ts';
import { NonDisclosureLift } from '../../protocol/person-records.ts';
import { fixedClock, type Clock } from '../../shared/clock.ts';
import type { PostgresOption } from '../../shared/db.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { createHttpApp, listen, parseInput } from '../../shared/http.ts';
import { silentLogger } from '../../shared/logger.ts';
import type { RunningNode } from '../../shared/node.ts';
import { startInstitution, type InstitutionConsoleOptions } from './main.ts';
import { buildLegalTable } from '../../domain/legal-table/load.ts';
import { clause74Inquiry } from '../../../test/support/demo-network.ts';

// ── A legal table with just what the institution uses: items and their layouts ──────────────────

/** Item 2's fields common to both its layouts (2025.1 adds `dependants`). */
const TAX_FIELDS: LayoutField[] = [
  {
    name: 'fiscalYear',
    label: '年度',
    labelEn: 'Fiscal year',
    type: 'integer',
    required: true,
    min: 2000,
    max: 2100,
  },
  {
    name: 'taxableIncome',
    label: '課税所得',
    labelEn: 'Taxable income',
    type: 'integer',
    required: true,
    min: 0,
  },
  {
    name: 'municipality',
    label: '市区町村',
    labelEn: 'Municipality',
    type: 'string',
    required: false,
    maxLength: 20,
  },
];

const ITEMS: InfoItem[] = [
  {
    itemNo: 1,
    name: '住民基本台帳関係情報',
    nameEn: 'resident register information',
    modelled: true,
    layouts: [
      {
        version: '2020.1',
        effectiveFrom: '2020-01-01',
        fields: [
          {
            name: 'householdHead',
            label: '世帯主',
            labelEn: 'Head of household',
            type: 'boolean',
            required: true,
          },
          {
            name: 'note',
            label: '備考',
            labelEn: 'Remarks',
            type: 'string',
            required: false,
            maxLength: 100,
          },
        ],
        example: { householdHead: true },
      },
    ],
  },
  {
    itemNo: 2,
    name: '地方税関係情報',
    nameEn: 'local tax information',
    modelled: true,
    layouts: [
      {
        version: '2020.1',
        effectiveFrom: '2020-01-01',
        effectiveTo: '2025-03-31',
        fields: [...TAX_FIELDS],
        example: { fiscalYear: 2024, taxableIncome: 1000000 },
      },
      {
        version: '2025.1',
        effectiveFrom: '2025-04-01',
        fields: [
          ...TAX_FIELDS,
          {
            name: 'dependants',
            label: '扶養親族数',
            labelEn: 'Number of dependants',
            type: 'integer',
            required: true,
            min: 0,
          },
        ],
        example: { fiscalYear: 2025, taxableIncome: 1000000, dependants: 0 },
      },
    ],
  },
];

/** Built by the real loader, so the node's tests exercise the real layout validation. */
export const testLegalTable: LegalTable = buildLegalTable({ clauses: [], procedures: [], items: ITEMS });

// ── What the harness's business system and the core send it ────────────────────────────────

/**
 * The seeds' clause-74 inquiry the other way round, as the harness's business system posts it to
 * `/business/v1/inquiries`: 新宿区 (the harness's INSTITUTION_ID) asks 三条市 about this person.
 */
export const harnessInquiry = (addresseeNumber: string) =>
  clause74Inquiry(addresseeNumber, { providerId: '152048' }).body;

/** The core's provision request to the harness for that inquiry from 三条市: item 2 under clause 74. */
export function provisionRequest(
  personCode: string,
  overrides: Partial<ProvisionRequest> = {},
): ProvisionRequest {
  return {
    processingNumber: uuidv7(),
    requesterId: '152048',
    personCode,
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
    requestedAt: '2025-06-02T01:00:00.000Z',
    nonDisclosure: false,
    ...overrides,
  };
}

/**
 * What the harness's record store holds once it has provided item 2 for such a request (for a new
 * person, half a second after `requestedAt`): for tests that write provider records straight into it.
 */
export function providerRecord({
  processingNumber = uuidv7(),
  requestedAt = '2025-06-02T01:00:00.000Z',
}: Partial<Pick<ProviderRecord, 'processingNumber' | 'requestedAt'>> = {}): ProviderRecord {
  const answeredAt = new Date(Date.parse(requestedAt) + 500).toISOString();
  return {
    processingNumber,
    requesterId: '152048',
    personCode: newPersonCode(),
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
    providedItemNos: [2],
    requestedAt,
    answeredAt,
    outcome: 'provided',
    nonDisclosure: false,
    recordedAt: answeredAt,
  };
}

// ── Stand-ins for the other side of the wire ────────────────────────────────────────────────

export function newPersonCode(): PersonCode {
  return randomBytes(33).toString('base64url');
}

/**
 * J-LIS, as far as code acquisition goes: for a resident it knows, it has "the core" deliver a code
 * to the institution's `/network/v1/code-deliveries` before answering, as the real path does.
 */
export interface JlisStandIn {
  url: string;
  /** Individual Number → the code the (stand-in) core delivers for it. */
  residents: Map<string, PersonCode>;
  received: CodeAcquisitionRequest[];
  institutionUrl: string;
  close(): Promise<void>;
}

async function startJlisStandIn(): Promise<JlisStandIn> {
  const app = createHttpApp({ logger: silentLogger(), node: 'jlis-stand-in' });
  const state = {
    residents: new Map<string, PersonCode>(),
    received: [] as CodeAcquisitionRequest[],
    institutionUrl: '',
  };
  app.post('/v1/code-acquisitions', async (request, reply) => {
    const body = parseInput(CodeAcquisitionRequest, request.body);
    state.received.push(body);
    const personCode = state.residents.get(body.individualNumber);
    if (personCode === undefined)
      throw new RenkeiError('ERR_UNKNOWN_RESIDENT', 'No resident has this Individual Number.');
    await rawClient(state.institutionUrl, 'institution').post('/network/v1/code-deliveries', {
      acquisitionNumber: body.acquisitionNumber,
      personCode,
    });
    return reply.status(201).send({ status: 'delivered' });
  });
  const url = await listen(app, 0);
  return Object.assign(state, { url, close: () => app.close() });
}

/** How the core stand-in treats the next inquiries. */
export type CoreBehaviour =
  | { kind: 'accept' }
  /** Deliver this answer to the requester before answering 202 (the race the requester must survive). */
  | { kind: 'answer-first'; answer: (processingNumber: string) => Omit<AnswerDelivery, 'processingNumber'> }
  | { kind: 'refuse'; code: 'ERR_INQUIRY_NOT_AUTHORIZED'; rule: string }
  /** Drop the connection once the inquiry is in (kept): the requester cannot know whether it was taken. */
  | { kind: 'drop' };

export interface CoreStandIn {
  url: string;
  behaviour: CoreBehaviour;
  inquiries: InquiryRequest[];
  /**
   * What a fetch of an answer gets, by processing number: the answer, or an error code (default
   * ERR_ANSWER_NOT_READY). Every fetch's processing number is in `fetched`.
   */
  keptAnswers: Map<string, Omit<AnswerDelivery, 'processingNumber'> | 'ERR_ANSWER_GONE'>;
  fetched: string[];
  /** The processing numbers acknowledged (`POST /v1/answer-acknowledgements`), in order. */
  acknowledged: string[];
  /** The lifts of non-disclosure asked for (`POST /v1/non-disclosure-lifts`), in order; the first of each is `lifted`. */
  lifts: NonDisclosureLift[];
  institutionUrl: string;
  close(): Promise<void>;
}

async function startCoreStandIn(clock: Clock): Promise<CoreStandIn> {
  const app = createHttpApp({ logger: silentLogger(), node: 'core-stand-in' });
  const state = {
    behaviour: { kind: 'accept' } as CoreBehaviour,
    inquiries: [] as InquiryRequest[],
    keptAnswers: new Map<string, Omit<AnswerDelivery, 'processingNumber'> | 'ERR_ANSWER_GONE'>(),
    fetched: [] as string[],
    acknowledged: [] as string[],
    lifts: [] as NonDisclosureLift[],
    institutionUrl: '',
  };
  app.post('/v1/non-disclosure-lifts', (request) => {
    const lift = parseInput(NonDisclosureLift, request.body);
    const first = !state.lifts.some((l) => l.processingNumber === lift.processingNumber);
    state.lifts.push(lift);
    return { processingNumber: lift.processingNumber, lifted: first };
  });
  app.post('/v1/answer-fetches', (request) => {
    const { processingNumber } = parseInput(AnswerFetch, request.body);
    state.fetched.push(processingNumber);
    const kept = state.keptAnswers.get(processingNumber);
    if (kept === undefined) throw new RenkeiError('ERR_ANSWER_NOT_READY', 'Not answered yet.');
    if (kept === 'ERR_ANSWER_GONE') throw new RenkeiError('ERR_ANSWER_GONE', 'No longer held.');
    return { processingNumber, ...kept };
  });
  app.post('/v1/answer-acknowledgements', async (request, reply) => {
    const { processingNumber } = parseInput(AnswerAcknowledgement, request.body);
    state.acknowledged.push(processingNumber);
    return reply.status(204).send();
  });
  app.post('/v1/inquiries', async (request, reply) => {
    const body = parseInput(InquiryRequest, request.body);
    state.inquiries.push(body);
    const processingNumber = uuidv7();
    const behaviour = state.behaviour;
    switch (behaviour.kind) {
      case 'refuse':
        throw new RenkeiError(behaviour.code, 'No clause allows this inquiry.', {
          processingNumber,
          rule: behaviour.rule,
        });
      case 'answer-first':
        await rawClient(state.institutionUrl, 'institution').post('/network/v1/answers', {
          processingNumber,
          ...behaviour.answer(processingNumber),
        });
        break;
      case 'drop':
        request.raw.socket.destroy();
        return reply.hijack();
      case 'accept':
        break;
    }
    const accepted: InquiryAccepted = { processingNumber, requestedAt: clock.now().toISOString() };
    return reply.status(202).send(accepted);
  });
  const url = await listen(app, 0);
  return Object.assign(state, { url, close: () => app.close() });
}

// ── A whole institution node, started as in production, with its stand-ins ────────────────────

export interface Harness {
  dir: string;
  node: RunningNode;
  /** The institution's API, raw, as any caller (the core, a business system, an attacker) can call it. */
  client: RawClient;
  /** The institution's business API, typed, as its business systems call it. */
  business: Client<typeof businessApi>;
  jlis: JlisStandIn;
  core: CoreStandIn;
  /** A fresh valid Individual Number that the J-LIS stand-in knows, with the code it will deliver. */
  newResident(): { individualNumber: string; personCode: PersonCode };
  /** Stop the node (flushing its logs and databases) but keep the directory. */
  stopNode(): Promise<void>;
  /**
   * Stop the node if it runs and start it again on the same files (or PostgreSQL schemas), as a
   * restarted process would; `node` is then the new one (new ports).
   */
  restartNode(): Promise<RunningNode>;
  /** The PostgreSQL option the node runs on (its schemas' prefix), undefined on SQLite. */
  postgres: PostgresOption | undefined;
  /** All that one of the node's databases holds, as text (its file's bytes, or its PostgreSQL rows). */
  databaseText(which: 'addressee' | 'intermediate'): Promise<string>;
  close(): Promise<void>;
}

export const INSTITUTION_ID = '131041';

export async function startHarness(options: {
  clock: Clock;
  retentionYears?: number;
  coreUrl?: string;
  /** The real legal table for a console test, say (default the small `testLegalTable`). */
  legalTable?: LegalTable;
  console?: InstitutionConsoleOptions;
}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'renkei-institution-'));
  const jlis = await startJlisStandIn();
  const core = await startCoreStandIn(options.clock);
  // SQLite, or PostgreSQL in the suite's PostgreSQL run (src/shared/test-databases.ts).
  const postgres = testPostgres();
  const start = async () => {
    const started = await startInstitution({
      ...(postgres ? { postgres } : {}),
      dataDir: dir,
      port: 0,
      institutionId: INSTITUTION_ID,
      kind: 'municipality',
      coreUrl: options.coreUrl ?? core.url,
      jlisUrl: jlis.url,
      legalTable: options.legalTable ?? testLegalTable,
      clock: options.clock,
      ...(options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears }),
      ...(options.console === undefined ? {} : { console: options.console }),
    });
    jlis.institutionUrl = started.url;
    core.institutionUrl = started.url;
    return started;
  };
  const node = await start();
  let stopped: Promise<void> | undefined;
  const stopNode = () => (stopped ??= harness.node.close());
  const transport = httpTransport();
  const harness: Harness = {
    dir,
    node,
    client: rawClient(node.url, 'institution'),
    business: createClient(businessApi, { transport, baseUrl: node.url, peer: 'institution' }),
    jlis,
    core,
    newResident() {
      const individualNumber = generateIndividualNumber();
      const personCode = newPersonCode();
      jlis.residents.set(individualNumber, personCode);
      return { individualNumber, personCode };
    },
    stopNode,
    postgres,
    async restartNode() {
      await stopNode();
      harness.node = await start();
      stopped = undefined;
      harness.client = rawClient(harness.node.url, 'institution');
      harness.business = createClient(businessApi, {
        transport,
        baseUrl: harness.node.url,
        peer: 'institution',
      });
      return harness.node;
    },
    async databaseText(which) {
      if (postgres) return schemaText(postgres, `${postgres.schemaPrefix ?? ''}i_${INSTITUTION_ID}_${which}`);
      const nodeDir = join(dir, 'institutions', INSTITUTION_ID);
      return readdirSync(nodeDir)
        .filter((f) => f.startsWith(`${which}.sqlite`))
        .map((f) => readFileSync(join(nodeDir, f)).toString('latin1'))
        .join('');
    },
    async close() {
      await stopNode();
      await transport.close();
      await jlis.close();
      await core.close();
      await dropTestSchemas(postgres);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/**
 * `startHarness` on a fixed clock set at `start` (default 2025-06-02T01:00:00Z), returned with it so
 * that a test can move it; the caller closes the harness.
 */
export async function startClockedHarness(
  options: { start?: string; retentionYears?: number; coreUrl?: string } = {},
) {
  const clock = fixedClock(options.start ?? '2025-06-02T01:00:00Z');
  const started = await startHarness({
    clock,
    ...(options.retentionYears === undefined ? {} : { retentionYears: options.retentionYears }),
    ...(options.coreUrl === undefined ? {} : { coreUrl: options.coreUrl }),
  });
  return { ...started, clock };
}

/** Register a resident J-LIS knows; returns their Individual Number, the code the core delivered and their addressee number. */
export async function registered(h: Harness) {
  const resident = h.newResident();
  const person = await h.client.post<{ addresseeNumber: string }>('/business/v1/persons', {
    individualNumber: resident.individualNumber,
  });
  return { ...resident, addresseeNumber: person.addresseeNumber };
}

/** Item 2 as a provider answers it in layout 2025.1. */
export const TAX_2025 = { fiscalYear: 2025, taxableIncome: 3_200_000, dependants: 1 };
