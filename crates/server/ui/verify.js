// Verification in the browser with WebCrypto (SHA-256, SHA-384, ECDSA P-384, Ed25519): JCS,
// base64url, DER → raw ECDSA signatures, RFC 9162 Merkle roots, C2SP signed checkpoints,
// RFC 7638 thumbprints. Nothing here trusts the server's own verdicts: keys come from the
// registry's published DID document and everything else is recomputed.

const subtle = globalThis.crypto && globalThis.crypto.subtle;
const utf8 = new TextEncoder();

export function bytes(text) {
  return utf8.encode(text);
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function hex(buf) {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Strict base64url without padding (RFC 4648 §5); `null` when malformed. */
export function b64url(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  return b64(text.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(text.length / 4) * 4, '='));
}

export function b64urlEncode(buf) {
  return btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Standard base64 (with padding); `null` when malformed. */
export function b64(text) {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

export async function sha256(data) {
  return new Uint8Array(await subtle.digest('SHA-256', data));
}

export async function sha384(data) {
  return new Uint8Array(await subtle.digest('SHA-384', data));
}

/**
 * RFC 8785 canonical JSON of a parsed value. ECMAScript's own string and number serialization
 * is the one RFC 8785 specifies; members are sorted by UTF-16 code units (the default sort).
 */
export function jcs(value) {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(value[k])}`).join(',')}}`;
}

/** A copy of `obj` without the members `names`. */
export function without(obj, ...names) {
  const copy = { ...obj };
  for (const n of names) delete copy[n];
  return copy;
}

/** ASN.1 DER ECDSA-Sig-Value → the fixed-width `r ‖ s` WebCrypto takes; `null` if malformed. */
export function derToRaw(der, size) {
  let i = 0;
  const readLen = () => {
    let len = der[i++];
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 2) return -1;
      len = 0;
      for (let k = 0; k < n; k++) len = (len << 8) | der[i++];
    }
    return len;
  };
  if (der[i++] !== 0x30) return null;
  const seqLen = readLen();
  if (seqLen < 0 || i + seqLen !== der.length) return null;
  const out = new Uint8Array(2 * size);
  for (let part = 0; part < 2; part++) {
    if (der[i++] !== 0x02) return null;
    let len = readLen();
    if (len < 1 || i + len > der.length) return null;
    let start = i;
    while (len > size && der[start] === 0) { start++; len--; }
    if (len > size) return null;
    out.set(der.subarray(start, start + len), part * size + size - len);
    i = start + len;
  }
  return i === der.length ? out : null;
}

const ALGS = {
  Ed25519: { import: { name: 'Ed25519' }, verify: { name: 'Ed25519' } },
  'P-384': { import: { name: 'ECDSA', namedCurve: 'P-384' }, verify: { name: 'ECDSA', hash: 'SHA-384' }, size: 48 },
  'P-256': { import: { name: 'ECDSA', namedCurve: 'P-256' }, verify: { name: 'ECDSA', hash: 'SHA-256' }, size: 32 },
};

/** The public members of an Ed25519 or EC JWK, for import and thumbprints. */
function publicJwk(jwk) {
  if (jwk.kty === 'OKP') return { crv: jwk.crv, kty: 'OKP', x: jwk.x };
  return { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y };
}

/**
 * Verifies `signature` (bytes; DER for ECDSA, 64 bytes for Ed25519) over `data` with the
 * public JWK `jwk`. Resolves to true or false; an unusable key or signature is false.
 */
export async function verifySignature(jwk, data, signature) {
  const alg = ALGS[jwk && jwk.crv];
  if (!alg || !signature) return false;
  try {
    const key = await subtle.importKey('jwk', publicJwk(jwk), alg.import, false, ['verify']);
    const sig = alg.size ? derToRaw(signature, alg.size) : signature;
    if (!sig) return false;
    return await subtle.verify(alg.verify, key, sig, data);
  } catch {
    return false;
  }
}

/** RFC 7638 thumbprint (SHA-256, base64url) of a public JWK. */
export async function thumbprint(jwk) {
  return b64urlEncode(await sha256(bytes(jcs(publicJwk(jwk)))));
}

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ data). */
export async function leafHash(data) {
  return sha256(concat(new Uint8Array([0]), data));
}

/** RFC 9162 Merkle tree hash of leaf hashes (MTH, §2.1.1). */
export async function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  // Bottom-up over the same shape as the recursive definition: an odd node at the right edge
  // is promoted unchanged.
  let level = leaves;
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i + 1 < level.length; i += 2) {
      next.push(sha256(concat(new Uint8Array([1]), level[i], level[i + 1])));
    }
    const hashed = await Promise.all(next);
    if (level.length % 2 === 1) hashed.push(level[level.length - 1]);
    level = hashed;
  }
  return level[0];
}

/**
 * Opens a C2SP signed checkpoint `note` of log `origin` with the Ed25519 identity key `jwk`:
 * the key ID (first four bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ key)) and signature over the
 * note text are checked. Answers `{size, root, time}` or throws an Error naming the problem.
 */
export async function openCheckpoint(note, origin, jwk) {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('checkpoint has no signature block');
  const text = note.slice(0, split + 1);
  const lines = text.split('\n');
  if (lines[0] !== origin) throw new Error(`checkpoint of "${lines[0]}", expected "${origin}"`);
  const size = /^(0|[1-9]\d*)$/.test(lines[1]) ? Number(lines[1]) : NaN;
  const root = b64(lines[2] || '');
  if (!Number.isSafeInteger(size) || !root || root.length !== 32) throw new Error('malformed checkpoint body');
  const pub = b64url(jwk.x);
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !pub) throw new Error('the identity key is not Ed25519');
  const id = (await sha256(concat(bytes(`${origin}\n`), new Uint8Array([1]), pub))).subarray(0, 4);
  for (const line of note.slice(split + 2).split('\n')) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m || m[1] !== origin) continue;
    const blob = b64(m[2]);
    if (!blob || blob.length !== 68 || hex(blob.subarray(0, 4)) !== hex(id)) continue;
    if (await verifySignature(jwk, bytes(text), blob.subarray(4))) {
      const time = lines.slice(3).find((l) => l.startsWith('time '));
      return { size, root, time: time ? time.slice(5) : null };
    }
    throw new Error('the checkpoint signature does not verify with the identity key');
  }
  throw new Error('no signature by the registry identity key on the checkpoint');
}
