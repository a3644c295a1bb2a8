/**
 * Appendix B's toy example (eqs. 27-32) through the library's own bound code:
 * intervals [1.8, 2.2], [-2.2, -1.8], [-0.1, 0.1], I^v = diag(0, 0, 1), local
 * bound 1. The global bound ||W2|| ||W1|| is 2 sqrt(3) = 3.4641 exactly; the
 * paper prints 4, an over-statement (4 >= 2 sqrt(3)), checked as such.
 */
import { initBackend } from '../lib/backend';
import { formatToy, runToy } from '../lib/commands/toy';
import { buildProgram } from '../lib/cli';

beforeAll(async () => {
  await initBackend();
});

test('toy example: intervals, I^v, local bound 1, global bound 2 sqrt(3) (paper: 4)', () => {
  const r = runToy();
  const expected = [
    [1.8, 2.2],
    [-2.2, -1.8],
    [-0.1, 0.1],
  ];
  r.intervals.forEach(([lb, ub], i) => {
    expect(lb).toBeCloseTo(expected[i][0], 6);
    expect(ub).toBeCloseTo(expected[i][1], 6);
    // Sound intervals are never narrower than the exact ones.
    expect(lb).toBeLessThanOrEqual(expected[i][0] + 1e-7);
    expect(ub).toBeGreaterThanOrEqual(expected[i][1] - 1e-7);
  });
  expect(r.varying).toEqual([0, 0, 1]);
  expect(r.factors[0]).toBeCloseTo(1, 8); // ||I^v W1||
  expect(r.factors[1]).toBeCloseTo(1, 8); // ||W2 I^v||
  expect(r.localSound).toBeGreaterThanOrEqual(1);
  expect(r.localSound).toBeCloseTo(1, 8);
  expect(r.localPaper).toBeCloseTo(1, 5);
  expect(r.globalSound).toBeGreaterThanOrEqual(2 * Math.sqrt(3));
  expect(r.globalSound).toBeCloseTo(2 * Math.sqrt(3), 8);
  expect(r.globalPaper).toBeCloseTo(2 * Math.sqrt(3), 4);
  expect(r.globalSound).toBeLessThanOrEqual(4);
  const text = formatToy(r);
  expect(text).toMatch(/I\^v_1 = diag\(0, 0, 1\)/);
  expect(text).toMatch(/= 1\.000000/);
});

test('`splitz toy` prints the example', async () => {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    lines.push(a.join(' '));
  });
  try {
    await buildProgram().parseAsync(['toy'], { from: 'user' });
  } finally {
    spy.mockRestore();
  }
  const out = lines.join('\n');
  expect(out).toMatch(/z3 in \[-0\.1000, 0\.1000\]\s+varying: yes/);
  expect(out).toMatch(/Global bound .*= 3\.464102/);
});
