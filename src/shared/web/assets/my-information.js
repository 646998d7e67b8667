// The Myna Portal's わたしの情報: while answers are arriving (#my-information-results with
// data-settled="false"), ask the portal for the results block again every second and put the new one
// in place of the old, parsed by DOMParser (no script in it runs; the server escapes every value).
// The block says when everything has answered (data-settled="true"), and polling stops; it stops too
// after two minutes, or when the session has ended (the answer is not the block).
const RESULTS = 'my-information-results';
const started = Date.now();

async function refresh() {
  const current = document.getElementById(RESULTS);
  if (!current || current.dataset.settled !== 'false' || Date.now() - started > 120_000) return;
  try {
    const response = await fetch('/my-information/results', {
      credentials: 'same-origin',
      headers: { accept: 'text/html' },
    });
    if (response.status !== 200) return;
    const parsed = new DOMParser().parseFromString(await response.text(), 'text/html');
    const next = parsed.getElementById(RESULTS);
    if (!next) return;
    current.replaceWith(document.importNode(next, true));
  } catch {
    // The network hiccuped: try again at the next tick.
  }
  setTimeout(refresh, 1000);
}

setTimeout(refresh, 500);
