/**
 * A node's configuration file (`renkei node <core|jlis|institution|corporate|portal> --config <file>`): YAML, one file
 * per node, validated whole before anything starts. `renkei start` writes one per node under
 * `<data dir>/config/`; a real deployment writes its own (examples/config/*.yaml, README "Deploying").
 *
 * Relative paths are read from the config file's directory, so that a config and the data it names
 * can move together. Every field that is wrong is refused, each named by its path
 * (ERR_CONFIG_INVALID, `details.fields`), never with its value: a database URL may hold a password.
 */
import { AnomalyRuleOverrides } from '../nodes/core/service/anomalies.ts';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { InstitutionId, InstitutionKind } from '../protocol/identifiers.ts';
import { describePostgres } from '../shared/db.ts';
import { RenkeiError } from '../shared/errors.ts';

export const NODE_KINDS = ['core', 'jlis', 'institution', 'corporate', 'portal'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

const Port = z.number().int().min(0).max(65_535);

/** An http(s) base URL with no path, query or fragment: where a peer node answers. */
const BaseUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      (url.pathname === '/' || url.pathname === '') &&
      url.search === '' &&
      url.hash === '' &&
      !text.endsWith('/')
    );
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL with no path and no trailing slash');

const PostgresUrl = z.string().refine((text) => {
  try {
    describePostgres(text);
    return true;
  } catch {
    return false;
  }
}, 'must be a postgres:// URL');

/**
 * `database`: a postgres:// URL, or the URL with a schema prefix, a pool size and the longest wait
 * for a statement's answer (`statementTimeoutMs`, default 60 s, 0: none). SQLite files without it.
 */
const Database = z.union([
  PostgresUrl,
  z.strictObject({
    url: PostgresUrl,
    schemaPrefix: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,30}$/, 'lower-case letters, digits and _')
      .optional(),
    poolSize: z.number().int().min(1).max(100).optional(),
    statementTimeoutMs: z.number().int().min(0).max(3_600_000).optional(),
  }),
]);

const Log = z.strictObject({
  /** Default `<dataDir>/logs/<node>.log`. */
  file: z.string().min(1).optional(),
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
});

const Common = {
  /** The node's own files: its databases (SQLite), keys, security log, message archive, lock. */
  dataDir: z.string().min(1),
  /** The address to listen on: 127.0.0.1 (default), or 0.0.0.0 on a machine of its own. */
  host: z.string().min(1).optional(),
  port: Port,
  database: Database.optional(),
  /** Years provision records are kept (default 7). */
  retentionYears: z.number().int().min(1).max(100).optional(),
  /**
   * The free space, in MiB, below which the node's disk counts as full (`GET /readyz` answers 503
   * ERR_STORAGE_FULL, so it is taken out of rotation before it cannot record; default 64).
   */
  minFreeDiskMiB: z.number().int().min(1).max(1_048_576).optional(),
  log: Log.optional(),
};

export const CoreConfig = z.strictObject({
  node: z.literal('core'),
  ...Common,
  pki: z.strictObject({
    /** Holds the core's certificates and keys, the CA bundle and the CRL file it publishes. */
    dir: z.string().min(1),
    /** How long a CRL is trusted before it is read again (default 5 minutes). */
    revocationMaxAgeMs: z.number().int().min(1000).optional(),
  }),
  /** The plain-HTTP listener for the CRL, OCSP and the CA bundle (default: port + 2). */
  publicationPort: Port.optional(),
  /** Processes serving the core's port (default 1); more than 1 on PostgreSQL only. */
  workers: z.number().int().min(1).max(64).optional(),
  /**
   * How often the core asks every institution for its signed tree head and checks it against the head
   * it kept last (README "Provision records"; default 10 minutes; 0: never, the oversight cross-check
   * alone).
   */
  headWatchMinutes: z.number().min(0).max(1440).optional(),
  /**
   * The core's console (operators and the oversight commission), a web listener of its own (README
   * "Consoles"): `port` (the demo: the core's port + 100), `tls` (HTTPS: key and certificate PEM
   * files; plain HTTP without, for 127.0.0.1 only), `demoAccounts` (the demo only: accounts made at
   * start when missing), `anomalyRules` (the oversight console's rules, any field of them; the rest
   * their defaults: src/nodes/core/service/anomalies.ts).
   */
  console: z
    .strictObject({
      port: Port,
      anomalyRules: AnomalyRuleOverrides.optional(),
      tls: z.strictObject({ key: z.string().min(1), cert: z.string().min(1) }).optional(),
      demoAccounts: z
        .array(
          z.strictObject({
            accountId: z.string().regex(/^[a-z0-9][a-z0-9._-]{2,31}$/),
            displayName: z.string().min(1).max(64),
            role: z.enum(['operator', 'oversight']),
            password: z.string().min(12).max(128),
          }),
        )
        .max(10)
        .optional(),
    })
    .optional(),
});
export type CoreConfig = z.infer<typeof CoreConfig>;

