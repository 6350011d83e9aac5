/**
 * Time windows in IANA time zones, on the local wall clock (so a 09:00–17:00
 * window follows daylight saving). Formatters are created once per zone; the
 * local time is cached per zone for the current UTC minute, since every offset
 * in use is a whole number of minutes.
 */

export class TimeWindowError extends Error {}

export interface CompiledWindow {
  zone: string;
  /** Bit i set = weekday i (0 = Sunday); all bits when the window names no days. */
  days: number;
  /** Minutes after local midnight; end may be 1440 ("24:00"). */
  start: number;
  end: number;
}

interface ZoneClock {
  format: Intl.DateTimeFormat;
  minute: number;
  day: number;
  minuteOfDay: number;
}

const zones = new Map<string, ZoneClock>();
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
const ALL_DAYS = 0b1111111;
const HHMM_RE = /^([01]\d|2[0-3]):([0-5]\d)$/;

function zoneClock(zone: string): ZoneClock {
  let z = zones.get(zone);
  if (!z) {
    let format: Intl.DateTimeFormat;
    try {
      format = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    } catch {
      throw new TimeWindowError('unknown time zone');
    }
    z = { format, minute: Number.NaN, day: 0, minuteOfDay: 0 };
    zones.set(zone, z);
  }
  return z;
}

/** Local weekday (0 = Sunday) and minute of the day at `epochSeconds` in `zone`. */
export function localTime(zone: string, epochSeconds: number): { day: number; minuteOfDay: number } {
  const z = zoneClock(zone);
  const minute = Math.floor(epochSeconds / 60);
  if (z.minute !== minute) {
    let day = -1;
    let hour = -1;
    let min = -1;
    for (const part of z.format.formatToParts(minute * 60_000)) {
      if (part.type === 'weekday') day = WEEKDAYS[part.value] ?? -1;
      else if (part.type === 'hour') hour = Number(part.value) % 24;
      else if (part.type === 'minute') min = Number(part.value);
    }
    if (day < 0 || !(hour >= 0) || !(min >= 0)) throw new Error('time zone formatting failed');
    z.minute = minute;
    z.day = day;
    z.minuteOfDay = hour * 60 + min;
  }
  return { day: z.day, minuteOfDay: z.minuteOfDay };
}

function parseHHMM(value: unknown, allow24: boolean): number {
  if (allow24 && value === '24:00') return 1440;
  const m = typeof value === 'string' ? HHMM_RE.exec(value) : null;
  if (!m) throw new TimeWindowError('times must be "HH:MM" (00:00–23:59; end may be 24:00)');
  return Number(m[1]) * 60 + Number(m[2]);
}

export function compileWindow(w: { days?: unknown; start?: unknown; end?: unknown; timeZone?: unknown }): CompiledWindow {
  if (typeof w.timeZone !== 'string' || w.timeZone.length === 0) throw new TimeWindowError('timeZone is required');
  zoneClock(w.timeZone);
  const start = parseHHMM(w.start, false);
  const end = parseHHMM(w.end, true);
  if (start === end) throw new TimeWindowError('start and end must differ (use 00:00–24:00 for a whole day)');
  let days = ALL_DAYS;
  if (w.days !== undefined) {
    if (!Array.isArray(w.days) || w.days.length === 0) throw new TimeWindowError('days must be a non-empty array of 0..6');
    days = 0;
    for (const d of w.days) {
      if (!Number.isInteger(d) || (d as number) < 0 || (d as number) > 6) throw new TimeWindowError('days must be integers 0 (Sunday) .. 6 (Saturday)');
      days |= 1 << (d as number);
    }
  }
  return { zone: w.timeZone, days, start, end };
}

/**
 * Inside the window? start is inclusive, end exclusive. When end < start the
 * window runs past midnight and `days` names the day it starts on.
 */
export function inWindow(w: CompiledWindow, epochSeconds: number): boolean {
  const { day, minuteOfDay: t } = localTime(w.zone, epochSeconds);
  if (w.start < w.end) return (w.days & (1 << day)) !== 0 && t >= w.start && t < w.end;
  if (t >= w.start) return (w.days & (1 << day)) !== 0;
  return t < w.end && (w.days & (1 << ((day + 6) % 7))) !== 0;
}
