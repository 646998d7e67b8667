/**
 * `deriveIndividualNumber` for whole batches, in a worker thread: HMAC-SHA256 of ten million resident
 * record codes costs about 16 s of CPU, which the second core does while the first writes.
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
const WEIGHTS = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];
parentPort.on('message', (codes) => {
  let out = '';
  for (let i = 0; i < codes.length; i += 11) {
    const digest = createHmac('sha256', key).update(codes.slice(i, i + 11), 'utf8').digest();
    let r = 0;
    for (let j = 0; j < 32; j += 2) r = (r * 65536 + ((digest[j] << 8) | digest[j + 1])) % 100000000000;
    const base = String(r).padStart(11, '0');
    let sum = 0;
    for (let j = 0; j < 11; j++) sum += (base.charCodeAt(j) - 48) * WEIGHTS[j];
    const m = sum % 11;
    out += base + (m <= 1 ? 0 : 11 - m);
  }
  parentPort.postMessage(out);
});
`;

export interface NumberDeriver {
  /** The Individual Number of each 11-digit resident record code, counter 0, in order. */
  derive(residentRecordCodes: readonly string[]): Promise<string[]>;
  close(): Promise<void>;
}

export function createNumberDeriver(key: Uint8Array): NumberDeriver {
  if (key.length < NUMBERING_KEY_BYTES) throw new TypeError('the numbering key is too short');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { key: Uint8Array.from(key) } });
  // The worker answers in the order it was asked.
  const waiting: { resolve: (numbers: string[]) => void; reject: (error: Error) => void }[] = [];
  const fail = (error: Error) => {
    for (const w of waiting.splice(0)) w.reject(error);
  };
  worker.on('message', (out: string) => {
    const numbers = new Array<string>(out.length / 12);
    for (let i = 0; i < numbers.length; i++) numbers[i] = out.slice(i * 12, i * 12 + 12);
    waiting.shift()?.resolve(numbers);
  });
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('the numbering worker stopped')));
  return {
    derive(codes) {
      if (codes.some((code) => code.length !== 11)) {
        return Promise.reject(new TypeError('resident record codes are 11 digits'));
      }
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        worker.postMessage(codes.join(''));
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