const PeerPki = z.strictObject({
  /** Holds this node's certificates and keys and the CA bundle. */
  dir: z.string().min(1),
  /** The core's CRL: `<core publication URL>/pki/v1/crl`. */
  crlUrl: z.string().url(),
  revocationMaxAgeMs: z.number().int().min(1000).optional(),
});

export const JlisConfig = z.strictObject({
  node: z.literal('jlis'),
  ...Common,
  pki: PeerPki,
  coreUrl: BaseUrl,
  /** JPKI's plain-HTTP publication listener (CRLs, OCSP, CA bundle); default port + 3 (0 with port 0). */
  jpkiPublicationPort: Port.optional(),
});
export type JlisConfig = z.infer<typeof JlisConfig>;

export const InstitutionConfig = z.strictObject({
  node: z.literal('institution'),
  ...Common,
  pki: PeerPki,
  institution: z.strictObject({ id: InstitutionId, kind: InstitutionKind }),
  coreUrl: BaseUrl,
  jlisUrl: BaseUrl,
  /**
   * The clerk console (窓口端末), a web listener of its own (README "Consoles"): `port` (the demo:
   * the node's port + 100), `tls` (HTTPS: key and certificate PEM files; plain HTTP without, for
   * 127.0.0.1 only), `name` (the header's), `directory` (providers a clerk picks from until the core's directory answers),
   * `demoClerk` (the demo only: an account made at start when missing), `intakeHours` (how long a
   * clerk's intake sheet is kept, default 8).
   */
  console: z
    .strictObject({
      port: Port,
      tls: z.strictObject({ key: z.string().min(1), cert: z.string().min(1) }).optional(),
      name: z.string().min(1).max(64).optional(),
      nameEn: z.string().min(1).max(100).optional(),
      directory: z
        .array(
          z.strictObject({
            id: InstitutionId,
            name: z.string().min(1).max(64),
            nameEn: z.string().min(1).max(100).optional(),
            kind: InstitutionKind,
          }),
        )
        .max(10_000)
        .optional(),
      demoClerk: z
        .strictObject({
          accountId: z.string().regex(/^[a-z0-9][a-z0-9._-]{2,31}$/),
          displayName: z.string().min(1).max(64),
          password: z.string().min(12).max(128),
        })
        .optional(),
      intakeHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 31)
        .optional(),
    })
    .optional(),
});
export type InstitutionConfig = z.infer<typeof InstitutionConfig>;

/**
 * The corporate-number service (法人番号, run by the National Tax Agency). It calls no other node;
 * its certificate is the NTA's (`nta`), and the CRL comes from the core's publication URL like
 * every other node's.
 */
export const CorporateConfig = z.strictObject({
  node: z.literal('corporate'),
  ...Common,
  pki: PeerPki,
  /** Seed an empty register with the demo's corporations and this many synthetic ones (demo only). */
  demoCorporations: z.number().int().min(0).max(1_000_000).optional(),
});
export type CorporateConfig = z.infer<typeof CorporateConfig>;

/**
 * The Myna Portal (マイナポータル): `port` is the residents' web listener, `networkPort` the node's
 * mutual-TLS listener where the core delivers its codes (the core's registry names it). Its
 * certificate is the portal's (`portal`, role `portal`).
 */
