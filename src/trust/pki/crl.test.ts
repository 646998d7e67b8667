/**
 * Signing and reading CRLs of any size: the same bytes as @peculiar/x509's generator, in linear
 * time; a list of 20,000 entries taken in by a node's RevocationCache (asn1js's default limits
 * refused one of about 1,350); the signature checked before the list is parsed; and the network's
 * list bounded by the certificates' notAfter.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../shared/clock.ts';
import { CRL_REASON_CODES, type CertificateIndex, type CertificateRecord } from './ca-index.ts';
import { CrlRefused, buildCrl, openCrl, readCrl, signCrl, type RevokedEntry } from './crl.ts';
import { OID_CRL_NUMBER } from './profiles.ts';
import { RevocationCache } from './revocation-cache.ts';
import { ECDSA_P256, SIGNING_ALGORITHM, x509 } from './x509.ts';

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const clock = fixedClock('2030-04-01T09:00:00Z');
const DAY_MS = 86_400_000;

interface TestCa {
  certificate: x509.X509Certificate;
  key: CryptoKey;
}
let network: TestCa;
let impostor: TestCa;
let jpki: TestCa;

async function makeCa(
  algorithm: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams,
  name = 'O=Renkei network, CN=test issuing CA',
): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    signingAlgorithm: 'hash' in algorithm ? RSA : SIGNING_ALGORITHM,
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2031-01-01T00:00:00Z'),
  });
  return { certificate, key: keys.privateKey };
}

beforeAll(async () => {
  network = await makeCa(ECDSA_P256);
  impostor = await makeCa(ECDSA_P256); // the same name, another key
  jpki = await makeCa(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    'C=JP, O=JPKI, CN=test signing CA',
  );
});

/** `n` entries with random 16-byte serials (some with the top bit set), revoked at the clock's time. */
function entries(
  n: number,
  reason: (i: number) => RevokedEntry['reason'] = () => 'superseded',
): RevokedEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    serial:
      randomBytes(16)
        .toString('hex')
        .replace(/^(?:00)+/, '') || '01',
    revokedAt: new Date(clock.now().getTime() - i * 1000),
    reason: reason(i),
  }));
}

function cacheOf(der: Uint8Array, issuing = network.certificate): RevocationCache {
  return new RevocationCache({ load: () => Promise.resolve(der), issuing, clock });
}

describe('signCrl', () => {
  it('signs the bytes @peculiar/x509’s generator signed, for every reason (RSA signatures are deterministic)', async () => {
    const reasons = Object.keys(CRL_REASON_CODES).filter(
      (r) => r !== 'unspecified',
    ) as RevokedEntry['reason'][];
    const revoked = entries(40, (i) => reasons[i % reasons.length]!);
    revoked.push({ serial: '80', revokedAt: clock.now(), reason: 'keyCompromise' }); // top bit: a leading zero octet
    revoked.push({ serial: '01', revokedAt: new Date('2051-02-03T04:05:06.789Z'), reason: 'superseded' }); // GeneralizedTime
    const now = clock.now();
    const ours = await signCrl({
      issuing: jpki.certificate,
      issuingKey: jpki.key,
      revoked,
      crlNumber: 7,
      now,
      lifetimeMs: DAY_MS,
      signingAlgorithm: RSA,
    });
    const theirs = await x509.X509CrlGenerator.create({
      issuer: jpki.certificate.subjectName,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + DAY_MS),
      signingAlgorithm: RSA,
      signingKey: jpki.key,
      entries: revoked.map((e) => ({
        serialNumber: e.serial,
        revocationDate: e.revokedAt,
        reason: CRL_REASON_CODES[e.reason],
      })),
      extensions: [
        await x509.AuthorityKeyIdentifierExtension.create(jpki.certificate.publicKey, false),
        new x509.Extension(OID_CRL_NUMBER, false, new asn1js.Integer({ value: 7 }).toBER()),
      ],
    });
    expect(Buffer.from(ours.der).toString('hex')).toBe(Buffer.from(theirs.rawData).toString('hex'));
  });

  it('writes no entry extensions for an unspecified reason (RFC 5280: the reasonCode is then absent)', async () => {
    const signed = await signCrl({
      issuing: network.certificate,
      issuingKey: network.key,
      revoked: [{ serial: 'abcd', revokedAt: clock.now(), reason: 'unspecified' }],
      crlNumber: 1,
      now: clock.now(),
    });
    const entry = openCrl(signed.der, network.certificate).findRevoked('abcd');
    expect(entry?.reason).toBeUndefined();
    expect(entry?.extensions).toEqual([]);
  });

  it('refuses a serial listed twice', async () => {
    const revoked = [
      ...entries(2),
      { serial: 'abcd', revokedAt: clock.now(), reason: 'superseded' as const },
    ];
    revoked.push({ ...revoked[2]! });
    await expect(
      signCrl({
        issuing: network.certificate,
        issuingKey: network.key,
        revoked,
        crlNumber: 1,
        now: clock.now(),
      }),
    ).rejects.toThrow(/listed twice/);
  });
});

