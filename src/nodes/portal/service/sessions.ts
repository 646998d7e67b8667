/**
 * Sessions of residents logged in to the portal: an opaque random token in a cookie, the session
 * itself a row of the portal's database keyed by the token's hash, with an idle expiry (slid by each
 * request) and an absolute one (from login, never slid), and a CSRF token for its forms. The row
 * names the person by the portal's own id only: no serial, no code, no name.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../../shared/clock.ts';
import type { PortalStore } from '../store.ts';
import { sha256Hex } from './login.ts';

export interface SessionPolicy {
  /** Ended after this long without a request (default 15 minutes). */
  idleMs: number;
  /** Ended this long after login whatever happens (default 2 hours). */
  absoluteMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 15 * 60_000, absoluteMs: 2 * 3600_000 };

export interface Session {
  personId: string;
  csrfToken: string;
  absoluteExpiresAt: Date;
}

export class SessionService {
  constructor(
    private readonly deps: { store: PortalStore; clock: Clock; policy?: SessionPolicy | undefined },
  ) {}

  get policy(): SessionPolicy {
    return this.deps.policy ?? DEFAULT_SESSION_POLICY;
  }

  /** A new session for the person: the token for the cookie (never stored) and the session. */
  async create(personId: string): Promise<{ token: string; session: Session }> {
    const now = this.deps.clock.now();
    const token = randomBytes(32).toString('base64url');
    const session: Session = {
      personId,
      csrfToken: randomBytes(32).toString('base64url'),
      absoluteExpiresAt: new Date(now.getTime() + this.policy.absoluteMs),
    };
    await this.deps.store.insertSession({
      tokenHash: sha256Hex(token),
      personId,
      csrfToken: session.csrfToken,
      createdAt: now,
      idleExpiresAt: new Date(now.getTime() + this.policy.idleMs),
      absoluteExpiresAt: session.absoluteExpiresAt,
      endedAt: undefined,
    });
    return { token, session };
  }

  /** The live session of a token, its idle expiry slid; undefined when none, ended or expired. */
  async find(token: string | undefined): Promise<Session | undefined> {
    if (token === undefined || !/^[A-Za-z0-9_-]{43}$/.test(token)) return undefined;
    const now = this.deps.clock.now();
    const hash = sha256Hex(token);
    const row = await this.deps.store.findSession(hash);
    if (!row || row.endedAt !== undefined || now >= row.idleExpiresAt || now >= row.absoluteExpiresAt) {
      return undefined;
    }
    await this.deps.store.touchSession(hash, new Date(now.getTime() + this.policy.idleMs));
    return { personId: row.personId, csrfToken: row.csrfToken, absoluteExpiresAt: row.absoluteExpiresAt };
  }

  /** Log out: the session ends now, whatever its expiries. */
  async end(token: string | undefined): Promise<void> {
    if (token === undefined) return;
    await this.deps.store.endSession(sha256Hex(token), this.deps.clock.now());
  }
}
