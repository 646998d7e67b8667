/**
 * Browser sessions, for any node's web pages (the Myna Portal's residents, the consoles' staff): an
 * opaque random token in a cookie, the session itself a row of the node's own database keyed by the
 * token's hash (a stolen database holds no usable session), with an idle expiry (slid by each
 * request) and an absolute one (from login, never slid), and a CSRF token for its forms. The row
 * names whoever logged in by the node's own id for them (`subjectId`): the portal's random person
 * id, a console account's id. Nothing else about them.
 *
 * Each node keeps the rows in its own table through the small `SessionStore` port below; the portal's
 * is its `sessions` table, a console's `console_sessions`, both kept by one store over Kysely
 * (kysely-session-store.ts) told the table's name and its subject column's.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { sha256Hex } from '../hash.ts';

export interface SessionPolicy {
  /** Ended after this long without a request (default 15 minutes). */
  idleMs: number;
  /** Ended this long after login whatever happens (default 2 hours). */
  absoluteMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 15 * 60_000, absoluteMs: 2 * 3600_000 };

export interface SessionRow {
  /** SHA-256 (hex) of the cookie's token. */
  tokenHash: string;
  subjectId: string;
  csrfToken: string;
  createdAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  endedAt: Date | undefined;
}

export interface SessionStore {
  insertSession(row: SessionRow): Promise<void>;
  findSession(tokenHash: string): Promise<SessionRow | undefined>;
  /** Slide the idle expiry of a live session. */
  touchSession(tokenHash: string, idleExpiresAt: Date): Promise<void>;
  endSession(tokenHash: string, at: Date): Promise<void>;
}

export interface Session {
  subjectId: string;
  csrfToken: string;
  absoluteExpiresAt: Date;
}

export class SessionService {
  constructor(
    private readonly deps: { store: SessionStore; clock: Clock; policy?: SessionPolicy | undefined },
  ) {}

  get policy(): SessionPolicy {
    return this.deps.policy ?? DEFAULT_SESSION_POLICY;
  }

  /** A new session for the subject: the token for the cookie (never stored) and the session. */
  async create(subjectId: string): Promise<{ token: string; session: Session }> {
    const now = this.deps.clock.now();
    const token = randomBytes(32).toString('base64url');
    const session: Session = {
      subjectId,
      csrfToken: randomBytes(32).toString('base64url'),
      absoluteExpiresAt: new Date(now.getTime() + this.policy.absoluteMs),
    };
    await this.deps.store.insertSession({
      tokenHash: sha256Hex(token),
      subjectId,
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
    return { subjectId: row.subjectId, csrfToken: row.csrfToken, absoluteExpiresAt: row.absoluteExpiresAt };
  }

  /** Log out: the session ends now, whatever its expiries. */
  async end(token: string | undefined): Promise<void> {
    if (token === undefined) return;
    await this.deps.store.endSession(sha256Hex(token), this.deps.clock.now());
  }
}
