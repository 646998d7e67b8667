/**
 * The Myna Portal's storage port: what its services need of a database, whatever the database
 * (`kysely-store.ts` adapts SQLite and PostgreSQL to it).
 *
 * Privacy in the types: nothing here has a field for an Individual Number, a name or any of the basic
 * four information. The portal knows a person by its own random id, which holds the portal's
 * institution-specific code (機関別符号) and the serials of the user-authentication certificates
 * (利用者証明用電子証明書) the person logged in with.
 */
import type { SessionStore } from '../../shared/web/sessions.ts';

/** A login challenge's life: issued, answered by a card (verified), ended in a session (used). */
export type ChallengeState = 'issued' | 'claimed' | 'verified' | 'used' | 'refused';

export interface ChallengeRow {
  nonce: string;
  origin: string;
  /** SHA-256 (hex) of the browser-binding cookie set with the challenge. */
  bindingHash: string;
  issuedAt: Date;
  expiresAt: Date;
  state: ChallengeState;
  /** Once verified: the person who answered. */
  personId: string | undefined;
}

/**
 * A notice an institution sent to a person (migration 0002-notices): its id, the sender's
 * institution id and name (as the core's registry names it), title and text, when it was sent and
 * received, and when the person first opened it.
 */
export interface NoticeRow {
  noticeId: string;
  personId: string;
  senderId: string;
  senderName: string;
  title: string;
  body: string;
  sentAt: Date;
  receivedAt: Date;
  readAt: Date | undefined;
  /** Its entry in the portal's record log (set as it is stored; absent before migration 0007). */
  logIndex?: number | undefined;
}

/**
 * The browser sessions (`SessionStore`) are the portal's residents', their subject the portal's own
 * person id: its `sessions` table, kept by the sessions' one store (shared/web/kysely-session-store.ts).
 */
export interface PortalStore extends SessionStore {
  insertChallenge(row: ChallengeRow): Promise<void>;
  findChallenge(nonce: string): Promise<ChallengeRow | undefined>;
  /**
   * Move a challenge from one state to another, only if it is in `from` (compare-and-set): two
   * answers to one challenge cannot both be taken. Returns whether it moved.
   */
  moveChallenge(nonce: string, from: ChallengeState, to: ChallengeState, personId?: string): Promise<boolean>;
  /** Delete challenges that expired before `before` (whatever their state). */
  purgeChallenges(before: Date): Promise<number>;

  /** The person who logged in with this user-authentication certificate, if any did. */
  findPersonBySerial(serial: string): Promise<string | undefined>;
  /** Begin acquiring the portal's code for the holder of `serial` (one pending per acquisition number). */
  beginAcquisition(acquisitionNumber: string, serial: string, at: Date): Promise<void>;
  /**
   * The core delivered the code for a pending acquisition: link the certificate to the person who
   * holds the code (a renewed card's new serial reaches the same person), making that person if the
   * code is new, and end the acquisition. `unknown` when none is pending since `notBefore`.
   */
  completeAcquisition(input: {
    acquisitionNumber: string;
    personCode: string;
    newPersonId: string;
    at: Date;
    notBefore: Date;
  }): Promise<'completed' | 'unknown'>;
  endAcquisition(acquisitionNumber: string): Promise<void>;
  /** The portal's code for a person (for the services to come); undefined before it is acquired. */
  findPersonCode(personId: string): Promise<string | undefined>;
  countPersons(): Promise<number>;
  /** The person who holds this code of the portal's, if anyone logged in with it. */
  findPersonByCode(personCode: string): Promise<string | undefined>;

  /** Store a notice unless its id is stored already (answered false: a redelivery). */
  insertNotice(row: NoticeRow): Promise<boolean>;
  /** The person's notices, newest first. */
  listNotices(personId: string, limit: number): Promise<NoticeRow[]>;
  /** One of the person's notices (another person's is not found). */
  findNotice(personId: string, noticeId: string): Promise<NoticeRow | undefined>;
  /** Mark it read, once (the first time stays). */
  markNoticeRead(personId: string, noticeId: string, at: Date): Promise<void>;
  countUnreadNotices(personId: string): Promise<number>;
}
