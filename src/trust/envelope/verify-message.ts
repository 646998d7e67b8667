/**
 * Verifying a message between nodes: everything a receiver must check before it believes who sent a
 * message, that it was meant for it, that it is recent, and that it has not been seen before.
 *
 * We built it on jose's `compactVerify` rather than `jwtVerify`. `jwtVerify` would check `iat`, `aud`
 * and `iss` itself, but it reports a stale and a future `iat` as one failure with one tolerance for
 * both, cannot tell us `iss` before it needs the key (and the key depends on `iss`), and accepts claims
 * we do not use (`exp`, `nbf`, an `aud` array). The claims here are few and checked below in a fixed
 * order, each failure with its own stable code. The signature itself is checked with node:crypto
 * (`es256.ts`: jose's WebCrypto calls cost more than the signature); the strict header schema refuses
 * every algorithm but ES256 before a key is chosen.
 *
 * The checks, in order (README.md says what each one stops):
 *   1. shape: three base64url segments, a strict header `{ alg: ES256, kid, typ }`, strict claims
 *      → ERR_MESSAGE_MALFORMED
 *   2. the sender named in the claims is the one the transport authenticated → ERR_SENDER_MISMATCH
 *   3. the key: `resolveKey(kid, iss)`, which must only return a key of a certificate held by `iss`
 *      → ERR_SIGNATURE_INVALID when there is none
 *   4. the signature (ES256 only) → ERR_SIGNATURE_INVALID
 *   5. the audience is us → ERR_WRONG_AUDIENCE
 *   6. the type is the one this endpoint takes → ERR_MESSAGE_MALFORMED
 *   7. issued neither too long ago nor in the future → ERR_MESSAGE_STALE
 *   8. its id not seen before → ERR_MESSAGE_REPLAYED (or ERR_REPLAY_GUARD_FULL)
 * Claims are believed only after step 4; steps 1–3 use them only to refuse or to find the key. The
 * replay guard comes last so that only authentic, fresh messages addressed to us can fill it.
 */
import type { Clock } from '../../shared/clock.ts';
import { RenkeiError, type ErrorCode } from '../../shared/errors.ts';
import { parseBoundedJson } from './bounded-json.ts';
import { verifyCompactEs256 } from './es256.ts';
import { COMPACT_JWS, MESSAGE_ALGORITHM, MessageClaims, MessageHeader } from './format.ts';
import type { VerificationKey } from './keys.ts';
import { messageHash } from './message-hash.ts';
import type { ReplayGuard } from './replay-guard.ts';

/**
 * The public key of the certificate `kid`, provided that certificate belongs to party `sender` and is
 * valid now; undefined otherwise. Binding `kid` to `sender` is the resolver's duty and the heart of
 * the check: without it, any party could sign with its own key and name another as `iss`. The
 * resolver may also throw its own RenkeiError (a revoked certificate, say), which is passed on.
 */
export type ResolveKey = (kid: string, sender: string) => Promise<VerificationKey | undefined>;

export interface VerifyMessageOptions {
  /** The message type this endpoint takes, e.g. `InquiryRequest`. */
  expectedType: string;
  /** Our own party id: the message must be addressed to it. */
  audience: string;
  resolveKey: ResolveKey;
  /**
   * The party the transport authenticated (from the TLS client certificate). Give it whenever the
   * message arrives over a connection; omit it only when checking a stored message afterwards.
   */
  expectedSender?: string;
  /** How old a message may be, by its `iat`; 300 by default. */
  maxAgeSeconds?: number;
  /** How far ahead of our clock a sender's may be; 30 by default. */
  maxFutureSkewSeconds?: number;
  replay: ReplayGuard;
  clock: Clock;
}

/** A message whose signature, sender, audience, type, age and uniqueness have been checked. */
export interface VerifiedMessage {
  sender: string;
  audience: string;
  /** The message id (`jti`). */
  id: string;
  issuedAt: Date;
  type: string;
  /** The message itself: parse it with its wire schema before use. */
  msg: Record<string, unknown>;
  /** On an answer: the hash of the request it answers (check it with `assertAnswers`). */
  inResponseTo?: string;
  /** `messageHash` of this JWS: what an answer to it must carry as `inResponseTo`. */
  hash: string;
  /** The certificate that signed it, for the record. */
  kid: string;
}

export const DEFAULT_MAX_AGE_SECONDS = 300;
export const DEFAULT_MAX_FUTURE_SKEW_SECONDS = 30;

/**
 * Verifies a compact JWS from another node and returns its claims; fails closed on anything else.
 *
 * @throws RenkeiError ERR_MESSAGE_MALFORMED (400): not a compact JWS, a header other than
 *   `{ alg: ES256, kid, typ }` (so `none`, `HS256`, an embedded `jwk`…), missing or unknown claims,
 *   JSON nested too deep, or another message type than `expectedType`.
 * @throws RenkeiError ERR_SENDER_MISMATCH (403): `iss` is not `expectedSender`.
 * @throws RenkeiError ERR_SIGNATURE_INVALID (401): no key for `kid` held by `iss`, or a bad signature.
 * @throws RenkeiError ERR_WRONG_AUDIENCE (403): addressed to another party.
 * @throws RenkeiError ERR_MESSAGE_STALE (401): `iat` older than `maxAgeSeconds`, or later than our
 *   clock by more than `maxFutureSkewSeconds`.
 * @throws RenkeiError ERR_MESSAGE_REPLAYED (409): this sender's message id was accepted before.
 * @throws RenkeiError ERR_REPLAY_GUARD_FULL (503): from a bounded replay guard that is full.
 * @throws whatever `resolveKey` throws.
 */
