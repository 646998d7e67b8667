// The clerk console's behaviour (no inline script: the CSP forbids it). Every page works without it;
// with it, the procedure's attachments show as soon as it is picked, an intake's and a bulk
// inquiry's progress update live, and the print button prints.

// A select that shows its choice at once: submit its (GET) form on change.
for (const select of document.querySelectorAll('select[data-submit-on-change]')) {
  select.addEventListener('change', () => select.form?.requestSubmit());
}

// 受付票を印刷: the print stylesheet hides the menus and forms.
for (const button of document.querySelectorAll('[data-print]')) {
  button.hidden = false;
  button.addEventListener('click', () => window.print());
}

// A file chosen for a bulk inquiry: its text goes into the form's field (the page has no multipart).
for (const input of document.querySelectorAll('input[type=file][data-into]')) {
  input.addEventListener('change', async () => {
    const target = document.getElementById(input.dataset.into ?? '');
    const file = input.files?.[0];
    if (!(target instanceof HTMLTextAreaElement) || !file) return;
    target.value = await file.text();
    const kind = document.getElementById(input.dataset.kind ?? '');
    if (kind instanceof HTMLInputElement) kind.value = /\.(jsonl|ndjson)$/i.test(file.name) ? 'jsonl' : 'csv';
  });
}

// Live progress: poll the page's status URL; update what it names; reload once it is done.
// An empty URL: the page shows the final state already.
const live = document.querySelector('[data-status-url]');
if (live instanceof HTMLElement && live.dataset.statusUrl) {
  const url = live.dataset.statusUrl ?? '';
  const poll = async () => {
    try {
      const response = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (!response.ok) return;
      const status = await response.json();
      for (const [key, value] of Object.entries(status.fields ?? {})) {
        const element = live.querySelector(`[data-field="${CSS.escape(key)}"]`);
        if (element instanceof HTMLProgressElement) element.value = Number(value);
        else if (element) element.textContent = String(value);
      }
      if (status.done) {
        window.location.reload();
        return;
      }
    } catch {
      // the next poll tries again
    }
    setTimeout(poll, 700);
  };
  setTimeout(poll, 300);
}
