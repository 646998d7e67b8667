/**
 * A node's trust context: who it is (its identity certificate and keys, from the network's PKI), how
 * it decides who a peer is (the peer's certificate, checked against the network's CA and the CRL),
 * and the replay guard and clock its signed messages are checked with. The secure transport (client
 * side) and `serve` (server side) both take one; services never see it.
 *
 * A party's identity is its certificate's `urn:renkei:party:` name and its role (OU), checked by
 * `verifyPartyCertificate`: never a field of a message body.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { decryptForRecipient } from '../trust/envelope/item-encryption.ts';
import { importCertificateKey, importPrivateKeyPem } from '../trust/envelope/keys.ts';
import { MemoryReplayGuard, type ReplayGuard } from '../trust/envelope/replay-guard.ts';
import { partyPaths, pkiPaths } from '../trust/pki/files.ts';
import type { PartyRole } from '../trust/pki/profiles.ts';
import { RevocationCache } from '../trust/pki/revocation-cache.ts';
import { loadTrustBundle, type TrustBundle } from '../trust/pki/trust-bundle.ts';
import { verifyPartyCertificate, type CertificateUse } from '../trust/pki/verify.ts';
import type { Clock } from '../shared/clock.ts';
import { RenkeiError } from '../shared/errors.ts';

/** A peer as its certificate names it. */
export interface Caller {
  partyId: string;
  role: PartyRole;
  /** The certificate's serial (hex): the `kid` of the messages it signs. */
  serial: string;
}

export interface NodeTrust {
  readonly self: {
    partyId: string;
    role: PartyRole;
    /** The identity certificate's serial: the `kid` of every message this node signs. */
    kid: string;
    signingKey: CryptoKey;
    /**
     * The encryption certificate's serial and private key: answers are encrypted to it (JWE). `keyFor`
     * also knows the keys of the party's earlier encryption certificates (`retired-encryption-keys/`),
     * for answers sealed before it was issued new ones.
     */
    encryption: {
      kid: string;
      key: CryptoKey;
      certificatePem: string;
      keyFor(kid: string): CryptoKey | undefined;
    };
  };
  /** PEM for node:tls: this node's key and certificate, and the CA bundle it trusts. */
  readonly tls: { key: string; cert: string; ca: string };
  /** This node's own certificates as loaded at start, and when each expires (for monitoring). */
  readonly certificates: readonly { use: 'identity' | 'encryption'; serial: string; notAfter: Date }[];
  /** Until when the CRL it holds is current; undefined before it has one (for monitoring). */
  crlHeldUntil(): Date | undefined;
  readonly clock: Clock;
  readonly replay: ReplayGuard;
  /**
   * Who the certificate (DER) names, checked for `use`; its public key for signatures when `use` is
   * `signing`. Errors: ERR_CERT_UNTRUSTED, ERR_CERT_EXPIRED, ERR_CERT_NOT_YET_VALID,
   * ERR_CERT_WRONG_USAGE, ERR_CERT_REVOKED, ERR_REVOCATION_UNAVAILABLE.
   */
  verifyPeer(certificateDer: Uint8Array, use: CertificateUse): Promise<Caller>;
  /** The public key of a certificate already verified for `signing` (cached by serial). */
  signingKeyOf(certificateDer: Uint8Array, caller: Caller): Promise<CryptoKey>;
}

/** How long a verified peer certificate is trusted before its chain and revocation are checked again. */
export const VERIFIED_PEER_TTL_MS = 10_000;

export interface NodeTrustOptions {
  /** The network's PKI directory (`<data dir>/pki`): this node reads its own party files and the CA bundle. */
  pkiDir: string;
  partyId: string;
  clock: Clock;
  /**
   * Where the CRL comes from: the core's publication URL (`http://…/pki/v1/crl`), as every node but
   * the core fetches it, or the PKI's own file (the core, which publishes it).
   */
  crl: { url: string } | { file: string };
  /** How long a fetched CRL is trusted before it is fetched again (default 5 minutes). */
  revocationMaxAgeMs?: number;
  /** Where the last fetched CRL is kept, so a restart while the core is down can use it while current. */
  crlSaveFile?: string;
  replay?: ReplayGuard;
}

