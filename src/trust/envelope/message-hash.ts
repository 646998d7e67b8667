/**
 * Message hashes: how an answer names the request it answers, and how a record names a message.
 *
 * `messageHash(jws) = base64url(SHA-256(ASCII bytes of the compact JWS))`: the hash of the exact
 * string that crossed the wire, signature included, so it names one signed message by one sender.
 * We considered hashing only the claims (stable under re-encoding), but then a hash would not name
 * what was actually received and kept with the record, and a reader of the record could not check it
 * with `sha256sum`.
 *
 * One caveat follows from hashing bytes: an ECDSA signature can be re-encoded (s → n − s) and still
 * verify, so one signed message can travel as two strings with two hashes. That is why replays are
 * caught by the message id (`jti`), never by the hash; and why a requester compares an answer's
 * `inResponseTo` with the hash of the request *it* sent, which it computed itself.
 */
import { createHash } from 'node:crypto';
import { RenkeiError } from '../../shared/errors.ts';
import { COMPACT_JWS, MessageHash } from './format.ts';
import type { VerifiedMessage } from './verify-message.ts';

/**
 * The hash of a compact JWS, 43 base64url characters.
 *
 * Refuses anything that is not a compact JWS rather than hashing it: a non-ASCII string has no single
 * ASCII encoding, so its hash would depend on how it was converted.
 *
 * @throws RenkeiError ERR_MESSAGE_MALFORMED when `jws` is not three base64url segments.
 */
export function messageHash(jws: string): string {
  if (!COMPACT_JWS.test(jws)) {
    throw new RenkeiError('ERR_MESSAGE_MALFORMED', 'The message is not a compact JWS.', {
      reason: 'not_compact',
    });
  }
  return createHash('sha256').update(jws, 'ascii').digest('base64url');
}

/**
 * Checks that a verified answer answers the request whose hash the caller kept when it sent it.
 *
 * @throws RenkeiError ERR_ANSWER_MISMATCH when the answer names no request or another one.
 */
export function assertAnswers(answer: Pick<VerifiedMessage, 'inResponseTo'>, requestHash: string): void {
  if (!MessageHash.safeParse(requestHash).success) {
    throw new TypeError('assertAnswers needs the request hash from messageHash()');
  }
  if (answer.inResponseTo === undefined || answer.inResponseTo !== requestHash) {
    throw new RenkeiError(
      'ERR_ANSWER_MISMATCH',
      'The answer does not answer the request it was expected to.',
      {
        reason: answer.inResponseTo === undefined ? 'no_request_named' : 'other_request',
      },
    );
  }
}
