/**
 * The core's secret keys: versioned master keys (from which each institution's code key is derived)
 * and two HMAC keys (resident record code → lookup key; linking code → person key of the records).
 *
 * The keys never reach a log line or an error: the object serializes and inspects as a placeholder.
 * On disk (`master-keys.json`, mode 0600, under the git-ignored data directory) they are base64url.
 * A production deployment would keep the master keys in an HSM; this interface is the seam for that.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import { z } from 'zod';
import { MAX_KEY_VERSION } from '../../protocol/identifiers.ts';
import { RenkeiError } from '../../shared/errors.ts';

export interface CoreKeys {
  /** HMAC-SHA256 key turning a resident record code into the linking-code table's lookup key. */
  readonly residentKey: Uint8Array;
  /** HMAC-SHA256 key turning a linking code into a provision record's person key. */
  readonly recordsKey: Uint8Array;
  /** The 32-byte master key of a version (1–255), if it exists. */
  masterKey(version: number): Uint8Array | undefined;
  /** The master key of a version, created (and persisted, where the keys live in a file) if absent. */
  ensureMasterKey(version: number): Uint8Array;
}

const KeyFile = z.object({
  format: z.literal(1),
  residentKey: z.base64url(),
  recordsKey: z.base64url(),
  masterKeys: z.record(z.string().regex(/^[0-9]{1,3}$/), z.base64url()),
});
type KeyFile = z.infer<typeof KeyFile>;

class KeyRing implements CoreKeys {
  constructor(
    readonly residentKey: Uint8Array,
    readonly recordsKey: Uint8Array,
    private readonly masters: Map<number, Uint8Array>,
    private readonly persist: (ring: KeyRing) => void,
  ) {}

  masterKey(version: number): Uint8Array | undefined {
    return this.masters.get(version);
  }

  ensureMasterKey(version: number): Uint8Array {
    if (!Number.isInteger(version) || version < 1 || version > MAX_KEY_VERSION) {
      throw new TypeError(`key version must be an integer from 1 to ${MAX_KEY_VERSION}`);
    }
    const existing = this.masters.get(version);
    if (existing) return existing;
    const key = new Uint8Array(randomBytes(32));
    this.masters.set(version, key);
    try {
      this.persist(this);
    } catch (error) {
      this.masters.delete(version);
      throw error;
    }
    return key;
  }

  toFile(): KeyFile {
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
    return {
      format: 1,
      residentKey: b64(this.residentKey),
      recordsKey: b64(this.recordsKey),
      masterKeys: Object.fromEntries([...this.masters].map(([version, key]) => [String(version), b64(key)])),
    };
  }

  toJSON(): string {
    return '[core keys]';
  }

  [inspect.custom](): string {
    return '[core keys]';
  }
}

/** Fresh random keys held in memory only (tests, throwaway networks). */
export function generateCoreKeys(): CoreKeys {
  return new KeyRing(
    new Uint8Array(randomBytes(32)),
    new Uint8Array(randomBytes(32)),
    new Map([[1, new Uint8Array(randomBytes(32))]]),
    () => {},
  );
}

/** Whether a key file exists (a missing one for an existing database is an error, not a fresh start). */
export function coreKeyFileExists(file: string): boolean {
  return existsSync(file);
}

/**
 * Keys kept in a JSON file: read if it exists, else created with mode 0600. New master key versions
 * (from key rotation) are written back atomically (temporary file, then rename) before they are used.
 *
 * Errors: ERR_CONFIG_INVALID when the file exists but is not a key file (the message names the file,
 * never its content).
 */
export function fileCoreKeys(file: string): CoreKeys {
  const persist = (ring: KeyRing) => writeKeyFile(file, ring.toFile());
  if (!existsSync(file)) {
    const ring = new KeyRing(
      new Uint8Array(randomBytes(32)),
      new Uint8Array(randomBytes(32)),
      new Map([[1, new Uint8Array(randomBytes(32))]]),
      persist,
    );
    persist(ring);
    return ring;
  }
  let parsed: KeyFile;
  try {
    parsed = KeyFile.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    throw new RenkeiError('ERR_CONFIG_INVALID', `The core's key file ${file} is not a valid key file.`);
  }
  const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64url'));
  const masters = new Map<number, Uint8Array>();
  for (const [version, key] of Object.entries(parsed.masterKeys)) masters.set(Number(version), bytes(key));
  return new KeyRing(bytes(parsed.residentKey), bytes(parsed.recordsKey), masters, persist);
}

function writeKeyFile(file: string, content: KeyFile): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600); // in case the file pre-existed with a wider mode
  renameSync(temporary, file);
}
