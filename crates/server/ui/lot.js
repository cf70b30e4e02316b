// One lot: its record, lifecycle timeline (the lot's and its seals' registry events, in
// order), inspections, custody, bindings, attestations, the current DID document, and a proof
// from the latest reserve report to download. Actions appear only for the role that may take
// them (sign-off: auditor; revocation: operator); the server's refusal is shown as it is.

import { ApiError, can, explain, optional, request } from './api.js';
import { badge, download, fill, h, table, when } from './dom.js';

/** The outcome of the last action, shown once above the re-read page. */
let flash = null;

const REASONS = ['tamper_detected', 'key_compromise', 'device_failure', 'device_replacement', 'object_decommissioned'];

function describe(event) {
  const d = event.data || {};
  switch (event.eventType) {
    case 'seal_attested': return `attested (${d.bal || ''}, device ${d.deviceStatus || '?'})`;
    case 'verification_recorded': return `attestation recorded: ${event.reasonCode || (d.verification && d.verification.result) || ''}`;
    case 'binding_revoked': return `binding revoked: ${event.reasonCode || d.reason || ''}`;
    case 'lot_lapsed': return `lapsed out of the active set: ${event.reasonCode || ''}`;
    default: return event.eventType.replace(/_/g, ' ') + (event.reasonCode ? `: ${event.reasonCode}` : '');
  }
}

function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function actionBox(lotId, record, rerender) {
  const out = h('p', { id: 'action-error', role: 'alert', hidden: true });
  const show = (ok, text) => {
    out.className = ok ? 'badge ok' : 'error';
    out.textContent = text;
    out.hidden = false;
    out.focus();
  };
  const run = async (button, path, body, done) => {
    button.disabled = true;
    try {
      await request(path, { method: 'POST', body });
      // The page is read again to show the new state; the outcome stays on top of it.
      flash = done;
      rerender();
    } catch (e) {
      show(false, e instanceof ApiError && e.status !== 401 && e.status !== 0
        ? `Refused by the registry: ${e.reasonCode}. ${e.detail || ''}` : explain(e));
      button.disabled = false;
    }
  };
  const controls = [];
  const binding = (record.bindings || []).find((b) => b.id === record.lot.bindingId);
  if (can('signOff') && binding && !binding.signOff && binding.state !== 'revoked') {
    const b = h('button', { type: 'button', id: 'sign-off' }, 'Sign off the binding');
    b.addEventListener('click', () => run(b, `/lots/${encodeURIComponent(lotId)}/sign-off`, {}, 'Signed off: the lot enters the active set.'));
    controls.push(b);
  }
  if (can('revoke') && binding && binding.state !== 'revoked') {
    const select = h('select', { id: 'revoke-reason' }, REASONS.map((r) => h('option', { value: r }, r)));
    const b = h('button', { type: 'submit', id: 'revoke' }, 'Revoke the binding');
    controls.push(h('form', { class: 'inline', onsubmit: (ev) => {
      ev.preventDefault();
      run(b, `/lots/${encodeURIComponent(lotId)}/revoke`, { reason: select.value }, 'Binding revoked.');
    } }, h('div', {}, h('label', { for: 'revoke-reason' }, 'Revocation reason'), select), b));
  }
  if (!controls.length) return null;
  out.setAttribute('tabindex', '-1');
  return h('section', { id: 'actions', 'aria-labelledby': 'actions-h' }, h('h2', { id: 'actions-h' }, 'Actions'), controls, out);
}

async function proofBox(lotId) {
  const latest = await optional('/reports/latest');
  const box = h('section', { id: 'proof', 'aria-labelledby': 'proof-h' }, h('h2', { id: 'proof-h' }, 'Reserve report proof'));
  if (!latest) {
    box.append(h('p', { class: 'muted', id: 'no-proof' }, 'No reserve report has been published yet.'));
    return box;
  }
  const n = latest.reportNumber;
  const status = h('p', { id: 'proof-status', role: 'status' });
  const b = h('button', { type: 'button', id: 'download-proof' }, `Download the proof from report ${n}`);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      const text = await request(`/reports/${n}/proof?lot=${encodeURIComponent(lotId)}`, { as: 'text' });
      const proof = JSON.parse(text);
      download(`report-${n}-proof-${lotId}.json`, text);
      status.textContent = proof.kind === 'nonInclusion'
        ? `Downloaded: a non-inclusion proof (the lot is not in report ${n}).`
        : `Downloaded: an inclusion proof (leaf ${proof.inclusion ? proof.inclusion.leafIndex : '?'} of report ${n}).`;
      status.className = 'badge ok';
    } catch (e) {
      status.textContent = explain(e);
      status.className = 'error';
    } finally {
      b.disabled = false;
    }
  });
  box.append(h('p', {}, `Report ${n} of ${when(latest.generatedAt)}. Check the proof offline with `,
    h('code', {}, 'cphar report verify REPORT --proof FILE'), '.'), b, status);
  return box;
}

