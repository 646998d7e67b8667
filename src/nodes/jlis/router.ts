/**
 * J-LIS's HTTP API, `jlisApi` of `src/protocol/routes.ts`: the residents' side (`/admin/v1/residents`,
 * municipalities reporting through 住基ネット; the demo seeds through it) and the network side
 * (`/v1/code-acquisitions`, institutions' addressee systems), and `jpkiApi`: relying parties and the
 * JPKI linking service. No URL carries an identifier. JPKI's CRLs and OCSP are not here but on the
 * plain-HTTP publication listener (`jpki-publication.ts`).
 */
import type { FastifyInstance } from 'fastify';
import { serveOpenApi } from '../../protocol/openapi.ts';
import { serveMetrics } from '../../protocol/monitoring.ts';
import { jlisApi, jpkiApi } from '../../protocol/routes.ts';
import { serve } from '../../protocol/server.ts';
import type { CardService } from './service/cards.ts';
import { RenkeiError } from '../../shared/errors.ts';
import type { CodeAcquisitionRelay } from './service/code-acquisitions.ts';
import type { JpkiLinkService } from './service/jpki-links.ts';
import type { ResidentService } from './service/residents.ts';

export function registerJlisRoutes(
  app: FastifyInstance,
  services: {
    residents: ResidentService;
    acquisitions: CodeAcquisitionRelay;
    cards: CardService;
    links: JpkiLinkService | undefined;
  },
): void {
  const { residents, acquisitions, cards } = services;
  const links = (): JpkiLinkService => {
    if (!services.links) throw new RenkeiError('ERR_CONFIG_INVALID', 'This J-LIS runs without its JPKI CA.');
    return services.links;
  };
  serve(app, jlisApi.registerResident, async ({ body }) => residents.registerResident(body));
  serve(app, jlisApi.recordResidentChange, async ({ body }) => residents.recordChange(body));
  serve(app, jlisApi.lookupResident, async ({ body }) => residents.lookup(body));
  serve(app, jlisApi.changeIndividualNumber, async ({ body }) => residents.changeNumber(body));
  serve(app, jlisApi.countResidents, async () => ({ count: await residents.countResidents() }));
  serve(app, jlisApi.acquireCode, async ({ body }) => acquisitions.relay(body));
  serve(app, jlisApi.acquirePortalCode, async ({ body }) => acquisitions.relayForPortal(body));
  // The card routes: the actor recorded is the caller's certificate party (the municipality).
  const actor = (caller: { partyId: string } | undefined) => ({
    party: caller?.partyId ?? 'unauthenticated',
  });
  serve(app, jlisApi.applyForCard, async ({ body, caller }) => cards.apply(body, actor(caller)));
  serve(app, jlisApi.issueCard, async ({ body, caller }) => cards.issue(body, actor(caller)));
  serve(app, jlisApi.deliverCard, async ({ body, caller }) => cards.deliver(body, actor(caller)));
  serve(app, jlisApi.suspendCard, async ({ body, caller }) => cards.suspend(body, actor(caller)));
  serve(app, jlisApi.liftCardSuspension, async ({ body, caller }) => cards.lift(body, actor(caller)));
  serve(app, jlisApi.revokeCard, async ({ body, caller }) => cards.revoke(body, actor(caller)));
  serve(app, jlisApi.reissueCard, async ({ body, caller }) => cards.reissue(body, actor(caller)));
  serve(app, jlisApi.renewCard, async ({ body, caller }) => cards.renew(body, actor(caller)));
  serve(app, jlisApi.unlockCardPin, async ({ body, caller }) => cards.unlockPin(body, actor(caller)));
  serve(app, jlisApi.endorseCard, async ({ body, caller }) => cards.endorse(body, actor(caller)));
  serve(app, jlisApi.issueSigningCertificate, async ({ body, caller }) =>
    cards.issueSigningCertificate(body, actor(caller)),
  );
  serve(app, jlisApi.lookupCard, async ({ body, caller }) => cards.show(body, actor(caller)));
  serve(app, jpkiApi.registerRelyingParty, async ({ body }) => links().registerRelyingParty(body));
  serve(app, jpkiApi.listRelyingParties, async () => ({
    relyingParties: await links().listRelyingParties(),
  }));
  serve(app, jpkiApi.registerLink, async ({ body, caller }) => links().link(caller?.partyId, body));
  serve(app, jpkiApi.lookupAuthenticationSerial, async ({ body, caller }) =>
    links().authenticationSerial(caller?.partyId, body),
  );
  serve(app, jpkiApi.lookupNewestSigning, async ({ body, caller }) =>
    links().newestSigning(caller?.partyId, body),
  );
  serveOpenApi(app, 'jlis');
  serveMetrics(app);
}
