/**
 * The clerk console (窓口端末) over real HTTP, on a whole institution node started as in production,
 * run once per dialect (vitest.config.ts's STORAGE_SUITES). Its intake sheets (受付票) are kept in the
 * intermediate server's database: stopped and started again on the same files (or PostgreSQL
 * schemas), the node still shows a sheet to the clerk who made it, never to another clerk of the same
 * institution, and not once the working day is over; no Individual Number is in the table. And what
 * each POST answers (the intake sheet, a refused form, a bulk inquiry's progress) is in English under
 * the English switch, in Japanese alone without.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadLegalTable } from '../../../domain/legal-table/index.ts';
import { fixedClock, type Clock } from '../../../shared/clock.ts';
import { nodeDatabase, openDatabase } from '../../../shared/db.ts';
import { testDialect } from '../../../shared/test-databases.ts';
import { AccountService } from '../../../shared/web/console/accounts.ts';
import { createKyselyConsoleStore, type ConsoleDatabase } from '../../../shared/web/console/kysely-store.ts';
import { CHROME } from '../../../shared/web/console/messages.ts';
import type { MessageTable } from '../../../shared/web/lang.ts';
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import { INSTITUTION_ID, startHarness, type Harness } from '../test-support.ts';
import type { IntakeDatabase } from './kysely-intake-store.ts';
import { CLERK } from './messages.ts';

const FAST = { log2N: 10, r: 8, p: 1 };
const PASSWORD = 'correct horse battery';

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
});

/** Cookies as a browser keeps them, over real HTTP. */
class Jar {
  private readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }
  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** 新宿区's node with its clerk console (one clerk, clerk-a, named `clerkName`), closed after the test. */
async function startShinjukuConsole(
  clock: Clock,
  clerkName: string,
  legalTable: LegalTable = loadLegalTable(),
): Promise<Harness> {
  const h = await startHarness({
    clock,
    legalTable,
    console: {
      port: 0,
      name: '新宿区',
      directory: [{ id: '152048', name: '三条市', kind: 'municipality' }],
      demoClerk: { accountId: 'clerk-a', displayName: clerkName, password: PASSWORD },
      scrypt: FAST,
    },
  });
  harnesses.push(h);
  return h;
}

function consoleUrl(h: Harness): string {
  const url = h.node.consoleUrl;
  if (!url) throw new Error('the node has no console');
  return url;
}

async function login(h: Harness, loginId: string, password: string, lang?: 'en') {
  const jar = new Jar();
  if (lang) jar.set('lang', lang);
  const form = await fetch(`${consoleUrl(h)}/login`);
  jar.take(form);
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? '';
  const done = await fetch(`${consoleUrl(h)}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header },
    body: new URLSearchParams({ _csrf: token, loginId, password }).toString(),
  });
  expect(done.status).toBe(303);
  jar.take(done);
  return {
    async get(path: string) {
      const response = await fetch(`${consoleUrl(h)}${path}`, {
        redirect: 'manual',
        headers: { cookie: jar.header },
      });
      jar.take(response);
      return { status: response.status, body: await response.text() };
    },
    /** A form posted from the page `from` shows (its CSRF token); the redirect's target. */
    async post(from: string, path: string, fields: Record<string, string>) {
      const page = await this.get(from);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const response = await fetch(`${consoleUrl(h)}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header },
        body: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
      });
      jar.take(response);
      const location = response.headers.get('location') ?? '';
      return { status: response.status, location, body: await response.text() };
    },
  };
}

/** The node's intermediate database, opened while the node is stopped. */
async function intermediateDatabase(h: Harness) {
  return openDatabase<IntakeDatabase & ConsoleDatabase>(
    nodeDatabase(
      h.postgres,
      join(h.dir, 'institutions', INSTITUTION_ID, 'intermediate.sqlite'),
      'i',
      INSTITUTION_ID,
      'intermediate',
    ),
  );
}

