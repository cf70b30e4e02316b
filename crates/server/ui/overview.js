// Reserve overview: the active reserve set (GET /reserve/active, every page), its exact totals
// by commodity and unit, attestation freshness and overdue lots, the seals of active lots by
// state, and the latest signed report's counts of all lots by state and departures.

import { can, optional, request, session } from './api.js';
import { totals } from './decimal.js';
import { badge, fill, h, link, table, when } from './dom.js';

/** At most this many active lots are read (10 pages); the report has the complete totals. */
const MAX_LOTS = 10000;
/** Lots whose seal is looked up (two requests each) for the "seals by state" table. */
const MAX_SEALS = 100;

const FRESHNESS = {
  attested: ['ok', 'attested'],
  attestation_overdue: ['warn', 'attestation overdue'],
  not_yet_attested: ['info', 'not yet attested'],
};

export function freshness(code) {
  const [kind, text] = FRESHNESS[code] || ['info', code || 'unknown'];
  return badge(kind, text);
}

async function activeSet() {
  const lots = [];
  let after = null;
  do {
    const page = await request(`/reserve/active?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    lots.push(...page.lots);
    after = page.next;
  } while (after && lots.length < MAX_LOTS);
  return { lots, complete: !after };
}

function countBy(items, key) {
  const counts = new Map();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) || 0) + 1);
  return [...counts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

function lotSearch() {
  const input = h('input', { id: 'lot-id', name: 'lot', type: 'text', required: true, autocomplete: 'off',
    pattern: '[A-Za-z0-9._\\-]{1,64}' });
  return h('form', { class: 'inline', id: 'lot-search', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const id = input.value.trim();
    if (id) location.hash = `#/lot/${encodeURIComponent(id)}`;
  } },
  h('div', {}, h('label', { for: 'lot-id' }, 'Open a lot by id'), input),
  h('button', { type: 'submit' }, 'Open lot'));
}

