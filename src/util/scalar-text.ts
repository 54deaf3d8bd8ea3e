/** A template value as text: strings verbatim, other scalars via String(), objects and arrays as JSON. */
export function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === undefined) return '';
  return JSON.stringify(v);
}
