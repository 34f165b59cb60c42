// Subscribe-only events: the emitter stays private to its policy; `on…` returns an unsubscribe function.

export type Listener<T> = (event: T) => void;
export type Subscribe<T> = (listener: Listener<T>) => () => void;

export class Emitter<T> {
  private listeners: Listener<T>[] = [];

  /** True when someone listens: policies build event objects (and read clocks) only then. */
  get active(): boolean {
    return this.listeners.length > 0;
  }

  readonly subscribe: Subscribe<T> = (listener) => {
    // Copy on write, so an emit in progress is not disturbed by (un)subscription.
    this.listeners = [...this.listeners, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  };

  emit(event: T): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        // A listener's bug must not change the outcome of the call it observes.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
