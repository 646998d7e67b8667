import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateResidentRecordCode } from '../../domain/identifiers/resident-record-code.ts';
import { seededRandom } from '../../domain/identifiers/random-source.ts';
import { NumberSet } from './number-set.ts';
import { deriveIndividualNumber } from './numbering.ts';
import { createNumberDeriver } from './numbering-worker.ts';

describe('the numbering worker', () => {
  it.each([32, 100])(
    'derives exactly the numbers deriveIndividualNumber does, in order, batch after batch (a %i-byte key)',
    async (keyBytes) => {
      const key = randomBytes(keyBytes);
      const random = seededRandom(8);
      const batches = [5_000, 1, 3_000].map((n) =>
        Array.from({ length: n }, () => generateResidentRecordCode(random)),
      );
      const deriver = createNumberDeriver(key);
      try {
        const derived = await Promise.all(
          batches.map((codes) => deriver.derive(new Uint8Array(Buffer.from(codes.join(''), 'latin1')))),
        );
        batches.forEach((codes, b) => {
          expect(Array.from(derived[b]!, (n) => String(n).padStart(12, '0'))).toEqual(
            codes.map((code) => deriveIndividualNumber(key, code, 0)),
          );
        });
        await expect(deriver.derive(new Uint8Array(3))).rejects.toThrow(TypeError);
      } finally {
        await deriver.close();
      }
    },
  );

  it('refuses a key shorter than the numbering key', () => {
    expect(() => createNumberDeriver(new Uint8Array(16))).toThrow(TypeError);
  });
});

describe('NumberSet', () => {
  it('holds whole numbers up to 12 digits through its growth, and only those added', () => {
    const set = new NumberSet();
    const added: number[] = [];
    for (let i = 0; i < 20_000; i++) added.push(i * 37_171_117 + 13);
    for (const n of added) expect(set.add(n)).toBe(true);
    expect(set.add(added[123]!)).toBe(false);
    expect(set.size).toBe(20_000);
    expect(added.every((n) => set.has(n))).toBe(true);
    expect(set.has(0)).toBe(false);
    expect(set.add(0)).toBe(true);
    expect(set.has(0)).toBe(true);
    expect(set.has(999_999_999_999)).toBe(false);
    expect(() => set.add(-1)).toThrow(TypeError);
  });
});
