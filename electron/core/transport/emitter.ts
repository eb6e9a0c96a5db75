import { EventEmitter } from 'node:events';

/** A typed EventEmitter: `on` returns an unsubscribe function; listener errors never reach the emitter's caller. */
export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly ee = new EventEmitter();

  constructor() {
    this.ee.setMaxListeners(100);
  }

  on<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): () => void {
    const wrapped = (payload: Events[E]): void => {
      try {
        listener(payload);
      } catch (err) {
        queueMicrotask(() => this.ee.emit('listener-error', err));
      }
    };
    this.ee.on(event, wrapped);
    return () => this.ee.off(event, wrapped);
  }

  protected emit<E extends keyof Events & string>(event: E, payload: Events[E]): void {
    this.ee.emit(event, payload);
  }

  removeAllListeners(): void {
    this.ee.removeAllListeners();
  }
}
