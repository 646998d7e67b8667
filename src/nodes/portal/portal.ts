/**
 * `createPortal`: build the Myna Portal (マイナポータル) from its collaborators. Nothing here reads
 * configuration or opens files (that is `main.ts`): tests build it over a real SQLite file and real
 * peers.
 *
 * The portal has two listeners: the web, where residents come with a browser (HTTPS where it has a
 * certificate for its public name), and the network, a node's mutual-TLS listener with its
 * certificate from the network's CA (role `portal`), where the core delivers its codes.
 */
import type { FastifyInstance } from 'fastify';
import type { Client } from '../../protocol/api.ts';
import type { NodeSecurity } from '../../protocol/node-security.ts';
import { serveOpenApi } from '../../protocol/openapi.ts';
import { serveMetrics } from '../../protocol/monitoring.ts';
import type { coreApi, jlisApi, jpkiApi } from '../../protocol/routes.ts';
import type { LegalTable } from '../../domain/legal-table/index.ts';
import { secureApp } from '../../protocol/server.ts';
import type { Clock } from '../../shared/clock.ts';
import rateLimit from '@fastify/rate-limit';
import { createHttpApp } from '../../shared/http.ts';
import { includeListener } from '../../shared/metrics.ts';
import { RenkeiError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { createWebApp } from '../../shared/web/server.ts';
import type { Lang } from '../../shared/web/lang.ts';
import {
  registerApplicationDownloads,
  registerExchangePages,
  registerMyInformationNetworkRoute,
  registerMyInformationPages,
  registerPortalNetworkRoutes,
  registerPortalPages,
} from './router.ts';
import { createItemSealer } from '../../protocol/item-sealing.ts';
import type { MyInformationStore } from './my-information-store.ts';
import { MyInformationService, type InformationProvider } from './service/my-information.ts';
import { ExchangeService } from './service/exchanges.ts';
import type { JpkiTrust } from './service/jpki-verifier.ts';
import { createPortalNoticeOpener } from '../../protocol/portal-notice-sealing.ts';
import { LoginService } from './service/login.ts';
import { sha256Hex } from '../../shared/hash.ts';
import { NoticeService } from './service/notices.ts';
import { PersonCodeService } from './service/person-codes.ts';
import { SessionService, type SessionPolicy } from './service/sessions.ts';
import type { PortalStore } from './store.ts';
import type { MoneyStore } from './money-store.ts';
import type { KyselyPortalRecordLog } from './record-log-store.ts';
import { PortalRecordLogService } from './service/record-log.ts';
import type { RecordLogSigner } from '../../trust/merkle/index.ts';
import { registerMoneyPages, registerProviderRoutes } from './money-router.ts';
import { AccountService } from './service/accounts.ts';
import { DemoPaymentProvider } from './service/demo-payment-provider.ts';
import { PaymentService } from './service/payments.ts';
import { paymentPanel } from './web/money-pages.ts';
import { sealPaymentConfirmation } from '../../protocol/payments.ts';
import { ProvisionService } from '../../protocol/provider.ts';
import { bundleExchangesScript } from './web/exchanges-bundle.ts';
import type { ApplicationStore } from './application-store.ts';
import { registerServicePages } from './onestop-router.ts';
import { ApplicationService } from './service/applications.ts';
import { FinderService, type Onestop } from './service/finder.ts';
import { errorPage } from './web/pages.ts';
import type { ApiStore } from './api-store.ts';
import { registerApiRoutes, type ApiRateLimits, type ApiRoutes } from './api-router.ts';
import type { ApiClient, ApiKeys } from './api/authorization-server.ts';
import type { createOidcAdapterFactory } from './api/oidc-adapter.ts';

/** The portal's party id and institution id (its certificate's, and the core's registry entry). */
export const PORTAL_PARTY = 'portal';

export interface PortalDeps {
  store: PortalStore;
  /** Service D: accounts, payments, the portal's provider records (money-store.ts). */
  moneyStore: MoneyStore;
  clock: Clock;
  logger: Logger;
  /**
   * The portal's origin as browsers see it (`https://myna.example`, `http://127.0.0.1:7180`); a
   * function when it is known only once the web listener listens (port 0).
   */
  origin: string | (() => string);
  /** The card reader's base URL: where the login page sends the resident. */
  readerUrl: string;
  /** J-LIS's JPKI CA bundle and OCSP responder. */
  jpki: JpkiTrust;
  /** J-LIS, for the portal's code acquisitions. */
  jlis: Client<typeof jlisApi>;
  /** The core, for the exchanges about a resident (`listPersonRecords`). */
  core: Client<typeof coreApi>;
  /** The core's publication listener: the key its record log's heads are signed with. */
  corePublicationUrl: string;
  /** The legal table: the names of procedures, items and clauses a resident reads. */
  legalTable: LegalTable;
  /** The network's PKI directory (public certificates): whom a payment confirmation is sealed to. */
  pkiDir?: string | undefined;
  /** The trust layer of the network listener (and the security log). Absent only in unit tests. */
  security?: NodeSecurity | undefined;
  /** The web listener's own certificate for HTTPS (PEM); plain HTTP without it (the demo). */
  webTls?: { key: string; cert: string } | undefined;
  sessionPolicy?: SessionPolicy | undefined;
  challengeTtlMs?: number | undefined;
  /**
   * ぴったりサービス: the catalogue and the municipalities' registrations, the applications' storage,
   * and J-LIS's linking service (the portal a registered relying party). Without them, no finder.
   */
  onestop?: { catalogue: Onestop; store: ApplicationStore; jpki: Client<typeof jpkiApi> } | undefined;
  /** The demo payment provider's own file of checkouts (kept across restarts); in memory without. */
  demoCheckoutsFile?: string | undefined;
  /** わたしの情報: the portal's records as a requester. */
  myInformationStore: MyInformationStore;
  /**
   * The portal's tamper-evident record log (its requester, provider and notice records): `signer` is
   * the portal's identity key; heads are signed after `everyAppends` events (default 100) or every
   * `everyMs` (default 60 s) if the log grew, and at close. Without a signer no head is signed.
   */
  recordLog: {
    log: KyselyPortalRecordLog;
    signer?: RecordLogSigner | undefined;
    everyAppends?: number;
    everyMs?: number;
  };
  /** わたしの情報: the institutions the portal asks (those its clause names are asked). */
  informationProviders?: readonly InformationProvider[] | undefined;
  /** How long a resident's answers are kept in memory (default 15 minutes). */
  myInformationKeepMs?: number | undefined;
  /**
   * The APIs for other services (自己情報取得API): the authorization server's storage and keys, the
   * clients the operator registered. Without it, no `/oidc` and no `/api/`.
   */
  api?:
    | {
        store: ApiStore;
        adapter: ReturnType<typeof createOidcAdapterFactory>;
        keys: ApiKeys;
        clients: readonly ApiClient[];
        codeTtlSeconds?: number | undefined;
        grantTtlSeconds?: number | undefined;
        waitMs?: number | undefined;
        rateLimits?: Partial<ApiRateLimits> | undefined;
      }
    | undefined;
}

export interface Portal {
  /** The residents' web app; not yet listening. */
  web: FastifyInstance;
  /**
   * The network listener (`portalNetworkApi`, `portalApi`, its OpenAPI document at `/openapi.json`);
   * not yet listening.
   */
  network: FastifyInstance;
  login: LoginService;
  sessions: SessionService;
  codes: PersonCodeService;
  exchanges: ExchangeService;
  notices: NoticeService;
  applications: ApplicationService | undefined;
  myInformation: MyInformationService;
  accounts: AccountService;
  payments: PaymentService;
  provisions: ProvisionService;
  recordLog: PortalRecordLogService;
  /** The authorization server of the APIs for other services, when `api` was given. */
  api: ApiRoutes | undefined;
}

export async function createPortal(deps: PortalDeps): Promise<Portal> {
  const record = deps.security?.record;
  const { origin: given } = deps;
  const origin = typeof given === 'string' ? () => given : given;
  const codes = new PersonCodeService({
    institutionId: PORTAL_PARTY,
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    jlis: deps.jlis,
  });
  const login = new LoginService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    origin,
    trust: deps.jpki,
    persons: codes,
    record,
    ...(deps.challengeTtlMs === undefined ? {} : { challengeTtlMs: deps.challengeTtlMs }),
  });
  const { security, pkiDir } = deps;
  const payments = new PaymentService({
    portalId: PORTAL_PARTY,
    store: deps.moneyStore,
    core: deps.core,
    seal:
      security && pkiDir ? (content) => sealPaymentConfirmation(security.trust, pkiDir, content) : undefined,
    clock: deps.clock,
    logger: deps.logger,
  });
  const recordLog = new PortalRecordLogService({
    ...deps.recordLog,
    providerRecords: (after, limit) => deps.moneyStore.listProviderRecordsByProcessingNumber(after, limit),
    clock: deps.clock,
    logger: deps.logger,
  });
  const accounts = new AccountService({ store: deps.moneyStore, clock: deps.clock, logger: deps.logger });
  const provisions = new ProvisionService({
    store: deps.moneyStore,
    legalTable: deps.legalTable,
    clock: deps.clock,
    logger: deps.logger,
    ...(security ? { sealer: createItemSealer(security.trust, security.archive) } : {}),
  });
  const notices = new NoticeService({
    store: deps.store,
    opener: deps.security ? createPortalNoticeOpener(deps.security.trust) : undefined,
    clock: deps.clock,
    logger: deps.logger,
    onPaymentRequest: (notice, payment) => payments.requested(notice, payment),
  });
  const sessions = new SessionService({ store: deps.store, clock: deps.clock, policy: deps.sessionPolicy });
  const exchanges = new ExchangeService({
    institutionId: PORTAL_PARTY,
    store: deps.store,
    clock: deps.clock,
    core: deps.core,
    corePublicationUrl: deps.corePublicationUrl,
    verifyCertificate: async (der) => {
      // Without the trust layer (unit tests only) no key is vouched for: every row then shows ✗.
      if (!deps.security) throw new RenkeiError('ERR_CERT_UNTRUSTED', 'No trust layer to check the key.');
      return deps.security.trust.verifyPeer(der, 'signing');
    },
  });
  const keepMs = deps.myInformationKeepMs ?? 15 * 60_000;
  // The institutions' names as the core's registry gives them (the launcher copies the registry's
  // names into the portal's configuration): the English one for pages in English.
  const institutionName = (id: string, lang: Lang): string | undefined => {
    const institution = deps.informationProviders?.find((p) => p.id === id);
    return lang === 'en' ? (institution?.nameEn ?? institution?.name) : institution?.name;
  };
  const myInformation = new MyInformationService({
    store: deps.myInformationStore,
    findPersonCode: (personId) => deps.store.findPersonCode(personId),
    core: deps.core,
    sealer: deps.security ? createItemSealer(deps.security.trust, deps.security.archive) : undefined,
    legalTable: deps.legalTable,
    providers: deps.informationProviders ?? [],
    clock: deps.clock,
    logger: deps.logger,
    institutionId: PORTAL_PARTY,
    keepMs,
  });
  // A consent's form answers with a redirect to the client's redirect URI: browsers apply the
  // CSP's form-action to it, so the registered clients' origins are allowed there.
  const clientOrigins = [
    ...new Set((deps.api?.clients ?? []).flatMap((c) => c.redirectUris.map((u) => new URL(u).origin))),
  ];
  const web = await createWebApp({
    logger: deps.logger,
    tls: deps.webTls,
    errorPage,
    formActions: clientOrigins,
  });
  // The APIs' routes, once registered below: the portal's logout ends their authorization server's session.
  const authorizationServer: { api?: ApiRoutes | undefined } = {};
  // Before the routes: the plugin finds the routes that ask for a limit as they are added (router.ts).
  await web.register(rateLimit, { global: false });
  registerPortalPages(web, {
    login,
    sessions,
    notices,
    clock: deps.clock,
    origin,
    readerUrl: deps.readerUrl,
    tls: deps.webTls !== undefined,
    record,
    englishName: (id) => institutionName(id, 'en'),
    onLogout: async (token, request, reply) => {
      myInformation.forget(sha256Hex(token ?? ''));
      await authorizationServer.api?.endSession(request.raw, reply.raw);
    },
    noticeExtra: async (personId, noticeId, lang) => {
      const payment = await payments.find(personId, noticeId);
      return payment && paymentPanel(lang, payment);
    },
  });
  registerMyInformationPages(web, {
    sessions,
    myInformation,
    legalTable: deps.legalTable,
    clock: deps.clock,
    origin,
    tls: deps.webTls !== undefined,
    keepMinutes: Math.round(keepMs / 60_000),
    record,
  });
  registerMoneyPages(web, {
    sessions,
    accounts,
    payments,
    provider: new DemoPaymentProvider({
      clock: deps.clock,
      settle: (input) => payments.settle(input),
      file: deps.demoCheckoutsFile,
    }),
    clock: deps.clock,
    origin,
    tls: deps.webTls !== undefined,
    record,
  });
  registerExchangePages(web, {
    sessions,
    exchanges,
    notices,
    recordLog,
    legalTable: deps.legalTable,
    logger: deps.logger,
    tls: deps.webTls !== undefined,
    script: await bundleExchangesScript(),
  });
  const applications =
    deps.onestop &&
    new ApplicationService({
      store: deps.onestop.store,
      personOfSerial: (serial) => deps.store.findPersonBySerial(serial),
      trust: deps.jpki,
      jpki: deps.onestop.jpki,
      relyingPartyId: PORTAL_PARTY,
      clock: deps.clock,
      logger: deps.logger,
      record,
    });
  const finder = deps.onestop && new FinderService(deps.onestop.catalogue);
  if (finder && applications) {
    registerServicePages(web, {
      sessions,
      notices,
      finder,
      applications,
      clock: deps.clock,
      origin,
      readerUrl: deps.readerUrl,
      tls: deps.webTls !== undefined,
      record,
    });
  }
  const api =
    deps.api &&
    (await registerApiRoutes(web, {
      ...deps.api,
      sessions,
      notices,
      myInformation,
      legalTable: deps.legalTable,
      providerName: (id, lang) => institutionName(id, lang) ?? id,
      onestop: finder && applications && { finder, applications },
      clock: deps.clock,
      logger: deps.logger,
      origin,
      tls: deps.webTls !== undefined,
      record,
    }));
  authorizationServer.api = api;
  const network = createHttpApp({
    logger: deps.logger,
    node: 'portal',
    ...(deps.security ? { tls: deps.security.trust.tls } : {}),
  });
  if (deps.security) secureApp(network, { ...deps.security, institutionId: PORTAL_PARTY });
  registerPortalNetworkRoutes(network, codes, notices, recordLog);
  if (applications) registerApplicationDownloads(network, applications);
  registerMyInformationNetworkRoute(network, myInformation);
  registerProviderRoutes(network, provisions);
  // Its document lists the routes of `NODE_APIS.portal` registered above (the downloads only with
  // ぴったりサービス), read from the app when it is ready: the routers serve from those tables.
  serveOpenApi(network, 'portal');
  serveMetrics(network);
  includeListener(network, web, 'web');
  return {
    web,
    network,
    login,
    sessions,
    codes,
    exchanges,
    notices,
    applications,
    myInformation,
    accounts,
    payments,
    provisions,
    recordLog,
    api,
  };
}
