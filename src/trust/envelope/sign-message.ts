/**
 * Signing a message between nodes: a compact JWS (ES256) whose payload carries the message with who
 * sent it, to whom, when, under which unique id, and (for an answer) which request it answers. The
 * format is in `format.ts` and in README.md.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import {
  KeyId,
  MESSAGE_ALGORITHM,
  MESSAGE_JWS_TYPE,
  MessageClaims,
  MessageHash,
  MessageId,
  MessageType,
  PartyId,
  type MessageHeader,
} from './format.ts';
import type { SigningKey } from './keys.ts';
import { MAX_JSON_DEPTH, nestsWithin } from './bounded-json.ts';
import { signCompactEs256 } from './es256.ts';

export interface SignMessageInput {
  /** The message type, the name of its wire schema: `InquiryRequest`, `ProvisionAnswer`… */
  type: string;
  /** The message itself, a JSON object (the `msg` claim). */
  payload: Record<string, unknown>;
  /** The sender's party id (`iss`): the identity in its certificate. */
  sender: string;
  /** The receiver's party id (`aud`). */
  audience: string;
  /** The sender's private signing key (P-256). */
  key: SigningKey;
  /** Names the sender's certificate (`kid`), e.g. its serial in hex or its SHA-256 thumbprint. */
  kid: string;
  clock: Clock;
  /** The message id (`jti`); a fresh random UUID when omitted. */
  id?: string;
  /** On an answer: `messageHash` of the request it answers. */
  inResponseTo?: string;
}

/**
 * The message as a compact JWS, ready to be the body of a request or a response.
 *
 * Throws only a TypeError, for a caller's mistake (an id, type, party or hash of the wrong shape, or
 * a key that cannot sign ES256): everything signed here passes `verifyMessage`'s shape checks.
 */
export function signMessage(input: SignMessageInput): Promise<string> {
  // A promise still, so that a caller's mistake is a rejection as before.
  return new Promise((resolve) => resolve(signNow(input)));
}

function signNow(input: SignMessageInput): string {
  const header: MessageHeader = {
    alg: MESSAGE_ALGORITHM,
    kid: valid(KeyId, input.kid, 'kid'),
    typ: MESSAGE_JWS_TYPE,
  };
  const claims: MessageClaims = {
    iss: valid(PartyId, input.sender, 'sender'),
    aud: valid(PartyId, input.audience, 'audience'),
    jti: valid(MessageId, input.id ?? randomUUID(), 'id'),
    iat: Math.floor(input.clock.now().getTime() / 1000),
    typ: valid(MessageType, input.type, 'type'),
    msg: input.payload,
    ...(input.inResponseTo === undefined
      ? {}
      : { inResponseTo: valid(MessageHash, input.inResponseTo, 'inResponseTo') }),
  };
  if (!MessageClaims.safeParse(claims).success || !nestsWithin(claims)) {
    throw new TypeError(
      `signMessage: payload must be a JSON object nesting less than ${MAX_JSON_DEPTH} deep`,
    );
  }
  // With node:crypto at once rather than jose's WebCrypto on the thread pool: see es256.ts.
  return signCompactEs256(header, Buffer.from(JSON.stringify(claims)), input.key);
}

function valid<T>(schema: { safeParse(value: unknown): { success: boolean } }, value: T, name: string): T {
  if (!schema.safeParse(value).success) throw new TypeError(`signMessage: ${name} is not valid`);
  return value;
}
