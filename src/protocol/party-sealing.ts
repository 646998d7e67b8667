/**
 * Sealing a message from one party to another through a relay that must not read it (J-LIS's notices
 * of change to an institution, an institution's notices to the Myna Portal): the sender signs the
 * content to the recipient (so that not even the relay, which can encrypt to anyone's public key, can
 * make one up), then encrypts that message with its identity certificate to the recipient's encryption
 * key (JWE, ECDH-ES + A256GCM), the message's id bound into the authenticated header.
 *
 * The recipient's encryption certificate comes from the network's PKI directory
 * (`parties/<id>/encryption-cert.pem`, public), checked like any peer's (issued by the network's CA,
 * for encryption, naming that party, not revoked).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RenkeiError } from '../shared/errors.ts';
import { encryptForRecipient } from '../trust/envelope/item-encryption.ts';
import { importCertificateKey } from '../trust/envelope/keys.ts';
import { signMessage } from '../trust/envelope/sign-message.ts';
import { verifyStoredMessage } from '../trust/envelope/verify-message.ts';
import { partyPaths } from '../trust/pki/files.ts';
import { decryptToSelf, pemToDer, type Caller, type NodeTrust } from './node-trust.ts';

export interface SealTo {
  recipientId: string;
  /** The message type the signature carries. */
  type: string;
  payload: Record<string, unknown>;
  /** Bound into the encryption's authenticated header; the opener must name the same. */
  id: string;
  /** What an error says when the PKI directory has no encryption certificate for the recipient. */
  missing: string;
  /** How an error names the recipient's kind ("the portal", "the institution"), and its details. */
  recipientKind: string;
  details: Record<string, unknown>;
}

/**
 * The content sealed to `recipientId`. Errors: ERR_CONFIG_INVALID (no encryption certificate for it
 * in the PKI directory), ERR_CERT_* (not the network's, not for encryption, expired, revoked),
 * ERR_IDENTITY_MISMATCH (the certificate names another party).
 */
export async function sealToParty(trust: NodeTrust, pkiDir: string, to: SealTo): Promise<string> {
  let pem: string;
  try {
    pem = readFileSync(partyPaths(pkiDir, to.recipientId).encryptionCert, 'utf8');
  } catch {
    throw new RenkeiError('ERR_CONFIG_INVALID', to.missing, to.details);
  }
  const recipient = await trust.verifyPeer(new Uint8Array(pemToDer(pem)), 'encryption');
  if (recipient.partyId !== to.recipientId) {
    throw new RenkeiError(
      'ERR_IDENTITY_MISMATCH',
      `The encryption certificate found for ${to.recipientKind} names another party.`,
      to.details,
    );
  }
  const jws = await signMessage({
    type: to.type,
    payload: to.payload,
    sender: trust.self.partyId,
    audience: to.recipientId,
    key: trust.self.signingKey,
    kid: trust.self.kid,
    clock: trust.clock,
  });
  const key = await importCertificateKey(pem, 'encrypt');
  return encryptForRecipient({ jws, certificate: trust.tls.cert }, key, {
    kid: recipient.serial,
    processingNumber: to.id,
  });
}

export interface OpenFrom {
  type: string;
  id: string;
  /** The largest signed message accepted inside. */
  maxJwsChars: number;
  /** Whether the signer is the one this message must come from; `wrongSender` says why not. */
  isSender: (sender: Caller) => boolean;
  wrongSender: string;
}

/**
 * The signed message inside, checked: decrypted with this party's key, signed by a certificate of the
 * network's CA that `isSender` accepts, addressed here. The caller parses and matches the content.
 * Errors: ERR_DECRYPTION_FAILED, ERR_SIGNATURE_INVALID, ERR_CERT_*, ERR_ANSWER_MISMATCH (another signer).
 */
export async function openFromParty(trust: NodeTrust, sealed: string, from: OpenFrom): Promise<unknown> {
  const plain = z
    .object({ jws: z.string().max(from.maxJwsChars), certificate: z.string().max(8192) })
    .safeParse(await decryptToSelf(trust, sealed, from.id));
  if (!plain.success) {
    throw new RenkeiError('ERR_DECRYPTION_FAILED', 'The notice is not a signed message and a certificate.');
  }
  const der = new Uint8Array(pemToDer(plain.data.certificate));
  const sender = await trust.verifyPeer(der, 'signing');
  if (!from.isSender(sender)) throw new RenkeiError('ERR_ANSWER_MISMATCH', from.wrongSender);
  const verified = await verifyStoredMessage(plain.data.jws, {
    expectedType: from.type,
    audience: trust.self.partyId,
    resolveKey: async (kid, signer) =>
      kid === sender.serial && signer === sender.partyId ? trust.signingKeyOf(der, sender) : undefined,
  });
  return verified.msg;
}
