import { describe, expect, it } from 'vitest';
import { groupCommit } from '../../src/infra/groupCommit.js';

/** A store that answers each group when told to, recording the groups it was given. */
function heldStore() {
  const groups: number[][] = [];
  const release: (() => void)[] = [];
  const run = (items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      groups.push(items);
      release.push(() => (items.includes(-1) ? reject(new Error('refused')) : resolve(items.map((n) => n * 10))));
    });
  return { groups, release, run };
}
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('groupCommit', () => {
  it('sends a lone item on the next turn, by itself', async () => {
    const store = heldStore();
    const add = groupCommit(store.run, { maxInFlight: 2, maxGroup: 10 });
    const answer = add(1);
    await turn();
    expect(store.groups).toEqual([[1]]);
    store.release[0]!();
    expect(await answer).toBe(10);
  });

  it('groups what arrives in one turn, and what arrives while every group is in flight', async () => {
    const store = heldStore();
    const add = groupCommit(store.run, { maxInFlight: 1, maxGroup: 3 });
    const first = [add(1), add(2)];
    await turn();
    const later = [add(3), add(4), add(5), add(6)];
    await turn();
    expect(store.groups).toEqual([[1, 2]]); // one group in flight: the rest wait for it
    store.release[0]!();
    await Promise.all(first);
    await turn();
    expect(store.groups).toEqual([
      [1, 2],
      [3, 4, 5],
    ]); // at most maxGroup per group
    store.release[1]!();
    await turn();
    await turn();
    expect(store.groups[2]).toEqual([6]);
    store.release[2]!();
    expect(await Promise.all([...first, ...later])).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('fails every item of a failed group, and goes on with the next', async () => {
    const store = heldStore();
    const add = groupCommit(store.run, { maxInFlight: 1, maxGroup: 10 });
    const failed = [add(-1), add(2)];
    await turn();
    const next = add(3);
    store.release[0]!();
    await expect(failed[0]).rejects.toThrow('refused');
    await expect(failed[1]).rejects.toThrow('refused');
    await turn();
    store.release[1]!();
    expect(await next).toBe(30);
  });
});
