// A clock that moves only when told: timers fire in time order during advance().
import type { Clock, Timer } from "../../../operator/runtime/index.js";

interface PendingTimer {
  at: number;
  order: number;
  callback: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private current: number;
  private timers: PendingTimer[] = [];
  private order = 0;

  constructor(start = Date.UTC(2025, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): Timer {
    const timer: PendingTimer = { at: this.current + Math.max(0, delayMs), order: this.order++, callback, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Delays of the timers still pending, from now, in firing order. */
  get pending(): number[] {
    return this.live().map((timer) => timer.at - this.current);
  }

  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.live().find((timer) => timer.at <= target);
      if (!next) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      this.current = next.at;
      next.callback();
    }
    this.current = target;
  }

  private live(): PendingTimer[] {
    this.timers = this.timers.filter((timer) => !timer.cancelled);
    return [...this.timers].sort((a, b) => a.at - b.at || a.order - b.order);
  }
}

/** Lets pending promise callbacks run (workers picking up keys, reconciles finishing). */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}