export const PortalConfig = z.strictObject({
  node: z.literal('portal'),
  ...Common,
  pki: PeerPki,
  /** The network listener (default port + 2). */
  networkPort: Port.optional(),
  /** The origin residents' browsers see (default http://<host>:<port>). */
  origin: BaseUrl.optional(),
  jlisUrl: BaseUrl,
  /** The core (mutual TLS): the exchanges about a resident (page A). */
  coreUrl: BaseUrl,
  /** The core's publication listener, for its record-log key (default: where `pki.crlUrl` is). */
  corePublicationUrl: BaseUrl.optional(),
  /** J-LIS's JPKI publication (CA bundle, OCSP), e.g. http://127.0.0.1:7104. */
  jpkiPublicationUrl: BaseUrl,
  /** J-LIS's JPKI CA bundle (PEM), given out of band; fetched from the publication when omitted. */
  jpkiCaBundle: z.string().min(1).optional(),
  /** The card reader the login page sends residents to (default http://127.0.0.1:7181). */
  readerUrl: BaseUrl.optional(),
  /** HTTPS for the web listener: its key and certificate (PEM files). */
  webTls: z.strictObject({ key: z.string().min(1), cert: z.string().min(1) }).optional(),
  /**
   * ぴったりサービス (service finder, online applications, 申請API, 申請データダウンロード): the directory of
   * its `catalogue.yaml` and the municipalities' `registrations/<code>.yaml`. None: a portal without it
   * (no finder, no application pages; the other services are unchanged).
   */
  onestop: z.string().min(1).optional(),
  /**
   * わたしの情報: the institutions the portal asks for a resident's information (as the core's registry
   * names them); those whose kind the portal's clause names are asked. None: the page says nobody
   * was asked.
   */
  informationProviders: z
    .array(
      z.strictObject({
        id: InstitutionId,
        name: z.string().min(1).max(100),
        // The registry's English name, for the pages in English (a config written before it: the name).
        nameEn: z.string().min(1).max(100).optional(),
        kind: InstitutionKind,
      }),
    )
    .max(2000)
    .optional(),
  /**
   * 自己情報取得API: the services registered by the portal's operator. Each may ask for its `scopes`
   * (`item:<n>`, `application`; `offline_access` for refresh tokens) with the resident's consent, and be sent back only to its
   * `redirectUris`. A confidential client's secret is in a file of its own (`secretFile`, read at
   * start), never in this one; without it the client is public (PKCE alone).
   */
  apiClients: z
    .array(
      z.strictObject({
        clientId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ -'),
        name: z.string().min(1).max(100),
        nameEn: z.string().min(1).max(100).optional(),
        redirectUris: z
          .array(z.url({ protocol: /^https?$/ }))
          .min(1)
          .max(10),
        scopes: z
          .array(
            z
              .string()
              .regex(
                /^(item:\d{1,3}|application|offline_access)$/,
                'item:<n>, application or offline_access',
              ),
          )
          .min(1)
          .max(30),
        secretFile: z.string().min(1).optional(),
      }),
    )
    .max(1000)
    .optional(),
  /**
   * Rate limits of the APIs for other services, per client (per address for calls without a valid
   * client or token): `POST /oidc/token` and every `/api/v1/` route, a minute each (default 120).
   */
  apiRateLimits: z
    .strictObject({
      tokenPerMinute: z.int().min(1).max(1_000_000).optional(),
      apiPerMinute: z.int().min(1).max(1_000_000).optional(),
    })
    .optional(),
});
export type PortalConfig = z.infer<typeof PortalConfig>;

export const NodeConfig = z.discriminatedUnion('node', [
  CoreConfig,
  JlisConfig,
  InstitutionConfig,
  CorporateConfig,
  PortalConfig,
]);
export type NodeConfig = z.infer<typeof NodeConfig>;

const SCHEMAS = {
  core: CoreConfig,
  jlis: JlisConfig,
  institution: InstitutionConfig,
  corporate: CorporateConfig,
  portal: PortalConfig,
} as const;

