/**
 * `createJlis`: build the J-LIS node (地方公共団体情報システム機構) from its collaborators. Nothing here
 * reads configuration or opens files (that is `main.ts`): tests build J-LIS over a real SQLite file, a
 * fixed clock and a seeded random source.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { RandomSource } from '../../domain/identifiers/random-source.ts';
import type { Client } from '../../protocol/api.ts';
import type { NodeSecurity } from '../../protocol/node-security.ts';
import type { coreApi } from '../../protocol/routes.ts';
import { secureApp } from '../../protocol/server.ts';
import type { Clock } from '../../shared/clock.ts';
import { createHttpApp } from '../../shared/http.ts';
import type { Logger } from '../../shared/logger.ts';
import type { JpkiAuthority } from './jpki/authority.ts';
import { createKyselyJpkiStore, type JpkiTables } from './jpki/kysely-store.ts';
import type { JpkiStore } from './jpki/store.ts';
import { registerJlisRoutes } from './router.ts';
import type { KdfCost } from '../../card/virtual-card.ts';
import type { CardRules } from './card-rules.ts';
import type { JpkiIssuer } from './jpki/port.ts';
import { CardService } from './service/cards.ts';
import { CodeAcquisitionRelay } from './service/code-acquisitions.ts';
import type { ResidentNoticeSealer } from '../../protocol/resident-notice-sealing.ts';
import { ResidentNoticeSender } from './service/resident-notices.ts';
import { JpkiCertificateService } from './service/jpki-certificates.ts';
import { JpkiLinkService } from './service/jpki-links.ts';
import { ResidentService, newNumberingKey } from './service/residents.ts';
import type { JlisStore } from './store.ts';

export interface JlisDeps {
  store: JlisStore;
  clock: Clock;
  logger: Logger;
  /** The core, for code issuance. */
  core: Client<typeof coreApi>;
  /** J-LIS's secret numbering key; a fresh random one when omitted (tests). */
  numberingKey?: Uint8Array;
  /** Where resident record codes come from (seeded in tests). */
  random?: RandomSource;
  /** The trust layer: mutual TLS, callers checked, messages signed. Absent only in unit tests. */
  security?: NodeSecurity;
  /**
   * Seals notices of change to the institutions holding a resident (from the network's PKI
   * directory: `main.ts`). Without it a change's notice is recorded failed (ERR_ENCRYPTION_REQUIRED).
   */
  noticeSealer?: ResidentNoticeSealer;
  /** The first waits between attempts to hand a notice to the core (default 200 ms, 1 s, 5 s). */
  noticeRetryDelaysMs?: readonly number[];
  /**
   * The issuer the cards' lifecycle asks for their certificates: J-LIS's own CA (`jpki`) when omitted.
   * The card lifecycle's own tests give one that records what it was asked.
   */
  cardIssuer?: JpkiIssuer;
  /** The card expiry rules (`card-rules.yaml` when omitted) and the cards' scrypt cost (tests: cheap). */
  cardRules?: CardRules;
  cardKdf?: KdfCost;
  /**
   * JPKI: the CA (`openJpkiAuthority`), its storage (J-LIS's database) and the URL its certificates
   * name for CRLs and OCSP. Without it J-LIS issues no certificates (unit tests of numbering).
   */
  jpki?: { authority: JpkiAuthority; store: JpkiStore; publicationUrl?: string };
}

export interface Jlis {
  /** Not yet listening: `listen(app, port)` from `src/shared/http.ts`. */
  app: FastifyInstance;
  residents: ResidentService;
  acquisitions: CodeAcquisitionRelay;
  /** Notices of change: `resume()` at start, `close()` before the store closes. */
  notices: ResidentNoticeSender;
  cards: CardService;
  jpki: { certificates: JpkiCertificateService; links: JpkiLinkService } | undefined;
}

export function createJlis(deps: JlisDeps): Jlis {
  const certificates = deps.jpki
    ? new JpkiCertificateService({
        store: deps.jpki.store,
        residents: deps.store,
        authority: deps.jpki.authority,
        clock: deps.clock,
        logger: deps.logger,
        ...(deps.jpki.publicationUrl === undefined ? {} : { publicationUrl: deps.jpki.publicationUrl }),
      })
    : undefined;
  const links =
    deps.jpki && certificates
      ? new JpkiLinkService({
          store: deps.jpki.store,
          certificates,
          authority: deps.jpki.authority,
          clock: deps.clock,
          logger: deps.logger,
        })
      : undefined;
  const notices = new ResidentNoticeSender({
    store: deps.store,
    core: deps.core,
    sealer: deps.noticeSealer,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.noticeRetryDelaysMs === undefined ? {} : { retryDelaysMs: deps.noticeRetryDelaysMs }),
  });
  const cards = new CardService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    jpki: deps.cardIssuer ?? certificates,
    ...(deps.cardRules ? { rules: deps.cardRules } : {}),
    ...(deps.cardKdf ? { kdf: deps.cardKdf } : {}),
  });
  const residents = new ResidentService({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    notices,
    numberingKey: deps.numberingKey ?? newNumberingKey(),
    ...(deps.random ? { random: deps.random } : {}),
    ...(certificates ? { jpki: certificates } : {}),
  });
  const acquisitions = new CodeAcquisitionRelay({
    store: deps.store,
    clock: deps.clock,
    logger: deps.logger,
    core: deps.core,
    certificates,
  });
  const app = createHttpApp({
    logger: deps.logger,
    node: 'jlis',
    ...(deps.security ? { tls: deps.security.trust.tls } : {}),
  });
  if (deps.security) secureApp(app, deps.security);
  registerJlisRoutes(app, { residents, acquisitions, cards, links });
  return {
    app,
    residents,
    acquisitions,
    notices,
    cards,
    jpki: certificates && links ? { certificates, links } : undefined,
  };
}

/** JPKI's store over J-LIS's database (its tables are J-LIS's, migration `0004-jpki`). */
export function jpkiStoreOf(db: Kysely<JpkiTables>): JpkiStore {
  return createKyselyJpkiStore(db);
}
