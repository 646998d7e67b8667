/**
 * The trust layer, tried as an attacker on the same machine would: against the running demo network
 * (core, J-LIS, twelve institutions) over real TLS, each attack with no credential, a credential of
 * another CA, an expired or revoked one, another party's, or a genuine one misused. Every attack ends
 * with its stable error code, changes nothing, and is recorded in the refusing node's security log.
 */
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Network } from '../src/network/launch.ts';
import type { SeededWorld } from '../src/network/seed.ts';
import type { Api } from '../src/protocol/api.ts';
import { loadNodeTrust, type NodeTrust } from '../src/protocol/node-trust.ts';
import {
  adminApi,
  businessApi,
  coreApi,
  jlisApi,
  jpkiApi,
  monitoringApi,
  networkApi,
} from '../src/protocol/routes.ts';
import { fixedClock, systemClock } from '../src/shared/clock.ts';
import { createItemSealer } from '../src/protocol/item-sealing.ts';
import {
  openMessageArchive,
  readArchivedMessages,
  type ArchivedMessage,
  type MessageArchive,
} from '../src/shared/message-archive.ts';
import { DEMO_RESIDENTS } from '../src/network/world.ts';
import { messageHash } from '../src/trust/envelope/message-hash.ts';
import { completeIndividualNumber } from '../src/domain/identifiers/individual-number.ts';
import { decryptForRecipient } from '../src/trust/envelope/item-encryption.ts';
import { signMessage } from '../src/trust/envelope/sign-message.ts';
import { initPki, issuePartyCertificates, revokeCertificate } from '../src/trust/pki/authority.ts';
import { partyPaths, pkiPaths } from '../src/trust/pki/files.ts';
import { renkei } from '../src/cli/test-support.ts';
import { attemptWith, credentialOf, type Attempt, type Credential } from './support/attacker.ts';
import {
  clause74BulkInquiry,
  clause74Inquiry,
  startDemoNetwork,
  type DemoNetwork,
} from './support/demo-network.ts';

const REQUESTER = '152048'; // 三条市
const PROVIDER = '131041'; // 新宿区
const REVOCATION_BOUND_MS = 1_000;

let demo: DemoNetwork | undefined;
let dir: string;
let network: Network;
let world: SeededWorld;
let pkiDir: string;
let ca: string;
const strangers = mkdtempSync(join(tmpdir(), 'renkei-strange-ca-'));

beforeAll(async () => {
  demo = await startDemoNetwork('trust', { revocationMaxAgeMs: REVOCATION_BOUND_MS });
  ({ dir, network, world } = demo);
  pkiDir = network.pkiDir ?? '';
  ca = readFileSync(pkiPaths(pkiDir).caBundle, 'utf8');
  // The Myna Portal's node certificate (role portal): refused everywhere but its own route.
  await issuePartyCertificates({ dir: pkiDir, partyId: 'portal', role: 'portal', clock: systemClock });
});

afterAll(async () => {
  await demo?.dispose();
  rmSync(strangers, { recursive: true, force: true });
});

// ── The attacker's tools: raw HTTPS with any credential, and signed messages of its own making ─────

/** One request on a fresh connection (so the server checks the certificate anew). */
const attempt = (url: string, options: Attempt = {}) => attemptWith(ca, url, options);

function securityLogOf(node: string): string {
  return node === 'core' || node === 'jlis'
    ? join(dir, node, 'security.sqlite')
    : join(dir, 'institutions', node, 'security.sqlite');
}

/** The codes a node's security log holds, oldest first. */
function refusalsAt(node: string): string[] {
  const db = new SQLite(securityLogOf(node), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT code FROM security_events ORDER BY id').all() as { code: string }[]).map(
      (r) => r.code,
    );
  } finally {
    db.close();
  }
}

/** The parties of the newest refusal `node` recorded: verified, and claimed by a refused certificate. */
function lastRefusalAt(node: string): {
  code: string;
  partyId: string | null;
  claimedPartyId: string | null;
} {
  const db = new SQLite(securityLogOf(node), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        'SELECT code, party_id AS partyId, claimed_party_id AS claimedPartyId FROM security_events ORDER BY id DESC LIMIT 1',
      )
      .get() as { code: string; partyId: string | null; claimedPartyId: string | null };
  } finally {
    db.close();
  }
}

/** Expect `act` to be refused with `code` by `node`, and the refusal recorded there. */
async function refusedAndRecorded(
  node: string,
  code: string,
  act: () => Promise<{ status: number; code: unknown }>,
): Promise<number> {
  const before = refusalsAt(node).filter((c) => c === code).length;
  const result = await act();
  expect(result.code).toBe(code);
  expect(refusalsAt(node).filter((c) => c === code).length).toBe(before + 1);
  return result.status;
}

const coreUrl = (path: string) => `${network.core.url}${path}`;
const institutionUrl = (id: string, path: string) => `${network.institutions.get(id)?.url ?? ''}${path}`;

async function trustOf(partyId: string): Promise<NodeTrust> {
  return loadNodeTrust({ pkiDir, partyId, clock: systemClock, crl: { file: pkiPaths(pkiDir).crlDer } });
}

/** A message signed as `as` would sign it, for the attacker to send or spoil. */
async function signedAs(
  as: NodeTrust,
  type: string,
  payload: Record<string, unknown>,
  audience: string,
  clock = systemClock,
): Promise<string> {
  return signMessage({
    type,
    payload,
    sender: as.self.partyId,
    audience,
    key: as.self.signingKey,
    kid: as.self.kid,
    clock,
  });
}

function inquiryOf(requesterId: string, personCode: string) {
  return {
    requesterId,
    providerId: PROVIDER,
    personCode,
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
    nonDisclosure: false,
  };
}

/** A person code the requester's intermediate server holds (read from its file, as the attacker who has it). */
function personCodeAt(institutionId: string, resident: string): string {
  const db = new SQLite(join(dir, 'institutions', institutionId, 'intermediate.sqlite'), { readonly: true });
  try {
    const row = db
      .prepare('SELECT person_code FROM persons WHERE addressee_number = ?')
      .get(world.addresseeNumber(resident, institutionId)) as { person_code: string };
    return row.person_code;
  } finally {
    db.close();
  }
}

async function institutionCount(): Promise<number> {
  return (await network.admin().listInstitutions()).institutions.length;
}

// ── Who may connect ──────────────────────────────────────────────────────────────────────────

