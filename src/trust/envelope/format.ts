/**
 * The signed envelope's wire format: the JWS protected header, the claims, and the identifiers they
 * carry, as zod schemas with types of the same name. `sign-message.ts` builds what these accept and
 * `verify-message.ts` refuses anything else, so the format lives in this one file.
 *
 * The schemas are strict (`z.strictObject`): an unknown header parameter or claim is refused rather
 * than ignored. We considered tolerating unknown members for forward compatibility, but a header
 * parameter is where JOSE attacks live (`jwk`, `jku`, `x5u`, `crit`, `b64`), and every node of this
 * network is upgraded by one project: a new member is a new `typ`, not a silent extension.
 *
 * The identifiers are defined here rather than imported from the protocol layer so that the trust
 * layer sits below it (the protocol is being moved); `PartyId` accepts exactly what `InstitutionId`
 * accepts, which includes the core's and J-LIS's own ids.
 */
import { z } from 'zod';

/** The JWS `typ` of every message between nodes (RFC 7515 §4.1.9; explicit typing, RFC 8725 §3.11). */
export const MESSAGE_JWS_TYPE = 'renkei-message+jws';

/** The one signature algorithm accepted: ECDSA P-256 with SHA-256, the curve of the network's PKI. */
export const MESSAGE_ALGORITHM = 'ES256';

/** A compact JWS: three base64url segments, none empty (an unsigned `alg: none` JWS has an empty third). */
export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A party of the network: an institution, the core, or J-LIS (same rule as `InstitutionId`). */
export const PartyId = z.string().regex(/^[a-z0-9][a-z0-9-]{1,31}$/, 'must be a party id');
export type PartyId = z.infer<typeof PartyId>;

/** A message's unique id (`jti`): a UUID, any version, lower-case. */
export const MessageId = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'must be a lower-case UUID');
export type MessageId = z.infer<typeof MessageId>;

/** A message type, the name of its wire schema (`InquiryRequest`, `ProvisionAnswer`…). */
export const MessageType = z.string().regex(/^[A-Z][A-Za-z0-9]{1,63}$/, 'must be a message type name');
export type MessageType = z.infer<typeof MessageType>;

/** A message hash (`messageHash`): base64url of a SHA-256 digest, 43 characters. */
export const MessageHash = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a message hash');
export type MessageHash = z.infer<typeof MessageHash>;

/**
 * A key id: names the sender's (or, in a JWE, the recipient's) certificate, e.g. its serial number
 * in hex or its SHA-256 thumbprint in base64url. Restricted to characters safe in a log line and a
 * database column.
 */
export const KeyId = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be a key id');
export type KeyId = z.infer<typeof KeyId>;

/** The JWS protected header: exactly these three parameters. */
export const MessageHeader = z.strictObject({
  alg: z.literal(MESSAGE_ALGORITHM),
  kid: KeyId,
  typ: z.literal(MESSAGE_JWS_TYPE),
});
export type MessageHeader = z.infer<typeof MessageHeader>;

/**
 * The JWS payload. `msg` is checked here only to be a JSON object: its schema depends on `typ`, and
 * the caller, which knows which message it expects, parses it.
 */
export const MessageClaims = z.strictObject({
  /** The sender's party id. */
  iss: PartyId,
  /** The receiver's party id: one party, never a list. */
  aud: PartyId,
  jti: MessageId,
  /** Issued at, in whole seconds since the epoch (RFC 7519 NumericDate). */
  iat: z.number().int().nonnegative(),
  typ: MessageType,
  msg: z.record(z.string(), z.unknown()),
  /** On an answer: the hash of the request it answers. */
  inResponseTo: MessageHash.optional(),
});
export type MessageClaims = z.infer<typeof MessageClaims>;
