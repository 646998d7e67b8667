/**
 * Staff passwords, hashed with node:crypto's scrypt: log2 N = 15 (N = 32,768), r = 8, p = 1, a 16-byte
 * random salt and a 32-byte key, i.e. 32 MiB and 0.1-0.25 s of CPU per hash on the shared 2-core machine (process.cpuUsage)
 * (RFC 7914 §2's interactive-login figures, and OWASP's minimum for scrypt at N = 2^15 is 2^17 with
 * r = 8: we chose 2^15 so that a login stays near 0.1 s of CPU; the parameters are
 * stored in each hash, so raising them later re-hashes nothing that exists and new hashes get the new
 * figure). Comparison is timing-safe. We considered argon2id (the better function) but it needs a
 * native package; node:crypto's scrypt needs nothing.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParameters {
  log2N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParameters = { log2N: 15, r: 8, p: 1 };
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, params: ScryptParameters): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** params.log2N,
    r: params.r,
    p: params.p,
    // 128·N·r bytes, with room: the default (32 MiB) is exactly what N = 2^15, r = 8 needs, and refused.
    maxmem: 256 * 2 ** params.log2N * params.r,
  };
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, KEY_LENGTH, options, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** `scrypt$15$8$1$<salt>$<hash>`: the parameters travel with the hash. */
export async function hashPassword(password: string, params = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, params);
  return [
    'scrypt',
    params.log2N,
    params.r,
    params.p,
    salt.toString('base64url'),
    key.toString('base64url'),
  ].join('$');
}

const HASH = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{40,64})$/;

/** Whether the password is the one hashed; false for a hash this code cannot read. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = HASH.exec(stored);
  if (!match) return false;
  const [, log2N, r, p, salt, hash] = match;
  const params = { log2N: Number(log2N), r: Number(r), p: Number(p) };
  if (params.log2N < 10 || params.log2N > 20 || params.r < 1 || params.p < 1 || params.p > 4) return false;
  const expected = Buffer.from(hash ?? '', 'base64url');
  const key = await scrypt(password, Buffer.from(salt ?? '', 'base64url'), params);
  return key.length === expected.length && timingSafeEqual(key, expected);
}