describe('who may connect', () => {
  it('answers plain HTTP to a node with 400 ERR_TLS_REQUIRED, records it once, and still serves HTTPS on the port', async () => {
    const plain = (url: string) => url.replace('https:', 'http:');
    const read = async (response: Response) => ({
      status: response.status,
      code: ((await response.json()) as { error?: { code?: string } }).error?.code,
      headers: response.headers,
    });
    const tried = [
      { node: 'core', act: () => fetch(plain(coreUrl('/healthz'))) },
      {
        node: 'core',
        act: () =>
          fetch(plain(coreUrl('/v1/inquiries')), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(inquiryOf(REQUESTER, 'x')),
          }),
      },
      {
        node: PROVIDER,
        act: () =>
          fetch(plain(institutionUrl(PROVIDER, '/network/v1/provision-requests')), {
            method: 'POST',
            headers: { 'content-type': 'application/jose' },
            body: 'a.b.c',
          }),
      },
    ];
    const handshakeFailures = () =>
      ['core', PROVIDER].flatMap((node) => refusalsAt(node)).filter((c) => c === 'ERR_TLS_HANDSHAKE').length;
    const failedBefore = handshakeFailures();
    for (const { node, act } of tried) {
      let headers: Headers | undefined;
      const status = await refusedAndRecorded(node, 'ERR_TLS_REQUIRED', async () => {
        const answer = await read(await act());
        headers = answer.headers;
        return answer;
      });
      expect(status).toBe(400);
      expect(headers?.get('content-type')).toMatch(/^application\/json/);
      expect(headers?.get('connection')).toBe('close');
    }
    // Recorded once: the TLS layer never saw these connections.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(handshakeFailures()).toBe(failedBefore);
    // Right after, on the same ports: TLS handshakes and a certificate still checked.
    expect((await attempt(coreUrl('/healthz'))).status).toBe(200);
    expect(
      (await attempt(coreUrl('/admin/v1/statistics'), { as: credentialOf(pkiDir, 'operator:audit:demo') }))
        .status,
    ).toBe(200);
    expect((await attempt(institutionUrl(PROVIDER, '/healthz'))).status).toBe(200);
  });

  it('tells a plain-HTTP client what to do, in the body every error has', async () => {
    const response = await fetch(coreUrl('/healthz').replace('https:', 'http:'));
    const body = (await response.json()) as { error: { code: string; message: string; details: unknown } };
    expect(Object.keys(body)).toEqual(['error']);
    expect(Object.keys(body.error)).toEqual(['code', 'message', 'details']);
    expect(body.error.message).toContain('https://');
    expect(body.error.message).toContain('certificate');
  });

  it('refuses to register a fake institution without a client certificate', async () => {
    const count = await institutionCount();
    const status = await refusedAndRecorded('core', 'ERR_CLIENT_CERT_REQUIRED', () =>
      attempt(coreUrl('/admin/v1/institutions/evil-city'), {
        method: 'PUT',
        json: { name: '偽市', nameEn: 'Evil', kind: 'municipality', networkUrl: 'https://127.0.0.1:1' },
      }),
    );
    expect(status).toBe(401);
    expect(lastRefusalAt('core')).toEqual({
      code: 'ERR_CLIENT_CERT_REQUIRED',
      partyId: null,
      claimedPartyId: null,
    });
    expect(await institutionCount()).toBe(count);
  });

  it('refuses a certificate issued by another CA, even one naming a real operator', async () => {
    const stranger = join(strangers, 'pki');
    await initPki({ dir: stranger, clock: systemClock });
    await issuePartyCertificates({
      dir: stranger,
      partyId: 'operator:registry:demo',
      role: 'operator',
      clock: systemClock,
    });
    const status = await refusedAndRecorded('core', 'ERR_CERT_UNTRUSTED', () =>
      attempt(coreUrl('/admin/v1/institutions'), { as: credentialOf(stranger, 'operator:registry:demo') }),
    );
    expect(status).toBe(401);
    // Who it claimed to be, apart from any verified party: another CA can name anyone.
    expect(lastRefusalAt('core')).toEqual({
      code: 'ERR_CERT_UNTRUSTED',
      partyId: null,
      claimedPartyId: 'operator:registry:demo',
    });
  });

  it("refuses another CA's certificate naming an Individual Number as its party, and keeps that number out of the log", async () => {
    const forger = join(strangers, 'forger-pki');
    await initPki({ dir: forger, clock: systemClock });
    const planted = '123456789018'; // twelve digits with a valid check digit
    await issuePartyCertificates({ dir: forger, partyId: planted, role: 'institution', clock: systemClock });
    await refusedAndRecorded('core', 'ERR_CERT_UNTRUSTED', () =>
      attempt(coreUrl('/admin/v1/institutions'), { as: credentialOf(forger, planted) }),
    );
    expect(lastRefusalAt('core')).toEqual({
      code: 'ERR_CERT_UNTRUSTED',
      partyId: null,
      claimedPartyId: null,
    });
    for (const file of [securityLogOf('core'), `${securityLogOf('core')}-wal`]) {
      expect(existsSync(file) && readFileSync(file).includes(planted), file).toBe(false);
    }
  });

  it('refuses an expired certificate', async () => {
    const longAgo = fixedClock(new Date(Date.now() - 400 * 24 * 3600_000));
    await issuePartyCertificates({
      dir: pkiDir,
      partyId: 'operator:registry:former',
      role: 'operator',
      clock: longAgo,
      validityDays: 30,
    });
    const status = await refusedAndRecorded('core', 'ERR_CERT_EXPIRED', () =>
      attempt(coreUrl('/admin/v1/institutions'), { as: credentialOf(pkiDir, 'operator:registry:former') }),
    );
    expect(status).toBe(401);
    expect(lastRefusalAt('core')).toEqual({
      code: 'ERR_CERT_EXPIRED',
      partyId: null,
      claimedPartyId: 'operator:registry:former',
    });
  });

  it('refuses a revoked certificate once the revocation cache has refreshed', async () => {
    await issuePartyCertificates({
      dir: pkiDir,
      partyId: 'operator:audit:leaver',
      role: 'operator',
      clock: systemClock,
    });
    const leaver = credentialOf(pkiDir, 'operator:audit:leaver');
    expect((await attempt(coreUrl('/admin/v1/statistics'), { as: leaver })).status).toBe(200);
    await revokeCertificate({
      dir: pkiDir,
      partyId: 'operator:audit:leaver',
      reason: 'affiliationChanged',
      clock: systemClock,
    });
    // A revocation is seen within twice the bound: the CRL's cache, then the verified-certificate cache.
    await new Promise((resolve) => setTimeout(resolve, 2 * REVOCATION_BOUND_MS + 200));
    const status = await refusedAndRecorded('core', 'ERR_CERT_REVOKED', () =>
      attempt(coreUrl('/admin/v1/statistics'), { as: leaver }),
    );
    expect(status).toBe(401);
    expect(lastRefusalAt('core')).toEqual({
      code: 'ERR_CERT_REVOKED',
      partyId: null,
      claimedPartyId: 'operator:audit:leaver',
    });
  });

  it("refuses one institution's business credential at another institution", async () => {
    const status = await refusedAndRecorded(PROVIDER, 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(institutionUrl(PROVIDER, '/business/v1/provision-records'), {
        as: credentialOf(pkiDir, `${REQUESTER}:business`),
      }),
    );
    expect(status).toBe(403);
  });

  it("refuses an institution's node certificate on another institution's business API", async () => {
    await refusedAndRecorded(PROVIDER, 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(institutionUrl(PROVIDER, '/business/v1/provision-records'), {
        as: credentialOf(pkiDir, REQUESTER),
      }),
    );
  });
});

