import { describe, expect, it } from 'vitest';
import { DecodeSlots } from '../../src/api/uploads/decode-slots.js';

/** A task that runs until released, recording when it started. */
function gate(started: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return { task: () => (started.push(name), done), release };
}

describe('DecodeSlots', () => {
  it('runs at most maxDecodes at once, in arrival order', async () => {
    const slots = new DecodeSlots({ maxDecodes: 2, maxPixels: 1e9 });
    const started: string[] = [];
    const gates = ['a', 'b', 'c'].map((n) => gate(started, n));
    const runs = gates.map((g) => slots.run(1, g.task));
    await Promise.resolve();
    expect(started).toEqual(['a', 'b']);
    gates[0]!.release();
    await runs[0];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'b', 'c']);
    gates[1]!.release();
    gates[2]!.release();
    await Promise.all(runs);
  });

  it('bounds pixels in flight; an image over the bound runs alone; a small one passes large ones waiting', async () => {
    const slots = new DecodeSlots({ maxDecodes: 2, maxPixels: 50 });
    const started: string[] = [];
    const big1 = gate(started, 'big1');
    const big2 = gate(started, 'big2');
    const huge = gate(started, 'huge');
    const small = gate(started, 'small');
    const runs = [
      slots.run(49, big1.task),
      slots.run(49, big2.task),
      slots.run(80, huge.task),
      slots.run(1, small.task),
    ];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['big1', 'small']);
    small.release();
    big1.release();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['big1', 'small', 'big2']);
    big2.release();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['big1', 'small', 'big2', 'huge']);
    huge.release();
    await Promise.all(runs);
  });

  it('lets the head be passed only 4 x maxDecodes times, then it goes next', async () => {
    const slots = new DecodeSlots({ maxDecodes: 2, maxPixels: 50 });
    const started: string[] = [];
    const first = gate(started, 'first');
    const big = gate(started, 'big');
    const runs = [slots.run(45, first.task), slots.run(45, big.task)];
    const smalls = Array.from({ length: 10 }, (_, i) => gate(started, `s${i}`));
    runs.push(...smalls.map((g) => slots.run(1, g.task)));
    const tick = () => new Promise((r) => setImmediate(r));
    await tick();
    for (const g of smalls.slice(0, 8)) {
      g.release();
      await tick();
    }
    // Eight smalls passed `big` while `first` ran; the ninth waits behind it.
    expect(started).toEqual(['first', 's0', 's1', 's2', 's3', 's4', 's5', 's6', 's7']);
    first.release();
    await tick();
    // Then `big` goes first, and the next small beside it as it fits.
    expect(started.slice(9)).toEqual(['big', 's8']);
    big.release();
    smalls[8]!.release();
    smalls[9]!.release();
    await Promise.all(runs);
    expect(started.slice(11)).toEqual(['s9']);
  });
});
