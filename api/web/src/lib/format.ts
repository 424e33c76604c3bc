// Numbers and times as people read them: times in the browser's time zone (UTC on hover).

export function localTime(iso: string | number, withTime = true): string {
  const d = typeof iso === 'number' ? new Date(iso * 1000) : new Date(iso);
  return withTime
    ? d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
    : d.toLocaleDateString(undefined, { dateStyle: 'medium' });
}

export function utcTime(iso: string | number): string {
  const d = typeof iso === 'number' ? new Date(iso * 1000) : new Date(iso);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function price(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const digits = Math.abs(x) >= 1000 ? 2 : Math.abs(x) >= 1 ? 4 : 6;
  return x.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: Math.min(2, digits) });
}

export function percent(x: number | null | undefined, digits = 2, signed = true): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  const s = (x * 100).toFixed(digits);
  return `${signed && x > 0 ? '+' : ''}${s} %`;
}

export function count(x: number | null | undefined): string {
  return x === null || x === undefined ? '–' : x.toLocaleString();
}
