/**
 * The PKI as the core serves it: the CA bundle, the CRL, and the OCSP responder's key, with each
 * certificate's status read from the index. Read-only: nothing here can issue or revoke, and the
 * CA keys are never loaded.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import type { Clock } from '../../shared/clock.ts';
import { readIndex, type CertificateRecord, type RevocationReason } from './ca-index.ts';
import { assertPkiExists, pkiPaths } from './files.ts';
import { loadSigningKey } from './keys.ts';
import { normaliseSerial } from './profiles.ts';
import { loadTrustBundle, type TrustBundle } from './trust-bundle.ts';
import { x509 } from './x509.ts';

/** A certificate's status as the issuing CA knows it (RFC 6960's three answers). */
export type CertificateStatus =
  | { status: 'good'; record: CertificateRecord }
  | { status: 'revoked'; revokedAt: Date; reason: RevocationReason; record: CertificateRecord }
  | { status: 'unknown' };

export interface OcspResponder {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: CryptoKey;
}

export interface PkiView {
  readonly dir: string;
  readonly clock: Clock;
  readonly bundle: TrustBundle;
  readonly issuing: x509.X509Certificate;
  /**
   * The OCSP responder's certificate and key, re-read when `renkei pki renew-ocsp` replaces them.
   * Errors: ERR_CONFIG_INVALID if the files cannot be read.
   */
  ocspResponder(): Promise<OcspResponder>;
  /** The current CRL as DER (what `GET /pki/v1/crl` serves), re-read when `renkei pki` replaces it. */
  crl(): Uint8Array;
  /**
   * The status of the certificate with this serial (any hex form), from the index as it is on disk
   * now: the file is re-read whenever it changes, so a `renkei pki revoke` run in another process is
   * seen at the next call. An unparseable serial is `unknown`.
   */
  statusOf(serial: string): CertificateStatus;
}

/**
 * The PKI in `dir`, for the core. Errors: ERR_NO_PKI; ERR_CONFIG_INVALID (bundle or index broken).
 */
export async function loadPki(options: { dir: string; clock: Clock }): Promise<PkiView> {
  assertPkiExists(options.dir);
  const paths = pkiPaths(options.dir);
  const bundle = await loadTrustBundle(paths.caBundle);
  const responder = new FilesCache([paths.ocspKey, paths.ocspCert], async () => ({
    certificate: new x509.X509Certificate(readFileSync(paths.ocspCert, 'utf8')),
    privateKey: await loadSigningKey(paths.ocspKey),
  }));
  await responder.get(); // fail now, not at the first OCSP request, if it is broken
  const index = new FilesCache([paths.index], () => {
    const bySerial = new Map<string, CertificateRecord>();
    for (const c of readIndex(paths.index).certificates) bySerial.set(c.serial, c);
    return bySerial;
  });
  const crl = new FilesCache([paths.crlDer], () => new Uint8Array(readFileSync(paths.crlDer)));
  index.get(); // as above

  return {
    dir: options.dir,
    clock: options.clock,
    bundle,
    issuing: bundle.issuing,
    ocspResponder: () => responder.get(),
    crl: () => crl.get(),
    statusOf(serial) {
      let key: string;
      try {
        key = normaliseSerial(serial);
      } catch {
        return { status: 'unknown' };
      }
      const record = index.get().get(key);
      if (!record) return { status: 'unknown' };
      if (record.status === 'revoked') {
        return {
          status: 'revoked',
          revokedAt: new Date(record.revokedAt ?? record.issuedAt),
          reason: record.reason ?? 'unspecified',
          record,
        };
      }
      return { status: 'good', record };
    },
  };
}

/**
 * What is read from some files, read again when any of them changes. Compared by inode as well as
 * mtime and size: the PKI replaces files by rename, which gives a new inode even within one mtime
 * tick. (A change between the stat and the read is caught at the next call: the stamp is older.)
 */
class FilesCache<T> {
  private stamp: string | undefined;
  private value: T | undefined;
  constructor(
    private readonly paths: readonly string[],
    private readonly read: () => T,
  ) {}

  get(): T {
    const stamp = this.paths.map((path) => stampOf(statSync(path))).join('|');
    if (this.value === undefined || stamp !== this.stamp) {
      this.value = this.read();
      this.stamp = stamp;
    }
    return this.value;
  }
}

function stampOf(stats: Stats): string {
  return `${stats.ino}:${stats.mtimeMs}:${stats.size}`;
}