export async function render(main, _params, current) {
  const [{ lots, complete }, latest] = await Promise.all([activeSet(), optional('/reports/latest')]);
  if (!current()) return;
  const detailed = lots.filter((l) => l.commodity !== undefined);
  const sum = totals(detailed);
  const overdue = lots.filter((l) => l.attestation === 'attestation_overdue');

  const totalsSection = h('section', { id: 'totals', 'aria-labelledby': 'totals-h' },
    h('h2', { id: 'totals-h' }, 'Reserve totals'),
    detailed.length || can('readDetails')
      ? [
        table(`Active lots${can('readWholeAudit') ? '' : ' you may read'}, summed exactly by commodity and unit`,
          ['Commodity', 'Unit', 'Quantity', 'Lots'],
          sum.rows.map((r) => [r.commodity, r.unit, h('span', { class: 'num' }, r.quantity), String(r.lots)]),
          { id: 'totals-table' }),
        sum.invalid ? h('p', { class: 'error' }, `${sum.invalid} lot(s) with an unreadable quantity left out.`) : null,
        session.current && session.current.role === 'operator'
          ? h('p', { class: 'muted' }, 'An operator sees the details of the lots it bound only.') : null,
      ]
      : h('p', { class: 'muted' }, 'Lot details (commodity, quantity) need an auditor, admin or operator token. The signed report below carries the public totals.'),
    complete ? null : h('p', { class: 'muted' }, `Only the first ${lots.length} active lots were read; the latest report has the complete totals.`));

  const stateRows = countBy(lots, (l) => l.attestation).map(([k, n]) => [freshness(k), String(n)]);
  const freshnessSection = h('section', { id: 'freshness', 'aria-labelledby': 'freshness-h' },
    h('h2', { id: 'freshness-h' }, 'Active lots by attestation'),
    h('p', {}, h('strong', { id: 'active-count' }, String(lots.length)), ' lots in the active reserve set.'),
    table('Attestation freshness', ['State', 'Lots'], stateRows, { id: 'freshness-table' }));

  const overdueSection = h('section', { id: 'overdue', 'aria-labelledby': 'overdue-h' },
    h('h2', { id: 'overdue-h' }, 'Overdue attestations'),
    h('p', { class: 'muted' }, 'Lots whose latest evidence is older than the attestation cadence: they leave the active set once the grace period passes.'),
    table('Lots with overdue attestations', ['Lot', 'Evidence at'],
      overdue.map((l) => [link(`lot/${encodeURIComponent(l.lotId)}`, l.lotId), when(l.evidenceAt)]),
      { id: 'overdue-table' }));

  const lotsSection = h('section', { id: 'lots', 'aria-labelledby': 'lots-h' },
    h('h2', { id: 'lots-h' }, 'Active lots'),
    lotSearch(),
    table('The active reserve set', ['Lot', 'Commodity', 'Quantity', 'DID version', 'Attestation'],
      lots.slice(0, 500).map((l) => [
        link(`lot/${encodeURIComponent(l.lotId)}`, l.lotId),
        l.commodity || '—',
        l.quantity ? `${l.quantity.amount} ${l.quantity.unit}` : '—',
        String(l.didVersion),
        freshness(l.attestation),
      ]), { id: 'lots-table' }));

  const sealsSection = h('section', { id: 'seals', 'aria-labelledby': 'seals-h' },
    h('h2', { id: 'seals-h' }, 'Seals of active lots by state'),
    h('p', { class: 'muted' }, 'Loading…'));

  const reportSection = h('section', { id: 'report-summary', 'aria-labelledby': 'report-h' },
    h('h2', { id: 'report-h' }, 'All lots by state'),
    latest
      ? [
        h('p', {}, 'As of ', link(`reports/${latest.reportNumber}`, `report ${latest.reportNumber}`), `, generated ${when(latest.generatedAt)}.`),
        table('Every lot of the registry by state', ['State', 'Lots'],
          Object.entries(latest.lotCountsByState || {}).map(([k, n]) => [k, String(n)]), { id: 'states-table' }),
        table('Lots that left the active set since the previous report', ['Lot', 'Reason', 'At'],
          (latest.departed || []).map((d) => [link(`lot/${encodeURIComponent(d.lotId)}`, d.lotId), d.reason, when(d.at)]),
          { id: 'departed-table' }),
      ]
      : h('p', { class: 'muted', id: 'no-report' }, 'No reserve report has been published yet (or this server does not publish reports).'));

  fill(main,
    h('h1', {}, 'Reserve overview'),
    h('div', { class: 'grid' }, totalsSection, freshnessSection),
    overdueSection, lotsSection,
    h('div', { class: 'grid' }, sealsSection, reportSection));

  // Seal states: one GET /seals/{uid} per active lot the caller may read.
  if (!can('readDetails')) {
    fill(sealsSection, h('h2', { id: 'seals-h' }, 'Seals of active lots by state'),
      h('p', { class: 'muted' }, 'Seal records need an auditor, admin or operator token.'));
    return;
  }
  // Active lots name no seal: the current binding (GET /lots/{id}) does.
  const sample = detailed.slice(0, MAX_SEALS);
  const states = [];
  for (let i = 0; i < sample.length; i += 8) {
    const batch = await Promise.all(sample.slice(i, i + 8).map(async (l) => {
      const record = await optional(`/lots/${encodeURIComponent(l.lotId)}`);
      const binding = record && (record.bindings || []).find((b) => b.id === l.bindingId);
      if (!binding) return 'not visible';
      const seal = await optional(`/seals/${encodeURIComponent(binding.sealUid)}`);
      return seal ? seal.seal.state : 'not visible';
    }));
    if (!current()) return;
    states.push(...batch);
  }
  if (!current()) return;
  fill(sealsSection,
    h('h2', { id: 'seals-h' }, 'Seals of active lots by state'),
    table('Seals by state', ['State', 'Seals'], countBy(states, (s) => s).map(([k, n]) => [k, String(n)]), { id: 'seal-states-table' }),
    sample.length < detailed.length ? h('p', { class: 'muted' }, `The seals of the first ${sample.length} lots.`) : null);
}
