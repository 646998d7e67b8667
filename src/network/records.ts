/**
 * The provision records of a whole network, checked from its data directory: what `renkei records
 * verify` and `renkei records show` run. Above the nodes on purpose: it is the one place that reads
 * more than one party's database, and it only reads them (opened read-only, never migrated, whether or
 * not the nodes are running). No node ever does this: 分散管理 holds for the nodes; this is the
 * auditor's tool (the oversight commission's, or an operator's with every party's consent).
 *
 * Per party (the core; each institution's intermediate server; the Myna Portal), its own RecordLogService checks its
 * events against its Merkle log and its signed heads (verified with the public key of the party's
 * identity certificate from the network's PKI, when there is one), and its record rows against its
 * events. Across parties, each exchange is compared by processing number: the core's record with the
 * requester's and the provider's. A party cannot rewrite its own log without its signed heads showing
 * it; it cannot rewrite it consistently with the heads without the other two parties' records showing it.
 *
 * Memory: a page of records at a time (500), never a whole party.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '../shared/clock.ts';
import {
  describePostgres,
  nodeDatabase,
  openDatabase,
  openSqliteReadOnly,
  type PostgresOption,
} from '../shared/db.ts';
import { RenkeiError } from '../shared/errors.ts';
import { KyselyCoreStore, type CoreDatabase } from '../nodes/core/kysely-store.ts';
import {
  compareProvider,
  compareRequester,
  unknownAtCore,
  type ExchangeFinding,
} from '../nodes/core/service/exchange-comparison.ts';
import { RecordLogService as CoreRecordLog } from '../nodes/core/service/record-log.ts';
import {
  KyselyIntermediateStore,
  type IntermediateDatabase,
} from '../nodes/institution/intermediate/kysely-store.ts';
import {
  RecordLogService as IntermediateRecordLog,
  type ShownRecords,
} from '../nodes/institution/intermediate/service/record-log.ts';
import { silentLogger } from '../shared/logger.ts';
import { PORTAL_PARTY } from '../nodes/portal/portal.ts';
import { KyselyPortalRecordLog } from '../nodes/portal/record-log-store.ts';
import { createKyselyMoneyStore } from '../nodes/portal/kysely-money-store.ts';
import { PortalRecordLogService } from '../nodes/portal/service/record-log.ts';
import type { PartyHeads, RecordFinding, TreeHeadKey } from '../trust/merkle/index.ts';
import { partyIdentityKey } from '../trust/pki/index.ts';
import { checkExchangeMessages, type PartyMessages } from './signed-messages.ts';

/** The core's party id, in the PKI and in findings. */
export const CORE_PARTY = 'core';

export interface VerifyNetworkOptions {
  /** The network's data directory: `core/core.sqlite`, `institutions/<id>/intermediate.sqlite`, `pki/`. */
  dataDir: string;
  /** Check only this party (`core` or an institution id), and its exchanges with the others. */
  party?: string;
  /** Records are kept this many years (default 7): older ones may be purged, at any party. */
  retentionYears?: number;
  clock?: Clock;
  /** The network keeps its databases in this PostgreSQL database (the PKI stays under `dataDir`). */
  postgres?: PostgresOption;
}

/** A finding with the party it concerns. */
export type NetworkFinding = ExchangeFinding;

export interface PartyReport {
  party: string;
  file: string;
  /** Event rows, purged ones included. */
  events: number;
  purged: number;
  /** Record rows (both roles at an institution). */
  records: number;
  heads: PartyHeads;
  /** Where the key to check heads came from, or why there was none. */
  key: string;
  findings: NetworkFinding[];
}

export interface NetworkReport {
  dataDir: string;
  parties: PartyReport[];
  /** Disagreements between parties about one exchange. */
  exchanges: { checked: number; findings: NetworkFinding[] };
  ok: boolean;
}

interface CoreParty {
  id: string;
  file: string;
  log: CoreRecordLog;
  close(): Promise<void>;
}

/** What the verification asks of a party other than the core (an intermediate server, the portal). */
type PartyRecordLog = Pick<
  IntermediateRecordLog,
  'verify' | 'exchangesOf' | 'requesterExchanges' | 'providerExchanges'
>;

interface InstitutionParty {
  id: string;
  file: string;
  log: PartyRecordLog;
  close(): Promise<void>;
}

