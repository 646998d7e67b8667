/**
 * `deriveIndividualNumber` for whole batches, in a worker thread: HMAC-SHA256 of ten million resident
 * record codes costs about 16 s of CPU, which the second core does while the first reads and checks the
 * file (bulk numbering derives every number during the file's check, `service/bulk-numbering.ts`).
 *
 * The codes cross as their ASCII bytes (11 a code, the buffer transferred, not copied) and the numbers
 * come back as doubles (a Float64Array, transferred): a string a code each way, and their structured
 * clone, were a tenth of the derivation's cost.
 *
 * The worker's code is a string (run with `eval`) because the CLI ships as one esbuild bundle, in which
 * no separate worker file exists. It repeats `numbering.ts` (the digest read big-endian and reduced
 * modulo 10¹¹ sixteen bits at a time in doubles, exact since 10¹¹ × 2¹⁶ < 2⁵³: the same as BigInt, faster) and
 * the official check digit; `numbering-worker.test.ts` holds it to both. Only counter 0 is derived here:
 * a collision (one resident in ten thousand per million numbered) is derived again in the caller.
 */
import { Worker } from 'node:worker_threads';
import { NUMBERING_KEY_BYTES } from './numbering.ts';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
const key = Buffer.from(workerData.key);
parentPort.on('message', (codes) => {
  const bytes = Buffer.from(codes.buffer, codes.byteOffset, codes.byteLength);
  const numbers = new Float64Array(bytes.length / 11);
  for (let i = 0, k = 0; i < bytes.length; i += 11, k++) {
    const digest = createHmac('sha256', key).update(bytes.subarray(i, i + 11)).digest();
    let r = 0;
    for (let j = 0; j < 32; j += 2) r = (r * 65536 + ((digest[j] << 8) | digest[j + 1])) % 100000000000;
    // The check digit: weights 2,3,4,5,6,7,2,3,4,5,6 from the rightmost digit of the base.
    let sum = 0;
    for (let j = 0, rest = r; j < 11; j++, rest = Math.floor(rest / 10)) sum += (rest % 10) * ((j % 6) + 2);
    const m = sum % 11;
    numbers[k] = r * 10 + (m <= 1 ? 0 : 11 - m);
  }
  parentPort.postMessage(numbers, [numbers.buffer]);
});
`;

export interface NumberDeriver {
  /**
   * The Individual Number (counter 0) of each resident record code in `codes`, 11 ASCII digits each
   * one after the other, in order, as a whole number (its 12 digits read as one). `codes` is handed
   * over: its buffer is the worker's from then on.
   */
  derive(codes: Uint8Array): Promise<Float64Array>;
  close(): Promise<void>;
}

export function createNumberDeriver(key: Uint8Array): NumberDeriver {
  if (key.length < NUMBERING_KEY_BYTES) throw new TypeError('the numbering key is too short');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { key: Uint8Array.from(key) } });
  // The worker answers in the order it was asked.
  const waiting: { resolve: (numbers: Float64Array) => void; reject: (error: Error) => void }[] = [];
  let stopped: Error | undefined;
  const fail = (error: Error) => {
    stopped ??= error;
    for (const w of waiting.splice(0)) w.reject(error);
  };
  worker.on('message', (numbers: Float64Array) => waiting.shift()?.resolve(numbers));
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('the numbering worker stopped')));
  return {
    derive(codes) {
      if (codes.length % 11 !== 0)
        return Promise.reject(new TypeError('resident record codes are 11 digits'));
      if (stopped) return Promise.reject(stopped);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        // Transferred whole: a view on part of a larger buffer is copied out first.
        const own =
          codes.byteOffset === 0 && codes.byteLength === codes.buffer.byteLength ? codes : codes.slice();
        worker.postMessage(own, [own.buffer as ArrayBuffer]);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
