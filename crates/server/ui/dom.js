// DOM helpers. Every text reaches the page through `textContent` (never `innerHTML`), so data
// from the registry cannot inject markup; the Content-Security-Policy forbids inline script
// anyway.

/** Creates `<tag>` with attributes (`class`, `for`, `aria-*`, `on…` listeners) and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (value === true) {
      el.setAttribute(name, '');
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table with a caption, column headers and rows of cells (strings or nodes). */
export function table(caption, headers, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length
        ? rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c))))
        : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'None.')))));
}

/** A status line: `kind` is `ok`, `bad`, `warn` or `info`. */
export function badge(kind, text) {
  return h('span', { class: `badge ${kind}` }, text);
}

/** `2026-12-04T16:25:28Z` → `2026-12-04 16:25:28 UTC` (times stay in UTC, as recorded). */
export function when(t) {
  if (typeof t !== 'string') return '—';
  return t.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
}

/** A link to a route of the dashboard. */
export function link(route, text, attrs = {}) {
  return h('a', { href: `#/${route}`, ...attrs }, text);
}

/** Saves `text` as a file named `name` (a Blob URL: no server round trip, no token in a URL). */
export function download(name, text, type = 'application/json') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}
