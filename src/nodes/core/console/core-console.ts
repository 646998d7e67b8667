/**
 * The core's console (コアシステムのコンソール): one web listener of its own (the demo: the core's port
 * + 100, 7200), in the Myna Portal's stack and look, behind the consoles' login
 * (src/shared/web/console: staff accounts in the core's database, scrypt, throttled login, sessions,
 * CSRF), for two roles that never see each other's pages:
 *
 * - `operator` (運用者), under `/operator`: the statistics, the legal table and layouts, the network's
 *   health (operator-console.ts), the institution registry (registry-console.ts) and the load of a
 *   version of the legal table (legal-load-console.ts);
 * - `oversight` (the Personal Information Protection Commission, 個人情報保護委員会), under
 *   `/oversight`: the records, the figures per institution, a resident's exchanges (by an
 *   institution's code), the anomalies, the tamper-evident log, the three-party cross-check and the
 *   console's own use log, read-only (oversight-console.ts).
 *
 * An account has one role: an operator's session is refused on every oversight page and the other
 * way round (ERR_CALLER_NOT_ALLOWED, 403, recorded in the security log), as is any page without a
 * session (303 to `/login`). Every POST carries the form's CSRF token. The pages call the same
 * services the admin API calls, in process.
 */
import { partyHeadKey } from '../../../trust/pki/index.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../../../shared/clock.ts';
import type { Logger } from '../../../shared/logger.ts';
import { registerConsole, type ConsoleRefusalSink } from '../../../shared/web/console/console.ts';
import { consoleErrorPage } from '../../../shared/web/console/pages.ts';
import type { ScryptParameters } from '../../../shared/web/console/passwords.ts';
import type { ConsoleStore } from '../../../shared/web/console/store.ts';
import { createWebApp } from '../../../shared/web/server.ts';
import type { CoreServices } from '../router.ts';
import type { RecordLogService } from '../service/record-log.ts';
import { AnomalyService, type AnomalyRules } from '../service/anomalies.ts';
import { OversightService } from '../service/oversight.ts';
import type { CoreStore } from '../store.ts';
import { operatorConsole, type RenderedPage } from './operator-console.ts';
import { legalLoadConsole } from './legal-load-console.ts';
import { oversightConsole } from './oversight-console.ts';
import { registryConsole } from './registry-console.ts';

export interface CoreConsoleDeps {
  services: Pick<
    CoreServices,
    'registry' | 'records' | 'legalVersions' | 'health' | 'personRecords' | 'recordChecks'
  >;
  coreStore: CoreStore;
  recordLog: RecordLogService;
  /** The console's accounts and sessions (the core's database: `KyselyCoreStore.consoleStore()`). */
  store: ConsoleStore;
  clock: Clock;
  logger: Logger;
  /** HTTPS with this key and certificate (PEM); plain HTTP without (the demo, on 127.0.0.1). */
  tls?: { key: string; cert: string } | undefined;
  /** The node's security log: refused logins, pages and forms. */
  record?: ConsoleRefusalSink | undefined;
  /** The network's PKI directory: the registry page shows each institution's certificate status. */
  pkiDir?: string | undefined;
  /** The core's public key (its identity certificate's): the oversight console checks heads with it. */
  headKey?: CryptoKey | undefined;
  /** The oversight console's anomaly rules (service/anomalies.ts); the defaults without. */
  anomalyRules?: AnomalyRules | undefined;
  /**
   * The per-resident view's page size and how long a view is kept for its further pages
   * (service/oversight.ts: 100 records, 15 minutes by default).
   */
  personPaging?: { pageSize?: number; viewTtlMs?: number } | undefined;
  /** Faster hashes for tests only. */
  scrypt?: ScryptParameters | undefined;
}

