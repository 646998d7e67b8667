/**
 * Login with the card (マイナンバーカードでログイン): the portal issues a challenge, the resident's
 * card signs it with its user-authentication key after the 4-digit PIN (at the card reader, never
 * here), and the portal checks the answer and knows the person by the certificate's serial.
 *
 * A challenge is 32 random bytes, bound to the portal's origin and a 5-minute expiry (all three are
 * in what the card signs: src/protocol/portal.ts), single use (a compare-and-set on its state), and
 * bound to the browser that asked for it: a cookie set with it (only its hash is stored) must come
 * back when the login finishes. The card's answer arrives as a form POST from the reader, which may
 * be another site and so carries no SameSite cookie; the portal then sends the browser to `finish`,
 * a top-level GET that does carry it. Without that second step, a page could log a resident in as
 * someone else (login CSRF) with an answer of its own card.
 *
 * Every refusal is a security event (`portal.login`, the error code, the peer's address), as the
 * trust layer records its own: never the certificate, its serial or the challenge.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { loginMessage, type LoginChallenge } from '../../../protocol/portal.ts';
import type { SecurityEventSink } from '../../../protocol/server.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { PortalStore } from '../store.ts';
import { verifyAuthenticationSignature, type JpkiTrust } from './jpki-verifier.ts';
import { sha256Hex } from '../../../shared/hash.ts';

/** What a login that passed the card's checks needs of the rest of the portal: the person. */
export interface PersonDirectory {
  personFor(
    serial: string,
    proof: { certificateDer: Uint8Array; challenge: LoginChallenge; signature: Uint8Array },
  ): Promise<string>;
}

export interface LoginDeps {
  store: PortalStore;
  clock: Clock;
  logger: Logger;
  /** The portal's own origin, as the browser sees it (`https://portal.example`); known once it listens. */
  origin: () => string;
  trust: JpkiTrust;
  persons: PersonDirectory;
  /** The node's security log; refusals are only logged without it (unit tests). */
  record?: SecurityEventSink | undefined;
  /** How long a challenge may be answered (default 5 minutes). */
  challengeTtlMs?: number;
}

export const DEFAULT_CHALLENGE_TTL_MS = 5 * 60_000;
/** How long after its expiry a verified challenge may still end in a session (the redirect's time). */
const FINISH_GRACE_MS = 60_000;

export class LoginService {
  constructor(private readonly deps: LoginDeps) {}

  get challengeTtlMs(): number {
    return this.deps.challengeTtlMs ?? DEFAULT_CHALLENGE_TTL_MS;
  }

  /** A new challenge, and the browser-binding token to set as a cookie with it. */
  async issue(): Promise<{ challenge: LoginChallenge; binding: string }> {
    const now = this.deps.clock.now();
    const challenge: LoginChallenge = {
      origin: this.deps.origin(),
      nonce: randomBytes(32).toString('base64url'),
      expiresAt: new Date(now.getTime() + this.challengeTtlMs).toISOString(),
    };
    const binding = randomBytes(32).toString('base64url');
    await this.deps.store.insertChallenge({
      nonce: challenge.nonce,
      origin: challenge.origin,
      bindingHash: sha256Hex(binding),
      issuedAt: now,
      expiresAt: new Date(challenge.expiresAt),
      state: 'issued',
      personId: undefined,
    });
    // Expired challenges are not worth a timer: each issue sweeps the old ones.
    await this.deps.store.purgeChallenges(new Date(now.getTime() - FINISH_GRACE_MS - 3600_000));
    return { challenge, binding };
  }

  /**
   * The card's answer to a challenge. On success the challenge is `verified` for the person, and the
   * browser is to be sent to `finish`. Errors (each recorded): ERR_MESSAGE_STALE (unknown or expired
   * challenge), ERR_MESSAGE_REPLAYED (answered already), the certificate and signature errors of
   * `verifyAuthenticationSignature`, and J-LIS's refusal of the code acquisition on a first login.
   */
  async answer(input: {
    nonce: string;
    certificate: Uint8Array;
    signature: Uint8Array;
    remoteAddress: string | null;
  }): Promise<void> {
    const { store, clock } = this.deps;
    try {
      const row = await store.findChallenge(input.nonce);
      if (!row) throw stale();
      if (!(await store.moveChallenge(input.nonce, 'issued', 'claimed'))) {
        throw new RenkeiError(
          'ERR_MESSAGE_REPLAYED',
          'This login challenge was answered already; start again.',
        );
      }
      try {
        const now = clock.now();
        if (now > row.expiresAt) throw stale();
        const challenge: LoginChallenge = {
          origin: row.origin,
          nonce: row.nonce,
          expiresAt: row.expiresAt.toISOString(),
        };
        const { serial } = await verifyAuthenticationSignature({
          trust: this.deps.trust,
          der: input.certificate,
          message: loginMessage(challenge),
          signature: input.signature,
          at: now,
        });
        const personId = await this.deps.persons.personFor(serial, {
          certificateDer: input.certificate,
          challenge,
          signature: input.signature,
        });
        await store.moveChallenge(input.nonce, 'claimed', 'verified', personId);
      } catch (error) {
        await store.moveChallenge(input.nonce, 'claimed', 'refused');
        throw error;
      }
    } catch (error) {
      await this.refused(error, input.remoteAddress);
      throw error;
    }
  }

  /**
   * End a verified login in the browser that began it: the binding cookie must match. Returns the
   * person. Errors (each recorded): ERR_MESSAGE_STALE, ERR_MESSAGE_REPLAYED (a session was made
   * already), ERR_IDENTITY_MISMATCH (another browser: a login CSRF attempt).
   */
  async finish(input: {
    nonce: string;
    binding: string | undefined;
    remoteAddress: string | null;
  }): Promise<string> {
    const { store, clock } = this.deps;
    try {
      const row = await store.findChallenge(input.nonce);
      if (!row || clock.now().getTime() > row.expiresAt.getTime() + FINISH_GRACE_MS) throw stale();
      const expected = Buffer.from(row.bindingHash, 'hex');
      const given = Buffer.from(sha256Hex(input.binding ?? ''), 'hex');
      if (input.binding === undefined || !timingSafeEqual(expected, given)) {
        throw new RenkeiError(
          'ERR_IDENTITY_MISMATCH',
          'This login was begun in another browser; start again from the login page.',
        );
      }
      if (row.state !== 'verified' || row.personId === undefined) {
        throw new RenkeiError('ERR_MESSAGE_REPLAYED', 'This login was finished already or never answered.');
      }
      if (!(await store.moveChallenge(input.nonce, 'verified', 'used'))) {
        throw new RenkeiError('ERR_MESSAGE_REPLAYED', 'This login was finished already.');
      }
      return row.personId;
    } catch (error) {
      await this.refused(error, input.remoteAddress);
      throw error;
    }
  }

  private async refused(error: unknown, remoteAddress: string | null): Promise<void> {
    const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
    this.deps.logger.info({ code }, 'login refused');
    try {
      await this.deps.record?.({
        at: this.deps.clock.now().toISOString(),
        route: 'portal.login',
        partyId: null,
        claimedPartyId: null,
        code,
        remoteAddress,
      });
    } catch {
      this.deps.logger.error({ code }, 'a login refusal could not be recorded');
    }
  }
}

function stale(): RenkeiError {
  return new RenkeiError('ERR_MESSAGE_STALE', 'This login challenge is unknown or expired; start again.');
}
