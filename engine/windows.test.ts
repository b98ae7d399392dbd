import { describe, expect, it } from 'vitest';
import { tumblingWindow } from '../operators/tumblingWindow.js';
import { hoppingWindow } from '../operators/hoppingWindow.js';
import { TestDriver } from '../testkit/driver.js';
import { pipeline } from '../stream/stream.js';
import type { TimeWindowSpec, Windowed } from './windows.js';

interface Rec {
  k: string;
  n: number;
}

function build(spec: TimeWindowSpec) {
  const p = pipeline('windows-test');
  const out = p
    .keyedSource<Rec>('in', { timestamp: () => Number.NaN, key: (r) => r.k, outOfOrdernessMs: 1e12 })
    .window(spec)
    .reduce('sum', (a, b) => ({ k: b.k, n: a.n + b.n }), { emit: 'onWatermark' });
  out.to('out');
  out.late().to('late');
  return p;
}
const fired = (d: TestDriver) => d.records<Windowed<Rec>>('out').map((r) => `${r.key}[${r.value.start},${r.value.end})=${r.value.value.n}@${r.ts}`);

describe('time windows, emit onWatermark', () => {
  it('fires a window first created by a late record (within grace) once, not again at the next watermark', () => {
    // Flink's EventTimeTrigger.onElement fires at once when the window is already complete and
    // registers no timer; a timer at end - 1 <= watermark would fire a second time.
    const d = TestDriver.of(build(tumblingWindow({ sizeMs: 2000, graceMs: 500 })));
    d.watermark('in', 2300);
    d.push('in', { k: 'fresh', n: 1 }, 1500);
    expect(fired(d)).toEqual(['fresh[0,2000)=1@1999']);
    d.watermark('in', 2400);
    d.watermark('in', 3000);
    expect(fired(d)).toEqual(['fresh[0,2000)=1@1999']);
  });

  it('does the same for hopping windows, per window', () => {
    const d = TestDriver.of(build(hoppingWindow({ sizeMs: 3000, advanceMs: 1000, graceMs: 1000 })));
    d.watermark('in', 3500);
    // 2500 belongs to [0,3000) (complete, in grace), [1000,4000) and [2000,5000) (open).
    d.push('in', { k: 'a', n: 1 }, 2500);
    expect(fired(d)).toEqual(['a[0,3000)=1@2999']);
    d.watermark('in', 3600);
    d.watermark('in', 10_000);
    expect(fired(d)).toEqual(['a[0,3000)=1@2999', 'a[1000,4000)=1@3999', 'a[2000,5000)=1@4999']);
  });
});
