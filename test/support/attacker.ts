/**
 * The attacker's tools of the trust tests: raw HTTPS with any credential (or none), on a fresh
 * connection each time, so the server checks the certificate anew.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { partyPaths } from '../../src/trust/pki/files.ts';

export interface Credential {
  key: string;
  cert: string;
}

/** A party's identity certificate and key, as issued under `pki`. */
export function credentialOf(pki: string, partyId: string): Credential {
  const files = partyPaths(pki, partyId);
  return { key: readFileSync(files.identityKey, 'utf8'), cert: readFileSync(files.identityCert, 'utf8') };
}

export interface Attempt {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  json?: unknown;
  raw?: string;
  contentType?: string;
  as?: Credential;
}

/** One request to `url`, trusting `ca`, presenting `attempt.as` if given; its status and error code. */
export async function attemptWith(
  ca: string,
  url: string,
  attempt: Attempt = {},
): Promise<{ status: number; code: unknown; text: string }> {
  const agent = new Agent({ connect: { ca, ...(attempt.as ?? {}) } });
  try {
    const body = attempt.raw ?? (attempt.json === undefined ? undefined : JSON.stringify(attempt.json));
    const contentType =
      attempt.contentType ?? (attempt.raw === undefined ? 'application/json' : 'application/jose');
    const response = await request(url, {
      method: attempt.method ?? (body === undefined ? 'GET' : 'POST'),
      dispatcher: agent,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body ?? null,
    });
    const text = await response.body.text();
    let code: unknown;
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    } catch {
      code = undefined;
    }
    return { status: response.statusCode, code, text };
  } finally {
    await agent.close();
  }
}