function coreFile(dataDir: string): string {
  return join(dataDir, 'core', 'core.sqlite');
}

/**
 * The institutions of the network: those with an intermediate database (on PostgreSQL, those with a
 * node directory, where each keeps its certificates' use, its security log and its messages).
 */
function institutionIds(dataDir: string, postgres?: PostgresOption): string[] {
  const dir = join(dataDir, 'institutions');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((id) => postgres !== undefined || existsSync(join(dir, id, 'intermediate.sqlite')))
    .sort();
}

/** A party's database, read-only where the dialect allows it (SQLite), never migrated. */
async function openPartyDb<DB>(
  postgres: PostgresOption | undefined,
  file: string,
  ...schema: string[]
): Promise<{ db: Kysely<DB>; where: string }> {
  if (!postgres) return { db: openSqliteReadOnly<DB>(file), where: file };
  const target = nodeDatabase(postgres, file, ...schema);
  return {
    db: await openDatabase<DB>(target),
    where: target.dialect === 'postgres' ? `${describePostgres(postgres.url)} schema ${target.schema}` : file,
  };
}

/** True when `dataDir` holds a network's databases (a core, or at least one intermediate server). */
export function isNetworkDataDir(dataDir: string): boolean {
  return existsSync(coreFile(dataDir)) || institutionIds(dataDir).length > 0;
}

async function openCore(
  dataDir: string,
  clock: Clock,
  postgres?: PostgresOption,
): Promise<CoreParty | undefined> {
  if (!postgres && !existsSync(coreFile(dataDir))) return undefined;
  const { db, where } = await openPartyDb<CoreDatabase>(postgres, coreFile(dataDir), 'core');
  const store = new KyselyCoreStore(db);
  return {
    id: CORE_PARTY,
    file: where,
    log: new CoreRecordLog({ store, clock, logger: silentLogger() }),
    close: () => store.close(),
  };
}

async function openInstitution(
  dataDir: string,
  id: string,
  clock: Clock,
  postgres?: PostgresOption,
): Promise<InstitutionParty & { log: IntermediateRecordLog }> {
  const file = join(dataDir, 'institutions', id, 'intermediate.sqlite');
  const { db, where } = await openPartyDb<IntermediateDatabase>(postgres, file, 'i', id, 'intermediate');
  const store = new KyselyIntermediateStore(db);
  return {
    id,
    file: where,
    log: new IntermediateRecordLog({ store, clock, logger: silentLogger() }),
    close: () => db.destroy(),
  };
}

function portalFile(dataDir: string): string {
  return join(dataDir, PORTAL_PARTY, 'portal.sqlite');
}

/**
 * The Myna Portal, a party of the network with a record log of its own (its requester, provider and
 * notice records), when the directory holds one (on PostgreSQL: its node directory).
 */
async function openPortal(
  dataDir: string,
  clock: Clock,
  postgres?: PostgresOption,
): Promise<InstitutionParty | undefined> {
  const there = postgres ? existsSync(join(dataDir, PORTAL_PARTY)) : existsSync(portalFile(dataDir));
  if (!there) return undefined;
  const { db, where } = await openPartyDb<unknown>(postgres, portalFile(dataDir), PORTAL_PARTY);
  const log = new KyselyPortalRecordLog(db);
  const money = createKyselyMoneyStore(db, log);
  return {
    id: PORTAL_PARTY,
    file: where,
    log: new PortalRecordLogService({
      log,
      providerRecords: (after, limit) => money.listProviderRecordsByProcessingNumber(after, limit),
      clock,
      logger: silentLogger(),
    }),
    close: () => db.destroy(),
  };
}

/** The key a party's heads are checked with (`partyIdentityKey`), its untrusted certificate a finding. */
async function partyKey(
  dataDir: string,
  party: string,
): Promise<{ key?: TreeHeadKey; note: string; finding?: RecordFinding }> {
  const { key, note, untrusted } = await partyIdentityKey(join(dataDir, 'pki'), party);
  return {
    ...(key === undefined ? {} : { key }),
    note,
    ...(untrusted === undefined ? {} : { finding: { kind: 'certificate-untrusted', message: untrusted } }),
  };
}

const tag =
  (party: string) =>
  (f: RecordFinding): NetworkFinding => ({ ...f, party });

