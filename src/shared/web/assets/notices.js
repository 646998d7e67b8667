// The Myna Portal's live お知らせ: the portal's Server-Sent Events (/notices/events) tell an open page
// how many notices are unread and, when one arrives, the notice itself. Every [data-unread-count]
// shows the count; on the inbox ([data-notice-list]) the new notice is added at the top, built with
// the DOM (textContent, never HTML), in the markup the server renders (noticeItem in pages.ts).
// Words in the page's language (`<html lang>`, set by the portal's switch).
const en = document.documentElement.lang === 'en';
const counts = () => document.querySelectorAll('[data-unread-count]');

function showUnread(unread) {
  for (const element of counts()) {
    element.textContent = String(unread);
    if (element.hasAttribute('aria-label'))
      element.setAttribute('aria-label', en ? `${unread} unread` : `未読 ${unread}件`);
  }
}

function addNotice(notice) {
  const list = document.querySelector('[data-notice-list]');
  // A notice id is a UUID (anything else is ignored), so it can go into the selector as it is.
  if (!list || !/^[0-9a-f-]{36}$/.test(notice.id)) return;
  if (list.querySelector(`a[href="/notices/${notice.id}"]`)) return;
  const item = document.createElement('li');
  item.className = 'inbox__item inbox__item--unread';
  const sender = document.createElement('span');
  sender.className = 'inbox__sender';
  sender.textContent = notice.senderName;
  const title = document.createElement('span');
  title.className = 'inbox__title';
  const strong = document.createElement('strong');
  const link = document.createElement('a');
  link.href = `/notices/${notice.id}`;
  link.textContent = notice.title;
  // The institution's own text, as sent (noticeItem in pages.ts says so too).
  link.lang = 'ja';
  strong.append(link);
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.textContent = en ? 'Unread' : '未読';
  title.append(strong, ' ', badge);
  const date = document.createElement('span');
  date.className = 'inbox__date';
  const time = document.createElement('time');
  time.dateTime = notice.sentAt;
  time.textContent = notice.date;
  date.append(time);
  item.append(sender, title, date);
  list.prepend(item);
  document.querySelector('[data-notices-empty]')?.setAttribute('hidden', '');
}

const { EventSource } = globalThis;
if (counts().length > 0 && EventSource !== undefined) {
  const events = new EventSource('/notices/events');
  events.addEventListener('unread', (event) => {
    const data = JSON.parse(event.data);
    showUnread(data.unread);
    if (data.notice) addNotice(data.notice);
  });
  document.documentElement.dataset.noticesLive = 'connecting';
  events.addEventListener('open', () => {
    document.documentElement.dataset.noticesLive = 'open';
  });
}