describe('a CRL of 20,000 entries', () => {
  let revoked: RevokedEntry[];
  let der: Uint8Array;
  beforeAll(async () => {
    revoked = entries(20_000, (i) => (i % 4 === 0 ? 'unspecified' : 'keyCompromise'));
    der = (
      await signCrl({
        issuing: network.certificate,
        issuingKey: network.key,
        revoked,
        crlNumber: 3,
        now: clock.now(),
      })
    ).der;
  }, 120_000);

  it('is taken in by a node’s RevocationCache, first and last entries listed with their reasons', async () => {
    const cache = cacheOf(der);
    await cache.refresh();
    expect(await cache.statusOf(revoked[0]!.serial)).toEqual({
      revoked: true,
      revokedAt: revoked[0]!.revokedAt,
      reason: undefined,
    });
    expect(await cache.statusOf(revoked[19_999]!.serial)).toEqual({
      revoked: true,
      revokedAt: revoked[19_999]!.revokedAt,
      reason: x509.X509CrlReason.keyCompromise,
    });
    expect(await cache.statusOf('0123456789abcdef')).toEqual({ revoked: false });
  }, 120_000);

  it('needs asn1js’s limits raised: refused under the defaults, one list when raised to its size', () => {
    const parsed = asn1js.fromBER(der, { maxNodes: der.byteLength, maxContentLength: der.byteLength });
    expect(parsed.offset).toBe(der.byteLength);
    // Under asn1js's default limits the same bytes are refused: what every node did before.
    expect(asn1js.fromBER(der).offset).toBe(-1);
  }, 120_000);

  it('is refused, before being parsed, when one entry is altered or another CA signed it', async () => {
    const altered = new Uint8Array(der);
    altered[Math.floor(der.byteLength / 2)]! ^= 0x01;
    expect(() => openCrl(altered, network.certificate)).toThrow(
      new CrlRefused('it is not signed by the issuing CA'),
    );
    expect(() => openCrl(der, impostor.certificate)).toThrow(
      new CrlRefused('it is not signed by the issuing CA'),
    );
    await expect(cacheOf(altered).refresh()).rejects.toMatchObject({ code: 'ERR_REVOCATION_UNAVAILABLE' });
  }, 120_000);
});

describe('openCrl', () => {
  let der: Uint8Array;
  beforeAll(async () => {
    der = (
      await signCrl({
        issuing: network.certificate,
        issuingKey: network.key,
        revoked: entries(3),
        crlNumber: 1,
        now: clock.now(),
      })
    ).der;
  });

  it('refuses bytes that are not one DER CertificateList: trailing bytes, truncation, indefinite length', () => {
    const notCrl = new CrlRefused('it is not a CRL');
    expect(() => openCrl(Buffer.concat([der, Buffer.of(0)]), network.certificate)).toThrow(notCrl);
    expect(() => openCrl(der.subarray(0, der.byteLength - 1), network.certificate)).toThrow(notCrl);
    expect(() =>
      openCrl(Buffer.concat([Buffer.of(0x30, 0x80), der.subarray(4), Buffer.of(0, 0)]), network.certificate),
    ).toThrow(notCrl);
    expect(() => openCrl(new Uint8Array(), network.certificate)).toThrow(notCrl);
  });

  it('refuses a CRL whose outer signature algorithm is not the one inside what was signed', () => {
    // Outer AlgorithmIdentifier ecdsa-with-SHA256 (…04 03 02) rewritten to ecdsa-with-SHA384 (…04 03 03).
    const swapped = Buffer.from(der);
    const outer = swapped.lastIndexOf(Buffer.from('06082a8648ce3d040302', 'hex'));
    swapped[outer + 9] = 0x03;
    expect(() => openCrl(swapped, network.certificate)).toThrow(new CrlRefused('it is not a CRL'));
  });

  it('accepts the PEM form', () => {
    const pem = x509.PemConverter.encode(new Uint8Array(der).buffer, 'X509 CRL');
    expect(openCrl(Buffer.from(pem, 'latin1'), network.certificate).entries).toHaveLength(3);
  });
});

