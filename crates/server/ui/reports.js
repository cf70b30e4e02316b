// Signed reserve reports (docs/reserve-report.md): the list, and one report verified in this
// browser with WebCrypto — report key thumbprint, signature over the §6 input, the §9 step 4
// consistency rules, the link to the previous report (number, roots, digest), and, when the
// leaves are published, the RFC 9162 root and the totals recomputed from them. The RFC 3161
// token is not checked here (that needs X.509 path validation): `cphar report verify
// --tsa-ca` does it.

import { can, explain, optional, request } from './api.js';
import { parse, totals as sumLeaves } from './decimal.js';
import { verifyWholeLog } from './audit.js';
import { badge, fill, h, link, table, when } from './dom.js';
import { b64url, bytes, concat, hex, jcs, leafHash, merkleRoot, sha256, thumbprint, verifySignature, without } from './verify.js';

const FORMAT = 'cphar-reserve-report/1';
const SIGNATURE_PREFIX = 'cphar-reserve-report/1 signature';
/** Reports with more lots are left to `cphar report verify --leaves`. */
const MAX_LEAVES = 200000;
const LEAVES_PAGE = 10000;
const ALG_CURVE = { Ed25519: 'Ed25519', 'ECDSA-P384-SHA384': 'P-384' };

export class Invalid extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/** The summaries of a `GET /reports` answer (`{reports, next}`). */
function listOf(answer) {
  return answer && Array.isArray(answer.reports) ? answer.reports : [];
}

/** The report key JWK of `GET /reports/key` (`{kid, alg, publicKeyJwk}`). */
function jwkOf(answer) {
  return answer && answer.publicKeyJwk && answer.publicKeyJwk.kty ? answer.publicKeyJwk : null;
}

/** A page of `GET /reports/{n}/leaves`: a JSON array of leaves, each as hashed. */
function parseLeaves(text) {
  const leaves = JSON.parse(text);
  if (!Array.isArray(leaves)) throw new Invalid('leaves_malformed', 'the leaves are not a JSON array');
  return leaves;
}

