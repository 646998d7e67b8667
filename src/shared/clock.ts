/** Time as a collaborator, so tests can freeze it (as jose does) instead of mocking `Date`. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that stands still until moved: for tests and for replaying a scenario on a given date. */
export function fixedClock(
  start: Date | string,
): Clock & { set(to: Date | string): void; advance(ms: number): void } {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    set(to) {
      current = new Date(to);
    },
    advance(ms) {
      current = new Date(current.getTime() + ms);
    },
  };
}

/** `YYYY-MM-DD` of a date in Japan Standard Time: the legal table's effective dates are JST calendar days. */
export function jstDate(at: Date): string {
  return new Date(at.getTime() + 9 * 3600_000).toISOString().slice(0, 10);
}

const DAY_MS = 86_400_000;

/** The instant (ISO-8601 UTC, as records store it) a JST calendar day `YYYY-MM-DD`, plus `days`, begins. */
export function jstDayStart(day: string, days = 0): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS - 9 * 3600_000).toISOString();
}

/** A calendar day `YYYY-MM-DD` plus `days` (negative: before). */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}
