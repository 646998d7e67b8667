import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NTA_PARTY } from '../nodes/corporate/corporate.ts';
import { createClient, type Api, type Client } from '../protocol/api.ts';
import { credentialTransport } from '../protocol/client-credentials.ts';
import { httpTransport } from '../protocol/http-transport.ts';
import { healthApi, type Health } from '../protocol/routes.ts';
import type { Transport } from '../protocol/transport.ts';
import { pkiPaths } from '../trust/pki/files.ts';
import { systemClock } from '../shared/clock.ts';
import { RenkeiError } from '../shared/errors.ts';

/**
 * The node URLs commands take (`--core-url`, `--institution-url`): read strictly, and checked with
 * the node's `GET /healthz` before a command acts, so that a typo, the wrong node or a stopped
 * network is named as such rather than surfacing as a route the node does not have.
 */
export type NodeKind = 'core' | 'institution' | 'corporate' | 'jlis' | 'portal';

const KINDS: Record<
  NodeKind,
  { flag: string; example: string; name: string; subject: string; give: string }
> = {
  core: {
    flag: '--core-url',
    example: 'http://127.0.0.1:7100',
    name: 'the core',
    subject: 'The core',
    give: "give the core's URL (npm start prints it)",
  },
  institution: {
    flag: '--institution-url',
    example: 'http://127.0.0.1:7110',
    name: 'an institution node',
    subject: 'The institution node',
    give: "give the institution's URL (npm start prints them)",
  },
  jlis: {
    flag: '--jlis-url',
    example: 'https://127.0.0.1:7101',
    name: 'J-LIS',
    subject: 'J-LIS',
    give: "give J-LIS's URL (npm start prints it)",
  },
  corporate: {
    flag: '--corporate-url',
    example: 'https://127.0.0.1:7103',
    name: 'the corporate-number service',
    subject: 'The corporate-number service',
    give: "give the corporate-number service's URL (npm start prints it)",
  },
  portal: {
    flag: '--portal-url',
    example: 'https://127.0.0.1:7182',
    name: 'the Myna Portal’s network listener',
    subject: 'The Myna Portal’s network listener',
    give: "give the portal's network URL (its networkUrl in the core's registry; 7182 in the demo)",
  },
};

/**
 * A node's base URL as given to `flag`: an absolute http:// or https:// URL with no path, query or
 * fragment, returned as its origin (`http://127.0.0.1:7110`). Anything else is ERR_VALIDATION naming
 * the flag and an example.
 */
export function nodeUrlOption(text: string, kind: NodeKind): string {
  const { flag, example } = KINDS[kind];
  let url: URL | undefined;
  try {
    url = new URL(text.trim());
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new RenkeiError(
      'ERR_VALIDATION',
      `${flag} must be a URL such as ${example} (starting with http:// or https://).`,
    );
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new RenkeiError(
      'ERR_VALIDATION',
      `${flag} must be the node's base URL, without a path, such as ${example}.`,
    );
  }
  return url.origin;
}

/**
 * A typed client for `api` at `baseUrl` once the node's `GET /healthz` says it is a node of the
 * expected kind. Refuses with ERR_VALIDATION when it is another kind of node (or not a Renkei node),
 * and with ERR_UPSTREAM_UNAVAILABLE naming the URL and the next step when nothing answers there; a
 * node that stops answering later is reported the same way.
 */
