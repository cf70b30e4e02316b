// The audit log browser and its verification, done here in the browser with WebCrypto:
//
// 1. the registry identity key is read from its DID document (/.well-known/did.json, method
//    #identity) and its thumbprint shown, to compare with a pinned copy;
// 2. a fresh signed checkpoint (/audit/checkpoint) is opened with that key (Ed25519);
// 3. the RFC 9162 root over the first `size` entries is recomputed: from the entries
//    themselves for a role that reads the whole log, else from the public leaf hashes;
// 4. with the whole log (auditor, admin): every entry's sequence number, SHA-384 hash chain,
//    ECDSA P-384 signature by its epoch's audit key, and each epoch's Ed25519 countersignature
//    by the identity key — what `cphar audit verify` checks, minus the timestamp order.
// An operator reads only its own entries: those are shown, and step 3 uses the leaf hashes.

import { can, request } from './api.js';
import { badge, fill, h, table, when } from './dom.js';
import {
  b64url, bytes, hex, jcs, leafHash, merkleRoot, openCheckpoint, sha384, thumbprint, verifySignature,
  without,
} from './verify.js';

/** Larger logs are left to `cphar audit verify`. */
const MAX_ENTRIES = 50000;
const PAGE = 5000;
const GENESIS = '0'.repeat(96);

export class Failed extends Error {
  constructor(code, sequence, message) {
    super(message);
    this.code = code;
    this.sequence = sequence;
  }
}

async function identity() {
  const doc = await request('/.well-known/did.json');
  const method = (doc.verificationMethod || []).find((m) => m.id === `${doc.id}#identity`);
  if (!method) throw new Failed('identity_unavailable', null, 'the registry DID document names no identity key');
  const host = doc.id.replace(/^did:web:/, '');
  return { jwk: method.publicKeyJwk, origin: `${host}/audit`, thumbprint: await thumbprint(method.publicKeyJwk) };
}

async function entries(size) {
  const lines = [];
  for (let from = 0; from < size; from += PAGE) {
    const text = await request(`/audit/entries?from=${from}&limit=${Math.min(PAGE, size - from)}`, { as: 'text' });
    lines.push(...text.split('\n').filter((l) => l.length));
  }
  return lines;
}

async function leaves(size) {
  const out = [];
  for (let from = 0; from < size; from += PAGE) {
    const page = await request(`/audit/leaves?from=${from}&limit=${Math.min(PAGE, size - from)}`);
    for (const l of page.leaves) {
      if (l.sequenceNumber !== out.length) throw new Failed('leaves_out_of_order', l.sequenceNumber, 'the leaf hashes are not in sequence');
      out.push(b64url(l.leafHash));
    }
  }
  return out.slice(0, size);
}

/** Checks the chain, signatures and epochs of whole-log entry lines (see the module comment). */
export async function checkEntries(lines, id) {
  const epochs = new Map();
  let previous = GENESIS;
  let epochCount = 0;
  for (let i = 0; i < lines.length; i++) {
    let e;
    try {
      e = JSON.parse(lines[i]);
    } catch {
      throw new Failed('malformed_entry', i, 'not JSON');
    }
    if (e.sequenceNumber !== i) throw new Failed('sequence_gap', i, `expected sequenceNumber ${i}, found ${e.sequenceNumber}`);
    if (jcs(e) !== lines[i]) throw new Failed('not_canonical', i, 'the entry is not in its canonical (JCS) form');
    if (e.previousHash !== previous) throw new Failed('broken_chain', i, 'previousHash is not the SHA-384 of the previous entry');
    previous = hex(await sha384(bytes(lines[i])));
    const data = e.eventData || {};
    let key;
    if (e.eventType === 'audit_key_epoch') {
      if ((await thumbprint(data.identityKey || {})) !== id.thumbprint) {
        throw new Failed('identity_mismatch', i, 'epoch countersigned by another identity key');
      }
      const ok = await verifySignature(id.jwk, bytes(jcs(without(data, 'identitySignature'))), b64url(data.identitySignature));
      if (!ok) throw new Failed('bad_identity_signature', i, 'the identity key did not sign this audit key');
      key = data.auditKey;
      if (!key || key.crv !== 'P-384') throw new Failed('malformed_entry', i, 'auditKey is not ECDSA P-384');
      epochs.set(i, key);
      epochCount += 1;
    } else {
      key = epochs.get(data.auditEpoch);
      if (!key) throw new Failed('unknown_epoch_key', i, 'no earlier epoch entry holds the key of this entry');
    }
    if (i === 0 && e.eventType !== 'audit_key_epoch') throw new Failed('first_entry_not_epoch', 0, 'the log must open with an epoch');
    const ok = await verifySignature(key, bytes(jcs(without(e, 'signature'))), b64url(e.signature));
    if (!ok) throw new Failed('bad_signature', i, 'the entry signature does not verify with its epoch key');
  }
  return epochCount;
}

/**
 * Verifies the whole log up to a fresh checkpoint (auditor, admin): identity key, checkpoint
 * signature, RFC 9162 root over the entries, chain, signatures, epochs. Calls `note` with
 * each step done; answers `{lines, size}` or throws `Failed` (or an `ApiError`).
 */
