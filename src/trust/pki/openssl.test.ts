/**
 * Our certificates, CRL and OCSP answers, checked by an independent implementation: the system's
 * OpenSSL (`/usr/bin/openssl`, 3.x), run as a relying party would run it. The clock is the real
 * time, since OpenSSL checks validity against it.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../shared/clock.ts';
import {
  OCSP_RESPONSE_STATUS,
  initPki,
  issuePartyCertificates,
  loadPki,
  pkiPaths,
  respondOcsp,
  revokeCertificate,
  type IssuedParty,
  type PkiView,
} from './index.ts';
import { pkijs } from './x509.ts';

const OPENSSL = '/usr/bin/openssl';

function openssl(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(OPENSSL, args, { encoding: 'utf8', timeout: 10_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

const temp = mkdtempSync(join(tmpdir(), 'renkei-pki-openssl-'));
const dir = join(temp, 'pki');
const paths = pkiPaths(dir);
const clock = fixedClock(new Date());
let chiyoda: IssuedParty;
let jps: IssuedParty;
let view: PkiView;
let server: Server;
let url: string;

beforeAll(async () => {
  await initPki({ dir, clock });
  chiyoda = await issuePartyCertificates({
    dir,
    partyId: '131016',
    role: 'institution',
    hosts: ['localhost', '127.0.0.1'],
    clock,
  });
  jps = await issuePartyCertificates({ dir, partyId: 'jps', role: 'institution', clock });
  await revokeCertificate({ dir, partyId: 'jps', reason: 'keyCompromise', clock });
  view = await loadPki({ dir, clock });
  // The core will mount this at POST /pki/v1/ocsp; here, a bare node:http server on any port.
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void respondOcsp(new Uint8Array(Buffer.concat(chunks)), view).then((answer) => {
        response.writeHead(200, { 'content-type': 'application/ocsp-response' });
        response.end(answer);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(temp, { recursive: true, force: true });
});

describe('openssl verify', () => {
  it('accepts a party certificate chained to our root through the issuing CA', async () => {
    const run = await openssl(
      'verify',
      '-CAfile',
      paths.rootCert,
      '-untrusted',
      paths.issuingCert,
      chiyoda.files.identityCert,
    );
    expect(run.output).toContain(': OK');
    expect(run.code).toBe(0);
  });

  it('accepts the identity certificate for TLS client and server, and not the OCSP responder’s', async () => {
    const verify = (purpose: string, cert: string) =>
      openssl(
        'verify',
        '-purpose',
        purpose,
        '-CAfile',
        paths.rootCert,
        '-untrusted',
        paths.issuingCert,
        cert,
      );
    for (const purpose of ['sslclient', 'sslserver']) {
      expect((await verify(purpose, chiyoda.files.identityCert)).code, purpose).toBe(0);
      const responder = await verify(purpose, paths.ocspCert);
      expect(responder.code, purpose).not.toBe(0);
      expect(responder.output).toContain('unsuitable certificate purpose');
    }
    // OpenSSL's TLS purposes also pass a keyAgreement certificate (static ECDH, from TLS 1.2), so
    // the encryption certificate would pass here: verifyPartyCertificate is what refuses it (verify.test.ts).
  });

  it('with -crl_check, accepts a valid certificate and rejects a revoked one', async () => {
    const crlCheck = ['verify', '-crl_check', '-CRLfile', paths.crlPem, '-CAfile', paths.rootCert];
    const valid = await openssl(...crlCheck, '-untrusted', paths.issuingCert, chiyoda.files.identityCert);
    expect(valid.code).toBe(0);
    const revoked = await openssl(...crlCheck, '-untrusted', paths.issuingCert, jps.files.identityCert);
    expect(revoked.code).not.toBe(0);
    expect(revoked.output).toContain('certificate revoked');
  });
});

describe('openssl crl', () => {
  it('verifies our CRL against the CA bundle', async () => {
    const run = await openssl('crl', '-in', paths.crlPem, '-CAfile', paths.caBundle, '-noout', '-verify');
    expect(run.output).toContain('verify OK');
    expect(run.code).toBe(0);
  });

  it('reads the DER CRL the core serves, with its number and the revoked serials', async () => {
    const run = await openssl('crl', '-inform', 'DER', '-in', paths.crlDer, '-noout', '-text');
    expect(run.output).toMatch(/X509v3 CRL Number:\s*\n\s*2\b/);
    expect(run.output).toContain(jps.identity.serial.toUpperCase());
    expect(run.output).toContain('Key Compromise');
  });
});

describe('openssl ocsp', () => {
  // OpenSSL wants options such as -sha256 before -cert: `extra` comes first.
  const ask = (certPath: string, ...extra: string[]) =>
    openssl(
      'ocsp',
      ...extra,
      '-issuer',
      paths.issuingCert,
      '-cert',
      certPath,
      '-url',
      url,
      '-CAfile',
      paths.caBundle,
    );

  it('says good for a valid certificate, and revoked (with time and reason) once it is revoked', async () => {
    const jlis = await issuePartyCertificates({ dir, partyId: 'jlis', role: 'jlis', clock });
    const before = await ask(jlis.files.identityCert, '-resp_text');
    expect(before.output).toContain('Response verify OK');
    expect(before.output).toContain(`${jlis.files.identityCert}: good`);

    await revokeCertificate({ dir, serial: jlis.identity.serial, reason: 'affiliationChanged', clock });
    const after = await ask(jlis.files.identityCert, '-resp_text');
    expect(after.output).toContain('Response verify OK');
    expect(after.output).toContain(`${jlis.files.identityCert}: revoked`);
    expect(after.output).toContain('Reason: affiliationChanged');
    expect(after.output).toContain('Revocation Time:');
  });

  it('signs with the delegated responder certificate, included in the answer, and echoes the nonce', async () => {
    const run = await ask(chiyoda.files.identityCert, '-resp_text');
    expect(run.output).toContain('Response verify OK');
    expect(run.output).toContain('OCSP Nonce');
    expect(run.output).not.toContain('WARNING: no nonce');
    expect(run.output).toContain('OCSP Signing');
    expect(run.output).toMatch(/This Update: .*\n\s*Next Update: /);
  });

  it('answers a request without a nonce, by SHA-256 CertID, verified against the responder as -VAfile', async () => {
    const run = await ask(chiyoda.files.encryptionCert, '-no_nonce', '-sha256', '-VAfile', paths.ocspCert);
    expect(run.output).toContain('Response verify OK');
    expect(run.output).toContain(`${chiyoda.files.encryptionCert}: good`);
  });

  it('refuses, as unauthorized, to answer for a certificate another issuer issued', async () => {
    // The issuing CA's own certificate, issued by the root: not ours to answer for.
    const run = await openssl('ocsp', '-issuer', paths.rootCert, '-cert', paths.issuingCert, '-url', url);
    expect(run.output).toContain('unauthorized');
  });
});

describe('respondOcsp', () => {
  function statusOf(answer: Uint8Array): number {
    return pkijs.OCSPResponse.fromBER(answer).responseStatus.valueBlock.valueDec;
  }

  it('answers unknown for a serial our issuing CA never issued', async () => {
    // A CertID for our issuer with a made-up serial: what a forged certificate copying our names would get.
    const issuer = pkijs.Certificate.fromBER(view.issuing.rawData);
    const forged = pkijs.Certificate.fromBER(chiyoda.identity.certificate.rawData);
    forged.serialNumber = new asn1js.Integer({ valueHex: new Uint8Array(16).fill(0x5a) });
    const certId = await pkijs.CertID.create(forged, { issuerCertificate: issuer, hashAlgorithm: 'SHA-1' });
    const request = new pkijs.OCSPRequest();
    request.tbsRequest.requestList = [new pkijs.Request({ reqCert: certId })];
    const answer = pkijs.OCSPResponse.fromBER(
      await respondOcsp(new Uint8Array(request.toSchema(true).toBER()), view),
    );
    expect(answer.responseStatus.valueBlock.valueDec).toBe(OCSP_RESPONSE_STATUS.successful);
    const basic = pkijs.BasicOCSPResponse.fromBER(answer.responseBytes!.response.valueBlock.valueHexView);
    const status = basic.tbsResponseData.responses[0]?.certStatus as asn1js.BaseBlock | undefined;
    expect(status?.idBlock.tagNumber).toBe(2); // unknown [2]
  });

  it('answers malformed bytes with a malformedRequest response, not an exception', async () => {
    for (const bytes of [
      new Uint8Array(),
      new TextEncoder().encode('not DER at all'),
      new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]),
      new Uint8Array(100_000),
    ]) {
      expect(statusOf(await respondOcsp(bytes, view))).toBe(OCSP_RESPONSE_STATUS.malformedRequest);
    }
  });
});
