/**
 * Loading a version of the legal table from the operator's console (別表第二の版の読込), a Fastify plugin
 * mounted beside the operator's other pages under `/operator`:
 *
 *   GET  legal/load       the form: the day it takes effect and the three files (clauses.yaml,
 *                         procedures.yaml, items.yaml), chosen as files or pasted
 *   GET  legal/load.js    the form's script: reads a chosen file into its text field
 *   POST legal/load       without `confirmed`: validates the version as the admin API's load does and
 *                         shows what changes from the version it follows on its day and that day,
 *                         storing nothing; a bad file is shown with the validator's message at its line.
 *                         With `confirmed=yes` and the digest shown: stores it (LegalVersionService.load).
 *
 * The form is sent as an ordinary form (`application/x-www-form-urlencoded`, no multipart parser):
 * the consoles' 64 KB body limit is raised for `POST legal/load` alone, to `LEGAL_FORM_LIMIT`. A
 * browser sends every line end of a form as CRLF; the files are taken with LF line ends, as the
 * repository keeps them, so a version loaded here has the digest `renkei legal load` gives it.
 * Every route runs `guard` first (the console's `requireRole('operator')` and its CSRF check).
 */
import type { FastifyPluginAsync, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { z } from 'zod';
import { formatLegalTableDiff, LEGAL_DIFF_WORDS } from '../../../domain/legal-table/diff.ts';
import { LEGAL_FILES } from '../../../domain/legal-table/legal-files.ts';
import type { LegalFiles } from '../../../domain/legal-table/load.ts';
import { StatisticsDay } from '../../../protocol/admin.ts';
import { jstDate } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { parseInput } from '../../../shared/http.ts';
import { dateIn } from '../../../shared/web/dates.ts';
import { fill, pick, requestLang, type Lang } from '../../../shared/web/lang.ts';
import { html, type Html } from '../../../shared/web/html.ts';
import { formFields } from '../../../shared/web/server.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { LegalVersionService } from '../service/legal-versions.ts';
import { aside, type RenderedPage } from './operator-console.ts';

/**
 * The largest form `POST legal/load` reads: 4 MiB. The repository's three files are 54 KB; a form
 * encodes each byte of Japanese text as `%XX`, three characters, so this takes files of about 1.3 MB
 * of Japanese text (or 4 MB of ASCII). `renkei legal load` (16 MiB) remains for larger ones.
 */
export const LEGAL_FORM_LIMIT = 4 * 1024 * 1024;

export interface LegalLoadConsoleOptions {
  guard: preHandlerHookHandler | preHandlerHookHandler[];
  legalVersions: LegalVersionService;
  render: (request: FastifyRequest, page: RenderedPage) => string;
  staff: (request: FastifyRequest) => { accountId: string; csrfToken: string };
  logger: Logger;
  now: () => Date;
  /** Where the plugin is mounted; default `/operator`. */
  base?: string;
}

const FILE_TEXT = z.string().max(LEGAL_FORM_LIMIT);
const LoadForm = z.strictObject({
  _csrf: z.string().optional(),
  effectiveFrom: StatisticsDay,
  clauses: FILE_TEXT,
  procedures: FILE_TEXT,
  items: FILE_TEXT,
  confirmed: z.literal('yes').optional(),
  digest: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});

const PARTS = Object.keys(LEGAL_FILES) as (keyof LegalFiles)[];

/** The load's words, each language's (shared/web/lang.ts). */
export const LOAD_MESSAGES = {
  lead: {
    ja: '新しい版は、読み込む前に起動時と同じ検証を受けます。検証に通ると、施行日にその日の版との差分を表示し、確認してから保存します。施行日は今日以降の日です（今日なら直ちに施行）。',
    en: 'A new version is checked as at start-up before it is loaded. Once it passes, its differences from the version of its day are shown, and it is stored when confirmed. The day is today or later (today: in force at once).',
  },
  effectiveFrom: { ja: '施行日', en: 'Takes effect on' },
  fileOf: { ja: '{file}のファイル', en: 'File for {file}' },
  check: { ja: '検証', en: 'Check' },
  hint: {
    ja: 'ファイルを選ぶと、その内容が下の欄に入ります（貼り付けても構いません）。{cmd} も同じ検証をします。',
    en: 'A file chosen fills the field below (pasting works too). {cmd} checks the same way.',
  },
  checked: { ja: '検証に通りました。まだ保存していません。', en: 'Valid; nothing stored yet.' },
  digest: { ja: 'ダイジェスト', en: 'Digest' },
  counts: { ja: '件数', en: 'Counts' },
  countsText: {
    ja: '項 {clauses}・手続 {procedures}・特定個人情報 {items}',
    en: '{clauses} clauses, {procedures} procedures, {items} items',
  },
  replaces: { ja: 'その日までの版', en: 'Replaces on that day' },
  inForceSince: { ja: '{day}施行', en: 'in force from {day}' },
  warnings: { ja: '注意', en: 'Warnings' },
  differences: { ja: '差分', en: 'Differences' },
  store: { ja: 'この版を保存', en: 'Store this version' },
  cancel: { ja: 'やめる', en: 'Cancel' },
  notLoaded: { ja: '読み込めません', en: 'Not loaded' },
  line: { ja: '{n}行目', en: 'line {n}' },
  changed: {
    ja: '確認したときとファイルが異なります。もう一度検証してください。',
    en: 'The files differ from the ones shown for confirmation; check them again.',
  },
} as const;

const SCRIPT = `for (const input of document.querySelectorAll('input[type=file][data-fills]')) {
  input.addEventListener('change', async () => {
    const file = input.files && input.files[0];
    const target = document.getElementById(input.dataset.fills);
    if (file && target) target.value = await file.text();
  });
}
`;

export const legalLoadConsole: FastifyPluginAsync<LegalLoadConsoleOptions> = (app, options) => {
  const guards = [options.guard].flat();
  if (guards.length === 0 || guards.some((g) => typeof g !== 'function')) {
    throw new TypeError('legalLoadConsole needs a guard');
  }
  for (const guard of guards) app.addHook('preHandler', guard);
  const base = options.base ?? '/operator';
  const page = (request: FastifyRequest, body: Html) =>
    options.render(request, {
      title: '別表第二の版の読込',
      titleEn: 'Load a version of the legal table',
      body,
      scripts: [`${base}/legal/load.js`],
    });

  app.get('/legal/load.js', (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SCRIPT),
  );

  app.get('/legal/load', (request, reply) => {
    const form = { effectiveFrom: jstDate(options.now()), clauses: '', procedures: '', items: '' };
    const body = formBody(form, options.staff(request).csrfToken, base, undefined, requestLang(request));
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(page(request, body));
  });

  app.post('/legal/load', { bodyLimit: LEGAL_FORM_LIMIT }, async (request, reply) => {
    const form = parseInput(
      LoadForm,
      formFields(request.body),
      'version (effectiveFrom, clauses, procedures, items)',
    );
    const files = Object.fromEntries(PARTS.map((p) => [p, form[p].replaceAll('\r\n', '\n')])) as LegalFiles;
    const load = { effectiveFrom: form.effectiveFrom, files };
    const { accountId, csrfToken } = options.staff(request);
    const lang = requestLang(request);
    const send = (status: number, body: Html) =>
      reply
        .status(status)
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(page(request, body));

    let checked: ReturnType<LegalVersionService['check']>;
    try {
      checked = options.legalVersions.check(load);
    } catch (error) {
      if (!(error instanceof RenkeiError)) throw error;
      // Logged as the load's refusals are (LegalVersionService.load): who, the day, the code.
      options.logger.warn(
        { account: accountId, effectiveFrom: form.effectiveFrom, code: error.code },
        'legal table version refused at its check in the console',
      );
      // Refused before anything is stored: the form again, with the validator's message at its line.
      return send(
        error.status,
        formBody({ ...form, ...files }, csrfToken, base, problemBody(files, error, lang), lang),
      );
    }
    if (form.confirmed !== 'yes') {
      return send(200, checkedBody(load, checked, csrfToken, base, lang));
    }
    if (form.digest !== checked.digest) {
      // Refused as a validation error, in the page's language: the form again, with these files.
      options.logger.warn(
        { account: accountId, effectiveFrom: form.effectiveFrom, code: 'ERR_VALIDATION' },
        'legal table version refused at its confirmation: the files differ from the ones checked',
      );
      const changed = new RenkeiError('ERR_VALIDATION', pick(LOAD_MESSAGES, lang).changed, {
        field: 'digest',
      });
      return send(
        400,
        formBody({ ...form, ...files }, csrfToken, base, problemBody(files, changed, lang), lang),
      );
    }
    const loaded = await options.legalVersions.load(load, `console:${accountId}`);
    return reply.redirect(
      `${base}/legal?version=${loaded.version.digest}&loaded=${loaded.stored ? 'stored' : 'unchanged'}`,
      303,
    );
  });
  return Promise.resolve();
};

type FormValues = { effectiveFrom: string } & LegalFiles;

// Every <textarea> below starts with a newline before its text: HTML drops one newline right after
// the start tag, so a file that begins with an empty line keeps it (and its digest).

function formBody(
  form: FormValues,
  csrfToken: string,
  base: string,
  problem: Html | undefined,
  lang: Lang,
): Html {
  const t = pick(LOAD_MESSAGES, lang);
  const [before, after] = t.hint.split('{cmd}');
  return html`${problem ?? null}
    <p class="lead">${t.lead}</p>
    <form method="post" action="${base}/legal/load" id="legal-load" class="file-form">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      <div class="form-field">
        <label for="effectiveFrom">${t.effectiveFrom}</label>
        <input
          class="input"
          type="date"
          id="effectiveFrom"
          name="effectiveFrom"
          required
          value="${form.effectiveFrom}"
        />
      </div>
      ${PARTS.map(
        (part) =>
          html`<div class="form-field">
            <label for="${part}">${LEGAL_FILES[part]}</label>
            <input
              type="file"
              accept=".yaml,.yml,text/yaml"
              data-fills="${part}"
              id="${part}-file"
              aria-label="${fill(t.fileOf, { file: LEGAL_FILES[part] })}"
            />
            <textarea class="input" id="${part}" name="${part}" rows="6" required spellcheck="false">
${form[part]}</textarea>
          </div>`,
      )}
      <button class="button" type="submit">${t.check}</button>
    </form>
    <p class="hint">${before ?? ''}<code>renkei legal load</code>${after ?? ''}</p>`;
}

function checkedBody(
  load: { effectiveFrom: string; files: LegalFiles },
  checked: ReturnType<LegalVersionService['check']>,
  csrfToken: string,
  base: string,
  lang: Lang,
): Html {
  const t = pick(LOAD_MESSAGES, lang);
  const { table, digest, follows, diff } = checked;
  return html`<p class="notice notice--success" role="status" id="checked">${t.checked}</p>
    <dl class="summary">
      <dt>${t.effectiveFrom}</dt>
      <dd id="effective-from" data-day="${load.effectiveFrom}">${dateIn(lang, load.effectiveFrom)}</dd>
      <dt>${t.digest}</dt>
      <dd><code id="digest">${digest}</code></dd>
      <dt>${t.counts}</dt>
      <dd>
        ${fill(t.countsText, {
          clauses: table.clauses.length,
          procedures: table.procedures.length,
          items: table.items.length,
        })}
      </dd>
      <dt>${t.replaces}</dt>
      <dd>
        <code>${follows.digest.slice(0, 16)}</code
        >${aside(lang, fill(t.inForceSince, { day: follows.effectiveFrom ? dateIn(lang, follows.effectiveFrom) : '—' }))}
      </dd>
    </dl>
    ${
      table.warnings.length > 0
        ? html`<h2>${t.warnings}</h2>
            <ul id="warnings">
              ${table.warnings.map((w) => html`<li>${w}</li>`)}
            </ul>`
        : null
    }
    <h2>${t.differences}</h2>
    <pre id="diff">${formatLegalTableDiff(diff, LEGAL_DIFF_WORDS[lang])}</pre>
    <form method="post" action="${base}/legal/load" id="legal-confirm">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      <input type="hidden" name="effectiveFrom" value="${load.effectiveFrom}" />
      ${PARTS.map((part) => html`<textarea name="${part}" hidden>${`\n${load.files[part]}`}</textarea>`)}
      <input type="hidden" name="digest" value="${digest}" />
      <input type="hidden" name="confirmed" value="yes" />
      <button class="button" type="submit">${t.store}</button>
      <a class="button button--secondary" href="${base}/legal">${t.cancel}</a>
    </form>`;
}

/** The validator's refusal, and where it is: the file and line, with the lines around it. */
function problemBody(files: LegalFiles, error: RenkeiError, lang: Lang): Html {
  const t = pick(LOAD_MESSAGES, lang);
  const at = locate(files, error);
  return html`<div class="notice notice--error" role="alert" id="problem" data-code="${error.code}">
    <p>${t.notLoaded}${aside(lang, html`<code>${error.code}</code>`)}: ${error.message}</p>
    ${
      at
        ? html`<p id="problem-line" data-file="${at.file}" data-line="${at.line}">
              ${at.file} ${fill(t.line, { n: at.line })}
            </p>
            <pre>${at.excerpt}</pre>`
        : null
    }
  </div>`;
}

const ENTRY_KEYS: Record<keyof LegalFiles, string> = {
  clauses: 'clauseNo',
  procedures: 'procedureId',
  items: 'itemNo',
};

/**
 * The line a validator's error is about: YAML's own `at line N`, or the line of the entry its
 * `where` names (`legal/procedures.yaml: procedure 074-01: itemNos[2]`), then the first line of that
 * entry naming the field. Undefined when it cannot be told (a file missing, an error of a whole file).
 */
export function locate(
  files: LegalFiles,
  error: RenkeiError,
): { file: string; line: number; excerpt: string } | undefined {
  const where = typeof error.details.where === 'string' ? error.details.where : error.message;
  const fileMatch = /legal\/(\w+)\.yaml/.exec(where);
  const part = PARTS.find((p) => LEGAL_FILES[p] === `${fileMatch?.[1] ?? ''}.yaml`);
  if (!part) return undefined;
  const lines = files[part].split('\n');
  let line: number | undefined;
  const yamlLine = /at line (\d+)/.exec(error.message);
  if (yamlLine) line = Number(yamlLine[1]);
  const entry = /: \w+ (#?)([^:\s]+)(?:: ([A-Za-z]+))?/.exec(
    where.slice((fileMatch?.index ?? 0) + (fileMatch?.[0].length ?? 0)),
  );
  if (line === undefined && entry) {
    const [, hash, id, field] = entry;
    let start = -1;
    if (hash === '#') {
      let n = 0;
      start = lines.findIndex((l) => /^- /.test(l) && ++n === Number(id));
    } else {
      const escaped = (id ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      const key = new RegExp(`^\\s*-?\\s*${ENTRY_KEYS[part]}:\\s*['"]?${escaped}['"]?\\s*(#.*)?$`);
      start = lines.findIndex((l) => key.test(l));
    }
    if (start >= 0) {
      line = start + 1;
      if (field) {
        const next = lines.findIndex((l, i) => i > start && /^- /.test(l));
        const end = next < 0 ? lines.length : next;
        const fieldLine = lines.findIndex(
          (l, i) => i > start && i < end && new RegExp(`^\\s*${field}:`).test(l),
        );
        if (fieldLine >= 0) line = fieldLine + 1;
      }
    }
  }
  if (line === undefined) return undefined;
  const from = Math.max(1, line - 2);
  const excerpt = lines
    .slice(from - 1, line + 2)
    .map((text, i) => `${String(from + i).padStart(5)}${from + i === line ? ' >' : '  '} ${text}`)
    .join('\n');
  return { file: `legal/${LEGAL_FILES[part]}`, line, excerpt };
}