export async function verifyWholeLog(note) {
  const id = await identity();
  note(`Registry identity key (Ed25519) from /.well-known/did.json, thumbprint ${id.thumbprint}: compare it with your pinned copy.`);
  const cp = await openCheckpoint(await request('/audit/checkpoint', { as: 'text' }), id.origin, id.jwk);
  note(`Checkpoint signature verified: ${cp.size} entries, root ${hex(cp.root).slice(0, 16)}…${cp.time ? `, signed ${when(cp.time)}` : ''}.`);
  if (cp.size > MAX_ENTRIES) throw new Failed('log_too_large', null, `${cp.size} entries: too many to check here; use cphar audit verify`);
  const lines = await entries(cp.size);
  if (lines.length !== cp.size) throw new Failed('entries_missing', lines.length, `${lines.length} entries read for a checkpoint of ${cp.size}`);
  const root = await merkleRoot(await Promise.all(lines.map((l) => leafHash(bytes(l)))));
  if (hex(root) !== hex(cp.root)) throw new Failed('root_mismatch', null, 'the entries do not hash to the checkpoint root');
  note(`The ${lines.length} entries hash to the checkpoint root (RFC 9162).`);
  const epochs = await checkEntries(lines, id);
  note(`Hash chain (SHA-384), ${lines.length} entry signatures (ECDSA P-384) and ${epochs} epoch countersignature(s) (Ed25519) verified.`);
  return { lines, size: cp.size };
}

function entryTable(lines, caption) {
  const rows = lines.slice(-200).reverse().map((line) => {
    const e = JSON.parse(line);
    const d = e.eventData || {};
    return [String(e.sequenceNumber), when(e.timestamp), e.eventType, d.actor || d.subject || '—'];
  });
  return table(caption, ['#', 'Time', 'Event', 'Actor / subject'], rows, { id: 'entries-table' });
}

export async function render(main, _params, current) {
  const status = h('p', { id: 'audit-status', class: 'verdict', role: 'status' }, 'Verifying…');
  const checks = h('ul', { id: 'audit-checks', class: 'checks' });
  const listing = h('div', { id: 'audit-listing' });
  const again = h('button', { type: 'button', id: 'verify-again', class: 'secondary', onclick: () => render(main, _params, current) }, 'Verify again');
  fill(main,
    h('h1', {}, 'Audit log'),
    h('section', { 'aria-labelledby': 'verify-h' },
      h('h2', { id: 'verify-h' }, 'Verification (in this browser)'),
      status, checks, again,
      h('p', { class: 'muted' }, 'Checked here with WebCrypto from the registry\'s published keys, not taken from the server\'s word. For an offline check: ',
        h('code', {}, 'cphar audit verify log.jsonl --checkpoint cp.txt --identity-key id.jwk'), '.')),
    listing);
  const note = (text) => checks.append(h('li', {}, text));
  try {
    if (can('readWholeAudit')) {
      const { lines } = await verifyWholeLog(note);
      if (!current()) return;
      fill(status, badge('ok', 'verified'), ` All ${lines.length} entries up to the checkpoint.`);
      fill(listing, h('section', { 'aria-labelledby': 'entries-h' }, h('h2', { id: 'entries-h' }, 'Latest entries'), entryTable(lines, 'The latest 200 entries, newest first')));
    } else {
      const id = await identity();
      note(`Registry identity key (Ed25519) from /.well-known/did.json, thumbprint ${id.thumbprint}: compare it with your pinned copy.`);
      const cp = await openCheckpoint(await request('/audit/checkpoint', { as: 'text' }), id.origin, id.jwk);
      note(`Checkpoint signature verified: ${cp.size} entries, root ${hex(cp.root).slice(0, 16)}…${cp.time ? `, signed ${when(cp.time)}` : ''}.`);
      if (!current()) return;
      if (cp.size > MAX_ENTRIES) {
        fill(status, badge('warn', 'checkpoint verified'), ` The log has ${cp.size} entries: too many to check here; use cphar audit verify.`);
        return;
      }
      const hashes = await leaves(cp.size);
      const root = await merkleRoot(hashes);
      if (hashes.length !== cp.size || hex(root) !== hex(cp.root)) throw new Failed('root_mismatch', null, 'the leaf hashes do not lead to the checkpoint root');
      note(`The ${hashes.length} public leaf hashes lead to the checkpoint root (RFC 9162). Entry contents, chain and signatures need an auditor or admin token.`);
      if (!current()) return;
      fill(status, badge('ok', 'verified'), ` Checkpoint and ${hashes.length} leaf hashes (entries not readable by this role).`);
      if (can('readAudit')) {
        const own = (await request(`/audit/entries?limit=10000`, { as: 'text' })).split('\n').filter((l) => l.length);
        const byHash = new Set(hashes.map((x) => hex(x)));
        let included = 0;
        for (const l of own) if (byHash.has(hex(await leafHash(bytes(l))))) included += 1;
        note(`${included} of the ${own.length} entries you may read are among the checkpoint's leaves.`);
        fill(listing, h('section', { 'aria-labelledby': 'entries-h' }, h('h2', { id: 'entries-h' }, 'Your entries'), entryTable(own, 'Entries you are the actor of, newest first')));
      }
    }
  } catch (e) {
    if (!current()) return;
    if (e instanceof Failed) {
      fill(status, badge('bad', 'verification failed'), ` ${e.code}${e.sequence !== null ? ` at entry ${e.sequence}` : ''}: ${e.message}`);
      return;
    }
    if (e instanceof Error && !('status' in e)) {
      fill(status, badge('bad', 'verification failed'), ` ${e.message}`);
      return;
    }
    throw e;
  }
}