export async function render(main, params, current) {
  const lotId = params[0] || '';
  const rerender = () => { if (current()) render(main, params, current); };
  const [record, did, proof] = await Promise.all([
    can('readDetails') ? optional(`/lots/${encodeURIComponent(lotId)}`) : Promise.resolve(undefined),
    optional(`/lots/${encodeURIComponent(lotId)}/did.json`),
    proofBox(lotId),
  ]);
  if (!current()) return;
  const sections = [h('h1', {}, `Lot ${lotId}`)];
  if (flash) {
    sections.push(h('p', { id: 'action-result', class: 'badge ok', role: 'status' }, flash));
    flash = null;
  }
  if (record === null && did === null) {
    sections.push(h('p', { class: 'error', id: 'lot-missing' }, 'No such lot, or not one your role may read.'));
    fill(main, sections);
    return;
  }
  if (record) {
    const lot = record.lot;
    const seals = [...new Set((record.bindings || []).map((b) => b.sealUid))];
    const sealRecords = (await Promise.all(seals.map((uid) => optional(`/seals/${encodeURIComponent(uid)}`)))).filter(Boolean);
    if (!current()) return;
    const events = new Map();
    for (const e of [...(record.history || []), ...sealRecords.flatMap((s) => s.history || [])]) events.set(e.sequence, e);
    const timeline = [...events.values()].sort((a, b) => a.sequence - b.sequence);
    const attestations = timeline.filter((e) => e.eventType === 'seal_attested' || e.eventType === 'verification_recorded');
    sections.push(
      h('section', { id: 'lot-facts', 'aria-labelledby': 'facts-h' }, h('h2', { id: 'facts-h' }, 'Lot'),
        facts([
          ['State', h('span', { id: 'lot-state' }, lot.state)],
          ['Active reserve set', h('span', { id: 'lot-active' }, lot.active ? badge('ok', 'yes: in the active reserve set') : badge('bad', 'no: out of the active reserve set'))],
          ['Commodity', lot.commodity], ['Quantity', `${lot.quantity.amount} ${lot.quantity.unit}`],
          ['Grade', lot.grade], ['Container', lot.containerId], ['Location', lot.location], ['Owner', lot.owner],
          ['DID', h('code', {}, lot.did)], ['Latest evidence', when(lot.evidenceAt)],
          ...sealRecords.map((s) => [`Seal ${s.seal.uid}`, h('span', { class: 'seal-state' }, s.seal.state)]),
        ])),
      actionBox(lotId, record, rerender),
      h('section', { id: 'timeline', 'aria-labelledby': 'timeline-h' }, h('h2', { id: 'timeline-h' }, 'Lifecycle timeline'),
        h('ol', { class: 'timeline' }, timeline.map((e) => h('li', { 'data-event': e.eventType },
          h('time', { datetime: e.at }, when(e.at)), h('strong', {}, describe(e)), h('span', { class: 'muted' }, ` by ${e.actor}`))))),
      h('section', { 'aria-label': 'Evidence' },
      table('Inspections', ['Inspected', 'Inspector', 'Seal', 'Quantity', 'Evidence'],
        (record.inspections || []).map((i) => [when(i.inspectedAt), i.inspector, i.sealUid, `${i.quantity.amount} ${i.quantity.unit}`, i.evidence.hash]),
        { id: 'inspections-table' }),
      table('Chain of custody', ['At', 'Holder', 'Action', 'Recorded by'],
        (record.custody || []).map((c) => [when(c.at), c.holder, c.action, c.recordedBy]), { id: 'custody-table' }),
      table('Bindings', ['Method', 'Seal', 'State', 'BAL', 'Bound by', 'Signed off', 'Revoked'],
        (record.bindings || []).map((b) => [b.id, b.sealUid, b.state, b.bal, b.boundBy,
          b.signOff ? `${b.signOff.auditor}, ${when(b.signOff.at)}` : '—',
          b.revocation ? `${b.revocation.reason}, ${when(b.revocation.at)}` : '—']), { id: 'bindings-table' }),
      table('Attestations', ['At', 'Outcome', 'Verifier'],
        attestations.map((e) => [when(e.at), describe(e), (e.data && e.data.verifierDid) || e.actor]), { id: 'attestations-table' })));
  } else {
    sections.push(h('p', { class: 'muted', id: 'lot-hidden' }, can('readDetails')
      ? 'The lot record is not visible to your role (an operator sees the lots it bound); its DID document is public.'
      : 'The lot record, its history and evidence need an auditor, admin or operator token; its DID document is public.'));
  }
  sections.push(
    h('section', { id: 'did', 'aria-labelledby': 'did-h' }, h('h2', { id: 'did-h' }, 'Current DID document'),
      did ? h('pre', { id: 'did-document', tabindex: '0' }, JSON.stringify(did, null, 2))
        : h('p', { class: 'muted' }, 'No DID document is published for this lot (not bound yet).')),
    proof);
  fill(main, sections);
}