// ── What the core publishes ──────────────────────────────────────────────────────────────────

describe("the core's publication point, checked by OpenSSL", () => {
  const openssl = (...args: string[]) =>
    new Promise<string>((resolve) => {
      execFile('openssl', args, { encoding: 'utf8' }, (_error, stdout, stderr) =>
        resolve(`${stdout}${stderr}`),
      );
    });

  it('answers OCSP good for a valid certificate and revoked for a revoked one, in responses OpenSSL verifies', async () => {
    await issuePartyCertificates({
      dir: pkiDir,
      partyId: 'operator:keys:gone',
      role: 'operator',
      clock: systemClock,
    });
    await revokeCertificate({
      dir: pkiDir,
      partyId: 'operator:keys:gone',
      reason: 'keyCompromise',
      clock: systemClock,
    });
    const url = `${network.core.publicationUrl ?? ''}/pki/v1/ocsp`;
    const ask = (partyId: string) =>
      openssl(
        'ocsp',
        '-issuer',
        pkiPaths(pkiDir).issuingCert,
        '-cert',
        partyPaths(pkiDir, partyId).identityCert,
        '-url',
        url,
        '-CAfile',
        pkiPaths(pkiDir).caBundle,
      );
    const good = await ask(REQUESTER);
    expect(good).toContain('Response verify OK');
    expect(good).toMatch(/identity-cert\.pem: good/);
    const revoked = await ask('operator:keys:gone');
    expect(revoked).toContain('Response verify OK');
    expect(revoked).toMatch(/identity-cert\.pem: revoked/);
  });

  it('serves a CRL that OpenSSL verifies against the CA bundle', async () => {
    const response = await fetch(`${network.core.publicationUrl ?? ''}/pki/v1/crl`);
    expect(response.headers.get('content-type')).toBe('application/pkix-crl');
    const file = join(strangers, 'served.crl');
    writeFileSync(file, Buffer.from(await response.arrayBuffer()));
    const out = await openssl(
      'crl',
      '-inform',
      'DER',
      '-in',
      file,
      '-CAfile',
      pkiPaths(pkiDir).caBundle,
      '-noout',
      '-verify',
    );
    expect(out).toContain('verify OK');
  });
});

// ── Every route of the table, tried with every credential it does not name ───────────────────

describe('every route refuses whoever its callers do not name', () => {
  const candidates = [
    'core',
    'jlis',
    REQUESTER,
    `${REQUESTER}:business`,
    `${PROVIDER}:business`,
    'kyokai-kenpo:business',
    'operator:registry:demo',
    'operator:keys:demo',
    'operator:audit:demo',
    'operator:legal:demo',
    'operator:monitoring:demo',
    'portal',
  ];
  /** Which candidate a caller kind names, at the node that serves the route (institutions: PROVIDER). */
  const names = (kind: string, party: string): boolean =>
    kind === 'anyone' ||
    kind === party ||
    (kind === 'institution' && party === REQUESTER) ||
    (kind === 'business' && party === `${PROVIDER}:business`) ||
    // Both demo institutions asked here are municipalities (152048 三条市, 131041 新宿区).
    (kind === 'municipality' && (party === `${REQUESTER}:business` || party === `${PROVIDER}:business`)) ||
    (kind.startsWith('operator:') && party === `${kind}:demo`) ||
    // A relying party is any business or institution by its certificate, and the portal (ぴったりサービス
    // checks the signing certificates of applications); J-LIS checks registration.
    (kind === 'relying-party' && (party === REQUESTER || party === 'portal' || party.endsWith(':business')));
  const apis: Record<string, Api> = {
    coreApi,
    adminApi,
    jlisApi,
    jpkiApi,
    networkApi,
    businessApi,
    monitoringApi,
  };

  for (const [apiName, api] of Object.entries(apis)) {
    for (const route of Object.values(api)) {
      it(`${apiName}.${route.name}: none without a certificate, nobody its callers do not name`, async () => {
        const base =
          apiName === 'jlisApi' || apiName === 'jpkiApi'
            ? network.jlis.url
            : apiName === 'coreApi' || apiName === 'adminApi' || apiName === 'monitoringApi'
              ? network.core.url
              : (network.institutions.get(PROVIDER)?.url ?? '');
        const path = route.path
          .replace('::', ':')
          .replace(':id', PROVIDER)
          .replace(':processingNumber', uuidv7())
          .replace(':addresseeNumber', 'x1')
          .replace(':itemNo', '2');
        const send = (as?: Credential) =>
          attempt(`${base}${path}`, {
            method: route.method,
            ...(route.method === 'POST' || route.method === 'PUT' ? { json: {} } : {}),
            ...(as ? { as } : {}),
          });
        expect((await send()).code).toBe('ERR_CLIENT_CERT_REQUIRED');
        const callers: readonly string[] = route.callers;
        const refused = candidates.filter((party) => !callers.some((kind) => names(kind, party)));
        expect(refused.length).toBeGreaterThan(0);
        for (const party of refused) {
          expect((await send(credentialOf(pkiDir, party))).code, party).toBe('ERR_CALLER_NOT_ALLOWED');
        }
      });
    }
  }
});

// ── What a party may do ──────────────────────────────────────────────────────────────────────

