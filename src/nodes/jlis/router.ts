import type { FastifyInstance } from 'fastify';
import { CodeAcquisitionRequest } from '../../network/messages.ts';
import { parseInput } from '../../shared/http.ts';
import { NewResident, type JlisService } from './service.ts';

/**
 * J-LIS's whole HTTP API. Every error answer is an `ErrorBody` (`src/shared/errors.ts`), mapped from
 * its code once by `createHttpApp`; any route can also answer ERR_BODY_NOT_JSON,
 * ERR_UNSUPPORTED_MEDIA_TYPE, ERR_BODY_TOO_LARGE and ERR_INTERNAL. No URL carries an identifier.
 *
 * `/admin/v1/*` is the residents' side (municipalities reporting through 住基ネット; the demo seeds
 * through it); `/v1/*` is the network side (institutions' addressee systems).
 */
export function registerJlisRoutes(app: FastifyInstance, service: JlisService): void {
  /**
   * `POST /admin/v1/residents` — number a new resident.
   * Body: `NewResident` {name, nameKana?, address, dateOfBirth (YYYY-MM-DD), sex ('male'|'female'|'other')}.
   * 201: {residentRecordCode, individualNumber}.
   * Errors: ERR_VALIDATION (400).
   */
  app.post('/admin/v1/residents', async (request, reply) => {
    const resident = parseInput(NewResident, request.body, 'resident');
    const numbered = await service.registerResident(resident);
    return reply.status(201).send(numbered);
  });

  /**
   * `GET /admin/v1/residents/count` — how many residents J-LIS has numbered.
   * 200: {count}. Errors: none of its own.
   */
  app.get('/admin/v1/residents/count', async () => ({ count: await service.countResidents() }));

  /**
   * `POST /v1/code-acquisitions` — relay a code acquisition (符号取得) to the core.
   * Body: `CodeAcquisitionRequest` {institutionId, acquisitionNumber, individualNumber}.
   * 202: {acquisitionNumber, status: 'relayed'} once the core has accepted the issuance; the code
   * itself goes from the core to the institution, never through J-LIS.
   * Errors: ERR_VALIDATION (400: not 12 digits, malformed ids), ERR_INVALID_CHECK_DIGIT (400),
   * ERR_UNKNOWN_RESIDENT (404), and the core's own answer passed through unchanged, e.g.
   * ERR_UNKNOWN_INSTITUTION (422) or ERR_DUPLICATE (409); ERR_UPSTREAM_UNAVAILABLE (502) when the
   * core cannot be reached.
   */
  app.post('/v1/code-acquisitions', async (request, reply) => {
    const acquisition = parseInput(CodeAcquisitionRequest, request.body, 'code acquisition');
    const accepted = await service.relayCodeAcquisition(acquisition);
    return reply.status(202).send(accepted);
  });
}
