/**
 * Sessions of residents logged in to the portal: the shared browser sessions
 * (`shared/web/sessions.ts`, which the staff consoles use too) over the portal's `sessions` table,
 * whose subject is the portal's own person id: no serial, no code, no name.
 */
import type { Clock } from '../../../shared/clock.ts';
import {
  DEFAULT_SESSION_POLICY,
  SessionService as BrowserSessions,
  type SessionPolicy,
} from '../../../shared/web/sessions.ts';
import type { PortalStore } from '../store.ts';

export { DEFAULT_SESSION_POLICY, type SessionPolicy };

export interface Session {
  personId: string;
  csrfToken: string;
  absoluteExpiresAt: Date;
}

export class SessionService {
  private readonly sessions: BrowserSessions;

  constructor(deps: { store: PortalStore; clock: Clock; policy?: SessionPolicy | undefined }) {
    this.sessions = new BrowserSessions({ clock: deps.clock, policy: deps.policy, store: deps.store });
  }

  get policy(): SessionPolicy {
    return this.sessions.policy;
  }

  /** A new session for the person: the token for the cookie (never stored) and the session. */
  async create(personId: string): Promise<{ token: string; session: Session }> {
    const { token, session } = await this.sessions.create(personId);
    return { token, session: personOf(session) };
  }

  /** The live session of a token, its idle expiry slid; undefined when none, ended or expired. */
  async find(token: string | undefined): Promise<Session | undefined> {
    const session = await this.sessions.find(token);
    return session && personOf(session);
  }

  /** Log out: the session ends now, whatever its expiries. */
  end(token: string | undefined): Promise<void> {
    return this.sessions.end(token);
  }
}

function personOf(session: { subjectId: string; csrfToken: string; absoluteExpiresAt: Date }): Session {
  return {
    personId: session.subjectId,
    csrfToken: session.csrfToken,
    absoluteExpiresAt: session.absoluteExpiresAt,
  };
}