describe('what a party may do', () => {
  it('refuses to re-register the health insurer as a municipality without the registry role', async () => {
    const before = await network
      .admin()
      .getInstitution({ params: { id: 'kyokai-kenpo' } })
      .catch(() => undefined);
    await refusedAndRecorded('core', 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(coreUrl('/admin/v1/institutions/kyokai-kenpo'), {
        method: 'PUT',
        json: {
          name: '協会けんぽ',
          nameEn: 'Kyokai Kenpo',
          kind: 'municipality',
          networkUrl: 'https://127.0.0.1:1',
        },
        as: credentialOf(pkiDir, 'operator:audit:demo'),
      }),
    );
    const after = await network
      .admin()
      .getInstitution({ params: { id: 'kyokai-kenpo' } })
      .catch(() => undefined);
    expect(after).toEqual(before);
  });

  it("refuses to list the core's processing numbers to an institution", async () => {
    await refusedAndRecorded('core', 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(coreUrl('/admin/v1/provision-records'), { as: credentialOf(pkiDir, `${REQUESTER}:business`) }),
    );
  });

  it("refuses an institution rotating another's key", async () => {
    await refusedAndRecorded('core', 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(coreUrl(`/admin/v1/institutions/${PROVIDER}/key-rotations`), {
        method: 'POST',
        as: credentialOf(pkiDir, REQUESTER),
      }),
    );
  });

  it('refuses an institution asking the core to create codes, as only J-LIS may', async () => {
    const requester = await trustOf(REQUESTER);
    const jws = await signedAs(
      requester,
      'CodeIssuanceRequest',
      { institutionId: REQUESTER, acquisitionNumber: 'a'.repeat(32), residentRecordCode: '12345678901' },
      'core',
    );
    await refusedAndRecorded('core', 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(coreUrl('/v1/code-issuances'), { raw: jws, as: credentialOf(pkiDir, REQUESTER) }),
    );
  });

  it('refuses anyone but a municipality numbering a resident at J-LIS', async () => {
    const resident = { name: '偽 太郎', address: '東京都', dateOfBirth: '2000-01-01', sex: 'male' };
    const jlisUrl = `${network.jlis.url}/admin/v1/residents`;
    await refusedAndRecorded('jlis', 'ERR_CLIENT_CERT_REQUIRED', () => attempt(jlisUrl, { json: resident }));
    await refusedAndRecorded('jlis', 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(jlisUrl, { json: resident, as: credentialOf(pkiDir, 'kyokai-kenpo:business') }),
    );
  });

  it('lets no one probe whether an Individual Number exists without an institution’s credential, and records every probe with who made it', async () => {
    const url = `${network.jlis.url}/v1/code-acquisitions`;
    // A number with a valid check digit that J-LIS never issued: the probe.
    const probe = completeIndividualNumber('99999999999');
    const body = (institutionId: string) => ({
      institutionId,
      acquisitionNumber: randomBytes(16).toString('hex'),
      individualNumber: probe,
    });
    await refusedAndRecorded('jlis', 'ERR_CLIENT_CERT_REQUIRED', () =>
      attempt(url, { json: body(REQUESTER) }),
    );
    await refusedAndRecorded('jlis', 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(url, { json: body(REQUESTER), as: credentialOf(pkiDir, `${REQUESTER}:business`) }),
    );
    const requester = await trustOf(REQUESTER);
    const inAnothersName = await signedAs(requester, 'CodeAcquisitionRequest', body(PROVIDER), 'jlis');
    await refusedAndRecorded('jlis', 'ERR_IDENTITY_MISMATCH', () =>
      attempt(url, { raw: inAnothersName, as: credentialOf(pkiDir, REQUESTER) }),
    );
    // An institution, in its own name, learns that the number is unknown (its clerk must be able to
    // say so), and J-LIS keeps who asked, so that probing shows in its log: never the number itself.
    const own = body(REQUESTER);
    const answer = await attempt(url, {
      raw: await signedAs(requester, 'CodeAcquisitionRequest', own, 'jlis'),
      as: credentialOf(pkiDir, REQUESTER),
    });
    expect(answer).toMatchObject({ status: 404, code: 'ERR_UNKNOWN_RESIDENT' });
    expect(answer.text).not.toContain(probe);
    const db = new SQLite(join(dir, 'jlis', 'jlis.sqlite'), { readonly: true });
    try {
      const row = db
        .prepare('SELECT * FROM code_acquisition_relays WHERE acquisition_number = ?')
        .get(own.acquisitionNumber) as Record<string, unknown>;
      expect(row).toMatchObject({
        institution_id: REQUESTER,
        outcome: 'refused',
        error_code: 'ERR_UNKNOWN_RESIDENT',
      });
      expect(JSON.stringify(row)).not.toContain(probe);
    } finally {
      db.close();
    }
  });

  it("refuses another institution's re-keying completion in its own name", async () => {
    const requester = await trustOf(REQUESTER);
    const before = await network.admin().getInstitution({ params: { id: PROVIDER } });
    const jws = await signedAs(
      requester,
      'CodeReissueCompletion',
      { institutionId: PROVIDER, keyVersion: 1 },
      'core',
    );
    const status = await refusedAndRecorded('core', 'ERR_IDENTITY_MISMATCH', () =>
      attempt(coreUrl('/v1/code-reissues/completions'), { raw: jws, as: credentialOf(pkiDir, REQUESTER) }),
    );
    expect(status).toBe(403);
    expect(await network.admin().getInstitution({ params: { id: PROVIDER } })).toEqual(before);
  });

  it('refuses the portal a person code that is not its own, and a portal certificate the registry does not list as the portal, recording both', async () => {
    // A portal certificate, and the registry's entry for it (the portal node registers itself so).
    await issuePartyCertificates({ dir: pkiDir, partyId: 'portal', role: 'portal', clock: systemClock });
    await issuePartyCertificates({ dir: pkiDir, partyId: 'portal-2', role: 'portal', clock: systemClock });
    await network.admin().registerInstitution({
      params: { id: 'portal' },
      body: {
        name: 'マイナポータル',
        nameEn: 'Myna Portal',
        kind: 'portal',
        networkUrl: 'https://127.0.0.1:1',
      },
    });
    const lookup = async (partyId: string) =>
      attempt(coreUrl('/v1/person-record-lookups'), {
        raw: await signedAs(
          await trustOf(partyId),
          'PersonRecordQuery',
          { portalId: partyId, personCode: 'A'.repeat(44) },
          'core',
        ),
        as: credentialOf(pkiDir, partyId),
      });
    expect(await refusedAndRecorded('core', 'ERR_UNKNOWN_PERSON_CODE', () => lookup('portal'))).toBe(422);
    expect(lastRefusalAt('core')).toMatchObject({ partyId: 'portal' });
    expect(await refusedAndRecorded('core', 'ERR_CALLER_NOT_ALLOWED', () => lookup('portal-2'))).toBe(403);
  });

  it("refuses an inquiry filed in an innocent institution's name, and files no record for it", async () => {
    const requester = await trustOf(REQUESTER);
    const records = async () =>
      (await network.admin().listProvisionRecords({ query: { limit: 1000 } })).records.length;
    const before = await records();
    const jws = await signedAs(requester, 'InquiryRequest', inquiryOf(PROVIDER, 'A'.repeat(44)), 'core');
    await refusedAndRecorded('core', 'ERR_IDENTITY_MISMATCH', () =>
      attempt(coreUrl('/v1/inquiries'), { raw: jws, as: credentialOf(pkiDir, REQUESTER) }),
    );
    expect(await records()).toBe(before);
  });

  it('refuses a forged answer posted to a requester by anyone but the core', async () => {
    const delivery = {
      processingNumber: uuidv7(),
      outcome: 'provided',
      items: [],
      answeredAt: new Date().toISOString(),
    };
    const provider = await trustOf(PROVIDER);
    const jws = await signedAs(provider, 'AnswerDelivery', delivery, REQUESTER);
    await refusedAndRecorded(REQUESTER, 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(institutionUrl(REQUESTER, '/network/v1/answers'), {
        raw: jws,
        as: credentialOf(pkiDir, PROVIDER),
      }),
    );
  });

  it('refuses a provision request posted to a provider by anyone but the core', async () => {
    const requester = await trustOf(REQUESTER);
    const provisionRequest = {
      processingNumber: uuidv7(),
      requesterId: REQUESTER,
      personCode: 'A'.repeat(44),
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      requestedAt: new Date().toISOString(),
      nonDisclosure: false,
    };
    const jws = await signedAs(requester, 'ProvisionRequest', provisionRequest, PROVIDER);
    await refusedAndRecorded(PROVIDER, 'ERR_CALLER_NOT_ALLOWED', () =>
      attempt(institutionUrl(PROVIDER, '/network/v1/provision-requests'), {
        raw: jws,
        as: credentialOf(pkiDir, REQUESTER),
      }),
    );
  });

  it("answers the core's record check with a signed answer, and refuses another institution asking for its records", async () => {
    const check = { processingNumbers: [uuidv7()] };
    const requester = await trustOf(REQUESTER);
    await refusedAndRecorded(PROVIDER, 'ERR_CALLER_NOT_ALLOWED', async () =>
      attempt(institutionUrl(PROVIDER, '/network/v1/record-checks'), {
        raw: await signedAs(requester, 'RecordCheckRequest', check, PROVIDER),
        as: credentialOf(pkiDir, REQUESTER),
      }),
    );
    const core = await trustOf('core');
    const answered = await attempt(institutionUrl(PROVIDER, '/network/v1/record-checks'), {
      raw: await signedAs(core, 'RecordCheckRequest', check, PROVIDER),
      as: credentialOf(pkiDir, 'core'),
    });
    expect(answered.status, answered.text).toBe(200);
    const [, payload = ''] = answered.text.split('.');
    const message = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    // Signed by the institution, to the core, and what it says is a record check's answer.
    expect(message).toMatchObject({ iss: PROVIDER, aud: 'core' });
    expect(JSON.stringify(message)).toContain('"requester":[]');
  });
});

