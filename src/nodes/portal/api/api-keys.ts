/**
 * The authorization server's keys (ID-token signing key, cookie keys, pairwise secret), made at the
 * portal's first start and kept in `<portal dir>/api-keys.json` (mode 0600), so that a restart keeps
 * the subjects clients know their users by, and the ID tokens they hold stay verifiable.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { exportJWK, generateKeyPair } from 'jose';
import { z } from 'zod';
import { RenkeiError } from '../../../shared/errors.ts';
import type { ApiKeys } from './authorization-server.ts';

const StoredKeys = z.object({
  signingKey: z.record(z.string(), z.unknown()),
  cookieKeys: z.array(z.string().min(32)).min(1),
  pairwiseSecret: z.string().min(43),
});

export async function loadOrCreateApiKeys(file: string): Promise<ApiKeys> {
  if (existsSync(file)) {
    const parsed = StoredKeys.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) {
      throw new RenkeiError('ERR_CONFIG_INVALID', 'The portal’s API keys file is not usable.', { file });
    }
    return parsed.data;
  }
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  const keys: ApiKeys = {
    signingKey: { ...jwk, alg: 'RS256', use: 'sig', kid: randomBytes(8).toString('base64url') },
    cookieKeys: [randomBytes(32).toString('base64url')],
    pairwiseSecret: randomBytes(32).toString('base64url'),
  };
  writeFileSync(file, JSON.stringify(keys), { mode: 0o600, flag: 'wx' });
  return keys;
}
