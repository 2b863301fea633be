/**
 * Calendar days and clock times in the dashboard's zone (PAYGATE_TIME_ZONE). Rows keep UTC epoch
 * milliseconds; a day of the zone becomes the range [its first instant, the next day's first
 * instant), found here with Intl, so both databases are asked only for plain number ranges and no
 * database time-zone table is involved. A day is not always 24 hours: across a daylight-saving
 * change it is 23 or 25 (America/New_York), which is why nothing here adds 86,400,000 to an instant.
 */

/** When PAYGATE_TIME_ZONE is unset (as core/config.ts defaults it). */
export const DEFAULT_ADMIN_TIME_ZONE = 'Asia/Taipei';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
    formatters.set(zone, f);
  }
  return f;
}

interface WallClock {
  date: string;
  time: string;
}

/** The zone's wall clock at an instant: date as YYYY-MM-DD, time as HH:mm:ss. */
function wallClock(ms: number, zone: string): WallClock {
  const p = Object.fromEntries(formatter(zone).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const year = p.year!.padStart(4, '0');
  return { date: `${year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}` };
}

/** The zone's calendar date (YYYY-MM-DD) at an instant. */
export function dateIn(ms: number, zone: string): string {
  return wallClock(ms, zone).date;
}

/** "2026/12/03 01:21:07": the zone's wall clock, as the dashboard shows it. */
export function formatDateTime(ms: number, zone: string): string {
  const w = wallClock(ms, zone);
  return `${w.date.replace(/-/g, '/')} ${w.time}`;
}

/** A calendar date moved by whole days (calendar arithmetic, no zone involved). */
export function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/**
 * The first instant (epoch ms) of a calendar date in the zone: its midnight, or, where a change of
 * offset skips midnight, the first minute the clocks do show that day. Every offset in use lies
 * within ±15 hours of UTC, so the instant is searched for in that window around the date's UTC
 * midnight: the zone's date never goes backwards as time goes on, so a binary search finds it.
 */
export function startOfDay(date: string, zone: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const utcMidnight = Date.UTC(y, m - 1, d);
  let lo = utcMidnight - 15 * 3_600_000; // its date is before `date` in every zone
  let hi = utcMidnight + 15 * 3_600_000; // its date is `date` or later in every zone
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (dateIn(mid, zone) < date) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The zone's offset from UTC at an instant, as "UTC+8", "UTC−4" or "UTC+5:30". */
export function offsetLabel(ms: number, zone: string): string {
  const w = wallClock(ms, zone);
  const asUtc = Date.parse(`${w.date}T${w.time}Z`);
  const minutes = Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
  if (minutes === 0) return 'UTC';
  const abs = Math.abs(minutes);
  return `UTC${minutes > 0 ? '+' : '−'}${Math.floor(abs / 60)}${abs % 60 ? `:${String(abs % 60).padStart(2, '0')}` : ''}`;
}

/** The zone's days from `first` to `last` (inclusive), each with its [start, end) in epoch ms. */
export function daysBetween(first: string, last: string, zone: string): { date: string; start: number; end: number }[] {
  const days: { date: string; start: number; end: number }[] = [];
  let start = startOfDay(first, zone);
  for (let date = first; date <= last; date = addDays(date, 1)) {
    const end = startOfDay(addDays(date, 1), zone);
    // A date the zone skipped altogether (Pacific/Apia, 2011-12-30) has no instant: no day for it.
    if (end > start) days.push({ date, start, end });
    start = end;
  }
  return days;
}
