/** Human-readable times and durations. */

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function clock(epochMs: number | undefined): string {
  if (epochMs === undefined) return '';
  return new Date(epochMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function dateTime(epochMs: number | undefined): string {
  if (epochMs === undefined || epochMs === 0) return '';
  return new Date(epochMs).toLocaleString();
}

/** "12 s ago", "5 min ago", "3 h ago", else the date. */
export function ago(epochMs: number, now = Date.now()): string {
  if (epochMs === 0) return '';
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(epochMs).toLocaleDateString();
}
