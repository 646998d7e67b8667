/**
 * The signed and encrypted envelope of every message between nodes (issue 6, parts 4 and 5). The
 * transport imports from here; README.md describes the formats and how it is meant to be called.
 */
export { MAX_JSON_DEPTH } from './bounded-json.ts';
export {
  MESSAGE_ALGORITHM,
  MESSAGE_JWS_TYPE,
  KeyId,
  MessageClaims,
  MessageHash,
  MessageHeader,
  MessageId,
  MessageType,
  PartyId,
} from './format.ts';
export {
  ITEMS_CONTENT_ENCRYPTION,
  ITEMS_KEY_ALGORITHM,
  decryptForRecipient,
  encryptForRecipient,
  type DecryptOptions,
  type EncryptOptions,
} from './item-encryption.ts';
export {
  importCertificateKey,
  importPrivateKeyPem,
  importPublicKeyPem,
  type DecryptionKey,
  type EncryptionKey,
  type KeyUse,
  type SigningKey,
  type VerificationKey,
} from './keys.ts';
export { assertAnswers, messageHash } from './message-hash.ts';
export { MemoryReplayGuard, type MemoryReplayGuardOptions, type ReplayGuard } from './replay-guard.ts';
export { signMessage, type SignMessageInput } from './sign-message.ts';
export {
  DEFAULT_MAX_AGE_SECONDS,
  DEFAULT_MAX_FUTURE_SKEW_SECONDS,
  verifyMessage,
  verifyStoredMessage,
  type ResolveKey,
  type VerifiedMessage,
  type VerifyMessageOptions,
  type VerifyStoredMessageOptions,
} from './verify-message.ts';
