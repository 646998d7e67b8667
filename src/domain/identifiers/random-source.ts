import { randomFillSync } from 'node:crypto';

/**
 * Where random digits come from: a function that fills a buffer with random bytes, like
 * `crypto.randomFillSync`. Generators take one so tests can pass a seeded source instead of mocking
 * the crypto module.
 */
export type RandomSource = (bytes: Uint8Array) => void;

/** The default: the operating system's cryptographically secure generator. */
export const secureRandom: RandomSource = (bytes) => {
  randomFillSync(bytes);
};

/**
 * A deterministic source for tests and reproducible demo data (xorshift32). Not for numbering real
 * residents: its output is predictable from the seed.
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0 || 0x9e3779b9;
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) {
      state ^= state << 13;
      state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5;
      state >>>= 0;
      bytes[i] = state & 0xff;
    }
  };
}

/**
 * `count` uniformly random decimal digits. Bytes of 250 and above are rejected rather than reduced
 * modulo 10, which would make the digits 0–5 slightly more likely than 6–9.
 */
export function randomDigits(count: number, random: RandomSource = secureRandom): string {
  let digits = '';
  const buffer = new Uint8Array(Math.max(16, count * 2));
  while (digits.length < count) {
    random(buffer);
    for (const byte of buffer) {
      if (byte < 250) digits += String(byte % 10);
      if (digits.length === count) break;
    }
  }
  return digits;
}
