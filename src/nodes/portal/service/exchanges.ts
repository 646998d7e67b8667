/**
 * The exchanges about the resident (やりとり履歴): a page of the core's records about the person the
 * session belongs to, asked with the portal's own code for them (`coreApi.listPersonRecords`, signed,
 * over the node's mutual-TLS transport), and the key the resident's browser checks the records' proofs
 * with.
 *
 * The key: the core publishes the one it signs its record log's tree heads with at
 * `GET /pki/v1/record-log-keys` on its publication listener (plain HTTP, anyone may read it). The
 * portal does not pass on whatever answers there: it checks that the key's certificate (`x5c`) is the
 * core's, issued by the network's CA and not revoked (the trust layer's `verifyPeer`, as for any
 * peer's signature), and that the JWK is that certificate's key. The browser then trusts the key as
 * much as it trusts the portal's page, no more: see the README for what a stronger setup would do.
 */
import { X509Certificate } from 'node:crypto';
import type { Client } from '../../../protocol/api.ts';
import type { Caller } from '../../../protocol/node-trust.ts';
import type { PersonRecordPage } from '../../../protocol/person-records.ts';
import type { coreApi } from '../../../protocol/routes.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { PublicJwk } from '../../../trust/merkle/web-verify.ts';
import type { PortalStore } from '../store.ts';

/** Rows in one page of the history. */
export const EXCHANGES_PAGE_SIZE = 20;
/** How long a checked key is kept before it is fetched and checked again. */
const KEY_TTL_MS = 10 * 60_000;

/** The core's record-log key as the browser gets it: the EC public key and the id heads name it by. */
export interface RecordLogJwk extends PublicJwk {
  readonly kid: string;
}

export interface ExchangeServiceDeps {
  /** The portal's institution id (the `portalId` the core binds to its certificate). */
  institutionId: string;
  store: PortalStore;
  clock: Clock;
  core: Client<typeof coreApi>;
  /** The core's publication listener (`http://127.0.0.1:7102`): its record-log key. */
  corePublicationUrl: string;
  /** The trust layer's check of a certificate (DER) for `signing`: the network's CA, validity, CRL. */
  verifyCertificate(der: Uint8Array): Promise<Caller>;
}

export class ExchangeService {
  private key: { jwk: RecordLogJwk; until: number } | undefined;

  constructor(private readonly deps: ExchangeServiceDeps) {}

  /**
   * A page of the person's exchanges, newest first, from the core. Errors: ERR_UNKNOWN_PERSON_CODE (no code
   * for the person yet), the core's refusals passed through (the same code,
   * ERR_CALLER_NOT_ALLOWED, ERR_VALIDATION for a cursor it did not make), ERR_UPSTREAM_UNAVAILABLE.
   */
  async page(personId: string, cursor?: string): Promise<PersonRecordPage> {
    const personCode = await this.deps.store.findPersonCode(personId);
    if (personCode === undefined) {
      throw new RenkeiError('ERR_UNKNOWN_PERSON_CODE', 'The portal holds no code for this person yet.');
    }
    return this.deps.core.listPersonRecords({
      body: {
        portalId: this.deps.institutionId,
        personCode,
        limit: EXCHANGES_PAGE_SIZE,
        ...(cursor === undefined ? {} : { cursor }),
      },
    });
  }

  /**
   * The core's record-log key, checked (above). Errors: ERR_UPSTREAM_UNAVAILABLE (not published, not
   * reachable, or not the core's certificate's key), and the trust layer's ERR_CERT_* codes.
   */
  async recordLogKey(): Promise<RecordLogJwk> {
    const now = this.deps.clock.now().getTime();
    if (this.key && now < this.key.until) return this.key.jwk;
    const published = await this.fetchKeySet();
    const entry = published.find((k) => Array.isArray(k.x5c) && typeof k.x5c[0] === 'string');
    const der = entry && Buffer.from(String((entry.x5c as unknown[])[0]), 'base64');
    if (!entry || !der || typeof entry.kid !== 'string') throw unusableKey();
    const caller = await this.deps.verifyCertificate(new Uint8Array(der));
    if (caller.partyId !== 'core') throw unusableKey();
    const own = new X509Certificate(der).publicKey.export({ format: 'jwk' });
    if (own.kty !== 'EC' || own.crv !== 'P-256' || own.x !== entry.x || own.y !== entry.y) {
      throw unusableKey();
    }
    // Only what the browser needs: the certificate stays here, its check is done.
    const jwk: RecordLogJwk = { kty: own.kty, crv: own.crv, x: own.x, y: own.y, kid: entry.kid };
    this.key = { jwk, until: now + KEY_TTL_MS };
    return jwk;
  }

  private async fetchKeySet(): Promise<Record<string, unknown>[]> {
    try {
      const response = await fetch(`${this.deps.corePublicationUrl}/pki/v1/record-log-keys`, {
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status === 200) {
        const body = (await response.json()) as { keys?: unknown };
        if (Array.isArray(body.keys)) {
          return body.keys.filter((k): k is Record<string, unknown> => typeof k === 'object' && k !== null);
        }
      }
    } catch {
      // reported below, without the cause's text
    }
    throw unusableKey();
  }
}

function unusableKey(): RenkeiError {
  return new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'The core’s record-log key could not be had.', {
    peer: 'the core publication',
  });
}
