import { randomUUID } from 'node:crypto';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { Agent } from 'undici';
import { assertAnswers, messageHash } from '../trust/envelope/message-hash.ts';
import { signMessage } from '../trust/envelope/sign-message.ts';
import { verifyMessage } from '../trust/envelope/verify-message.ts';
import { normaliseSerial } from '../trust/pki/profiles.ts';
import { partyIdOf } from '../trust/pki/verify.ts';
import { RenkeiError } from '../shared/errors.ts';
import { batchOf, type ArchivedMessage, type MessageArchive } from '../shared/message-archive.ts';
import { DEFAULT_MAX_ANSWER_BYTES, DEFAULT_TIMEOUT_MS, boundedRequest } from './bounded-request.ts';
import { answerBody, urlOf } from './http-transport.ts';
import { derToPem, type NodeTrust } from './node-trust.ts';
import type { Transport, TransportRequest, TransportResponse } from './transport.ts';

export interface SecureTransportOptions {
  /** Default deadline of a whole call, headers and body together (default 10 s). */
  timeoutMs?: number;
  /** Default bound on an answer's body (default 16 MiB). */
  maxAnswerBytes?: number;
  /** Most connections kept open to one peer (default 128). */
  connections?: number;
  /**
   * Where each signed request sent and each verified signed answer received are kept, with the
   * signer's certificate, under the processing number the request or its answer names.
   */
  archive?: MessageArchive;
}

/**
 * The network's transport: mutual TLS 1.3 with this node's certificate, to a server whose certificate
 * must name the party the caller meant (`ClientTarget.party`), and, on node-to-node routes, every
 * request body a signed message to that party and every answer a signed message from it that names
 * the request's hash. A peer that answers anything else is refused with the envelope's code.
 *
 * One keep-alive pool per peer (origin and party), so that a server's certificate is checked against
 * the party expected of it at every handshake.
 */
