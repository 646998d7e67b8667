/**
 * J-LIS as JPKI's publication point, on a plain-HTTP listener of its own (as the core's for the
 * network's PKI: a relying party must reach revocation data without first trusting a TLS
 * certificate; everything here is signed by a JPKI CA or its delegated responder):
 *
 * - `GET /jpki/v1/crl/signing`, `GET /jpki/v1/crl/authentication`: the current CRL of each issuing CA,
 *   DER (`application/pkix-crl`), or PEM with `?format=pem` (`X509 CRL`, what OpenSSL reads);
 * - `POST /jpki/v1/ocsp`: OCSP (RFC 6960), `application/ocsp-request` in, `application/ocsp-response` out;
 * - `GET /jpki/v1/ca-bundle.pem`: the two issuing CAs and the root;
 * - `GET /healthz`.
 */
import type { FastifyInstance } from 'fastify';
import { createHttpApp } from '../../shared/http.ts';
import type { Logger } from '../../shared/logger.ts';
import { crlPem } from '../../trust/pki/crl.ts';
import type { JpkiAuthority } from './jpki/authority.ts';
import { JPKI_KINDS, type JpkiKind } from './jpki/profiles.ts';
import type { JpkiCertificateService } from './service/jpki-certificates.ts';

/** An OCSP request is a few hundred bytes; anything much larger is not one. */
const OCSP_BODY_LIMIT = 16 * 1024;

export function createJpkiPublicationApp(
  certificates: JpkiCertificateService,
  authority: JpkiAuthority,
  logger: Logger,
): FastifyInstance {
  const app = createHttpApp({ logger, node: 'jlis-jpki-publication', bodyLimit: OCSP_BODY_LIMIT });
  app.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });
  app.get<{ Params: { kind: string }; Querystring: { format?: string } }>(
    '/jpki/v1/crl/:kind',
    async (request, reply) => {
      const kind = request.params.kind as JpkiKind;
      if (!JPKI_KINDS.includes(kind)) {
        return reply.status(404).send({ error: { code: 'ERR_ROUTE_NOT_FOUND', message: 'No such CRL.' } });
      }
      const der = await certificates.crl(kind);
      return request.query.format === 'pem'
        ? reply.type('application/x-pem-file').send(crlPem(der))
        : reply.type('application/pkix-crl').send(Buffer.from(der));
    },
  );
  app.get('/jpki/v1/ca-bundle.pem', (_request, reply) =>
    reply.type('application/x-pem-file').send(authority.bundlePem),
  );
  app.post('/jpki/v1/ocsp', async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? new Uint8Array(request.body) : new Uint8Array();
    const answer = await certificates.respondOcsp(body);
    return reply.type('application/ocsp-response').send(Buffer.from(answer));
  });
  return app;
}
