/**
 * The core as the network's PKI publication point, on a plain-HTTP listener of its own (RFC 5280
 * §4.2.1.13 and RFC 6960 Appendix A use http: a verifier must be able to fetch revocation data
 * without first trusting a TLS certificate whose revocation it is trying to check):
 *
 * - `GET /pki/v1/crl`: the current CRL, DER (`application/pkix-crl`), signed by the issuing CA;
 * - `POST /pki/v1/ocsp`: OCSP (RFC 6960), `application/ocsp-request` in, `application/ocsp-response`
 *   out, signed by the delegated OCSP responder (the core never holds a CA key);
 * - `GET /pki/v1/ca-bundle.pem`: the issuing and root CA certificates;
 * - `GET /pki/v1/record-log-keys`: the key the core signs its record log's tree heads with, as a JWK
 *   set (`kid` the certificate's serial, as the heads name it; `x5c` the certificate, so that a
 *   verifier that checks X.509 can tie the key to the network's CA): what a resident's browser checks
 *   a head of the exchange history against (src/trust/merkle/web-verify.ts);
 * - `GET /healthz`.
 *
 * Everything here is public and signed by the CA or its responder: nothing to authenticate.
 */
import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { respondOcsp } from '../../trust/pki/ocsp.ts';
import type { PkiView } from '../../trust/pki/view.ts';
import { createHttpApp } from '../../shared/http.ts';
import type { Logger } from '../../shared/logger.ts';

/** An OCSP request is a few hundred bytes; anything much larger is not one. */
const OCSP_BODY_LIMIT = 16 * 1024;

/** The core's identity certificate (PEM) and its key id (serial): what signs the record log's heads. */
export interface RecordLogKey {
  certificatePem: string;
  kid: string;
}

/** A JWK set of the core's record-log key: the public key, its kid, ES256, and the certificate (x5c). */
export function recordLogKeySet(key: RecordLogKey): { keys: Record<string, unknown>[] } {
  const certificate = new X509Certificate(key.certificatePem);
  const jwk = certificate.publicKey.export({ format: 'jwk' });
  return {
    keys: [{ ...jwk, kid: key.kid, use: 'sig', alg: 'ES256', x5c: [certificate.raw.toString('base64')] }],
  };
}

export function createPublicationApp(
  view: PkiView,
  logger: Logger,
  recordLogKey?: RecordLogKey,
): FastifyInstance {
  const app = createHttpApp({ logger, node: 'core-publication', bodyLimit: OCSP_BODY_LIMIT });
  app.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });
  app.get('/pki/v1/crl', (_request, reply) =>
    reply.type('application/pkix-crl').send(Buffer.from(view.crl())),
  );
  app.get('/pki/v1/ca-bundle.pem', (_request, reply) =>
    reply.type('application/x-pem-file').send(view.bundle.pem),
  );
  if (recordLogKey) {
    const keySet = recordLogKeySet(recordLogKey);
    app.get('/pki/v1/record-log-keys', (_request, reply) =>
      reply.type('application/jwk-set+json').send(keySet),
    );
  }
  app.post('/pki/v1/ocsp', async (request, reply) => {
    const body = Buffer.isBuffer(request.body) ? new Uint8Array(request.body) : new Uint8Array();
    const answer = await respondOcsp(body, view);
    return reply.type('application/ocsp-response').send(Buffer.from(answer));
  });
  return app;
}
