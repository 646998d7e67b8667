/**
 * Every failure a person or a node can see has a stable code. The code, not the message, is the
 * contract: clients branch on it, the provision records store it, and `HTTP_STATUS` maps each to one
 * status, checked complete by the compiler.
 *
 * Messages never contain an Individual Number, a person code, a key or personal data: details go in
 * typed fields, and identifiers are named ("the Individual Number"), never echoed.
 */
export const HTTP_STATUS = {
  ERR_VALIDATION: 400,
  ERR_BODY_NOT_JSON: 400,
  ERR_BODY_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_ROUTE_NOT_FOUND: 404,
  ERR_INVALID_LENGTH: 400,
  ERR_INVALID_CHARACTER: 400,
  ERR_INVALID_CHECK_DIGIT: 400,
  ERR_UNKNOWN_INSTITUTION: 422,
  ERR_UNKNOWN_CLAUSE: 422,
  ERR_UNKNOWN_PROCEDURE: 422,
  ERR_UNKNOWN_ITEM: 422,
  ERR_INQUIRY_NOT_AUTHORIZED: 403,
  ERR_MALFORMED_PERSON_CODE: 400,
  ERR_UNKNOWN_PERSON_CODE: 422,
  ERR_UNKNOWN_PROCESSING_NUMBER: 404,
  ERR_UNKNOWN_BULK_NUMBER: 404,
  /** ぴったりサービス: no application by this number for this municipality (another's is not found either). */
  ERR_UNKNOWN_APPLICATION: 404,
  ERR_UNKNOWN_BATCH: 404,
  /** A notice (or its payment request) that the party asked does not know, or is not the caller's. */
  ERR_UNKNOWN_NOTICE: 404,
  /** A payment request paid already: it is never paid twice. */
  ERR_ALREADY_PAID: 409,
  /** The requester has not yet recorded the batch's acceptance: a retry will land. */
  ERR_BATCH_NOT_READY: 503,
  // An answer fetched from the core: the provider has not answered yet (ask later), or the core no
  // longer holds it (delivered, expired, or items that were never kept).
  ERR_ANSWER_NOT_READY: 409,
  ERR_ANSWER_GONE: 410,
  /** The oversight console's per-resident view is no longer kept (expired, or another account's). */
  ERR_PERSON_VIEW_GONE: 410,
  ERR_UNKNOWN_ADDRESSEE_NUMBER: 404,
  ERR_NO_PERSON_CODE: 409,
  ERR_UNKNOWN_RESIDENT: 404,
  /** The Individual Number was replaced by a new one (番号の変更) and is refused for any new use. */
  ERR_INDIVIDUAL_NUMBER_REPLACED: 410,
  /** The change does not fit the resident's state: a move-in of a resident who never moved out, a change after death. */
  ERR_RESIDENT_STATE: 409,
  ERR_UNKNOWN_ACQUISITION_NUMBER: 404,
  ERR_DUPLICATE: 409,
  /** A version of the legal table sent to the core breaks a rule of legal/README.md (nothing stored). */
  ERR_LEGAL_TABLE_INVALID: 422,
  ERR_UNKNOWN_LEGAL_VERSION: 404,
  /** No corporation has this Corporate Number (the corporate-number service). */
  ERR_UNKNOWN_CORPORATION: 404,
  /** The change does not fit the corporation's state: a change to a closed one, reopening an open one. */
  ERR_CORPORATION_STATE: 409,
  // The Individual Number Card (src/card/, src/nodes/jlis/service/cards.ts).
  ERR_UNKNOWN_CARD: 404,
  /** The operation does not fit the card's state: delivering a suspended card, lifting a revoked one. */
  ERR_CARD_STATE: 409,
  /** A wrong PIN or signing password; `details.remainingTries` says how many are left (0: now locked). */
  ERR_WRONG_PIN: 401,
  /** The PIN or password is locked after too many wrong tries; only the municipality unlocks it. */
  ERR_PIN_LOCKED: 423,
  /**
   * The operator suspended the institution (the registry's suspension): the core refuses every
   * inquiry it sends or that is addressed to it, its code issuances and its notices to residents.
   */
  ERR_INSTITUTION_SUSPENDED: 403,
  ERR_REKEY_PENDING: 409,
  ERR_KEY_VERSION_CHANGED: 409,
  ERR_LAYOUT_VIOLATION: 422,
  ERR_PROVIDER_UNAVAILABLE: 502,
  ERR_UPSTREAM_UNAVAILABLE: 502,
  // A peer answered more than the call allows (src/protocol/bounded-request.ts): the call was cut.
  ERR_ANSWER_TOO_LARGE: 502,
  ERR_IMPORT_INVALID: 400,
  // A business system's file that does not decode cleanly in its declared or detected encoding
  // (src/nodes/institution/import/decode.ts); refused before anything is sent.
  ERR_ENCODING: 400,
  ERR_MESSAGE_MALFORMED: 400,
  ERR_SIGNATURE_INVALID: 401,
  ERR_MESSAGE_STALE: 401,
  ERR_WRONG_AUDIENCE: 403,
  ERR_SENDER_MISMATCH: 403,
  ERR_MESSAGE_REPLAYED: 409,
  ERR_REPLAY_GUARD_FULL: 503,
  ERR_ANSWER_MISMATCH: 409,
  ERR_DECRYPTION_FAILED: 400,
  ERR_KEY_INVALID: 400,
  ERR_CONFIG_INVALID: 500,
  // PostgreSQL cannot be reached: at start (openDatabase), or by a request while the node runs (http.ts).
  ERR_DATABASE_UNAVAILABLE: 503,
  // A database file another process holds locked past the wait (SQLite's SQLITE_BUSY): retry once it lets go.
  ERR_DATABASE_BUSY: 503,
  // The node's disk (or PostgreSQL's) is full: it cannot record anything, so it takes no work until
  // space is freed (SQLITE_FULL, ENOSPC, SQLSTATE 53100; `/readyz` says so before it happens).
  ERR_STORAGE_FULL: 503,
  // A database that a later version migrated (an older node started on it after an upgrade): at start only.
  ERR_DATABASE_NEWER: 500,
  ERR_DATA_DIR_IN_USE: 500,
  ERR_PORT_IN_USE: 500,
  // A supervised node that did not print its ready line (`renkei start`): hung, or never done.
  ERR_NODE_NOT_READY: 500,
  // The network's PKI (src/trust/pki/). A certificate that does not prove who its holder is: 401; one
  // that proves it but is presented for a purpose it was not issued for (the encryption certificate
  // as a TLS identity): 403. Revocation that cannot be checked fails closed, as 503: retry later.
  ERR_TLS_REQUIRED: 400,
  ERR_TLS_HANDSHAKE: 400,
  ERR_CLIENT_CERT_REQUIRED: 401,
  ERR_CALLER_NOT_ALLOWED: 403,
  ERR_IDENTITY_MISMATCH: 403,
  ERR_ENCRYPTION_REQUIRED: 422,
  ERR_CERT_UNTRUSTED: 401,
  ERR_CERT_EXPIRED: 401,
  ERR_CERT_NOT_YET_VALID: 401,
  ERR_CERT_REVOKED: 401,
  ERR_CERT_WRONG_USAGE: 403,
  ERR_REVOCATION_UNAVAILABLE: 503,
  ERR_UNKNOWN_CERTIFICATE: 404,
  /** A party asked J-LIS's linking service without being registered as a relying party (署名検証者). */
  ERR_NOT_REGISTERED_RELYING_PARTY: 403,
  /** A relying party asked about a JPKI signing certificate it holds no link to (another's, or none). */
  ERR_CERTIFICATE_NOT_LINKED: 403,
  ERR_PKI_EXISTS: 409,
  ERR_NO_PKI: 500,
  // Tamper-evident records (src/trust/merkle/).
  ERR_TREE_HEAD_INVALID: 400,
  ERR_MERKLE_OUT_OF_RANGE: 400,
  ERR_MERKLE_APPEND_CONFLICT: 409,
  ERR_MERKLE_NODE_MISSING: 500,
  // Staff consoles (src/shared/web/console/): a wrong login id or password, and a login refused
  // before its password is checked because too many failed just before (slowed down, then locked).
  ERR_LOGIN_FAILED: 401,
  ERR_LOGIN_THROTTLED: 429,
  // The Myna Portal's APIs for other services (src/nodes/portal/api/): OAuth 2.0 refusals as the
  // authorization server answers them (RFC 6749 §5.2 names in the response; these in the records),
  // and the resource side's (RFC 6750 §3.1).
  ERR_OAUTH_INVALID_CLIENT: 401,
  ERR_OAUTH_INVALID_GRANT: 400,
  ERR_OAUTH_INVALID_REDIRECT_URI: 400,
  ERR_OAUTH_INVALID_SCOPE: 400,
  ERR_OAUTH_INVALID_REQUEST: 400,
  ERR_OAUTH_UNAUTHORIZED_CLIENT: 400,
  ERR_OAUTH_ACCESS_DENIED: 403,
  /** An access token missing, unknown, expired, or of a consent the resident withdrew. */
  ERR_INVALID_TOKEN: 401,
  /** A valid access token that does not carry the scope this call needs. */
  ERR_INSUFFICIENT_SCOPE: 403,
  /** Too many calls by one client (or one address, unauthenticated) to `/oidc/token` or `/api/v1/`. */
  ERR_API_THROTTLED: 429,
  ERR_INTERNAL: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof HTTP_STATUS;

export const ERROR_CODES = Object.keys(HTTP_STATUS) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(HTTP_STATUS, value);
}

/**
 * A failure the caller can act on. Domain code throws it; the HTTP layer maps `code` to a status
 * once (see `http.ts`). It deliberately does not extend any transport's error class.
 */
export class RenkeiError extends Error {
  override readonly name = 'RenkeiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** The one shape of every error response of every node. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: Record<string, unknown> };
}

/**
 * A driver's or the system's error that means the disk is full: under a SQLite file or a log
 * (SQLITE_FULL, ENOSPC), or PostgreSQL's (53100 disk_full). Answered as ERR_STORAGE_FULL.
 */
export function storageFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === '53100';
}