export async function verifyMessage(jws: string, options: VerifyMessageOptions): Promise<VerifiedMessage> {
  const maxAge = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  const maxSkew = options.maxFutureSkewSeconds ?? DEFAULT_MAX_FUTURE_SKEW_SECONDS;
  if (!(maxAge > 0) || !(maxSkew >= 0)) {
    throw new TypeError('maxAgeSeconds must be > 0, maxFutureSkewSeconds >= 0');
  }
  // Both are optional for a stored message only; here leaving one out must not skip its check.
  if (typeof options.audience !== 'string' || typeof options.expectedType !== 'string') {
    throw new TypeError('verifyMessage needs the audience and the expected type');
  }
  // 1–6.
  const message = await authenticate(jws, options);

  // 7. Fresh.
  const now = options.clock.now().getTime() / 1000;
  const iat = message.issuedAt.getTime() / 1000;
  if (iat > now + maxSkew) throw stale('issued_in_future');
  if (now - iat > maxAge) throw stale('too_old');

  // 8. Not seen before. Keyed by sender, so no party can block another's ids; remembered for one
  //    second beyond the last instant the message is fresh, since `iat` is in whole seconds.
  const expiresAt = new Date((iat + maxAge + 1) * 1000);
  if (!(await options.replay.checkAndRemember(`${message.sender} ${message.id}`, expiresAt))) {
    throw refused('ERR_MESSAGE_REPLAYED', 'The message was received before.', { reason: 'replayed' });
  }
  return message;
}

export interface VerifyStoredMessageOptions {
  resolveKey: ResolveKey;
  /** When given, the message must be of this type. */
  expectedType?: string;
  /** When given, the message must be addressed to this party. */
  audience?: string;
}

/**
 * Checks a message kept with a record, long after it arrived (`renkei records show`): its shape, its
 * signer's key and its signature, and optionally its type and audience; not its age, nor replay, which
 * were checked when it was received and would refuse every stored message now. `resolveKey` should
 * then answer for the certificate as it was when the message was signed (`issuedAt`), expired or
 * since revoked for a later reason included: the question is who signed it, not whether to act on it.
 *
 * @throws RenkeiError ERR_MESSAGE_MALFORMED, ERR_SIGNATURE_INVALID, ERR_WRONG_AUDIENCE, as
 *   `verifyMessage`; whatever `resolveKey` throws.
 */
export function verifyStoredMessage(
  jws: string,
  options: VerifyStoredMessageOptions,
): Promise<VerifiedMessage> {
  return authenticate(jws, options);
}

/** Steps 1–6, shared by both: who signed this, for whom, as what; the optional checks when asked. */
async function authenticate(
  jws: string,
  options: { resolveKey: ResolveKey; expectedSender?: string; audience?: string; expectedType?: string },
): Promise<VerifiedMessage> {
  // 1. Shape. The header and the claims are read before the signature is checked, to choose the key;
  //    they are believed only once it has been.
  if (typeof jws !== 'string' || !COMPACT_JWS.test(jws)) throw malformed('not_compact');
  const [headerPart = '', claimsPart = ''] = jws.split('.');
  const header = MessageHeader.safeParse(parseBoundedJson(Buffer.from(headerPart, 'base64url').toString()));
  if (!header.success) throw malformed('header');
  const claimsBytes = Buffer.from(claimsPart, 'base64url');
  const parsed = MessageClaims.safeParse(parseBoundedJson(claimsBytes.toString()));
  if (!parsed.success) throw malformed('claims');
  const claims = parsed.data;

  // 2. The sender the transport authenticated.
  if (options.expectedSender !== undefined && claims.iss !== options.expectedSender) {
    throw refused('ERR_SENDER_MISMATCH', 'The message names another sender than the one connected.', {
      claimedSender: claims.iss,
      connectedSender: options.expectedSender,
    });
  }

  // 3. The key of the certificate `kid`, held by `iss`.
  const key = await options.resolveKey(header.data.kid, claims.iss);
  if (key === undefined) throw badSignature('unknown_key');

  // 4. The signature, over the header and the claims just read: so the `iss` the key was chosen for
  //    is the signed one. A key of the wrong type from resolveKey throws a TypeError (a programming
  //    mistake, not the sender's).
  if (header.data.alg !== MESSAGE_ALGORITHM || !verifyCompactEs256(jws, key)) {
    throw badSignature('bad_signature');
  }

  // 5. Meant for us.
  if (options.audience !== undefined && claims.aud !== options.audience) {
    throw refused('ERR_WRONG_AUDIENCE', 'The message is addressed to another party.', { reason: 'audience' });
  }

  // 6. The message this endpoint takes (a signed CodeDelivery is not an AnswerDelivery).
  if (options.expectedType !== undefined && claims.typ !== options.expectedType)
    throw malformed('unexpected_type');

  return {
    sender: claims.iss,
    audience: claims.aud,
    id: claims.jti,
    issuedAt: new Date(claims.iat * 1000),
    type: claims.typ,
    msg: claims.msg,
    ...(claims.inResponseTo === undefined ? {} : { inResponseTo: claims.inResponseTo }),
    hash: messageHash(jws),
    kid: header.data.kid,
  };
}

function refused(code: ErrorCode, message: string, details: Record<string, unknown>): RenkeiError {
  return new RenkeiError(code, message, details);
}

function malformed(reason: string): RenkeiError {
  return refused('ERR_MESSAGE_MALFORMED', 'The message is not a well-formed signed message.', { reason });
}

function badSignature(reason: string): RenkeiError {
  return refused('ERR_SIGNATURE_INVALID', 'The message signature does not verify.', { reason });
}

function stale(reason: string): RenkeiError {
  return refused('ERR_MESSAGE_STALE', 'The message is too old or dated in the future.', { reason });
}