export async function createCoreConsole(deps: CoreConsoleDeps): Promise<FastifyInstance> {
  const app = await createWebApp({
    logger: deps.logger,
    tls: deps.tls,
    errorPage: consoleErrorPage,
  });
  const staffConsole = await registerConsole(app, {
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    tls: deps.tls !== undefined,
    service: {
      name: '情報提供ネットワークシステム コアシステム',
      nameEn: 'Information Provision Network core',
    },
    roles: ['operator', 'oversight'],
    cookieScope: 'core',
    nav: [
      { href: '/operator/statistics', label: { ja: '統計', en: 'Statistics' }, roles: ['operator'] },
      { href: '/operator/registry', label: { ja: '機関の登録簿', en: 'Registry' }, roles: ['operator'] },
      {
        href: '/operator/legal',
        label: { ja: '別表第二・レイアウト', en: 'Legal table' },
        roles: ['operator'],
      },
      { href: '/operator/health', label: { ja: '稼働状況', en: 'Health' }, roles: ['operator'] },
      { href: '/oversight/records', label: { ja: '提供等の記録', en: 'Records' }, roles: ['oversight'] },
      {
        href: '/oversight/institutions',
        label: { ja: '機関別の状況', en: 'By institution' },
        roles: ['oversight'],
      },
      { href: '/oversight/person', label: { ja: '個人別', en: 'By resident' }, roles: ['oversight'] },
      { href: '/oversight/anomalies', label: { ja: '異常の検知', en: 'Anomalies' }, roles: ['oversight'] },
      { href: '/oversight/log', label: { ja: '改ざん検知', en: 'Log' }, roles: ['oversight'] },
      {
        href: '/oversight/cross-check',
        label: { ja: '三者照合', en: 'Cross-check' },
        roles: ['oversight'],
      },
      { href: '/oversight/uses', label: { ja: '利用記録', en: 'Use log' }, roles: ['oversight'] },
    ],
    home: (role) => (role === 'oversight' ? '/oversight/records' : '/operator/statistics'),
    record: deps.record,
    scrypt: deps.scrypt,
  });
  const render = (request: FastifyRequest, page: RenderedPage) =>
    staffConsole.page(request, {
      title: staffConsole.lang(request) === 'en' ? page.titleEn : page.title,
      body: page.body,
      ...(page.scripts ? { scripts: page.scripts } : {}),
    });
  const staff = (request: FastifyRequest) => {
    const s = staffConsole.staff(request);
    return { accountId: s.account.accountId, csrfToken: s.csrfToken };
  };
  const now = () => deps.clock.now();
  const { registry, records, legalVersions, health, personRecords, recordChecks } = deps.services;

  await app.register(operatorConsole, {
    prefix: '/operator',
    guard: staffConsole.requireRole('operator'),
    render,
    records,
    legalVersions,
    health,
    now,
  });
  await app.register(registryConsole, {
    prefix: '/operator',
    guard: staffConsole.requireRole('operator'),
    registry,
    pkiDir: deps.pkiDir,
    clock: deps.clock,
    logger: deps.logger,
    render,
    staff,
  });
  await app.register(legalLoadConsole, {
    prefix: '/operator',
    guard: staffConsole.requireRole('operator'),
    legalVersions,
    render,
    staff,
    logger: deps.logger,
    now,
  });
  await app.register(oversightConsole, {
    prefix: '/oversight',
    guard: staffConsole.requireRole('oversight'),
    oversight: new OversightService({
      store: deps.coreStore,
      registry,
      recordLog: deps.recordLog,
      clock: deps.clock,
      headKey: deps.headKey,
      personRecords,
      recordChecks,
      ...(deps.personPaging?.pageSize === undefined ? {} : { personPageSize: deps.personPaging.pageSize }),
      ...(deps.personPaging?.viewTtlMs === undefined ? {} : { personViewTtlMs: deps.personPaging.viewTtlMs }),
      headKeyOf:
        deps.pkiDir === undefined ? undefined : (id, kid, at) => partyHeadKey(deps.pkiDir ?? '', id, kid, at),
      anomalies: new AnomalyService({
        store: deps.coreStore,
        registry,
        ...(deps.anomalyRules === undefined ? {} : { rules: deps.anomalyRules }),
      }),
    }),
    logger: deps.logger,
    render,
    staff,
    nameOf: async (id, lang) => {
      const institution = await registry.find(id);
      return lang === 'en' ? institution?.nameEn : institution?.name;
    },
    now,
  });
  return app;
}