/** Bytewise comparison of the UTF-8 of two strings (the order of sum keys, §3). */
function compareUtf8(a, b) {
  const x = bytes(a);
  const y = bytes(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function sumKeyOrder(a, b) {
  return compareUtf8(a.commodity, b.commodity) || compareUtf8(a.unit, b.unit);
}

/** Runs the checks; answers the list of what was verified, or throws `Invalid`. */
export async function verifyReport(report, key, previous) {
  const done = [];
  if (report.format !== FORMAT) throw new Invalid('unsupported_format', `format ${report.format}`);
  if (!Number.isSafeInteger(report.reportNumber) || report.reportNumber < 1) throw new Invalid('malformed_report', 'reportNumber');
  const rk = report.reportKey || {};
  if (!key || ALG_CURVE[rk.alg] !== key.crv || (await thumbprint(key)) !== rk.kid) {
    throw new Invalid('report_key_mismatch', 'the report names another key than the one the registry publishes');
  }
  done.push(`Report key ${rk.alg}, thumbprint ${rk.kid}.`);
  const input = concat(bytes(SIGNATURE_PREFIX), new Uint8Array([0]), bytes(jcs(without(report, 'signature', 'timestampToken'))));
  if (!(await verifySignature(key, input, b64url(report.signature)))) throw new Invalid('signature_invalid', 'the signature does not verify');
  done.push('Signature verified in this browser (WebCrypto).');
  if ((report.previous === null) !== (report.reportNumber === 1)
    || (report.previous && report.previous.reportNumber + 1 !== report.reportNumber)) {
    throw new Invalid('previous_number_mismatch', 'previous report number');
  }
  const w = report.window || {};
  if (!(w.from <= report.generatedAt && report.generatedAt <= w.to) || (report.previous === null && w.from !== report.generatedAt)) {
    throw new Invalid('window_invalid', 'window');
  }
  const t = report.totals || [];
  const lots = t.reduce((n, x) => n + x.lots, 0);
  for (let i = 0; i < t.length; i++) {
    if (parse(t[i].quantity) === null || t[i].lots < 1 || (i > 0 && sumKeyOrder(t[i - 1], t[i]) >= 0)) {
      throw new Invalid('totals_inconsistent', 'totals not sorted, not canonical or empty');
    }
  }
  if (lots !== report.lotCount) throw new Invalid('totals_inconsistent', `totals count ${lots} lots, the report ${report.lotCount}`);
  done.push(`Totals consistent: ${report.lotCount} lots in ${t.length} sum(s).`);
  const digest = hex(await sha256(bytes(jcs(without(report, 'timestampToken')))));
  if (previous) {
    const prevDigest = hex(await sha256(bytes(jcs(without(previous, 'timestampToken')))));
    const p = report.previous;
    if (p.reportNumber !== previous.reportNumber || p.sumRoot !== previous.sumRoot
      || p.rfc9162Root !== previous.rfc9162Root || p.reportDigest !== prevDigest) {
      throw new Invalid('previous_root_mismatch', `does not continue report ${previous.reportNumber} as published`);
    }
    done.push(`Continues report ${previous.reportNumber} (number, roots and digest match).`);
  }
  done.push(report.timestampToken
    ? 'RFC 3161 token present: check it offline with cphar report verify --tsa-ca.'
    : 'No RFC 3161 token.');
  return { done, digest };
}

/** All leaves of report `n` (`GET /reports/{n}/leaves`, page by page, in lot order). */
async function fetchLeaves(n) {
  const leaves = [];
  for (;;) {
    const after = leaves.length ? `&after=${encodeURIComponent(leaves[leaves.length - 1].lotId)}` : '';
    const page = parseLeaves(await request(`/reports/${n}/leaves?limit=${LEAVES_PAGE}${after}`, { as: 'text' }));
    leaves.push(...page);
    if (page.length < LEAVES_PAGE) return leaves;
  }
}

async function checkLeaves(report, leaves) {
  if (leaves.length !== report.lotCount) throw new Invalid('leaves_mismatch', `${leaves.length} leaves for ${report.lotCount} lots`);
  for (let i = 1; i < leaves.length; i++) {
    if (!(leaves[i - 1].lotId < leaves[i].lotId)) throw new Invalid('leaves_not_sorted', `at leaf ${i}`);
  }
  const root = await merkleRoot(await Promise.all(leaves.map((l) => leafHash(bytes(jcs(l))))));
  if (hex(root) !== report.rfc9162Root) throw new Invalid('rfc9162_root_mismatch', 'the leaves do not lead to rfc9162Root');
  const sums = sumLeaves(leaves.map((l) => ({ commodity: l.commodity, quantity: { amount: l.quantity, unit: l.unit } })));
  const expected = JSON.stringify((report.totals || []).map((x) => [x.commodity, x.unit, x.quantity, x.lots]));
  const got = JSON.stringify(sums.rows.map((x) => [x.commodity, x.unit, x.quantity, x.lots]));
  if (sums.invalid || got !== expected) throw new Invalid('totals_mismatch', 'the leaves do not add up to the totals');
  return `${leaves.length} leaves: RFC 9162 root and totals recomputed and equal.`;
}

/**
 * Ties the report to the audit log, verified here first: its key must be certified there
 * (`report_key_certified` with its thumbprint) and its publication recorded
 * (`report_published` with its number and digest).
 */
async function inAuditLog(report, digest, note) {
  const { lines } = await verifyWholeLog((text) => note(`Audit log: ${text}`));
  let certified = null;
  let published = null;
  lines.forEach((line, i) => {
    const e = JSON.parse(line);
    const d = (e.eventData && e.eventData.data) || {};
    if (e.eventType === 'report_key_certified' && d.kid === report.reportKey.kid) certified = i;
    if (e.eventType === 'report_published' && d.reportNumber === report.reportNumber) {
      if (d.reportDigest !== digest) throw new Invalid('audit_digest_mismatch', `the audit log records another digest for report ${report.reportNumber}`);
      published = i;
    }
  });
  if (certified === null) throw new Invalid('report_key_not_certified', 'no audit entry certifies the report key');
  if (published === null) throw new Invalid('report_not_in_audit_log', 'no audit entry records this report');
  return `Report key certified in audit entry ${certified}; publication recorded in audit entry ${published} with this digest.`;
}

function totalsTable(report) {
  return table('Totals', ['Commodity', 'Unit', 'Quantity', 'Lots'],
    (report.totals || []).map((x) => [x.commodity, x.unit, h('span', { class: 'num' }, x.quantity), String(x.lots)]),
    { id: 'report-totals' });
}

async function renderOne(main, n, current) {
  const report = await optional(`/reports/${encodeURIComponent(n)}`);
  if (!current()) return;
  if (!report) {
    fill(main, h('h1', {}, `Report ${n}`), h('p', { class: 'error' }, 'No such report.'), link('reports', 'All reports'));
    return;
  }
  const status = h('p', { id: 'report-status', class: 'verdict', role: 'status' }, 'Verifying…');
  const checks = h('ul', { id: 'report-checks', class: 'checks' });
  fill(main,
    h('h1', {}, `Report ${report.reportNumber}`),
    h('p', {}, link('reports', '← All reports')),
    h('section', { 'aria-labelledby': 'rv-h' }, h('h2', { id: 'rv-h' }, 'Verification (in this browser)'), status, checks),
    h('section', { 'aria-labelledby': 'rs-h' }, h('h2', { id: 'rs-h' }, 'Summary'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Generated'), h('dd', {}, when(report.generatedAt)),
        h('dt', {}, 'Window'), h('dd', {}, `${when((report.window || {}).from)} – ${when((report.window || {}).to)}`),
        h('dt', {}, 'Policy'), h('dd', {}, report.policy ? `${report.policy.id} v${report.policy.version}` : '—'),
        h('dt', {}, 'Lots'), h('dd', { id: 'report-lot-count' }, String(report.lotCount)),
        h('dt', {}, 'Sum root'), h('dd', {}, h('code', {}, report.sumRoot)),
        h('dt', {}, 'RFC 9162 root'), h('dd', {}, h('code', {}, report.rfc9162Root))),
      totalsTable(report),
      table('Lots by state', ['State', 'Lots'], Object.entries(report.lotCountsByState || {}).map(([k, v]) => [k, String(v)])),
      table('Departed since the previous report', ['Lot', 'Reason', 'At'],
        (report.departed || []).map((d) => [link(`lot/${encodeURIComponent(d.lotId)}`, d.lotId), d.reason, when(d.at)]),
        { id: 'report-departed' })));
  const note = (text) => checks.append(h('li', {}, text));
  try {
    const [keyAnswer, previous] = await Promise.all([
      request('/reports/key'),
      report.reportNumber > 1 ? optional(`/reports/${report.reportNumber - 1}`) : Promise.resolve(null),
    ]);
    const { done, digest } = await verifyReport(report, jwkOf(keyAnswer), previous);
    done.forEach(note);
    note(`Report digest (SHA-256 of its JCS without the token): ${digest}.`);
    if (can('readWholeAudit')) {
      note(await inAuditLog(report, digest, note));
    } else {
      note('Report key as served by GET /reports/key: its certification in the audit log is checked with an auditor or admin token.');
    }
    if (can('readWholeAudit') && report.lotCount <= MAX_LEAVES) {
      note(await checkLeaves(report, await fetchLeaves(report.reportNumber)));
    } else {
      note('Leaves not read (they need an auditor or admin token): totals taken from the signed report.');
    }
    if (!current()) return;
    fill(status, badge('ok', 'verified'), ` Report ${report.reportNumber} is signed by the registry's report key.`);
  } catch (e) {
    if (!current()) return;
    if (e instanceof Invalid) {
      fill(status, badge('bad', 'invalid'), ` ${e.code}: ${e.message}`);
      return;
    }
    fill(status, badge('bad', 'not verified'), ` ${explain(e)}`);
  }
}

export async function render(main, params, current) {
  if (params[0]) {
    await renderOne(main, params[0], current);
    return;
  }
  // The list is in ascending order: ask for the 50 after (latest − 50), show newest first.
  const latest = await optional('/reports/latest');
  const after = latest ? Math.max(0, latest.reportNumber - 50) : 0;
  const answer = await optional(`/reports?after=${after}&limit=50`);
  if (!current()) return;
  const sections = [h('h1', {}, 'Reserve reports')];
  if (answer === null) {
    sections.push(h('p', { class: 'muted', id: 'no-reports' }, 'This server does not publish reserve reports.'));
    fill(main, sections);
    return;
  }
  if (can('createReport')) {
    const out = h('p', { id: 'create-result', role: 'alert', tabindex: '-1', hidden: true });
    const b = h('button', { type: 'button', id: 'create-report' }, 'Publish a new report now');
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        const made = await request('/reports', { method: 'POST', body: {} });
        location.hash = `#/reports/${made.reportNumber || made.number || ''}`;
      } catch (e) {
        out.className = 'error';
        out.textContent = explain(e);
        out.hidden = false;
        out.focus();
      } finally {
        b.disabled = false;
      }
    });
    sections.push(h('section', {}, b, out));
  }
  const rows = listOf(answer).reverse().map((r) => {
    const n = r.number;
    return [link(`reports/${n}`, `Report ${n}`), when(r.generatedAt), String(r.lotCount),
      (r.totals || []).map((t) => `${t.quantity} ${t.unit} ${t.commodity}`).join('; ') || '—',
      h('code', {}, String(r.rootSum).slice(0, 16))];
  });
  sections.push(table('Published reports, newest first', ['Report', 'Generated', 'Lots', 'Totals', 'Sum root'], rows, { id: 'reports-table' }));
  fill(main, sections);
}
