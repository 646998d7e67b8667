/**
 * Figures, not a test: how long a CRL of 1,000 / 10,000 / 100,000 entries takes to sign (`signCrl`,
 * ECDSA P-256 as the network's CA and RSA 2048 as JPKI's) and to be taken in by a node
 * (`RevocationCache`: signature checked, entries read), with the load average at the start.
 *
 *   npx tsx bench/crl-figures.ts [entries…]     (default 1000 10000 100000)
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { loadavg } from 'node:os';
import { fixedClock } from '../src/shared/clock.ts';
import { signCrl, type RevokedEntry } from '../src/trust/pki/crl.ts';
import { RevocationCache } from '../src/trust/pki/revocation-cache.ts';
import { ECDSA_P256, SIGNING_ALGORITHM, x509 } from '../src/trust/pki/x509.ts';

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const sizes = process.argv.slice(2).map(Number);
const clock = fixedClock('2030-04-01T09:00:00Z');

async function ca(algorithm: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams) {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'O=Renkei network, CN=figures CA',
    keys,
    signingAlgorithm: 'hash' in algorithm ? RSA : SIGNING_ALGORITHM,
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2031-01-01T00:00:00Z'),
  });
  return { certificate, key: keys.privateKey };
}

function entries(n: number): RevokedEntry[] {
  const at = clock.now();
  return Array.from({ length: n }, (_, i) => ({
    serial: `${(0x40 + (i % 0x3f)).toString(16)}${randomBytes(15).toString('hex')}`,
    revokedAt: at,
    reason: i % 3 === 0 ? 'unspecified' : i % 3 === 1 ? 'superseded' : 'keyCompromise',
  }));
}

function derOf(signed: unknown): Uint8Array {
  if (signed instanceof Uint8Array) return signed;
  if (signed instanceof x509.X509Crl) return new Uint8Array(signed.rawData);
  return (signed as { der: Uint8Array }).der;
}

async function timed<T>(what: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await what();
  return [result, performance.now() - started];
}

const [l1, l5, l15] = loadavg().map((l) => l.toFixed(2));
console.log(`load average ${l1} ${l5} ${l15}, node ${process.version}`);
const network = await ca(ECDSA_P256);
const jpki = await ca({
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
});
for (const n of sizes.length > 0 ? sizes : [1_000, 10_000, 100_000]) {
  const revoked = entries(n);
  const [signed, signMs] = await timed(() =>
    signCrl({
      issuing: network.certificate,
      issuingKey: network.key,
      revoked,
      crlNumber: 1,
      now: clock.now(),
    }),
  );
  const [, rsaMs] = await timed(() =>
    signCrl({
      issuing: jpki.certificate,
      issuingKey: jpki.key,
      revoked,
      crlNumber: 1,
      now: clock.now(),
      signingAlgorithm: RSA,
    }),
  );
  const der = derOf(signed);
  const cache = new RevocationCache({
    load: () => Promise.resolve(der),
    issuing: network.certificate,
    clock,
  });
  const [parsed, parseMs] = await timed(() =>
    cache.refresh().then(
      () => cache.statusOf(revoked[n - 1]!.serial).then((s) => (s.revoked ? 'listed' : 'NOT LISTED')),
      (error: unknown) => `refused (${error instanceof Error ? error.message : String(error)})`,
    ),
  );
  const [, againMs] = await timed(() => cache.refresh().catch(() => undefined));
  console.log(
    `${n.toLocaleString('en')} entries, ${(der.byteLength / 1024).toFixed(0)} kB: sign ECDSA ${signMs.toFixed(0)} ms, RSA ${rsaMs.toFixed(0)} ms; RevocationCache takes it in ${parseMs.toFixed(0)} ms, last entry ${parsed}; the same bytes fetched again ${againMs.toFixed(0)} ms`,
  );
}
const [a1, a5, a15] = loadavg().map((l) => l.toFixed(2));
console.log(`load average at the end ${a1} ${a5} ${a15}`);
