/**
 * Group commit: work items that arrive while the store is busy go to it together, as one statement (or one Redis
 * pipeline), instead of one round trip each. On this kind of machine a round trip's socket write costs more CPU than the statement's own work
 * (a quarter of the API's time went to pg's `writev` under load), and Postgres commits a group for the price of one.
 *
 * No timer: an item arriving while fewer than `maxInFlight` groups run leaves on setImmediate, with whatever else
 * arrived in the same turn of the event loop, so a lone item waits for nothing. Under load every group in flight
 * holds a connection; the items arriving meanwhile wait for the first of them to finish and leave together. A group
 * that fails fails each of its items with that error.
 */
export interface GroupCommitOptions {
  /** Groups running at once (each holds one pooled connection while it runs). */
  maxInFlight: number;
  /** Most items in one group; more go in the next. */
  maxGroup: number;
}

/** `run` answers each item of a group, in order. */
export function groupCommit<T, R>(run: (items: T[]) => Promise<R[]>, options: GroupCommitOptions): (item: T) => Promise<R> {
  type Waiting = { item: T; resolve: (result: R) => void; reject: (err: unknown) => void };
  let waiting: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    while (waiting.length > 0 && inFlight < options.maxInFlight) {
      const group = waiting.slice(0, options.maxGroup);
      waiting = waiting.slice(group.length);
      inFlight += 1;
      run(group.map((w) => w.item))
        .then((results) => {
          if (results.length !== group.length) throw new Error(`a group of ${group.length} got ${results.length} results`);
          for (const [i, w] of group.entries()) w.resolve(results[i] as R);
        })
        .catch((err: unknown) => {
          for (const w of group) w.reject(err);
        })
        .finally(() => {
          inFlight -= 1;
          flush();
        });
    }
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!scheduled && inFlight < options.maxInFlight) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
