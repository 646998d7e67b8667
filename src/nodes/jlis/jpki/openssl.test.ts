/**
 * JPKI checked by an independent implementation, as a relying party would check it: the system's
 * OpenSSL verifies a card's certificates against J-LIS's chain, rejects a revoked one with the CRL
 * J-LIS serves, asks a running J-LIS's OCSP responder, and verifies a card's CMS signature. Skipped,
 * saying so, where `/usr/bin/openssl` is absent. Real time, since OpenSSL checks validity against it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResidentRecordCode } from '../../../domain/identifiers/resident-record-code.ts';
import { createClient } from '../../../protocol/api.ts';
import { httpTransport } from '../../../protocol/http-transport.ts';
import { coreApi } from '../../../protocol/routes.ts';
import { jstDate, systemClock } from '../../../shared/clock.ts';
import { nodeDatabase, openDatabase } from '../../../shared/db.ts';
import { listen } from '../../../shared/http.ts';
import { silentLogger } from '../../../shared/logger.ts';
import { x509 } from '../../../trust/pki/x509.ts';
import { createJlis, jpkiStoreOf, type Jlis } from '../jlis.ts';
import { createJpkiPublicationApp } from '../jpki-publication.ts';
import { createKyselyJlisStore, type JlisDatabase } from '../kysely-store.ts';
import { migrateJlisDatabase } from '../migrations.ts';
import { jpkiPaths, openJpkiAuthority } from './authority.ts';
import { createSignedData } from './cms.ts';
import type { JpkiIssued } from './port.ts';
import { makeTestCard, signer, yearsAfter, type TestCard } from './test-support.ts';

const OPENSSL = '/usr/bin/openssl';
const present = existsSync(OPENSSL);
if (!present) console.warn(`JPKI OpenSSL checks skipped: ${OPENSSL} is not installed.`);

function openssl(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(OPENSSL, args, { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

const temp = mkdtempSync(join(tmpdir(), 'renkei-jpki-openssl-'));
const paths = jpkiPaths(join(temp, 'jlis', 'jpki'));
const transport = httpTransport();
let db: Kysely<JlisDatabase>;
let jlis: Jlis;
let publication: FastifyInstance;
let url: string;
let card: TestCard;
let valid: JpkiIssued;
let lost: JpkiIssued;
let held: JpkiIssued;
const file = (name: string, data: Uint8Array | string) => {
  const path = join(temp, name);
  writeFileSync(path, data);
  return path;
};
const pem = (der: Uint8Array) => `${new x509.X509Certificate(der).toString('pem')}\n`;

beforeAll(async () => {
  if (!present) return;
  db = await openDatabase<JlisDatabase>(nodeDatabase(undefined, join(temp, 'jlis.sqlite'), 'jlis'));
  await migrateJlisDatabase(db);
  const authority = await openJpkiAuthority({ dir: paths.dir, clock: systemClock });
  jlis = createJlis({
    store: createKyselyJlisStore(db),
    clock: systemClock,
    logger: silentLogger(),
    core: createClient(coreApi, { transport, baseUrl: 'http://127.0.0.1:9', peer: 'core' }),
    jpki: { authority, store: jpkiStoreOf(db) },
  });
  publication = createJpkiPublicationApp(jlis.jpki!.certificates, authority, silentLogger());
  url = await listen(publication, 0);
  const issue = async (cardId: string, keys: TestCard) => {
    const { residentRecordCode } = await jlis.residents.registerResident({
      name: '鈴木 一郎',
      address: '北海道札幌市中央区北1条西2丁目',
      dateOfBirth: '1961-04-01',
      sex: 'male',
    });
    return jlis.jpki!.certificates.issuePair({
      residentRecordCode,
      cardId,
      fourInformation: {
        name: '鈴木 一郎',
        address: '北海道札幌市中央区北1条西2丁目',
        dateOfBirth: '1961-04-01',
        sex: 'male',
      },
      signingPublicKeySpki: keys.signingPublicKeySpki,
      authenticationPublicKeySpki: keys.authenticationPublicKeySpki,
      notAfter: yearsAfter(new Date(), 5),
    });
  };
  card = await makeTestCard();
  valid = await issue('card-valid', card);
  lost = await issue('card-lost', await makeTestCard());
  await jlis.jpki!.certificates.revokeForCard('card-lost', 'loss');
  held = await issue('card-held', await makeTestCard());
});

afterAll(async () => {
  if (present) {
    await publication.close();
    await db.destroy();
    await transport.close();
  }
  rmSync(temp, { recursive: true, force: true });
});

async function fetchCrl(kind: string): Promise<string> {
  const response = await fetch(`${url}/jpki/v1/crl/${kind}?format=pem`);
  expect(response.headers.get('content-type')).toContain('application/x-pem-file');
  return file(`${kind}-crl.pem`, await response.text());
}

describe.skipIf(!present)('openssl verify and crl, against J-LIS’s JPKI chain', () => {
  it('accepts a card’s signing and user-authentication certificates, the latter as a TLS client', async () => {
    const signing = await openssl(
      'verify',
      '-CAfile',
      paths.root.cert,
      '-untrusted',
      paths.ca.signing.cert,
      file('signing.pem', pem(valid.signing.certificateDer)),
    );
    expect(signing.output).toContain(': OK');
    const authentication = await openssl(
      'verify',
      '-purpose',
      'sslclient',
      '-CAfile',
      paths.root.cert,
      '-untrusted',
      paths.ca.authentication.cert,
      file('authentication.pem', pem(valid.authentication.certificateDer)),
    );
    expect(authentication.code).toBe(0);
  });

  it('with -crl_check and the CRL J-LIS serves, accepts a valid certificate and rejects a lost card’s', async () => {
    for (const kind of ['signing', 'authentication'] as const) {
      const crl = await fetchCrl(kind);
      const check = [
        'verify',
        '-crl_check',
        '-CRLfile',
        crl,
        '-CAfile',
        paths.root.cert,
        '-untrusted',
        paths.ca[kind].cert,
      ];
      const ok = await openssl(...check, file(`${kind}-valid.pem`, pem(valid[kind].certificateDer)));
      expect(ok.code, ok.output).toBe(0);
      const revoked = await openssl(...check, file(`${kind}-lost.pem`, pem(lost[kind].certificateDer)));
      expect(revoked.code).not.toBe(0);
      expect(revoked.output).toContain('certificate revoked');
    }
  });

  it('reads the DER CRL, signed by the issuing CA, with the reason of the lost card', async () => {
    const response = await fetch(`${url}/jpki/v1/crl/signing`);
    expect(response.headers.get('content-type')).toBe('application/pkix-crl');
    const der = file('signing-crl.der', new Uint8Array(await response.arrayBuffer()));
    const run = await openssl(
      'crl',
      '-inform',
      'DER',
      '-in',
      der,
      '-CAfile',
      paths.bundle,
      '-noout',
      '-text',
      '-verify',
    );
    expect(run.output).toContain('verify OK');
    expect(run.output).toContain(lost.signing.serial.toUpperCase());
    expect(run.output).toContain('Key Compromise');
    expect(run.output).toContain('sha256WithRSAEncryption');
  });
});

describe.skipIf(!present)('openssl ocsp, against a running J-LIS', () => {
  const ask = (kind: 'signing' | 'authentication', cert: string) =>
    openssl(
      'ocsp',
      '-issuer',
      paths.ca[kind].cert,
      '-cert',
      cert,
      '-url',
      `${url}/jpki/v1/ocsp`,
      '-CAfile',
      paths.bundle,
      '-resp_text',
    );

  it('says good, then revoked with time and reason once the holder moves (signing only)', async () => {
    const signing = file('ocsp-signing.pem', pem(valid.signing.certificateDer));
    const authentication = file('ocsp-authentication.pem', pem(valid.authentication.certificateDer));
    const before = await ask('signing', signing);
    expect(before.output).toContain('Response verify OK');
    expect(before.output).toContain(`${signing}: good`);
    const record = await jlis.jpki!.certificates.find(valid.signing.serial);
    await jlis.residents.recordChange({
      residentRecordCode: parseResidentRecordCode(record!.residentRecordCode),
      change: 'move_in',
      effectiveDate: jstDate(systemClock.now()),
      address: '大阪府大阪市北区中之島1丁目3番20号',
    });
    const after = await ask('signing', signing);
    expect(after.output).toContain('Response verify OK');
    expect(after.output).toContain(`${signing}: revoked`);
    expect(after.output).toContain('Reason: affiliationChanged');
    const untouched = await ask('authentication', authentication);
    expect(untouched.output).toContain('Response verify OK');
    expect(untouched.output).toContain(`${authentication}: good`);
  });

  it('answers for the user-authentication CA with its own responder: a lost card’s is revoked', async () => {
    const cert = file('ocsp-lost.pem', pem(lost.authentication.certificateDer));
    const run = await ask('authentication', cert);
    expect(run.output).toContain('Response verify OK');
    expect(run.output).toContain(`${cert}: revoked`);
    expect(run.output).toContain('Reason: keyCompromise');
  });
});

describe.skipIf(!present)('a certificate on hold (一時保留), as OpenSSL reads it', () => {
  const verifyCommand = (kind: 'signing' | 'authentication', crl: string) => [
    'verify',
    '-crl_check',
    '-CRLfile',
    crl,
    '-CAfile',
    paths.root.cert,
    '-untrusted',
    paths.ca[kind].cert,
  ];
  const ocspOf = (kind: 'signing' | 'authentication', cert: string) =>
    openssl(
      'ocsp',
      '-issuer',
      paths.ca[kind].cert,
      '-cert',
      cert,
      '-url',
      `${url}/jpki/v1/ocsp`,
      '-CAfile',
      paths.bundle,
      '-resp_text',
    );

  it('fails verify -crl_check and reads as revoked/certificateHold in crl and ocsp while held, and passes again once released', async () => {
    const certificates = jlis.jpki!.certificates;
    await certificates.holdForCard('card-held');
    for (const kind of ['signing', 'authentication'] as const) {
      const cert = file(`held-${kind}.pem`, pem(held[kind].certificateDer));
      const crl = await fetchCrl(kind);
      const refused = await openssl(...verifyCommand(kind, crl), cert);
      expect(refused.code, refused.output).not.toBe(0);
      expect(refused.output).toContain('certificate revoked');
      const text = await openssl('crl', '-in', crl, '-CAfile', paths.bundle, '-noout', '-text', '-verify');
      expect(text.output).toContain('verify OK');
      expect(text.output).toContain(held[kind].serial.toUpperCase());
      expect(text.output).toContain('Certificate Hold');
      const answer = await ocspOf(kind, cert);
      expect(answer.output).toContain('Response verify OK');
      expect(answer.output).toContain(`${cert}: revoked`);
      expect(answer.output).toContain('Reason: certificateHold');
    }

    await certificates.releaseForCard('card-held');
    for (const kind of ['signing', 'authentication'] as const) {
      const cert = file(`released-${kind}.pem`, pem(held[kind].certificateDer));
      const crl = await fetchCrl(kind);
      const accepted = await openssl(...verifyCommand(kind, crl), cert);
      expect(accepted.code, accepted.output).toBe(0);
      const text = await openssl('crl', '-in', crl, '-noout', '-text');
      expect(text.output).not.toContain(held[kind].serial.toUpperCase());
      const answer = await ocspOf(kind, cert);
      expect(answer.output).toContain('Response verify OK');
      expect(answer.output).toContain(`${cert}: good`);
    }
  });
});

describe.skipIf(!present)('openssl cms -verify, of a signature a card made', () => {
  const consent = new TextEncoder().encode('{"relyingPartyId":"bank","purpose":"口座開設"}');

  it('verifies an attached SignedData to the JPKI root and gives back the content', async () => {
    const signed = await createSignedData({
      content: consent,
      certificate: valid.signing.certificateDer,
      sign: signer(card.signing.privateKey),
    });
    const run = await openssl(
      'cms',
      '-verify',
      '-inform',
      'DER',
      '-in',
      file('attached.p7s', signed),
      // OpenSSL 3.0's cms has no -untrusted: the bundle (issuing CAs and root) is the trust store.
      '-CAfile',
      paths.bundle,
      '-purpose',
      'any',
    );
    expect(run.output).toContain('Verification successful');
    expect(run.output).toContain('口座開設');
  });

  it('verifies a detached signature over the content, and refuses it over other content', async () => {
    const signed = file(
      'detached.p7s',
      await createSignedData({
        content: consent,
        certificate: valid.signing.certificateDer,
        sign: signer(card.signing.privateKey),
        detached: true,
      }),
    );
    const verify = (content: string) =>
      openssl(
        'cms',
        '-verify',
        '-binary',
        '-inform',
        'DER',
        '-in',
        signed,
        '-content',
        content,
        // OpenSSL 3.0's cms has no -untrusted: the bundle (issuing CAs and root) is the trust store.
        '-CAfile',
        paths.bundle,
        '-purpose',
        'any',
        '-out',
        join(temp, 'out'),
      );
    const ok = await verify(file('consent.json', consent));
    expect(ok.output).toContain('Verification successful');
    const tampered = await verify(
      file(
        'tampered.json',
        consent.map((b) => (b === 0x62 ? 0x42 : b)), // bank → bAnk
      ),
    );
    expect(tampered.code).not.toBe(0);
    expect(tampered.output).toContain('Verification failure');
  });
});
