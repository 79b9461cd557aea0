// One ticking clock for every age and countdown on screen, so they all agree and re-render
// together once a second.
let now = $state(Date.now());
let users = 0;
let timer: ReturnType<typeof setInterval> | null = null;

export const clock = {
  get now(): number {
    return now;
  },
};

/** Starts the clock while at least one caller holds it; returns the release function. */
export function holdClock(): () => void {
  users++;
  if (timer === null) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
    }, 1000);
  }
  return () => {
    users--;
    if (users === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };
}
