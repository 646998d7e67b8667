import { describe, expect, it } from 'vitest';
import { randomDigits, seededRandom } from './random-source.ts';

describe('random digits', () => {
  it('repeats for the same seed and differs for another', () => {
    expect(randomDigits(20, seededRandom(42))).toBe(randomDigits(20, seededRandom(42)));
    expect(randomDigits(20, seededRandom(42))).not.toBe(randomDigits(20, seededRandom(43)));
  });

  it('rejects bytes of 250 and above rather than biasing the low digits', () => {
    // A source that yields 250..255 first must skip them: the first accepted byte is 7.
    const source = (bytes: Uint8Array) => {
      bytes.fill(7);
      bytes.set([250, 251, 255].slice(0, bytes.length));
    };
    expect(randomDigits(3, source)).toBe('777');
  });

  it('spreads digits evenly', () => {
    const digits = randomDigits(10_000, seededRandom(1));
    const counts = Array.from({ length: 10 }, (_, d) => digits.split(String(d)).length - 1);
    for (const count of counts) expect(count).toBeGreaterThan(900);
  });
});
