import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openMessageArchive, readArchivedMessages, type ArchivedMessage } from './message-archive.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function file(): string {
  const dir = mkdtempSync(join(tmpdir(), 'renkei-archive-'));
  dirs.push(dir);
  return join(dir, 'messages.sqlite');
}

function message(processingNumber: string | null, n: number): ArchivedMessage {
  return {
    processingNumber,
    direction: n % 2 === 0 ? 'sent' : 'received',
    type: 'InquiryRequest',
    sender: '152048',
    audience: 'core',
    id: `id-${String(n)}`,
    hash: `hash-${String(n)}`,
    inResponseTo: n % 2 === 0 ? null : `hash-${String(n - 1)}`,
    at: new Date(0).toISOString(),
    jws: `a.b.${String(n)}`,
    certificate: 'PEM',
  };
}

describe('message archive', () => {
  it('keeps messages in the order given and reads them back by exchange', async () => {
    const path = file();
    const archive = await openMessageArchive(path);
    archive.keep([message('pn-1', 0), message('pn-2', 1)]);
    archive.keep([message('pn-1', 2)]);
    expect((await archive.ofExchange('pn-1')).map((m) => m.id)).toEqual(['id-0', 'id-2']);
    expect(await archive.ofExchange('pn-2')).toEqual([message('pn-2', 1)]);
    await archive.close();
  });

  it('writes what is still buffered when closed, so a stopping node loses no message', async () => {
    const path = file();
    const archive = await openMessageArchive(path);
    archive.keep(Array.from({ length: 1_234 }, (_, n) => message('pn', n)));
    await archive.close();
    const read = await readArchivedMessages(path, 'pn');
    expect(read).toHaveLength(1_234);
    expect(read[1_233]?.id).toBe('id-1233');
    expect(() => archive.keep([message('pn', 0)])).toThrow(/closed/);
  });

  it('reports a failed write to onError and keeps going', async () => {
    const path = file();
    const errors: unknown[] = [];
    const archive = await openMessageArchive(path, { onError: (e) => errors.push(e) });
    // A row the table refuses (NOT NULL type), then a good one.
    archive.keep([{ ...message('pn', 0), type: null as unknown as string }]);
    await archive.flush();
    archive.keep([message('pn', 2)]);
    await archive.flush();
    expect(errors).toHaveLength(1);
    expect((await archive.ofExchange('pn')).map((m) => m.id)).toEqual(['id-2']);
    await archive.close();
  });
});