describe(`the clerk console's intake sheets on ${testDialect()}`, () => {
  it('keeps a clerk’s intake sheet across a node restart, for that clerk only, for the working day', async () => {
    const clock = fixedClock('2025-06-02T01:00:00Z'); // 10:00 JST, a Monday
    const h = await startShinjukuConsole(clock, '窓口 A');
    const resident = h.newResident();
    const person = await h.client.post<{ addresseeNumber: string }>('/business/v1/persons', {
      individualNumber: resident.individualNumber,
    });

    const a = await login(h, 'clerk-a', PASSWORD);
    const made = await a.post('/intake?procedureId=074-01', '/intake', {
      procedureId: '074-01',
      addresseeNumber: person.addresseeNumber,
      'provider-2': '152048',
    });
    expect(made.status).toBe(303);
    expect(made.location).toMatch(/^\/intake\/[0-9a-f-]{36}$/);
    expect(h.core.inquiries).toHaveLength(1);
    const before = await a.get(made.location);
    expect(before.status).toBe(200);
    expect(before.body).toContain('課税証明書');

    // Restart: the second clerk's account is made meanwhile, as `renkei console-accounts add` would.
    await h.stopNode();
    const db = await intermediateDatabase(h);
    try {
      await new AccountService({
        store: createKyselyConsoleStore(db),
        clock,
        scrypt: FAST,
      }).create({
        accountId: 'clerk-b',
        displayName: '窓口 B',
        role: 'clerk',
        institutionId: INSTITUTION_ID,
        password: PASSWORD,
      });
      const rows = await db.selectFrom('console_intakes').selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]?.addressee_number).toBe(person.addresseeNumber);
      expect(rows[0]?.account_id).toBe('clerk-a');
    } finally {
      await db.destroy();
    }
    expect(await h.databaseText('intermediate')).not.toContain(resident.individualNumber);
    await h.restartNode();

    const again = await login(h, 'clerk-a', PASSWORD);
    const after = await again.get(made.location);
    expect(after.status).toBe(200);
    expect(after.body).toContain(person.addresseeNumber);
    expect(after.body).toContain('課税証明書');
    const other = await login(h, 'clerk-b', PASSWORD);
    const refused = await other.get(made.location);
    expect(refused.status).toBe(404);
    expect(refused.body).not.toContain(person.addresseeNumber);

    // 8 hours later (the session is over too: a new login) the sheet is no longer shown, and the
    // next start deletes it.
    clock.advance(8 * 3600_000 + 1);
    const evening = await login(h, 'clerk-a', PASSWORD);
    expect((await evening.get(made.location)).status).toBe(404);
    await h.stopNode();
    await h.restartNode();
    await h.stopNode();
    const purged = await intermediateDatabase(h);
    try {
      expect(await purged.selectFrom('console_intakes').selectAll().execute()).toEqual([]);
    } finally {
      await purged.destroy();
    }
  });
});

describe('the clerk console in one language at a time', () => {
  it('answers every POST in English with the lang=en cookie, in Japanese alone without', async () => {
    const legalTable = loadLegalTable();
    const h = await startShinjukuConsole(fixedClock('2025-06-02T01:00:00Z'), 'Clerk A', legalTable);
    const person = await h.client.post<{ addresseeNumber: string }>('/business/v1/persons', {
      individualNumber: h.newResident().individualNumber,
    });
    // The console's own Japanese words, less those the data holds too (procedures, attachments…).
    const data = JSON.stringify([legalTable.procedures, legalTable.items, legalTable.clauses]);
    const words = (...tables: MessageTable[]) =>
      tables
        .flatMap((table) => Object.entries(table))
        .filter(([key]) => key !== 'switchLang')
        .flatMap(([, m]) => m.ja.split(/\{\w+\}/))
        .map((fragment) => fragment.trim())
        .filter((fragment) => /[^\x20-\x7e]/.test(fragment) && !data.includes(fragment));
    const JAPANESE = [...new Set([...words(CLERK, CHROME), '提供あり', '回答待ち', '拒否', '失敗'])];
    expect(JAPANESE.length).toBeGreaterThan(40);

    const intake = { procedureId: '074-01', addresseeNumber: person.addresseeNumber, 'provider-2': '152048' };
    const bulk = { procedureId: '074-01', providerId: '152048', 'item-2': '1', format: 'csv' };
    const posts: {
      what: string;
      from: string;
      url: string;
      fields: Record<string, string>;
      status: number;
    }[] = [
      { what: 'intake', from: '/intake?procedureId=074-01', url: '/intake', fields: intake, status: 303 },
      {
        what: 'intake, bad addressee number',
        from: '/intake?procedureId=074-01',
        url: '/intake',
        fields: { ...intake, addresseeNumber: 'not one!' },
        status: 400,
      },
      {
        what: 'intake, no provider',
        from: '/intake?procedureId=074-01',
        url: '/intake',
        fields: { ...intake, 'provider-2': '' },
        status: 400,
      },
      {
        what: 'bulk',
        from: '/bulk?procedureId=074-01',
        url: '/bulk',
        fields: { ...bulk, lines: `addresseeNumber\n${person.addresseeNumber}\n` },
        status: 303,
      },
      {
        what: 'bulk, no items',
        from: '/bulk?procedureId=074-01',
        url: '/bulk',
        fields: { ...bulk, 'item-2': '0', lines: person.addresseeNumber },
        status: 400,
      },
      {
        what: 'bulk, bad file',
        from: '/bulk?procedureId=074-01',
        url: '/bulk',
        fields: { ...bulk, lines: 'not a number' },
        status: 400,
      },
    ];
    for (const lang of ['en', 'ja'] as const) {
      const clerk = await login(h, 'clerk-a', PASSWORD, lang === 'en' ? 'en' : undefined);
      for (const { what, from, url, fields, status } of posts) {
        const answer = await clerk.post(from, url, fields);
        expect(answer.status, `${lang} ${what}: ${answer.location} ${answer.body.slice(0, 300)}`).toBe(
          status,
        );
        const shown = status === 303 ? await clerk.get(answer.location) : answer;
        expect(shown.status, `${lang} ${what}`).toBe(200 + (status === 303 ? 0 : status - 200));
        expect(shown.body, `${lang} ${what}`).toContain(`<html lang="${lang}"`);
        if (lang === 'en') {
          expect(
            JAPANESE.filter((w) => shown.body.includes(w)),
            what,
          ).toEqual([]);
        } else {
          expect(shown.body, what).not.toContain('<span lang="en">');
          expect(shown.body, what).toContain(CLERK.intake.ja);
        }
      }
      const gone = await clerk.get('/intake/00000000-0000-4000-8000-000000000000');
      expect(gone.status).toBe(404);
      expect(gone.body).toContain(lang === 'en' ? 'over 8 hours old' : '8時間を過ぎたか');
    }
  });
});