export async function connectNode<A extends Api>(
  baseUrl: string,
  kind: NodeKind,
  api: A,
  options: {
    dataDir: string;
    timeoutMs?: number;
    /**
     * At J-LIS and at the portal: the municipality whose business-system credential
     * (`<id>:business…`) is presented.
     */
    municipality?: string;
  },
): Promise<Client<A>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const { name, subject, give } = KINDS[kind];
  const pkiDir = baseUrl.startsWith('https:') ? findPkiDir(options.dataDir) : undefined;
  /** The credentials this command may present: an operator's at the core, the business system's at an institution. */
  const credentials = async (parties: string[]) =>
    pkiDir
      ? credentialTransport({
          pkiDir,
          parties,
          clock: systemClock,
          crl: { file: pkiPaths(pkiDir).crlDer },
          timeoutMs,
        })
      : httpTransport({ timeoutMs });
  // At the core, an operator's; at the corporate-number service, the NTA's business system's (its
  // lookups are public and need none; designations need it).
  // At J-LIS, the municipality's business system's (住基ネット's caller); at the portal too (its
  // 申請データダウンロード).
  const presented = (party: string) =>
    kind === 'corporate'
      ? party.startsWith('nta:')
      : kind === 'jlis' || kind === 'portal'
        ? party.startsWith(`${options.municipality ?? ''}:business`)
        : party.startsWith('operator:');
  const inner = await credentials(pkiDir ? heldParties(pkiDir, presented) : []);
  const explain = (error: unknown): unknown => {
    if (!(error instanceof RenkeiError) || error.code !== 'ERR_UPSTREAM_UNAVAILABLE') return error;
    // Only our own call's failure: a node may pass on that *it* could not reach another node.
    if (error.details.status !== undefined || !error.message.startsWith(`${name} could not be reached`)) {
      return error;
    }
    const cause = typeof error.details.cause === 'string' ? ` (${error.details.cause})` : '';
    return new RenkeiError(
      'ERR_UPSTREAM_UNAVAILABLE',
      `${subject} could not be reached at ${baseUrl}${cause}; is the network running (npm start)? ` +
        `GET ${baseUrl}/healthz should answer.`,
      error.details,
    );
  };
  const explaining = (through: Transport): Transport => ({
    send: async (request) => {
      try {
        return await through.send(request);
      } catch (error) {
        throw explain(error);
      }
    },
    close: () => through.close(),
  });
  const transport = explaining(inner);

  let health: Health;
  try {
    health = await createClient(healthApi, {
      transport,
      baseUrl,
      peer: name,
      timeoutMs: Math.min(timeoutMs, 5_000),
    }).health();
  } catch (error) {
    // Nothing answered (already explained by the transport), or a bug.
    if (!(error instanceof RenkeiError)) throw error;
    if (error.code === 'ERR_UPSTREAM_UNAVAILABLE' && error.details.status === undefined) throw error;
    // It answered, but not as a node of this network does.
    throw notRenkei(baseUrl, give, error);
  }
  const found = describeNode(health.node);
  if (found.kind !== kind) {
    throw new RenkeiError('ERR_VALIDATION', `${baseUrl} is ${found.what}, not ${name}; ${give}.`, {
      node: health.node,
    });
  }
  if (kind === 'institution' && pkiDir) {
    // The institution's own business system's credential: `<id>:business…`, as the CA issued it.
    const id = health.node.slice('institution:'.length);
    const own = heldParties(pkiDir, (p) => p.startsWith(`${id}:`));
    if (own.length === 0) {
      throw new RenkeiError(
        'ERR_CONFIG_INVALID',
        `No business-system credential of institution ${id} in ${pkiDir}; issue one with renkei pki issue --party ${id}:business --role business.`,
      );
    }
    const business = await credentials(own);
    return createClient(api, { transport: explaining(business), baseUrl, peer: name, party: id });
  }
  if (kind === 'portal' && pkiDir && heldParties(pkiDir, presented).length === 0) {
    const id = options.municipality ?? '';
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      `No business-system credential of municipality ${id} in ${pkiDir}; issue one with renkei pki issue --party ${id}:business --role business.`,
    );
  }
  // The corporate-number service's certificate is the NTA's (`nta`), the body that runs it.
  const party = kind === 'corporate' ? NTA_PARTY : health.node;
  return createClient(api, { transport, baseUrl, peer: name, party });
}

/**
 * Where the network's PKI is, from the data directory as the user gave it: `npm start` keeps its
 * network in `<data dir>/network`, `renkei demo` in `<data dir>/demo`, a node's own data directory
 * holds `pki` itself.
 */
function findPkiDir(dataDir: string): string {
  for (const candidate of [
    join(dataDir, 'pki'),
    join(dataDir, 'network', 'pki'),
    join(dataDir, 'demo', 'pki'),
  ]) {
    if (existsSync(pkiPaths(candidate).config)) return candidate;
  }
  throw new RenkeiError(
    'ERR_CONFIG_INVALID',
    `No network credentials under ${dataDir}: give --data-dir the directory the network runs from (npm start uses ./data).`,
  );
}

/** The parties that have certificates in the PKI directory, by their directory names. */
function heldParties(pkiDir: string, keep: (partyId: string) => boolean): string[] {
  const dir = pkiPaths(pkiDir).partiesDir;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((name) => decodeURIComponent(name))
    .filter(keep)
    .sort();
}

/** What a node's `GET /healthz` name (`core`, `jlis`, `institution:<id>`) says it is. */
function describeNode(node: string): { kind: NodeKind | 'other'; what: string } {
  if (node === 'core') return { kind: 'core', what: 'the core' };
  if (node === 'jlis') return { kind: 'jlis', what: 'J-LIS' };
  if (node === 'corporate') return { kind: 'corporate', what: 'the corporate-number service' };
  if (node === 'portal') return { kind: 'portal', what: 'the Myna Portal’s network listener' };
  if (node.startsWith('institution:')) {
    return { kind: 'institution', what: `the institution node ${node.slice('institution:'.length)}` };
  }
  return { kind: 'other', what: `a node named "${node}"` };
}

function notRenkei(baseUrl: string, give: string, error: RenkeiError | undefined): RenkeiError {
  const status = error?.details.status;
  const answer =
    typeof status === 'number' && (status < 200 || status >= 300)
      ? `answered GET /healthz with HTTP ${status}`
      : error?.details.path !== undefined
        ? 'answered GET /healthz without naming its node'
        : error?.code === 'ERR_UPSTREAM_UNAVAILABLE'
          ? 'answered GET /healthz with a body that is not JSON'
          : error
            ? `answered GET /healthz with ${error.code}`
            : 'answered GET /healthz without naming its node';
  return new RenkeiError('ERR_VALIDATION', `${baseUrl} ${answer}: it is not a Renkei node; ${give}.`);
}
