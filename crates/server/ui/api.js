// The API client: the token the user typed lives in `sessionStorage` (gone when the tab
// closes, never in a URL or a cookie) and goes out as `Authorization: Bearer …`. Errors are
// RFC 9457 problems; `ApiError` keeps their status and stable `reasonCode`.

const TOKEN_KEY = 'cphar.token';

/** A refused or failed request. */
export class ApiError extends Error {
  constructor(status, reasonCode, detail) {
    super(detail || reasonCode);
    this.status = status;
    this.reasonCode = reasonCode;
    this.detail = detail;
  }
}

/** Who is signed in: `{role, subject}` from `GET /session`, or `null` (public view). */
export const session = { current: null };

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  session.current = null;
}

/**
 * Sends a request. `as`: `json` (default), `text`, or `response` (the raw Response).
 * Throws `ApiError` for any non-2xx answer and for network failures (`network_error`).
 */
export async function request(path, { method = 'GET', body, as = 'json', auth = token() } = {}) {
  const headers = {};
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'network_error', `the server did not answer (${e.message})`);
  }
  if (!res.ok) {
    let problem = null;
    try {
      problem = await res.json();
    } catch {
      problem = null;
    }
    throw new ApiError(
      res.status,
      (problem && problem.reasonCode) || `http_${res.status}`,
      (problem && problem.detail) || res.statusText,
    );
  }
  if (as === 'response') return res;
  if (as === 'text') return res.text();
  return res.json();
}

/** GET, answering `null` for 404 (an endpoint or object this server does not have). */
export async function optional(path, options) {
  try {
    return await request(path, options);
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** Checks `candidate` with `GET /session`; on success keeps it for this tab. */
export async function signIn(candidate) {
  const who = await request('/session', { auth: candidate });
  sessionStorage.setItem(TOKEN_KEY, candidate);
  session.current = who;
  return who;
}

/** Restores the session of this tab, if its token is still accepted. */
export async function restore() {
  const t = token();
  if (!t) return null;
  try {
    session.current = await request('/session', { auth: t });
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) signOut();
    else throw e;
  }
  return session.current;
}

/** What the signed-in role may do (the server decides; this only hides what would be refused). */
export function can(action) {
  const role = session.current && session.current.role;
  const allowed = {
    readDetails: ['auditor', 'admin', 'operator'],
    readAudit: ['auditor', 'admin', 'operator'],
    readWholeAudit: ['auditor', 'admin'],
    signOff: ['auditor'],
    revoke: ['operator'],
    createReport: ['operator', 'admin'],
  }[action] || [];
  return allowed.includes(role);
}

/** One sentence for the user: what went wrong, with the server's reason code. */
export function explain(e) {
  if (!(e instanceof ApiError)) return `Unexpected error: ${e && e.message ? e.message : e}`;
  const code = e.reasonCode;
  switch (e.status) {
    case 0:
      return `The server did not answer. (${code})`;
    case 401:
      return `The token was not accepted: it is unknown, revoked, expired or mistyped. (${code})`;
    case 403:
      return `Refused: your role (${session.current ? session.current.role : 'none'}) may not do this. (${code})`;
    case 404:
      return `Not found, or not visible to your role. (${code})`;
    case 429:
      return `Too many requests: wait a moment and try again. (${code})`;
    default:
      return `Refused: ${e.detail || code} (${code})`;
  }
}
