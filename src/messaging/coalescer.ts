/**
 * Joins concurrent requests into one batched operation: requests made while a batch is in
 * flight wait for the next one. With many sends running at once (broadcast), this turns
 * one tmux process per agent per poll into one tmux process per poll.
 */
export class Coalescer<T> {
  private pending = new Map<string, { resolve: (value: T) => void; reject: (error: unknown) => void }[]>();
  private running = false;

  /** `flush` answers every key, in order, with a value or an Error. */
  constructor(private readonly flush: (keys: readonly string[]) => Promise<(T | Error)[]>) {}

  request(key: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(key) ?? [];
      waiters.push({ resolve, reject });
      this.pending.set(key, waiters);
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      // Let requests made in this turn of the event loop join the first call.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.pending.size > 0) {
        const batch = this.pending;
        this.pending = new Map();
        const keys = [...batch.keys()];
        let results: (T | Error)[];
        try {
          results = await this.flush(keys);
        } catch (error) {
          results = keys.map(() => (error instanceof Error ? error : new Error(String(error))));
        }
        keys.forEach((key, i) => {
          const result = results[i] ?? new Error('no result');
          for (const waiter of batch.get(key)!) {
            if (result instanceof Error) waiter.reject(result);
            else waiter.resolve(result);
          }
        });
      }
    } finally {
      this.running = false;
    }
  }
}