describe('the clerk console’s addressee number', () => {
  /** The values of the page's addressee number fields (the one that picks, the one that sends). */
  const carried = (page: string) =>
    [...page.matchAll(/name="addresseeNumber"[^>]*?value="([^"]*)"/g)].map((m) => m[1]);

  it('takes an addressee number as the business API does, and says what that is in either language', async () => {
    const h = await startShinjukuConsole(fixedClock('2025-06-02T01:00:00Z'), 'Clerk A');
    // A business system that numbers its persons itself registers one with letters, 32 characters.
    const own = 'CASE-2025_' + 'x'.repeat(22);
    expect(own).toHaveLength(32);
    await h.client.post('/business/v1/persons', {
      individualNumber: h.newResident().individualNumber,
      addresseeNumber: own,
    });
    const said = {
      en: 'An addressee number is 1 to 32 letters, digits, hyphens (-) or underscores (_).',
      ja: '宛名番号は1〜32文字の英数字、ハイフン（-）または下線（_）です。',
    };
    for (const lang of ['en', 'ja'] as const) {
      const clerk = await login(h, 'clerk-a', PASSWORD, lang === 'en' ? 'en' : undefined);
      // Carried into the form whole, as the business API would take it: not cut to 15, not dropped.
      const form = await clerk.get(`/intake?procedureId=074-01&addresseeNumber=${own}`);
      expect(form.status).toBe(200);
      expect(carried(form.body), lang).toEqual([own, own]);
      const digits = '12345678901234567890';
      const long = await clerk.get(`/intake?procedureId=074-01&addresseeNumber=${digits}`);
      expect(carried(long.body), lang).toEqual([digits, digits]);
      // One that is not an addressee number is not carried at all.
      const notOne = await clerk.get(`/intake?procedureId=074-01&addresseeNumber=${own}y`);
      expect(carried(notOne.body), lang).toEqual(['', '']);
      const intake = { procedureId: '074-01', 'provider-2': '152048' };
      const taken = await clerk.post('/intake?procedureId=074-01', '/intake', {
        ...intake,
        addresseeNumber: own,
      });
      expect(taken.status, `${lang}: ${taken.body.slice(0, 300)}`).toBe(303);
      for (const bad of [`${own}y`, 'not one!', 'A.1']) {
        const refused = await clerk.post('/intake?procedureId=074-01', '/intake', {
          ...intake,
          addresseeNumber: bad,
        });
        expect(refused.status, `${lang} ${bad}`).toBe(400);
        expect(refused.body, `${lang} ${bad}`).toContain(said[lang]);
      }
    }
  });
});
