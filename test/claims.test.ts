/**
 * The claim checks of docs/REPRODUCTION.md (lib/report/claims.ts): McNemar's
 * exact p-values against hand-computed binomial sums, paired comparisons on
 * image sets whose outcome is known, and evaluateClaims on synthetic run
 * directories.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { combine, compareAccuracy, compareAcr, evaluateClaims, claimsMarkdown, otherRunComparisons } from '../lib/report/claims';
import { ImageRadii, mcnemarExact } from '../lib/eval/paired';
import { pickRuns, summarizeRun } from '../lib/report/tables';
import { makeRun } from './report-helpers';
import { headlineSection } from '../scripts/claims';

const radii = (list: Array<[number, boolean]>): ImageRadii => new Map(list.map(([radius, correct], i) => [i, { radius, correct }]));

describe('mcnemarExact', () => {
  test('equals the two-sided binomial sum with p = 1/2, computed by hand', () => {
    // 2 * P(X <= 2), X ~ Bin(12, 1/2) = 2 * (1 + 12 + 66) / 4096
    expect(mcnemarExact(10, 2)).toBeCloseTo((2 * 79) / 4096, 12);
    expect(mcnemarExact(2, 10)).toBeCloseTo((2 * 79) / 4096, 12);
    expect(mcnemarExact(6, 0)).toBeCloseTo(2 / 64, 12);
    expect(mcnemarExact(5, 0)).toBeCloseTo(2 / 32, 12);
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(5, 5)).toBe(1);
  });
});

describe('paired comparisons', () => {
  const strong = radii(Array.from({ length: 100 }, (_, i) => [i < 60 ? 2 : 0.2, true]));
  const weak = radii(Array.from({ length: 100 }, (_, i) => [i < 30 ? 2 : 0.2, true]));

  test('certified accuracy: a clear gain holds, its mirror fails, equal models are not told apart', () => {
    const c = compareAccuracy('A vs B', strong, weak, 1.5, [80, 70]);
    expect([c.oursA, c.oursB, c.images]).toEqual([60, 30, 100]);
    expect(c.verdict).toBe('holds');
    expect(c.p).toBeCloseTo(mcnemarExact(30, 0), 12);
    expect(compareAccuracy('B vs A', weak, strong, 1.5).verdict).toBe('fails');
    expect(compareAccuracy('A vs A', strong, strong, 1.5)).toMatchObject({ verdict: 'not significant', p: 1 });
    // Below every radius both certify all: no discordant image.
    expect(compareAccuracy('A vs B', strong, weak, 0.1).verdict).toBe('not significant');
  });

  test('a wrong prediction never counts, whatever its radius', () => {
    const wrong = radii(Array.from({ length: 100 }, () => [3, false]));
    expect(compareAccuracy('wrong vs weak', wrong, weak, 0).oursA).toBe(0);
    expect(compareAcr('wrong vs weak', wrong, weak).oursA).toBe(0);
  });

  test('ACR: interval of the mean paired difference', () => {
    const c = compareAcr('A vs B', strong, weak);
    // differences: 30 images of 1.8, 70 of 0 -> mean 0.54
    expect(c.oursA - c.oursB).toBeCloseTo(0.54, 12);
    const sd = Math.sqrt((30 * (1.8 - 0.54) ** 2 + 70 * 0.54 ** 2) / 99);
    expect(c.ci![0]).toBeCloseTo(0.54 - (1.959964 * sd) / 10, 9);
    expect(c.verdict).toBe('holds');
    expect(compareAcr('B vs A', weak, strong).verdict).toBe('fails');
    // Images only one log has are left out of the pairing.
    const short = radii(Array.from({ length: 10 }, () => [1, true]));
    expect(compareAcr('short', short, strong).images).toBe(10);
  });

  test('combine', () => {
    const mk = (verdict: 'holds' | 'fails' | 'not significant' | 'not run') => ({ label: '', oursA: 0, oursB: 0, paperA: null, paperB: null, images: 1, verdict });
    expect(combine([mk('holds'), mk('holds')])).toBe('holds');
    expect(combine([mk('holds'), mk('not significant')])).toBe('not significant');
    expect(combine([mk('holds'), mk('fails'), mk('not run')])).toBe('fails');
    expect(combine([mk('holds'), mk('not run')])).toBe('incomplete');
    expect(combine([mk('not run')])).toBe('not run');
    expect(combine([])).toBe('not run');
  });
});

describe('evaluateClaims on synthetic runs', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-claims-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('SPLITZ far above RS at sigma 0.75 only: Tables I and III incomplete (they hold where run), the rest is not run', () => {
    const images = (r: number): Array<[number, 0 | 1]> => Array.from({ length: 60 }, () => [r, 1]);
    const sp = summarizeRun(makeRun(root, { name: 'mnist-splitz-sigma0.75', dataset: 'mnist', sigma: 0.75, split: 1, images: images(2.6), both: true }));
    const rs = summarizeRun(makeRun(root, { name: 'mnist-rs-sigma0.75', dataset: 'mnist', sigma: 0.75, split: 0, images: images(1.0) }));
    const claims = evaluateClaims([sp, rs], { 'mnist-splitz-sigma0.75': 2 });
    const byId = Object.fromEntries(claims.map((c) => [c.id, c]));
    // Best over sigma 0.75 alone is not the paper's best over 0.25-1.0: every comparison holds, the claim waits.
    expect(byId.I.comparisons.every((c) => c.verdict === 'holds')).toBe(true);
    expect(byId.I.verdict).toBe('incomplete');
    expect(byId.I.note).toBe(
      "Best over the published sigmas only, not yet over the paper's (0.25, 0.5, 0.75, 1): no run of SPLITZ at sigma 0.25, SPLITZ at sigma 0.5, SPLITZ at sigma 1, RS at sigma 0.25, RS at sigma 0.5, RS at sigma 1",
    );
    expect(byId.I.comparisons.map((c) => c.oursA)).toEqual([100, 100, 100, 100, 100]);
    expect(byId.I.comparisons.map((c) => c.oursB)).toEqual([0, 0, 0, 0, 0]);
    // The paper's numbers are printed beside ours (Table I: SPLITZ 80.2 / RS 67.3 at eps 1.5).
    expect([byId.I.comparisons[0].paperA, byId.I.comparisons[0].paperB]).toEqual([80.2, 67.3]);
    expect(byId['I-paper'].verdict).toBe('incomplete');
    expect(byId.III.verdict).toBe('incomplete');
    expect(byId.III.comparisons.find((c) => c.label.startsWith('sigma 0.75'))!.verdict).toBe('holds');
    expect(byId.II.verdict).toBe('not run');
    expect(byId.V.verdict).toBe('not run');
    // Global bound 2: the global radius is radius_fR / 2 = 1.3 -> local certifies more at eps 1.5 and above, not below.
    const f4b = byId['4b'].comparisons;
    expect(f4b.find((c) => c.label.startsWith('eps 2:'))!.verdict).toBe('holds');
    expect(f4b.find((c) => c.label.startsWith('eps 0.5:'))!.verdict).toBe('not significant');
    const md = claimsMarkdown(claims);
    expect(md).toContain('| Table I | **incomplete** |');
    expect(md).toContain("Verdict: **incomplete**. Best over the published sigmas only, not yet over the paper's (0.25, 0.5, 0.75, 1): no run of SPLITZ at sigma 0.25,");
    expect(byId.II.note).toBeUndefined(); // nothing run: no note
    expect(md).toContain('McNemar p');
    // CIFAR-10's Table III: no run, yet an ACR table with the paper's ACR to 3 decimals (SPLITZ 0.680, RS 0.424 at sigma 0.25).
    expect(byId['III-cifar10'].verdict).toBe('not run');
    const cifarIII = md.slice(md.indexOf("### Table III: CIFAR-10: SPLITZ's ACR beats RS's at each sigma (SPLITZ radii with the sound bound)"));
    expect(cifarIII).toContain('| comparison | ours A | ours B | paper A | paper B | images | 95% CI of A - B | verdict |');
    expect(cifarIII).toContain('| sigma 0.25: ACR SPLITZ vs RS | - | - | 0.680 | 0.424 | - | - | not run |');
  });
});

describe('best over sigma (Tables I, II)', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-best-sigma-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  const images = (r: number): Array<[number, 0 | 1]> => Array.from({ length: 60 }, () => [r, 1]);

  test("with a run at each of the paper's sigmas on both sides, Table I is decided (holds) and carries no note", () => {
    const runs = [0.25, 0.5, 0.75, 1.0].flatMap((sigma) => [
      summarizeRun(makeRun(root, { name: `mnist-splitz-sigma${sigma.toFixed(2)}`, dataset: 'mnist', sigma, split: 1, images: images(2.6), both: true })),
      summarizeRun(makeRun(root, { name: `mnist-rs-sigma${sigma.toFixed(2)}`, dataset: 'mnist', sigma, split: 0, images: images(1.0) })),
    ]);
    const byId = Object.fromEntries(evaluateClaims(runs).map((c) => [c.id, c]));
    expect(byId.I.verdict).toBe('holds');
    expect(byId.I.note).toBeUndefined();
  });

  test('CIFAR-10 with the sigma 0.5 pair only: Table II fails at every eps yet stays incomplete, naming the four runs it waits for', () => {
    const runs = [
      summarizeRun(makeRun(root, { name: 'cifar10-splitz-sigma0.50', dataset: 'cifar10', sigma: 0.5, split: 1, images: images(0.2), both: true })),
      summarizeRun(makeRun(root, { name: 'cifar10-rs-sigma0.50', dataset: 'cifar10', sigma: 0.5, split: 0, images: images(1.2) })),
    ];
    const byId = Object.fromEntries(evaluateClaims(runs).map((c) => [c.id, c]));
    expect(byId.II.comparisons.map((c) => c.verdict)).toEqual(['fails', 'fails', 'fails']);
    expect(byId.II.verdict).toBe('incomplete');
    expect(byId.II.note).toContain('no run of SPLITZ at sigma 0.25, SPLITZ at sigma 1, RS at sigma 0.25, RS at sigma 1');
  });
});

describe('otherRunComparisons', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-other-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test('a second seed of a SPLITZ config is set beside the one the claims use and beside RS at its sigma', () => {
    const images = (r: number, n = 40): Array<[number, 0 | 1]> => Array.from({ length: n }, () => [r, 1]);
    const seed0 = summarizeRun(makeRun(root, { name: 'mnist-splitz-sigma1.00', dataset: 'mnist', sigma: 1, split: 1, images: images(0.2), both: true }));
    const seed1 = summarizeRun(makeRun(root, { name: 'mnist-splitz-sigma1.00', dataset: 'mnist', sigma: 1, split: 1, images: images(1.5), both: true, scale: 'reduced-seed1' }));
    const rs = summarizeRun(makeRun(root, { name: 'mnist-rs-sigma1.00', dataset: 'mnist', sigma: 1, split: 0, images: images(1.0) }));
    const used = pickRuns([seed0, seed1, rs]);
    // The claims keep the plan's scale; the other seed is not among them.
    expect(used).toContain(seed0);
    expect(used).not.toContain(seed1);
    const other = otherRunComparisons([seed0, seed1, rs], used);
    expect(other).toHaveLength(1);
    expect(other[0].run).toBe(seed1);
    const [vsSeed0, vsRs, vsRsPaper] = other[0].comparisons;
    expect(vsSeed0.oursA).toBeCloseTo(1.5, 12);
    expect(vsSeed0.oursB).toBeCloseTo(0.2, 12);
    expect(vsSeed0.verdict).toBe('holds');
    expect(vsRs.label).toMatch(/vs RS sigma 1 \(reduced\), sound bound/);
    expect(vsRs.oursA).toBeCloseTo(1.5, 12);
    expect(vsRs.oursB).toBeCloseTo(1.0, 12);
    expect(vsRs.verdict).toBe('holds');
    // The paper's bound column (1.25 x the sound radius in these fake logs).
    expect(vsRsPaper.oursA).toBeCloseTo(1.875, 12);
    // Nothing to say when every run is used.
    expect(otherRunComparisons([seed0, rs], pickRuns([seed0, rs]))).toEqual([]);
  });

  test('REPRODUCTION.md gets a headline section once a headline run is published: one line per eps, both bounds, ACR', () => {
    const images = (r: number, n = 40): Array<[number, 0 | 1]> => Array.from({ length: n }, (_, i) => [i < 10 ? r : 0.3, 1]);
    const dir = path.join(root, 'headline-section'); // apart from the other tests' runs of the same names
    const reduced = summarizeRun(makeRun(dir, { name: 'mnist-splitz-sigma0.75', dataset: 'mnist', sigma: 0.75, split: 1, images: images(0.5), both: true }));
    expect(headlineSection([reduced])).toBe('');
    const head = summarizeRun(makeRun(dir, { name: 'mnist-splitz-sigma0.75', dataset: 'mnist', sigma: 0.75, split: 1, images: images(2.0), both: true, scale: 'headline' }));
    const md = headlineSection([reduced, head]);
    expect(md).toMatch(/^## The headline pair/);
    // 10 of 40 images at radius 2 (paper's bound: 2.5), 30 at 0.3: 25% at eps 2 (paper's bound 25%), 0 / 25% at eps 2.5; RS not published.
    expect(md).toContain('| 2 | 62.3 | 25.0 | 25.0 | - |');
    expect(md).toContain('| 2.5 | 40.5 | 0.0 | 25.0 | - |');
    expect(md).toContain('| ACR | - | 0.725 | 0.906 | - |');
  });

  test('the headline pair, left out of the reduced-scale claims, is compared with RS at its own scale', () => {
    const images = (r: number, n = 40): Array<[number, 0 | 1]> => Array.from({ length: n }, () => [r, 1]);
    const splitz = summarizeRun(makeRun(root, { name: 'mnist-splitz-sigma0.75', dataset: 'mnist', sigma: 0.75, split: 1, images: images(0.5), both: true }));
    const rs = summarizeRun(makeRun(root, { name: 'mnist-rs-sigma0.75', dataset: 'mnist', sigma: 0.75, split: 0, images: images(1.0) }));
    const splitzH = summarizeRun(makeRun(root, { name: 'mnist-splitz-sigma0.75', dataset: 'mnist', sigma: 0.75, split: 1, images: images(2.0), both: true, scale: 'headline' }));
    const rsH = summarizeRun(makeRun(root, { name: 'mnist-rs-sigma0.75', dataset: 'mnist', sigma: 0.75, split: 0, images: images(1.8), scale: 'headline' }));
    const all = [splitz, rs, splitzH, rsH];
    // As many configs at each scale: pickRuns alone takes the headline runs (mainScale's tie-break); the claims take one scale.
    expect(pickRuns(all)).toEqual([rsH, splitzH]);
    const used = pickRuns(all, { scale: 'reduced' });
    expect(used).toEqual([rs, splitz]);
    const other = otherRunComparisons(all, used);
    expect(other.map((o) => o.run)).toEqual([splitzH, rsH]);
    const vsRs = other[0].comparisons[1];
    expect(vsRs.label).toMatch(/vs RS sigma 0.75 \(headline\), sound bound/);
    expect(vsRs.oursB).toBeCloseTo(1.8, 12);
    // Without a headline RS run, the headline SPLITZ run is set beside the reduced one.
    const alone = otherRunComparisons([splitz, rs, splitzH], used);
    expect(alone[0].comparisons[1].label).toMatch(/vs RS sigma 0.75 \(reduced\)/);
  });
});
