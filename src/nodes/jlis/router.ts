/**
 * J-LIS's HTTP API, `jlisApi` of `src/protocol/routes.ts`: the residents' side (`/admin/v1/residents`,
 * municipalities reporting through 住基ネット; the demo seeds through it) and the network side
 * (`/v1/code-acquisitions`, institutions' addressee systems). No URL carries an identifier.
 */
import type { FastifyInstance } from 'fastify';
import { serveOpenApi } from '../../protocol/openapi.ts';
import { jlisApi } from '../../protocol/routes.ts';
import { serve } from '../../protocol/server.ts';
import type { CodeAcquisitionRelay } from './service/code-acquisitions.ts';
import type { ResidentService } from './service/residents.ts';

export function registerJlisRoutes(
  app: FastifyInstance,
  services: { residents: ResidentService; acquisitions: CodeAcquisitionRelay },
): void {
  const { residents, acquisitions } = services;
  serve(app, jlisApi.registerResident, async ({ body }) => residents.registerResident(body));
  serve(app, jlisApi.recordResidentChange, async ({ body }) => residents.recordChange(body));
  serve(app, jlisApi.lookupResident, async ({ body }) => residents.lookup(body));
  serve(app, jlisApi.changeIndividualNumber, async ({ body }) => residents.changeNumber(body));
  serve(app, jlisApi.countResidents, async () => ({ count: await residents.countResidents() }));
  serve(app, jlisApi.acquireCode, async ({ body }) => acquisitions.relay(body));
  serveOpenApi(app, 'jlis');
}
