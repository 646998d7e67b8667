/**
 * A verifier's copy of the CRL, refreshed within a bound: how a node learns that a certificate was
 * revoked without asking the core on every connection.
 *
 * The CRL is fetched through a loader (HTTP from the core's `GET /pki/v1/crl`, or the file, as the
 * caller chooses) and kept until it is `maxAgeMs` old (five minutes by default); the next check
 * after that fetches again. A revocation is therefore refused everywhere within that bound.
 *
 * It fails closed: a CRL that does not verify against the issuing CA, lacks nextUpdate or a
 * cRLNumber, or is older (by cRLNumber) than the one held is refused as if the fetch had failed; a
 * failed fetch keeps the CRL held while it is current (before its nextUpdate), and once it is not,
 * every check fails with ERR_REVOCATION_UNAVAILABLE until a fetch succeeds. Refusing a replayed
 * older CRL matters: it is validly signed, and would hide every revocation made since.
 *
 * The signature is checked over the raw bytes before the list is read (`readCrl`, which walks the
 * DER once: @peculiar/x509's object per entry took about 25 s for 100,000 entries); the same bytes
 * fetched again are not read again.
 *
 * We considered OCSP per connection instead: fresher, but one request to the core for every TLS
 * handshake of every node, and the core's outage would stop the whole network at once.
 */