// ── Signed messages ──────────────────────────────────────────────────────────────────────────

describe('signed messages', () => {
  let requester: NodeTrust;
  let genuine: () => Promise<string>;

  beforeAll(async () => {
    requester = await trustOf(REQUESTER);
    const code = personCodeAt(REQUESTER, 'yamada-taro');
    genuine = () => signedAs(requester, 'InquiryRequest', inquiryOf(REQUESTER, code), 'core');
  });

  const send = (raw: string, contentType?: string) =>
    attempt(coreUrl('/v1/inquiries'), {
      raw,
      as: credentialOf(pkiDir, REQUESTER),
      ...(contentType ? { contentType } : {}),
    });

  it('accepts a genuine signed inquiry, then refuses the same message replayed', async () => {
    const jws = await genuine();
    expect((await send(jws)).status).toBe(202);
    const status = await refusedAndRecorded('core', 'ERR_MESSAGE_REPLAYED', () => send(jws));
    expect(status).toBe(409);
  });

  it('refuses a forged signature', async () => {
    const [header, payload, signature = ''] = (await genuine()).split('.');
    const forged = `${header}.${payload}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    await refusedAndRecorded('core', 'ERR_SIGNATURE_INVALID', () => send(forged));
  });

  it('refuses an altered payload', async () => {
    const [header, payload = '', signature] = (await genuine()).split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { msg: { itemNos: number[] } };
    claims.msg.itemNos = [1, 2];
    const altered = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    await refusedAndRecorded('core', 'ERR_SIGNATURE_INVALID', () => send(altered));
  });

  it('refuses a message signed ten minutes ago', async () => {
    const stale = await signedAs(
      requester,
      'InquiryRequest',
      inquiryOf(REQUESTER, personCodeAt(REQUESTER, 'yamada-taro')),
      'core',
      fixedClock(new Date(Date.now() - 10 * 60_000)),
    );
    await refusedAndRecorded('core', 'ERR_MESSAGE_STALE', () => send(stale));
  });

  it('refuses an unsigned inquiry on a route between nodes', async () => {
    await refusedAndRecorded('core', 'ERR_MESSAGE_MALFORMED', () =>
      send(JSON.stringify(inquiryOf(REQUESTER, 'A'.repeat(44))), 'application/json'),
    );
  });

  it("refuses another institution's code presented by the requester, and records the refusal", async () => {
    const theirs = personCodeAt(PROVIDER, 'yamada-taro');
    const jws = await signedAs(requester, 'InquiryRequest', inquiryOf(REQUESTER, theirs), 'core');
    const result = await send(jws);
    expect(result.code).toBe('ERR_UNKNOWN_PERSON_CODE');
    const records = (
      await network.admin().listProvisionRecords({ query: { requesterId: REQUESTER, limit: 5 } })
    ).records;
    expect(records[0]).toMatchObject({ outcome: 'refused', reason: 'ERR_UNKNOWN_PERSON_CODE' });
  });
});

// ── What the core relays ─────────────────────────────────────────────────────────────────────

describe('items sealed from provider to requester', () => {
  /** The requester's signed inquiry, kept in an archive of its own as its transport keeps what it sends. */
  let inquiryJws: string;
  let sentArchive: MessageArchive;
  let strangerArchive: MessageArchive;

  beforeAll(async () => {
    const requester = await trustOf(REQUESTER);
    inquiryJws = await signedAs(
      requester,
      'InquiryRequest',
      inquiryOf(REQUESTER, personCodeAt(REQUESTER, 'yamada-taro')),
      'core',
    );
    sentArchive = await openMessageArchive(join(strangers, 'sent.sqlite'));
    sentArchive.keep([
      {
        processingNumber: null,
        direction: 'sent',
        type: 'InquiryRequest',
        sender: REQUESTER,
        audience: 'core',
        id: 'sent-inquiry',
        hash: messageHash(inquiryJws),
        inResponseTo: null,
        at: new Date().toISOString(),
        jws: inquiryJws,
        certificate: requester.tls.cert,
      },
    ]);
    strangerArchive = await openMessageArchive(join(strangers, 'empty.sqlite'));
  });

  afterAll(async () => {
    await sentArchive.close();
    await strangerArchive.close();
  });

  function provisionRequest(extra: Record<string, unknown> = {}) {
    return {
      inquiryHash: messageHash(inquiryJws),
      processingNumber: uuidv7(),
      requesterId: REQUESTER,
      personCode: personCodeAt(PROVIDER, 'yamada-taro'),
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      requestedAt: new Date().toISOString(),
      nonDisclosure: false,
      ...extra,
    };
  }

  it('gives the core ciphertext it cannot open, that only the requester can', async () => {
    // As the core would send it (the test holds the core's credential, as a compromised core would).
    const core = await trustOf('core');
    const requester = await trustOf(REQUESTER);
    const request = provisionRequest({
      requesterEncryptionCertificate: requester.self.encryption.certificatePem,
    });
    const jws = await signedAs(core, 'ProvisionRequest', request, PROVIDER);
    const answer = await attempt(institutionUrl(PROVIDER, '/network/v1/provision-requests'), {
      raw: jws,
      as: credentialOf(pkiDir, 'core'),
    });
    expect(answer.status).toBe(200);
    const payload = answer.text.split('.')[1] ?? '';
    const { msg } = JSON.parse(Buffer.from(payload, 'base64url').toString()) as {
      msg: { outcome: string; items: unknown[]; sealedItems: string };
    };
    expect(msg.outcome).toBe('provided');
    expect(msg.items).toEqual([]);
    expect(msg.sealedItems.split('.')).toHaveLength(5);
    await expect(
      decryptForRecipient(msg.sealedItems, core.self.encryption.key, {
        processingNumber: request.processingNumber,
      }),
    ).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
    const opened = await createItemSealer(requester, sentArchive).open({
      processingNumber: request.processingNumber,
      providerId: PROVIDER,
      sealed: msg.sealedItems,
    });
    expect(opened.items.map((i) => i.itemNo)).toEqual([2]);
    // The provider signed the hash of the inquiry it answers: the requester finds its own inquiry.
    expect(opened.inquiry).toMatchObject({ requesterId: REQUESTER, providerId: PROVIDER, itemNos: [2] });
    // A requester that never sent that inquiry refuses the very same items.
    await expect(
      createItemSealer(requester, strangerArchive).open({
        processingNumber: request.processingNumber,
        providerId: PROVIDER,
        sealed: msg.sealedItems,
      }),
    ).rejects.toMatchObject({ code: 'ERR_ANSWER_MISMATCH' });
  });

  it('refuses to seal items that name no inquiry hash, which no requester could tie to its inquiry', async () => {
    const core = await trustOf('core');
    const requester = await trustOf(REQUESTER);
    const { inquiryHash: _omitted, ...request } = provisionRequest({
      requesterEncryptionCertificate: requester.self.encryption.certificatePem,
    });
    const jws = await signedAs(core, 'ProvisionRequest', request, PROVIDER);
    const answer = await attempt(institutionUrl(PROVIDER, '/network/v1/provision-requests'), {
      raw: jws,
      as: credentialOf(pkiDir, 'core'),
    });
    expect(answer).toMatchObject({ status: 409, code: 'ERR_ANSWER_MISMATCH' });
  });

  it('refuses to send items in clear when the request names no requester key', async () => {
    const core = await trustOf('core');
    const jws = await signedAs(core, 'ProvisionRequest', provisionRequest(), PROVIDER);
    const answer = await attempt(institutionUrl(PROVIDER, '/network/v1/provision-requests'), {
      raw: jws,
      as: credentialOf(pkiDir, 'core'),
    });
    expect(answer).toMatchObject({ status: 422, code: 'ERR_ENCRYPTION_REQUIRED' });
  });

  it('refuses to seal to a key whose certificate names another party than the requester', async () => {
    const core = await trustOf('core');
    const request = provisionRequest({ requesterEncryptionCertificate: core.self.encryption.certificatePem });
    const jws = await signedAs(core, 'ProvisionRequest', request, PROVIDER);
    const answer = await attempt(institutionUrl(PROVIDER, '/network/v1/provision-requests'), {
      raw: jws,
      as: credentialOf(pkiDir, 'core'),
    });
    expect(answer).toMatchObject({ status: 403, code: 'ERR_IDENTITY_MISMATCH' });
  });
});

// ── Hostile bodies ───────────────────────────────────────────────────────────────────────────

describe('hostile bodies', () => {
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

  it('refuses a body nested 50,000 deep with ERR_VALIDATION, not a 500', async () => {
    const result = await attempt(institutionUrl(REQUESTER, '/business/v1/inquiries'), {
      raw: `{"addresseeNumber":${deep(50_000)}}`,
      contentType: 'application/json',
      as: credentialOf(pkiDir, `${REQUESTER}:business`),
    });
    expect(result).toMatchObject({ status: 400, code: 'ERR_VALIDATION' });
  });

  it('refuses a signed message nested 50,000 deep as malformed, and records it', async () => {
    const requester = await trustOf(REQUESTER);
    const header = Buffer.from(
      JSON.stringify({ alg: 'ES256', kid: requester.self.kid, typ: 'renkei-message+jws' }),
    ).toString('base64url');
    const payload = Buffer.from(`{"msg":${deep(50_000)}}`).toString('base64url');
    await refusedAndRecorded('core', 'ERR_MESSAGE_MALFORMED', () =>
      attempt(coreUrl('/v1/inquiries'), {
        raw: `${header}.${payload}.AAAA`,
        as: credentialOf(pkiDir, REQUESTER),
      }),
    );
  });
});

// ── The core's side of mutual TLS ────────────────────────────────────────────────────────────

describe('the core as a client', () => {
  it('refuses to hand a provision request to a server whose certificate names another institution', async () => {
    const admin = network.admin();
    const provider = await admin.getInstitution({ params: { id: PROVIDER } });
    const impostor = network.institutions.get(REQUESTER)?.url ?? '';
    const registration = { name: provider.name, nameEn: provider.nameEn, kind: provider.kind };
    await admin.registerInstitution({
      params: { id: PROVIDER },
      body: { ...registration, networkUrl: impostor },
    });
    try {
      const clerk = network.institution(REQUESTER);
      const accepted = await clerk.inquire(clause74Inquiry(world.addresseeNumber('yamada-taro', REQUESTER)));
      const answer = await clerk.getInquiry({
        params: { processingNumber: accepted.processingNumber },
        query: { waitMs: 20_000 },
      });
      expect(answer).toMatchObject({ outcome: 'failed', reason: 'provider_unavailable' });
      expect(answer.items).toBeUndefined();
    } finally {
      await admin.registerInstitution({
        params: { id: PROVIDER },
        body: { ...registration, networkUrl: provider.networkUrl },
      });
    }
  });
});

describe('the access record (アクセス記録)', () => {
  /** The requester's own record of an inquiry, as its business API lists it. */
  async function recordOf(processingNumber: string) {
    const { records } = await network
      .institution(REQUESTER)
      .listProvisionRecords({ query: { role: 'requester', limit: 200 } });
    return records.find((r) => r.processingNumber === processingNumber);
  }

  /** The requester's logged events of one processing number (the Merkle log's leaves), parsed. */
  function loggedEvents(processingNumber: string): Record<string, unknown>[] {
    const db = new SQLite(join(dir, 'institutions', REQUESTER, 'intermediate.sqlite'), { readonly: true });
    try {
      return (
        db
          .prepare('SELECT body FROM record_events WHERE processing_number = ? ORDER BY idx')
          .all(processingNumber) as { body: string }[]
      ).map((r) => JSON.parse(r.body) as Record<string, unknown>);
    } finally {
      db.close();
    }
  }

  const inquiry = () => clause74Inquiry(world.addresseeNumber('yamada-taro', REQUESTER)).body;

  it('records the business credential that made each inquiry, from its certificate, in the logged event', async () => {
    const bySystem = await network.institution(REQUESTER).inquire({ body: inquiry() });
    expect((await recordOf(bySystem.processingNumber))?.requestedBy).toBe(`${REQUESTER}:business`);

    // A clerk with a credential of their own: the record names the clerk, not the institution's system.
    const clerk = `${REQUESTER}:clerk-0042`;
    await issuePartyCertificates({ dir: pkiDir, partyId: clerk, role: 'business', clock: systemClock });
    const byClerk = await attempt(institutionUrl(REQUESTER, '/business/v1/inquiries'), {
      json: inquiry(),
      as: credentialOf(pkiDir, clerk),
    });
    expect(byClerk.status).toBe(202);
    const { processingNumber } = JSON.parse(byClerk.text) as { processingNumber: string };
    expect((await recordOf(processingNumber))?.requestedBy).toBe(clerk);
    expect(loggedEvents(processingNumber)[0]).toMatchObject({ event: 'inquiry_sent', requestedBy: clerk });
  });

  it('takes who made it from the certificate only, never from the body', async () => {
    const claimed = await attempt(institutionUrl(REQUESTER, '/business/v1/inquiries'), {
      json: { ...inquiry(), requestedBy: `${REQUESTER}:clerk-0001` },
      as: credentialOf(pkiDir, `${REQUESTER}:business`),
    });
    expect(claimed.status).toBe(202);
    const { processingNumber } = JSON.parse(claimed.text) as { processingNumber: string };
    expect((await recordOf(processingNumber))?.requestedBy).toBe(`${REQUESTER}:business`);
  });
});

describe('renkei security events', () => {
  it("prints the refusals of every node's security log as a table, newest first", async () => {
    const run = await renkei('--data-dir', dir, 'security', 'events', '--node', 'core', '--limit', '2000');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('claimed (unverified)');
    expect(run.stdout).toMatch(
      /│ core\s+│ admin\.registerInstitution\s+│ -\s+│ -\s+│ ERR_CLIENT_CERT_REQUIRED/,
    );
    expect(run.stdout).toMatch(/│ core\s+│ core\.submitInquiry\s+│ 152048\s+│ -\s+│ ERR_IDENTITY_MISMATCH/);
    expect(run.stdout).toMatch(
      /│ core\s+│ admin\.listInstitutions\s+│ -\s+│ operator:registry:former\s+│ ERR_CERT_EXPIRED/,
    );
    const unknown = await renkei('--data-dir', dir, 'security', 'events', '--node', 'nowhere');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('No node "nowhere" has a security log');
  });
});

// ── Batches of inquiries (bulk inquiries) ────────────────────────────────────────────────────

describe('batches of inquiries', () => {
  it('refuses a batch submitted in another institution’s name', async () => {
    const provider = await trustOf(PROVIDER);
    const batch = {
      batchId: uuidv7(),
      requesterId: REQUESTER,
      providerId: PROVIDER,
      clauseNo: '74',
      procedureId: '074-01',
      itemNos: [2],
      nonDisclosure: false,
      personCodes: [personCodeAt(REQUESTER, heldAtProvider()[0] ?? '')],
    };
    const jws = await signedAs(provider, 'InquiryBatchRequest', batch, 'core');
    await refusedAndRecorded('core', 'ERR_IDENTITY_MISMATCH', () =>
      attempt(coreUrl('/v1/inquiry-batches'), { raw: jws, as: credentialOf(pkiDir, PROVIDER) }),
    );
  });

  it('refuses a tampered batch answer at the requester (items altered, a member added) and records those members failed; takes a genuine one', async () => {
    // The provider is made to hang (its address points at a server that never answers), so that the
    // batch's genuine answer does not come while the test plays the core that tampers with it.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const registration = await network.admin().getInstitution({ params: { id: PROVIDER } });
    const register = (networkUrl: string) =>
      attempt(coreUrl(`/admin/v1/institutions/${PROVIDER}`), {
        method: 'PUT',
        json: { name: registration.name, nameEn: registration.nameEn, kind: registration.kind, networkUrl },
        as: credentialOf(pkiDir, 'operator:registry:demo'),
      });
    expect((await register(`https://127.0.0.1:${(silent.address() as AddressInfo).port}`)).status).toBe(200);
    try {
      const residents = heldAtProvider();
      const clerk = network.institution(REQUESTER);
      const bulk = await clerk.submitBulkInquiry(
        clause74BulkInquiry(
          [0, 1, 2, 3].map((i) => world.addresseeNumber(residents[i % residents.length]!, REQUESTER)),
        ),
      );
      let results: { processingNumber?: string; outcome: string }[] = [];
      for (let i = 0; i < 100 && results.filter((r) => r.processingNumber).length < 4; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        results = (
          await clerk.getBulkResults({ params: { bulkNumber: bulk.bulkNumber }, query: { limit: 10 } })
        ).results;
      }
      const [a, b, c, d] = results.map((r) => r.processingNumber ?? '');
      expect(results.map((r) => r.outcome)).toEqual(['pending', 'pending', 'pending', 'pending']);
      // What the core received, from its archive: the batch and the hash of the requester's message.
      // (The archive writes every 50 ms: read until it has the batch.)
      let inquiry: ArchivedMessage | undefined;
      for (let i = 0; i < 50 && !inquiry; i++) {
        const kept = await readArchivedMessages(join(dir, 'core', 'messages.sqlite'), a ?? '');
        inquiry = kept.find((m) => m.type === 'InquiryBatchRequest');
        if (!inquiry) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const batchId = inquiry?.batchId ?? '';
      expect(batchId).not.toBe('');

      const provider = await trustOf(PROVIDER);
      const requester = await trustOf(REQUESTER);
      const archive = await openMessageArchive(join(strangers, `batch-${uuidv7()}.sqlite`));
      const item = heldCopyAt(PROVIDER, residents[0] ?? '');
      const seal = (members: string[]) =>
        createItemSealer(provider, archive).sealBatch({
          batchId,
          inquiryHash: inquiry?.hash ?? '',
          requesterId: REQUESTER,
          requesterCertificate: requester.self.encryption.certificatePem,
          members: members.map((processingNumber) => ({ processingNumber, items: [item] })),
        });
      const core = await trustOf('core');
      const deliver = async (provided: string[], sealedItems: string) => {
        const delivery = {
          batchId,
          members: provided.map((processingNumber) => ({ processingNumber, outcome: 'provided' })),
          items: [],
          sealedItems,
          answeredAt: new Date().toISOString(),
        };
        const jws = await signedAs(core, 'AnswerBatchDelivery', delivery, REQUESTER);
        return attempt(institutionUrl(REQUESTER, '/network/v1/answer-batches'), {
          raw: jws,
          as: credentialOf(pkiDir, 'core'),
        });
      };
      // Items altered on the way: the ciphertext no longer opens.
      const parts = (await seal([a ?? ''])).split('.');
      const body = parts[3] ?? '';
      parts[3] = `${body[0] === 'A' ? 'B' : 'A'}${body.slice(1)}`;
      expect((await deliver([a ?? ''], parts.join('.'))).status).toBe(204);
      // A member added: C claimed provided, though the provider sealed items for B only.
      expect((await deliver([b ?? '', c ?? ''], await seal([b ?? '']))).status).toBe(204);
      // The genuine answer for D is taken.
      expect((await deliver([d ?? ''], await seal([d ?? '']))).status).toBe(204);

      const status = (pn: string | undefined) =>
        clerk.getInquiry({ params: { processingNumber: pn ?? '' }, query: {} });
      expect(await status(a)).toMatchObject({ outcome: 'failed', reason: 'ERR_DECRYPTION_FAILED' });
      expect(await status(b)).toMatchObject({ outcome: 'failed', reason: 'ERR_ANSWER_MISMATCH' });
      expect(await status(c)).toMatchObject({ outcome: 'failed', reason: 'ERR_ANSWER_MISMATCH' });
      const genuine = await status(d);
      expect(genuine).toMatchObject({ outcome: 'provided' });
      expect(genuine.items).toEqual([item]);
      await archive.close();

      // Another institution cannot fetch the batch's answer: to it the batch does not exist.
      const stranger = await trustOf(PROVIDER);
      const fetch = await signedAs(stranger, 'AnswerBatchFetch', { requesterId: PROVIDER, batchId }, 'core');
      await refusedAndRecorded('core', 'ERR_UNKNOWN_BATCH', () =>
        attempt(coreUrl('/v1/answer-batch-fetches'), { raw: fetch, as: credentialOf(pkiDir, PROVIDER) }),
      );
      // Nor acknowledge it (which would end its delivery and drop the answer).
      const ack = await signedAs(
        stranger,
        'AnswerBatchAcknowledgement',
        { requesterId: PROVIDER, batchId },
        'core',
      );
      await refusedAndRecorded('core', 'ERR_UNKNOWN_BATCH', () =>
        attempt(coreUrl('/v1/answer-batch-acknowledgements'), {
          raw: ack,
          as: credentialOf(pkiDir, PROVIDER),
        }),
      );
    } finally {
      expect((await register(registration.networkUrl)).status).toBe(200);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

/** The copy of item 2 an institution holds of a resident, read from its file. */
function heldCopyAt(institutionId: string, resident: string) {
  const db = new SQLite(join(dir, 'institutions', institutionId, 'intermediate.sqlite'), { readonly: true });
  try {
    const row = db
      .prepare('SELECT data, layout_version FROM copies WHERE addressee_number = ? AND item_no = 2')
      .get(world.addresseeNumber(resident, institutionId)) as { data: string; layout_version: string };
    return {
      itemNo: 2,
      layoutVersion: row.layout_version,
      data: JSON.parse(row.data) as Record<string, unknown>,
    };
  } finally {
    db.close();
  }
}

/** Residents 三条市 knows and 新宿区 holds item 2 of. */
function heldAtProvider(): string[] {
  return DEMO_RESIDENTS.filter(
    (r) => r.knownAt.includes(REQUESTER) && r.copies[PROVIDER]?.[2] !== undefined,
  ).map((r) => r.key);
}
