/**
 * The signed messages each party kept of one exchange (`<node dir>/messages.sqlite`), checked as an
 * auditor would, with nothing but the network's CA bundle: what `renkei records show` prints under each
 * party's record.
 *
 * For each message:
 * - **signature**: the certificate kept with it was issued by the network's CA, names the message's
 *   sender, is the one its `kid` names, was valid when the message was signed, and its key verifies the
 *   JWS (ES256; jose). Revocation is not asked: a certificate revoked later does not unsign what it
 *   signed before, and the question here is who signed, not whether to act on it now.
 * - **hash**: the kept hash is the hash of the kept JWS (a row edited afterwards shows here).
 * - **exchange**: a message that names a processing number names this one.
 * - **answers**: an answer's `inResponseTo` is the hash of a request the same party kept for this
 *   exchange (the answer is tied to the very message that asked).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readArchivedMessages, type ArchivedMessage } from '../shared/message-archive.ts';
import { RenkeiError } from '../shared/errors.ts';
import { importCertificateKey } from '../trust/envelope/keys.ts';
import { messageHash } from '../trust/envelope/message-hash.ts';
import { verifyStoredMessage } from '../trust/envelope/verify-message.ts';
import {
  loadTrustBundle,
  normaliseSerial,
  partyIdOf,
  pkiPaths,
  x509,
  type TrustBundle,
} from '../trust/pki/index.ts';

/** The file a node keeps its signed messages in (src/protocol/node-security.ts). */
const ARCHIVE_FILE = 'messages.sqlite';

export interface CheckedMessage {
  message: ArchivedMessage;
  /** Every check passed. */
  ok: boolean;
  /** What failed, in words; empty when `ok`. */
  problems: string[];
  /** For an answer: the type of the request it answers, when this party kept it. */
  answers: string | undefined;
}

export interface PartyMessages {
  party: string;
  messages: CheckedMessage[];
}

/** The signed messages of `processingNumber` at every party of the network in `dataDir` that kept any. */
export async function checkExchangeMessages(
  dataDir: string,
  processingNumber: string,
  parties: { party: string; dir: string }[],
): Promise<PartyMessages[]> {
  const bundleFile = pkiPaths(join(dataDir, 'pki')).caBundle;
  const bundle = existsSync(bundleFile) ? await loadTrustBundle(bundleFile) : undefined;
  const out: PartyMessages[] = [];
  for (const { party, dir } of parties) {
    const file = join(dir, ARCHIVE_FILE);
    if (!existsSync(file)) continue;
    const kept = await readArchivedMessages(file, processingNumber);
    if (kept.length === 0) continue;
    const requests = new Map(kept.filter((m) => m.inResponseTo === null).map((m) => [m.hash, m.type]));
    const messages: CheckedMessage[] = [];
    for (const message of kept) {
      const problems = await check(message, processingNumber, bundle);
      let answers: string | undefined;
      if (message.inResponseTo !== null) {
        answers = requests.get(message.inResponseTo);
        if (answers === undefined) problems.push('answers a request this party did not keep');
      }
      messages.push({ message, ok: problems.length === 0, problems, answers });
    }
    out.push({ party, messages });
  }
  return out;
}

async function check(
  message: ArchivedMessage,
  processingNumber: string,
  bundle: TrustBundle | undefined,
): Promise<string[]> {
  const problems: string[] = [];
  try {
    if (messageHash(message.jws) !== message.hash) problems.push('its hash is not the hash of its JWS');
  } catch {
    problems.push('it is not a compact JWS');
    return problems;
  }
  if (!bundle) {
    problems.push('the network has no CA bundle to check its certificate against');
    return problems;
  }
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(message.certificate);
  } catch {
    problems.push('no readable certificate was kept with it');
    return problems;
  }
  const issuedByUs = await certificate
    .verify({ publicKey: bundle.issuing.publicKey, signatureOnly: true })
    .catch(() => false);
  if (!issuedByUs) problems.push('its certificate was not issued by the network’s CA');
  let named: string | undefined;
  try {
    named = partyIdOf(certificate);
  } catch {
    named = undefined;
  }
  if (named !== message.sender)
    problems.push(`its certificate names ${named ?? 'no party'}, not ${message.sender}`);
  if (!issuedByUs || named !== message.sender) return problems;

  try {
    const verified = await verifyStoredMessage(message.jws, {
      expectedType: message.type,
      audience: message.audience,
      resolveKey: async (kid, sender) =>
        sender === named && kid === normaliseSerial(certificate.serialNumber)
          ? importCertificateKey(message.certificate, 'sign')
          : undefined,
    });
    if (verified.issuedAt < certificate.notBefore || verified.issuedAt > certificate.notAfter) {
      problems.push('it was signed outside its certificate’s validity');
    }
    if (verified.sender !== message.sender || verified.id !== message.id) {
      problems.push('its kept sender or id is not the signed one');
    }
    const exchange = verified.msg.processingNumber;
    if (exchange !== undefined && exchange !== processingNumber) {
      problems.push('it names another processing number');
    }
    if ((verified.inResponseTo ?? null) !== message.inResponseTo) {
      problems.push('its kept inResponseTo is not the signed one');
    }
  } catch (error) {
    problems.push(
      `its signature does not verify (${error instanceof RenkeiError ? error.code : error instanceof Error ? error.name : 'unknown error'})`,
    );
  }
  return problems;
}