describe('readCrl (the list a relying party needs, read from the DER directly)', () => {
  /** A CRL signed by @peculiar/x509's generator: bytes we did not write. */
  async function theirs(extensions: x509.Extension[], revoked = entries(5)): Promise<Uint8Array> {
    const crl = await x509.X509CrlGenerator.create({
      issuer: network.certificate.subjectName,
      thisUpdate: clock.now(),
      nextUpdate: new Date(clock.now().getTime() + DAY_MS),
      signingAlgorithm: SIGNING_ALGORITHM,
      signingKey: network.key,
      entries: revoked.map((e) => ({
        serialNumber: e.serial,
        revocationDate: e.revokedAt,
        reason: CRL_REASON_CODES[e.reason],
      })),
      extensions,
    });
    return new Uint8Array(crl.rawData);
  }
  const crlNumber = (n: number) =>
    new x509.Extension(OID_CRL_NUMBER, false, new asn1js.Integer({ value: n }).toBER());

  it('reads what @peculiar/x509 reads: every entry’s serial, date and reason, the number and the period', async () => {
    const reasons = Object.keys(CRL_REASON_CODES) as RevokedEntry['reason'][];
    const revoked = entries(60, (i) => reasons[i % reasons.length]!);
    revoked.push({ serial: '80', revokedAt: clock.now(), reason: 'keyCompromise' });
    revoked.push({ serial: '01', revokedAt: new Date('2051-02-03T04:05:06Z'), reason: 'superseded' });
    for (const der of [
      (
        await signCrl({
          issuing: network.certificate,
          issuingKey: network.key,
          revoked,
          crlNumber: 9,
          now: clock.now(),
        })
      ).der,
      await theirs([crlNumber(9)], revoked),
    ]) {
      const ours = readCrl(der, network.certificate);
      const reference = openCrl(der, network.certificate);
      expect(ours.crlNumber).toBe(9n);
      expect(ours.thisUpdate).toEqual(reference.thisUpdate);
      expect(ours.nextUpdate).toEqual(reference.nextUpdate);
      expect(ours.entries.size).toBe(revoked.length);
      for (const entry of reference.entries) {
        const serial = entry.serialNumber.replace(/^(?:00)+(?=[0-9a-f])/, '');
        expect(ours.entries.get(serial)).toEqual({ revokedAt: entry.revocationDate, reason: entry.reason });
      }
      expect(ours.entries.get('80')?.reason).toBe(x509.X509CrlReason.keyCompromise);
      expect(ours.entries.get('01')?.revokedAt).toEqual(new Date('2051-02-03T04:05:06Z'));
    }
  });

  it('reads an empty list', async () => {
    const der = (
      await signCrl({
        issuing: network.certificate,
        issuingKey: network.key,
        revoked: [],
        crlNumber: 2,
        now: clock.now(),
      })
    ).der;
    expect(readCrl(der, network.certificate).entries.size).toBe(0);
  });

  it('refuses, fail closed, a CRL with an unknown critical extension or without a cRLNumber; another CA’s or altered bytes', async () => {
    const unknown = (critical: boolean) =>
      new x509.Extension('1.2.3.4.5', critical, new asn1js.Null().toBER());
    expect(() => readCrl(new Uint8Array(0), network.certificate)).toThrow(new CrlRefused('it is not a CRL'));
    const lenient = await theirs([crlNumber(1), unknown(false)]);
    const strict = await theirs([crlNumber(1), unknown(true)]);
    const unnumbered = await theirs([]);
    expect(readCrl(lenient, network.certificate).crlNumber).toBe(1n);
    expect(() => readCrl(strict, network.certificate)).toThrow(
      new CrlRefused('it has a critical extension we do not know'),
    );
    expect(() => readCrl(unnumbered, network.certificate)).toThrow(
      new CrlRefused('it lacks a CRL number or nextUpdate'),
    );
    const der = await theirs([crlNumber(1)]);
    expect(() => readCrl(der, impostor.certificate)).toThrow(
      new CrlRefused('it is not signed by the issuing CA'),
    );
    const altered = new Uint8Array(der);
    altered[Math.floor(altered.byteLength / 2)]! ^= 0x01; // within the entries
    expect(() => readCrl(altered, network.certificate)).toThrow(
      new CrlRefused('it is not signed by the issuing CA'),
    );
  });
});

describe('buildCrl (the network’s CRL)', () => {
  function record(
    serial: string,
    notAfter: string,
    status: 'valid' | 'revoked' = 'revoked',
  ): CertificateRecord {
    return {
      serial,
      partyId: '131016',
      role: 'institution',
      kind: 'identity',
      notBefore: '2029-04-01T00:00:00.000Z',
      notAfter,
      issuedAt: '2029-04-01T00:00:00.000Z',
      status,
      revokedAt: status === 'revoked' ? '2030-01-01T00:00:00.000Z' : null,
      reason: status === 'revoked' ? 'superseded' : null,
    };
  }

  it('lists a revoked certificate until a CRL lifetime (a day) after its notAfter, then leaves it out', async () => {
    const index: CertificateIndex = {
      version: 1,
      crlNumber: 4,
      certificates: [
        record('0a', '2030-03-30T08:00:00.000Z'), // expired two days ago: off
        record('0b', '2030-03-31T10:00:00.000Z'), // expired 23 hours ago: still on
        record('0c', '2031-01-01T00:00:00.000Z'), // not expired: on
        record('0d', '2031-01-01T00:00:00.000Z', 'valid'),
      ],
    };
    const signed = await buildCrl({
      issuing: network.certificate,
      issuingKey: network.key,
      index,
      crlNumber: 5,
      now: clock.now(),
    });
    const crl = openCrl(signed.der, network.certificate);
    expect(crl.entries.map((e) => e.serialNumber.toLowerCase())).toEqual(['0b', '0c']);
    expect(signed.entries).toBe(2);
  });
});