export function secureTransport(trust: NodeTrust, options: SecureTransportOptions = {}): Transport {
  const defaultTimeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const defaultMaxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const agents = new Map<string, Agent>();
  /** Server certificates seen in handshakes, by `party|serial`: the keys their answers are checked with. */
  const servers = new Map<string, Uint8Array>();
  let closing: Promise<void> | undefined;

  function agentFor(origin: string, party: string | undefined): Agent {
    const key = `${origin} ${party ?? ''}`;
    let agent = agents.get(key);
    if (!agent) {
      agent = new Agent({
        keepAliveTimeout: 30_000,
        connections: options.connections ?? 128,
        connect: {
          key: trust.tls.key,
          cert: trust.tls.cert,
          ca: trust.tls.ca,
          minVersion: 'TLSv1.3',
          checkServerIdentity: (host: string, certificate: PeerCertificate) => {
            const hostError = checkServerIdentity(host, certificate);
            if (hostError) return hostError;
            let named: string;
            try {
              named = partyIdOf(new Uint8Array(certificate.raw));
            } catch {
              return new Error('the server’s certificate names no party of this network');
            }
            if (party !== undefined && named !== party) {
              return new Error(`the server’s certificate names ${named}, not ${party}`);
            }
            servers.set(
              `${named}|${normaliseSerial(certificate.serialNumber)}`,
              new Uint8Array(certificate.raw),
            );
            return undefined;
          },
        },
      });
      agents.set(key, agent);
    }
    return agent;
  }

  return {
    async send(call: TransportRequest): Promise<TransportResponse> {
      const { route, peer, party } = call;
      const url = urlOf(call);

      let payload: string | null = null;
      let contentType: string | undefined;
      let requestHash: string | undefined;
      const requestId = randomUUID();
      const sentAt = trust.clock.now().toISOString();
      if (route.message !== undefined && call.body !== undefined) {
        if (party === undefined) throw new TypeError(`${route.api}.${route.name} needs the peer's party id`);
        payload = await signMessage({
          id: requestId,
          type: route.message,
          payload: call.body as Record<string, unknown>,
          sender: trust.self.partyId,
          audience: party,
          key: trust.self.signingKey,
          kid: trust.self.kid,
          clock: trust.clock,
        });
        contentType = 'application/jose';
        requestHash = messageHash(payload);
      } else if (call.body !== undefined) {
        payload = JSON.stringify(call.body);
        contentType = 'application/json';
      }

      // The signed request is kept as it leaves, before anything can answer it: a requester finds its
      // own inquiry by hash even when the core's answer overtakes the 202. Its processing number, when
      // only the answer (or the refusal) names it, is assigned then.
      const ownNumber = (call.body as { processingNumber?: unknown } | undefined)?.processingNumber;
      if (options.archive && route.message !== undefined && payload !== null && party !== undefined) {
        options.archive.keep([
          {
            ...batchOf(call.body),
            processingNumber: typeof ownNumber === 'string' ? ownNumber : null,
            direction: 'sent',
            type: route.message,
            sender: trust.self.partyId,
            audience: party,
            id: requestId,
            hash: requestHash ?? '',
            inResponseTo: null,
            at: sentAt,
            jws: payload,
            certificate: trust.tls.cert,
          },
        ]);
        // A request that opens an exchange (no processing number yet: an inquiry) is looked up by
        // hash when its answer comes, maybe after a restart (the provider signs that hash with the
        // items): it is written before it leaves. Kept only in the 50 ms buffer, a requester killed
        // just after sending resent it and found the items answering a hash it no longer knew, and
        // recorded the inquiry failed while the core recorded it provided (a chaos run found this).
        if (typeof ownNumber !== 'string') await options.archive.flush();
      }
      /** Keep the verified answer, and name the request's exchange if only the answer names it. */
      const keep = (answerNames: unknown, answer?: ArchivedMessage) => {
        if (!options.archive || requestHash === undefined) return;
        const named = typeof ownNumber === 'string' ? ownNumber : answerNames;
        const processingNumber = typeof named === 'string' ? named : null;
        if (typeof ownNumber !== 'string' && processingNumber !== null) {
          options.archive.assign(requestHash, processingNumber);
        }
        if (answer) options.archive.keep([{ ...answer, processingNumber }]);
      };

      let status: number;
      let text: string;
      try {
        ({ status, text } = await boundedRequest({
          url,
          method: route.method,
          dispatcher: agentFor(url.origin, party),
          headers: contentType === undefined ? {} : { 'content-type': contentType },
          body: payload,
          peer,
          timeoutMs: call.timeoutMs ?? defaultTimeoutMs,
          maxAnswerBytes: call.maxAnswerBytes ?? defaultMaxAnswerBytes,
        }));
      } catch (error) {
        keep(undefined);
        throw error;
      }
      if (status >= 200 && status < 300 && route.answer !== undefined && requestHash !== undefined && party) {
        try {
          const verified = await verifyMessage(text, {
            expectedType: route.answer,
            audience: trust.self.partyId,
            expectedSender: party,
            resolveKey: async (kid, sender) => {
              const der = servers.get(`${sender}|${kid}`);
              if (!der) return undefined;
              const server = await trust.verifyPeer(der, 'signing');
              return trust.signingKeyOf(der, server);
            },
            replay: trust.replay,
            clock: trust.clock,
          });
          assertAnswers(verified, requestHash);
          const der = servers.get(`${verified.sender}|${verified.kid}`);
          keep(verified.msg.processingNumber, {
            ...batchOf(verified.msg, call.body),
            processingNumber: null,
            direction: 'received',
            type: route.answer,
            sender: verified.sender,
            audience: verified.audience,
            id: verified.id,
            hash: verified.hash,
            inResponseTo: verified.inResponseTo ?? null,
            at: trust.clock.now().toISOString(),
            jws: text,
            certificate: der ? derToPem(der) : '',
          });
          return { status, body: verified.msg };
        } catch (error) {
          keep(undefined);
          if (error instanceof RenkeiError) {
            throw new RenkeiError(
              error.code,
              `${peer} answered with a message that does not verify: ${error.message}`,
              {
                ...error.details,
                peer,
              },
            );
          }
          throw error;
        }
      }
      const body = answerBody(call, text, status);
      // A refusal names the exchange in its details (a refused inquiry's processing number).
      keep(
        (body as { error?: { details?: { processingNumber?: unknown } } } | undefined)?.error?.details
          ?.processingNumber,
      );
      return { status, body };
    },
    close: () => (closing ??= Promise.all([...agents.values()].map((a) => a.close())).then(() => undefined)),
  };
}