/** Verify one party: its log, its heads, its record rows. */
async function verifyParty(
  dataDir: string,
  party: CoreParty | InstitutionParty,
  purgeCutoff: Date,
): Promise<PartyReport> {
  const key = await partyKey(dataDir, party.id);
  const base = { party: party.id, file: party.file, key: key.note };
  try {
    const report = await party.log.verify({
      ...(key.key === undefined ? {} : { publicKey: key.key }),
      purgeCutoff,
    });
    return {
      ...base,
      events: report.events,
      purged: report.purged,
      records: report.records,
      heads: report.heads,
      findings: [...(key.finding ? [key.finding] : []), ...report.findings].map(tag(party.id)),
    };
  } catch (error) {
    // Most often a database from before the record log (no record_events table): say so, plainly.
    const reason = error instanceof Error ? error.message : 'unknown error';
    return {
      ...base,
      events: 0,
      purged: 0,
      records: 0,
      heads: { stored: 0, verified: 0, status: 'unsigned' },
      findings: [
        {
          party: party.id,
          kind: 'log-unreadable',
          message: `The record log of ${party.id} could not be read (${reason}).`,
        },
      ],
    };
  }
}

const PAGE = 500;
const DAY_MS = 24 * 3600_000;
/** Every exchange compared across the parties that took part in it (within `scope`). */
async function crossCheck(
  core: CoreParty | undefined,
  institutions: Map<string, InstitutionParty>,
  inScope: (party: string) => boolean,
  since: Date,
): Promise<{ checked: number; findings: NetworkFinding[] }> {
  const findings: NetworkFinding[] = [];
  let checked = 0;
  if (core === undefined) return { checked, findings };
  const recent = (at: string | undefined) => at !== undefined && at >= since.toISOString();

  // The core's records, against the requester's and the provider's.
  for (let after: string | undefined; ;) {
    const page = await core.log.exchanges(after, PAGE);
    after = page.at(-1)?.processingNumber;
    const relevant = page.filter(
      (c) =>
        recent(c.requestedAt) && (inScope(CORE_PARTY) || inScope(c.requesterId) || inScope(c.providerId)),
    );
    const byParty = new Map<string, string[]>();
    for (const c of relevant) {
      for (const id of new Set([c.requesterId, c.providerId])) {
        if (institutions.has(id)) byParty.set(id, [...(byParty.get(id) ?? []), c.processingNumber]);
      }
    }
    const known = new Map<string, Awaited<ReturnType<IntermediateRecordLog['exchangesOf']>>>();
    for (const [id, pns] of byParty) {
      const party = institutions.get(id);
      if (party) known.set(id, await party.log.exchangesOf(pns));
    }
    for (const c of relevant) {
      checked++;
      const requester = known.get(c.requesterId);
      if (requester) findings.push(...compareRequester(c, requester.requester.get(c.processingNumber)));
      const provider = known.get(c.providerId);
      if (provider) findings.push(...compareProvider(c, provider.provider.get(c.processingNumber)));
    }
    if (page.length < PAGE) break;
  }

  // Each institution's records the core does not have (or has for another party).
  for (const [id, party] of institutions) {
    if (!inScope(id) && !inScope(CORE_PARTY)) continue;
    for (let after: string | undefined; ;) {
      const page = await party.log.requesterExchanges(after, PAGE);
      after = page.at(-1)?.processingNumber;
      // A failed inquiry never reached the core: it is under a number the requester made itself.
      const relevant = page.filter((r) => r.opened !== 'inquiry_failed' && recent(r.recordedAt));
      const numbers = relevant.map((r) => r.processingNumber);
      const found = unknownAtCore(id, 'requester', numbers, await core.log.exchangesOf(numbers));
      checked += found.length;
      findings.push(...found);
      if (page.length < PAGE) break;
    }
    for (let after: string | undefined; ;) {
      const page = await party.log.providerExchanges(after, PAGE);
      after = page.at(-1)?.processingNumber;
      const relevant = page.filter((p) => recent(p.recordedAt));
      const numbers = relevant.map((p) => p.processingNumber);
      const found = unknownAtCore(id, 'provider', numbers, await core.log.exchangesOf(numbers));
      checked += found.length;
      findings.push(...found);
      if (page.length < PAGE) break;
    }
  }
  return { checked, findings };
}