/**
 * Load a node's trust context from the PKI directory. Errors: ERR_NO_PKI / ERR_CONFIG_INVALID when
 * the node has no certificate yet (issue one with `renkei pki issue`).
 */
export async function loadNodeTrust(options: NodeTrustOptions): Promise<NodeTrust> {
  const paths = partyPaths(options.pkiDir, options.partyId);
  let bundle: TrustBundle;
  let files: { key: string; cert: string; encKey: string; encCert: string };
  try {
    bundle = await loadTrustBundle(pkiPaths(options.pkiDir).caBundle);
    files = {
      key: readFileSync(paths.identityKey, 'utf8'),
      cert: readFileSync(paths.identityCert, 'utf8'),
      encKey: readFileSync(paths.encryptionKey, 'utf8'),
      encCert: readFileSync(paths.encryptionCert, 'utf8'),
    };
  } catch (error) {
    if (error instanceof RenkeiError) throw error;
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      `${options.partyId} has no certificate in ${options.pkiDir}; issue one with renkei pki issue --party ${options.partyId}.`,
      { partyId: options.partyId },
    );
  }
  const { clock } = options;
  const crl = options.crl;
  const revocation = new RevocationCache({
    issuing: bundle.issuing,
    clock,
    ...(options.revocationMaxAgeMs === undefined ? {} : { maxAgeMs: options.revocationMaxAgeMs }),
    load:
      'url' in crl ? () => fetchCrl(crl.url) : () => Promise.resolve(new Uint8Array(readFileSync(crl.file))),
    ...(options.crlSaveFile === undefined ? {} : { saved: savedFile(options.crlSaveFile) }),
  });
  const verify = (der: Uint8Array, use: CertificateUse) =>
    verifyPartyCertificate(der, { bundle, clock, revocation, use });
  const own = await verify(new Uint8Array(pemToDer(files.cert)), 'tls-client').catch((error: unknown) => {
    // Our own certificate revoked or expired: say so at start, not at the first call.
    throw error instanceof RenkeiError
      ? new RenkeiError(
          error.code,
          `This node's own certificate cannot be used: ${error.message}`,
          error.details,
        )
      : error;
  });
  const encryption = await verifyPartyCertificate(files.encCert, {
    bundle,
    clock,
    revocation,
    use: 'encryption',
  });
  const encryptionKey = await importPrivateKeyPem(files.encKey, 'encrypt');
  const decryptionKeys = await retiredEncryptionKeys(paths.retiredEncryptionKeys);
  decryptionKeys.set(encryption.serial, encryptionKey);
  const keys = new Map<string, Promise<CryptoKey>>();
  /**
   * Verified certificates by their bytes and use, for a few seconds: a busy peer presents the same
   * certificate thousands of times a minute, and the chain and CRL check need not run each time. The
   * revocation bound is then the CRL cache's plus this.
   */
  const verified = new Map<string, { at: number; caller: Promise<Caller> }>();
  // Never longer than the CRL is trusted: a revocation is then seen within twice the bound at most.
  const peerTtlMs = Math.min(VERIFIED_PEER_TTL_MS, options.revocationMaxAgeMs ?? VERIFIED_PEER_TTL_MS);
  return {
    self: {
      partyId: own.partyId,
      role: own.role,
      kid: own.serial,
      signingKey: await importPrivateKeyPem(files.key, 'sign'),
      encryption: {
        kid: encryption.serial,
        key: encryptionKey,
        certificatePem: files.encCert,
        keyFor: (kid) => decryptionKeys.get(kid),
      },
    },
    tls: { key: files.key, cert: files.cert, ca: bundle.pem },
    certificates: [
      { use: 'identity', serial: own.serial, notAfter: own.notAfter },
      { use: 'encryption', serial: encryption.serial, notAfter: encryption.notAfter },
    ],
    crlHeldUntil: () => revocation.heldUntil(),
    clock,
    replay: options.replay ?? new MemoryReplayGuard({ clock }),
    verifyPeer(der, use) {
      const key = `${use}|${createHash('sha256').update(der).digest('base64url')}`;
      const now = clock.now().getTime();
      const hit = verified.get(key);
      if (hit && now - hit.at < peerTtlMs) return hit.caller;
      if (verified.size > 10_000) verified.clear();
      const caller = verify(der, use).then((party) => ({
        partyId: party.partyId,
        role: party.role,
        serial: party.serial,
      }));
      verified.set(key, { at: now, caller });
      caller.catch(() => verified.delete(key));
      return caller;
    },
    signingKeyOf(der, caller) {
      let key = keys.get(caller.serial);
      if (!key) {
        key = importCertificateKey(derToPem(der), 'sign');
        keys.set(caller.serial, key);
        key.catch(() => keys.delete(caller.serial));
      }
      return key;
    },
  };
}

