// Exact decimal quantities: amounts are strings (never floats), summed as integers of 10^-9
// units like the registry and the reserve reports do (docs/reserve-report.md §2).

const SCALE = 9;
const UNIT = 10n ** BigInt(SCALE);

/** `"400.125"` → 400125000000n; `null` when it is not an unsigned decimal with ≤ 9 decimals. */
export function parse(text) {
  const m = /^(\d+)(?:\.(\d{1,9}))?$/.exec(String(text));
  if (!m) return null;
  return BigInt(m[1]) * UNIT + BigInt((m[2] || '').padEnd(SCALE, '0'));
}

/** The canonical spelling: no trailing zeros, no fraction when whole (`"412.5"`, `"20"`). */
export function format(units) {
  const int = units / UNIT;
  const frac = (units % UNIT).toString().padStart(SCALE, '0').replace(/0+$/, '');
  return frac ? `${int}.${frac}` : `${int}`;
}

/** Totals per (commodity, unit) of items `{commodity, quantity: {amount, unit}}`, sorted. */
export function totals(items) {
  const sums = new Map();
  let invalid = 0;
  for (const item of items) {
    const amount = parse(item.quantity && item.quantity.amount);
    if (amount === null) { invalid += 1; continue; }
    const key = JSON.stringify([item.commodity, item.quantity.unit]);
    const s = sums.get(key) || { commodity: item.commodity, unit: item.quantity.unit, units: 0n, lots: 0 };
    s.units += amount;
    s.lots += 1;
    sums.set(key, s);
  }
  const rows = [...sums.values()]
    .sort((a, b) => (a.commodity < b.commodity ? -1 : a.commodity > b.commodity ? 1 : a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0))
    .map((s) => ({ commodity: s.commodity, unit: s.unit, quantity: format(s.units), lots: s.lots }));
  return { rows, invalid };
}