/**
 * Verify the records of the network in `dataDir` (or of one party and its exchanges). Never throws for
 * what it finds: that is the report. Throws ERR_VALIDATION (as a RenkeiError) for a `party` the
 * directory has no database of.
 */
export async function verifyNetworkRecords(options: VerifyNetworkOptions): Promise<NetworkReport> {
  const clock = options.clock ?? systemClock;
  const retentionYears = options.retentionYears ?? 7;
  const purgeCutoff = clock.now();
  purgeCutoff.setUTCFullYear(purgeCutoff.getUTCFullYear() - retentionYears);
  // Parties purge by their own times (the core by request, an institution by its first write), so an
  // exchange within a day of the cutoff may be purged at one party and not yet at another.
  const crossSince = new Date(purgeCutoff.getTime() + DAY_MS);
  const { dataDir } = options;

  const ids = institutionIds(dataDir, options.postgres);
  const { party } = options;
  const portalThere = options.postgres
    ? existsSync(join(dataDir, PORTAL_PARTY))
    : existsSync(portalFile(dataDir));
  if (
    party !== undefined &&
    party !== CORE_PARTY &&
    !ids.includes(party) &&
    !(party === PORTAL_PARTY && portalThere)
  ) {
    throw new RenkeiError('ERR_VALIDATION', `There is no database of party ${party} in ${dataDir}.`, {
      party,
    });
  }
  const inScope = (id: string) => party === undefined || party === id;
  const core = await openCore(dataDir, clock, options.postgres);
  const institutions = new Map<string, InstitutionParty>();
  try {
    for (const id of ids) institutions.set(id, await openInstitution(dataDir, id, clock, options.postgres));
    // The portal is checked as an institution is: its own log, and its exchanges against the core's.
    const portal = await openPortal(dataDir, clock, options.postgres);
    if (portal) institutions.set(portal.id, portal);
    const parties: PartyReport[] = [];
    if (core && inScope(CORE_PARTY)) parties.push(await verifyParty(dataDir, core, purgeCutoff));
    for (const [id, institution] of institutions) {
      if (inScope(id)) parties.push(await verifyParty(dataDir, institution, purgeCutoff));
    }
    const unreadable = new Set(
      parties.filter((p) => p.findings.some((f) => f.kind === 'log-unreadable')).map((p) => p.party),
    );
    const exchanges =
      unreadable.size > 0
        ? { checked: 0, findings: [] }
        : await crossCheck(core, institutions, inScope, crossSince);
    const ok = parties.every((p) => p.findings.length === 0) && exchanges.findings.length === 0;
    return { dataDir, parties, exchanges, ok };
  } finally {
    await core?.close();
    for (const institution of institutions.values()) await institution.close();
  }
}

/** One processing number's records at every party that has one, with their events. */
export interface ShownExchange {
  core: Awaited<ReturnType<CoreRecordLog['show']>> | undefined;
  institutions: { party: string; records: ShownRecords }[];
  /** The signed messages each party kept of the exchange, each checked (signed-messages.ts). */
  messages: PartyMessages[];
}

/** The records of `processingNumber` at the core and at each institution that holds one. */
export async function showNetworkRecord(
  dataDir: string,
  processingNumber: string,
  postgres?: PostgresOption,
): Promise<ShownExchange> {
  const clock = systemClock;
  const core = await openCore(dataDir, clock, postgres);
  const shown: ShownExchange = { core: undefined, institutions: [], messages: [] };
  try {
    if (core) {
      const atCore = await core.log.show(processingNumber);
      if (atCore.record !== undefined || atCore.events.length > 0) shown.core = atCore;
    }
  } finally {
    await core?.close();
  }
  for (const id of institutionIds(dataDir, postgres)) {
    const party = await openInstitution(dataDir, id, clock, postgres);
    try {
      const records = await party.log.show(processingNumber);
      if (records.requester || records.provider) shown.institutions.push({ party: id, records });
    } finally {
      await party.close();
    }
  }
  shown.messages = await checkExchangeMessages(dataDir, processingNumber, [
    { party: CORE_PARTY, dir: join(dataDir, 'core') },
    ...institutionIds(dataDir, postgres).map((id) => ({ party: id, dir: join(dataDir, 'institutions', id) })),
  ]);
  return shown;
}