/**
 * The keys of the party's earlier encryption certificates, by serial (`<serial>-key.pem` files, kept by
 * `renkei pki issue` when it issues the party new ones). Errors: ERR_CONFIG_INVALID naming a file
 * that is not a P-256 private key.
 */
async function retiredEncryptionKeys(dir: string): Promise<Map<string, CryptoKey>> {
  const keys = new Map<string, CryptoKey>();
  if (!existsSync(dir)) return keys;
  for (const name of readdirSync(dir)) {
    const serial = /^([0-9a-f]+)-key\.pem$/.exec(name)?.[1];
    if (serial === undefined) continue;
    try {
      keys.set(serial, await importPrivateKeyPem(readFileSync(join(dir, name), 'utf8'), 'encrypt'));
    } catch {
      throw new RenkeiError(
        'ERR_CONFIG_INVALID',
        `${join(dir, name)} is not an encryption key (a P-256 private key in PEM); restore it from the PKI, or remove it if no answer sealed to that certificate is still on its way.`,
        { file: join(dir, name) },
      );
    }
  }
  return keys;
}

/**
 * A JWE sealed to this party, decrypted with the key of the certificate it names: the current one, or
 * an earlier one the party still holds. One it holds no key for fails as a wrong key does
 * (ERR_DECRYPTION_FAILED, `other_kid`).
 */
export function decryptToSelf(trust: NodeTrust, jwe: string, processingNumber?: string): Promise<unknown> {
  return decryptForRecipient(
    jwe,
    (kid) => trust.self.encryption.keyFor(kid),
    processingNumber === undefined ? {} : { processingNumber },
  );
}

async function fetchCrl(url: string): Promise<Uint8Array> {
  // One deadline over the whole fetch: per-gap timeouts alone would let a trickling server hold it.
  const response = await request(url, {
    headersTimeout: 5_000,
    bodyTimeout: 5_000,
    signal: AbortSignal.timeout(10_000),
  });
  const body = new Uint8Array(await response.body.arrayBuffer());
  if (response.statusCode !== 200) throw new Error(`CRL fetch answered HTTP ${response.statusCode}`);
  return body;
}

export function pemToDer(pem: string): Buffer {
  const base64 = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  return Buffer.from(base64, 'base64');
}

export function derToPem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${base64.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END CERTIFICATE-----\n`;
}

/** A CRL kept in a file, replaced whole (written beside it, then renamed) so a crash never leaves half. */
function savedFile(file: string): { read: () => Uint8Array | undefined; write: (bytes: Uint8Array) => void } {
  return {
    read: () => {
      try {
        return new Uint8Array(readFileSync(file));
      } catch {
        return undefined;
      }
    },
    write: (bytes) => {
      writeFileSync(`${file}.tmp`, bytes);
      renameSync(`${file}.tmp`, file);
    },
  };
}