/**
 * Read and validate a node's config file for the node `kind`. Relative paths (dataDir, pki.dir,
 * log.file) become absolute, from the file's directory.
 *
 * Errors: ERR_CONFIG_INVALID — the file cannot be read, is not YAML, is for another node, or has
 * fields that are wrong, missing or unknown (each named in the message and in `details.fields`).
 */
export function loadNodeConfig<K extends NodeKind>(kind: K, file: string): z.infer<(typeof SCHEMAS)[K]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      `The config file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
      { file },
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      `The config file ${file} is not valid YAML${line === undefined ? '' : ` (line ${line})`}.`,
      { file },
    );
  }
  return parseNodeConfig(kind, raw, dirname(resolve(file)), file);
}

/** Validate a config already read (`base` resolves relative paths). Errors as `loadNodeConfig`. */
export function parseNodeConfig<K extends NodeKind>(
  kind: K,
  raw: unknown,
  base: string,
  file = 'the config',
): z.infer<(typeof SCHEMAS)[K]> {
  const node = (raw as { node?: unknown } | null)?.node;
  if (typeof raw === 'object' && raw !== null && node !== undefined && node !== kind) {
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      `${file}: node: is ${JSON.stringify(node)}, but this is renkei node ${kind}.`,
      { file, fields: ['node'] },
    );
  }
  const parsed = SCHEMAS[kind].safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.') || '(the whole file)';
      const unknown = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => joinPath(path, k)) : [];
      return {
        fields: unknown.length > 0 ? unknown : [path],
        text:
          unknown.length > 0
            ? `${unknown.join(', ')}: not a field of a ${kind} config`
            : `${path}: ${describeIssue(issue)}`,
      };
    });
    throw new RenkeiError(
      'ERR_CONFIG_INVALID',
      `${file} is not a valid ${kind} config: ${problems.map((p) => p.text).join('; ')}.`,
      { file, fields: problems.flatMap((p) => p.fields) },
    );
  }
  const config = parsed.data as z.infer<(typeof SCHEMAS)[K]>;
  const at = (path: string) => (isAbsolute(path) ? path : join(base, path));
  const portalFiles =
    config.node === 'portal'
      ? {
          ...(config.jpkiCaBundle === undefined ? {} : { jpkiCaBundle: at(config.jpkiCaBundle) }),
          ...(config.onestop === undefined ? {} : { onestop: at(config.onestop) }),
          ...(config.webTls === undefined
            ? {}
            : { webTls: { key: at(config.webTls.key), cert: at(config.webTls.cert) } }),
          ...(config.apiClients === undefined
            ? {}
            : {
                apiClients: config.apiClients.map((c) =>
                  c.secretFile === undefined ? c : { ...c, secretFile: at(c.secretFile) },
                ),
              }),
        }
      : {};
  const consoleTls =
    (config.node === 'institution' || config.node === 'core') && config.console?.tls
      ? {
          console: {
            ...config.console,
            tls: { key: at(config.console.tls.key), cert: at(config.console.tls.cert) },
          },
        }
      : {};
  return {
    ...config,
    ...portalFiles,
    ...consoleTls,
    dataDir: at(config.dataDir),
    pki: { ...config.pki, dir: at(config.pki.dir) },
    ...(config.log === undefined
      ? {}
      : { log: { ...config.log, ...(config.log.file === undefined ? {} : { file: at(config.log.file) }) } }),
  };
}

function joinPath(path: string, key: string): string {
  return path === '(the whole file)' ? key : `${path}.${key}`;
}

const EXPECTED: Record<string, string> = {
  string: 'text',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping of fields',
};

/** Zod's wording, without ever quoting the value received (a URL may carry a password). */
function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') {
    if (issue.message.endsWith('received undefined')) return 'missing';
    return `must be ${EXPECTED[issue.expected] ?? issue.expected}`;
  }
  if (issue.code === 'invalid_union')
    return 'must be a postgres:// URL or { url, schemaPrefix, poolSize, statementTimeoutMs }';
  return issue.message;
}

/** A config as YAML, for `renkei start`, which writes one per node. */
export function formatNodeConfig(config: NodeConfig, comment?: string): string {
  return `${comment === undefined ? '' : `# ${comment}\n`}${stringifyYaml(config)}`;
}