import type { Clock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { CrlRefused, readCrl, type CrlContents } from './crl.ts';
import { normaliseSerial } from './profiles.ts';
import { x509 } from './x509.ts';

export const DEFAULT_REVOCATION_MAX_AGE_MS = 5 * 60_000;
/** While a held CRL is still current, a failed fetch is retried at most this often. */
const RETRY_AFTER_FAILURE_MS = 10_000;

export interface RevocationCacheOptions {
  /** Fetch the CRL (DER, or PEM bytes). Rejecting, or returning something that is not our CRL, counts as a failed fetch. */
  load: () => Promise<Uint8Array>;
  /** The issuing CA whose CRL this is: the only signer accepted. */
  issuing: x509.X509Certificate;
  clock: Clock;
  /** Refresh the CRL at most this long after it was last fetched. Default five minutes. */
  maxAgeMs?: number;
  /**
   * Where the last CRL fetched and accepted is kept across restarts (the node's own directory). A
   * node restarted while the core is down then starts on the CRL it held, checked again as a fetched
   * one and used only while current, instead of refusing to start: under a chaos run, every node
   * restarted during one of the core's restarts stayed down (ERR_REVOCATION_UNAVAILABLE).
   */
  saved?: { read: () => Uint8Array | undefined; write: (bytes: Uint8Array) => void };
}

/** What the CRL says of one serial. */
export type RevocationStatus =
  { revoked: false } | { revoked: true; revokedAt: Date; reason: x509.X509CrlReason | undefined };

interface HeldCrl {
  /** The bytes as fetched: the same bytes fetched again are the same list, already checked. */
  bytes: Uint8Array;
  number: bigint;
  nextUpdate: Date;
  fetchedAt: number;
  revoked: Map<string, { revokedAt: Date; reason: x509.X509CrlReason | undefined }>;
}

export class RevocationCache {
  readonly issuing: x509.X509Certificate;
  private readonly load: () => Promise<Uint8Array>;
  private readonly clock: Clock;
  private readonly maxAgeMs: number;
  private held: HeldCrl | undefined;
  private failedAt: number | undefined;
  private pending: Promise<void> | undefined;
  private readonly saved: RevocationCacheOptions['saved'];
  private savedRead = false;

  constructor(options: RevocationCacheOptions) {
    if (options.maxAgeMs !== undefined && !(options.maxAgeMs >= 0))
      throw new TypeError('maxAgeMs must be >= 0');
    this.load = options.load;
    this.issuing = options.issuing;
    this.clock = options.clock;
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_REVOCATION_MAX_AGE_MS;
    this.saved = options.saved;
  }

  /**
   * What the CRL, refreshed if due, says of `serial` (any hex form).
   *
   * Errors: ERR_REVOCATION_UNAVAILABLE if no current CRL can be had.
   */
  async statusOf(serial: string): Promise<RevocationStatus> {
    const held = await this.current();
    const entry = held.revoked.get(normaliseSerial(serial));
    return entry ? { revoked: true, ...entry } : { revoked: false };
  }

  /**
   * Resolves if `serial` is not revoked. Errors: ERR_CERT_REVOKED; ERR_REVOCATION_UNAVAILABLE.
   */
  async assertNotRevoked(serial: string): Promise<void> {
    const status = await this.statusOf(serial);
    if (status.revoked) {
      throw new RenkeiError('ERR_CERT_REVOKED', 'The certificate has been revoked.', {
        revokedAt: status.revokedAt.toISOString(),
        ...(status.reason === undefined ? {} : { reason: x509.X509CrlReason[status.reason] }),
      });
    }
  }

  /** Until when the CRL held is current (its nextUpdate), without fetching; undefined before the first. */
  heldUntil(): Date | undefined {
    return this.held?.nextUpdate;
  }

  /** Fetch the CRL now, whatever its age. Errors: ERR_REVOCATION_UNAVAILABLE if the fetched CRL is refused. */
  async refresh(): Promise<void> {
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async current(): Promise<HeldCrl> {
    if (!this.savedRead) this.readSaved();
    const now = this.clock.now().getTime();
    const held = this.held;
    const usable = held !== undefined && now < held.nextUpdate.getTime();
    const due = !usable || now - held.fetchedAt >= this.maxAgeMs;
    const backingOff = usable && this.failedAt !== undefined && now - this.failedAt < RETRY_AFTER_FAILURE_MS;
    if (due && !backingOff) {
      try {
        await this.refresh();
      } catch {
        this.failedAt = now;
      }
    }
    const after = this.held;
    if (after === undefined || this.clock.now().getTime() >= after.nextUpdate.getTime()) {
      throw new RenkeiError(
        'ERR_REVOCATION_UNAVAILABLE',
        'The certificate revocation list cannot be fetched and no current one is held; refusing rather than trusting unchecked.',
      );
    }
    return after;
  }

  private async fetch(): Promise<void> {
    const bytes = await this.load();
    const held = this.held;
    if (held !== undefined && Buffer.from(bytes).equals(held.bytes)) {
      // The list is signed again daily and fetched every five minutes: most fetches bring the bytes
      // already checked, and parsing a large list again costs seconds (see the README's figures).
      this.held = { ...held, fetchedAt: this.clock.now().getTime() };
      this.failedAt = undefined;
      return;
    }
    const crl = this.parse(bytes);
    this.held = crl;
    this.failedAt = undefined;
    try {
      this.saved?.write(bytes);
    } catch {
      // Not kept: the next start fetches, as without a saved copy.
    }
  }

  /** The saved CRL, if it verifies, held as if fetched long ago (so the first check fetches anew). */
  private readSaved(): void {
    this.savedRead = true;
    if (this.held) return;
    try {
      const bytes = this.saved?.read();
      if (bytes === undefined) return;
      this.held = { ...this.parse(bytes), fetchedAt: Number.NEGATIVE_INFINITY };
    } catch {
      // Unreadable or refused: as if none was saved.
    }
  }

  private parse(bytes: Uint8Array): HeldCrl {
    const refuse = (why: string) =>
      new RenkeiError(
        'ERR_REVOCATION_UNAVAILABLE',
        `The fetched certificate revocation list is refused: ${why}.`,
      );
    let crl: CrlContents;
    try {
      crl = readCrl(bytes, this.issuing);
    } catch (error) {
      throw refuse(error instanceof CrlRefused ? error.message : 'it is not a CRL');
    }
    const number = crl.crlNumber;
    if (this.held && number < this.held.number) throw refuse('it is older than the one already held');
    const revoked = crl.entries;
    return {
      bytes: new Uint8Array(bytes),
      number,
      nextUpdate: crl.nextUpdate,
      fetchedAt: this.clock.now().getTime(),
      revoked,
    };
  }
}
