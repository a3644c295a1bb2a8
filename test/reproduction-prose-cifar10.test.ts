/**
 * The hand-written CIFAR-10 findings of docs/REPRODUCTION.md (the six
 * `reduced` runs, the Lipschitz nets of Figs. 1, 5, 6) and the prose that
 * summarises the generated diagnostics tables ("The signal at the split",
 * "What a nearly linear f_L does to the noise", the split 2 / split 3 items of
 * "What separates the two radius columns"), against the published runs.
 * Same pattern as test/reproduction-prose.test.ts (helpers in
 * test/prose-helpers.ts): recompute each number from data/results (`splitz
 * analyze`, `--paired`, training logs, run.json, the certification sidecars
 * and certify.out, diagnostics.json, the Lipschitz CSVs and provenance),
 * format it, and require the page to say exactly that, whitespace aside.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadLiterature } from '../lib/report/literature';
import { parseCsv } from '../lib/report/render';
import {
  RESULTS, Summary, expectProse, fix, pv, analyze, certRow, acr, abstentions, paired, at, acrDiff, pctOf, epochs, epochRange, range, byEpoch,
  trainMinutes, secondsRange, readJson, sidecar, certifyOut, wallMinutes, workerTime, classified,
} from './prose-helpers';

interface Diagnostics {
  'split-signal': { value: { spread: number; snr: number; linear_fraction: number; jacobian_norm: number; bound_at_x: number; bound_over_jacobian: number } };
  'noise-through-split': { value: { s_max: number; quantiles: number[]; above_half: number; noise_credited: number; noise_median: number } };
  'bound-tightness'?: { value: { paper_median: number } };
}
const diagnostics = (run: string): Diagnostics => readJson<Diagnostics>(path.join(RESULTS, run, 'diagnostics.json'));
const signal = (run: string) => diagnostics(run)['split-signal'].value;
const noise = (run: string) => diagnostics(run)['noise-through-split'].value;

const RS25 = 'cifar10-rs-sigma0.25-reduced';
const RS50 = 'cifar10-rs-sigma0.50-reduced';
const RS100 = 'cifar10-rs-sigma1.00-reduced';
const SZ25 = 'cifar10-splitz-sigma0.25-reduced';
const SZ50 = 'cifar10-splitz-sigma0.50-reduced';
const SZ100 = 'cifar10-splitz-sigma1.00-reduced';
const QUARTERS = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5];
/** Phi^-1(0.001^(1/10,000)): the largest radius / sigma a log at n = 10,000 can hold, read off the RS logs' largest radius. */
const capOverSigma = (): number => Math.max(...classified(RS100).map((r) => r.radius)) / 1;

function literatureAcr(method: string, sigma: number): string {
  const row = loadLiterature('III').find((r) => r.dataset === 'cifar10' && r.method === method && r.sigma === sigma);
  if (!row) throw new Error(`no Table III row ${method} ${sigma}`);
  return fix(row.acr, 3);
}
function literatureII(method: string, eps: number[]): string {
  const rows = loadLiterature('II').filter((r) => r.dataset === 'cifar10' && r.method === method && !r.extra_data);
  return eps.map((e) => rows.find((r) => r.eps === e)!.certified_accuracy!).map((a) => (method === 'RS' ? fix(a, 0) : fix(a, 1))).join(' / ');
}

describe('CIFAR-10 RS at sigma 0.5', () => {
  test('certified row, abstentions, ACR, and the paper\'s numbers', () => {
    expectProse(`Certified ${certRow(RS50, [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75])}% at eps 0 / 0.25 / 0.5 / 0.75 / 1 / 1.25 / 1.5 / 1.75, ${abstentions(RS50)} abstentions, ACR ${acr(RS50)}`);
    expectProse(`The paper's RS row of Table II (best over sigma) is ${literatureII('RS', [0.25, 0.5, 0.75, 1])}% at eps 0.25 / 0.5 / 0.75 / 1, and its Table III ACR at sigma 0.5 is ${literatureAcr('RS', 0.5)}`);
  });

  test('training: held-out accuracy by epoch, each a new best, clean at the end', () => {
    const e = epochs(RS50);
    expect(e.length).toBe(5);
    e.slice(1).forEach((x, k) => expect(x.holdout_acc).toBeGreaterThan(e[k].holdout_acc));
    expect(e.every((x) => x.best)).toBe(true);
    expectProse(`held-out accuracy under noise was ${e.map((x) => fix(x.holdout_acc, 3)).join(', ')} over the 5 epochs, each a new best (clean: ${fix(e[4].holdout_clean_acc, 3)} at the end`);
  });

  test('the n = 10,000 cap and the images that reach it', () => {
    const rec = classified(RS50);
    const cap = Math.max(...rec.map((r) => r.radius));
    expect(cap / 0.5).toBeCloseTo(capOverSigma(), 9);
    const atCap = rec.filter((r) => r.radius >= cap - 1e-9);
    expectProse(`Phi^-1(0.001^(1/n)) = ${fix(cap, 3)}; ${atCap.length} images reach that cap (${atCap.filter((r) => r.correct === 1).length} of them correct)`);
  });

  test('training and certification times', () => {
    const w = workerTime(RS50);
    expect(sidecar(RS50).runs.map((r) => r.workers)).toEqual([1, 2]);
    expectProse(`Training took ${fix(trainMinutes(RS50), 0)} min (${secondsRange(RS50)} s per epoch, beside the \`headline\` RS training); certification ${fix(wallMinutes(RS50), 0)} min of wall time (${w.min} worker-minutes, ${w.perImage} s per image per worker): ${sidecar(RS50).runs[1].images_before} images on 1 worker, the rest on 2`);
    const rate = /done: .*?\(([\d.]+) s\/image\)/.exec(certifyOut(RS50))![1];
    expectProse(`one image every ${rate} s (certify.out)`);
  });
});

describe('CIFAR-10 SPLITZ at sigma 0.5', () => {
  test('certified row, abstentions, ACR, and the paper\'s numbers', () => {
    expectProse(`Certified ${certRow(SZ50, QUARTERS)}% at eps 0 / 0.25 / ... / 2.5 (steps of 0.25), ${abstentions(SZ50)} abstentions (RS: ${abstentions(RS50)}), ACR ${acr(SZ50)}`);
    expectProse(`The paper's SPLITZ row of Table II is ${literatureII('SPLITZ', [0.5, 0.75, 1])}% at eps 0.5 / 0.75 / 1, and its Table III ACR at sigma 0.5 is ${literatureAcr('SPLITZ', 0.5)}`);
  });

  test('against RS at sigma 0.5: McNemar at 0.5 / 0.75 / 1, the ACR interval, the reach beyond RS\'s cap', () => {
    const p = paired(SZ50, RS50);
    const [a, b, c] = [0.5, 0.75, 1].map((e) => at(p, e));
    const pct = (n: number) => pctOf(n, 500);
    expectProse(`SPLITZ loses at eps 0.5 (${pct(a.certifiedA)} against ${pct(a.certifiedB)}%, McNemar p ${pv(a.p, 3)}) and cannot be told apart at 0.75 (${pct(b.certifiedA)} / ${pct(b.certifiedB)}%, p = ${pv(b.p, 2)}) and 1.0 (${pct(c.certifiedA)} / ${pct(c.certifiedB)}%, p = ${pv(c.p, 2)})`);
    const d = acrDiff(p);
    expectProse(`Its ACR, ${fix(p.acr.acrA, 3)} against ${fix(p.acr.acrB, 3)}, is not significant (95% interval of the difference [${d.lo}, ${d.hi}])`);
    expect(p.acr.ci[0]).toBeLessThan(0);
    expect(p.acr.ci[1]).toBeGreaterThan(0);
    const rsCap = Math.max(...classified(RS50).map((r) => r.radius));
    const szCap = Math.max(...classified(SZ50).map((r) => r.radius));
    const L = analyze(SZ50, [0]).medianLipschitz!;
    expect(fix(szCap, 2)).toBe(fix(rsCap / L, 2));
    p.accuracy.filter((r) => r.eps > 1.6).forEach((r) => expect([r.certifiedA > 0, r.certifiedB]).toEqual([true, 0]));
    expectProse(`RS's radius is capped at ${fix(rsCap, 3)} at n = 10,000, SPLITZ's at ${fix(rsCap, 3)} / L(x) = ${fix(szCap, 2)}`);
  });

  test("with the paper's bound: certified at 0.5 / 0.75 / 1, ACR, interval, and how far its L(x) sits below a converged one", () => {
    const self = paired(SZ50, SZ50, 'radius_paper');
    const row = [0.5, 0.75, 1].map((e) => pctOf(at(self, e).certifiedA, 500)).join(' / ');
    const p = paired(SZ50, RS50, 'radius_paper');
    const d = acrDiff(p);
    expectProse(`the same log gives ${row}% at eps 0.5 / 0.75 / 1 and ACR ${fix(p.acr.acrA, 3)}, which "holds" against RS (interval [${d.lo}, ${d.hi}])`);
    const ratio = diagnostics(SZ50)['bound-tightness']!.value.paper_median;
    expectProse(`the paper's L(x) is ${fix((1 - ratio) * 100, 0)}% below the converged norm (median ratio ${fix(ratio, 3)}, table "How tight the two bounds are"), so its radii are ${fix((1 / ratio - 1) * 100, 1)}% too large`);
  });

  test('what the training did: L(x) at the floor from epoch 2, the linear f_L, the halved image, held-out accuracy', () => {
    const e = epochs(SZ50);
    const floor = epochRange(SZ50, 2, 5);
    expectProse(`mean L(x) fell from ${fix(e[0].mean_L, 2)} to the 0.5 floor of theta_lip in the second epoch and stayed there (${range(floor.map((x) => x.mean_L), 3)})`);
    const s = signal(SZ50);
    expectProse(`${fix(100 * s.linear_fraction, 1)}% of the last ReLU_theta's pre-activations sit in (0, theta), so f_L is linear there with ||J(x)|| = L(x) = ${fix(s.jacobian_norm, 3)}: it halves the image (spread at the split ${fix(s.spread, 1)} against RS's ${fix(signal(RS50).spread, 1)} for the pixels)`);
    expect(fix(s.bound_at_x, 3)).toBe(fix(s.jacobian_norm, 3));
    e.slice(1).forEach((x, k) => expect(x.holdout_acc).toBeGreaterThan(e[k].holdout_acc));
    expectProse(`Held-out accuracy under noise was ${byEpoch(SZ50)} (RS at sigma 0.5: ${fix(epochs(RS50)[4].holdout_acc, 3)}), still rising`);
    const n = noise(SZ50);
    expectProse(`The radius is credited with sigma / L = ${fix(n.noise_credited, 3)}, while noise along the median singular direction of J is ${fix(n.noise_median, 2)}`);
  });

  test('training and certification times', () => {
    const w = workerTime(SZ50);
    expect(sidecar(SZ50).runs.map((r) => r.workers)).toEqual([2]);
    expectProse(`Training took ${fix(trainMinutes(SZ50), 0)} min (${secondsRange(SZ50)} s per epoch, beside the \`headline\` RS training); certification ${w.min} worker-minutes (${w.perImage} s per image per worker), ${fix(wallMinutes(SZ50), 0)} min of wall time on 2 workers (certify.out)`);
  });
});

describe('CIFAR-10 RS at sigma 1.0', () => {
  test('certified row, abstentions, ACR, and the paper\'s ACR', () => {
    expectProse(`Certified ${certRow(RS100, QUARTERS)}% at eps 0 / 0.25 / ... / 2.5 (steps of 0.25), ${abstentions(RS100)} abstentions, ACR ${acr(RS100)}`);
    expectProse(`The paper's Table III ACR for RS at sigma 1.0 is ${literatureAcr('RS', 1)}`);
  });

  test('against SPLITZ at sigma 0.5: no eps separates them; McNemar, agreement, held-out accuracy', () => {
    const p = paired(SZ50, RS100);
    p.accuracy.forEach((r) => expect(r.p).toBeGreaterThan(0.05));
    const rows = [0, 0.5, 1].map((e) => at(p, e));
    expectProse(`SPLITZ ${rows.map((r) => pctOf(r.certifiedA, 500)).join(' / ')}% against RS ${rows.map((r) => pctOf(r.certifiedB, 500)).join(' / ')}% at eps 0 / 0.5 / 1, McNemar p ${rows.map((r) => pv(r.p, 2)).join(' / ')}`);
    const g = p.agreement;
    expectProse(`The two smoothed classifiers give the same answer (class or abstention) on ${g.sameAnswer} of ${g.images} images, and the same class on ${g.sameClass} of the ${g.bothClassify} that both classify; they abstain on ${g.abstainA} and ${g.abstainB}`);
    const last = (r: string) => fix(epochs(r)[epochs(r).length - 1].holdout_acc, 3);
    expectProse(`at the end of training: ${last(RS100)} for RS at 1.0, ${last(SZ50)} for SPLITZ at 0.5`);
    const worst = p.accuracy.reduce((m, r) => (r.onlyA + r.onlyB > m.onlyA + m.onlyB ? r : m));
    expectProse(`at most ${worst.onlyA + worst.onlyB} discordant images of 500 at any eps, at ${worst.eps}`);
    const d = acrDiff(p);
    expectProse(`the ACR difference SPLITZ - RS is ${d.d} with 95% interval [${d.lo}, ${d.hi}]`);
  });

  test('what the diagnostics of SPLITZ at sigma 0.5 predicted', () => {
    const sz = signal(SZ50);
    const sigmaOverL = 0.5 / analyze(SZ50, [0]).medianLipschitz!;
    expectProse(`its f_L is linear with ||J|| = L(x) = ${fix(sz.jacobian_norm, 3)} (near the 0.5 floor of theta_lip)`);
    expectProse(`the radius R_fR / L is RS's radius at sigma / L = ${fix(sigmaOverL, 3)}`);
  });

  test('against RS at sigma 0.5: loses at eps 0-0.5, not told apart at 0.75-1.25, wins from 1.5', () => {
    const p = paired(RS100, RS50);
    [0, 0.25, 0.5].forEach((e) => {
      expect(at(p, e).certifiedA).toBeLessThan(at(p, e).certifiedB);
      expect(at(p, e).p).toBeLessThan(0.001);
    });
    const mid = [0.75, 1, 1.25].map((e) => at(p, e));
    mid.forEach((r) => expect(r.p).toBeGreaterThan(0.05));
    p.accuracy.filter((r) => r.eps >= 1.5).forEach((r) => {
      expect(r.certifiedA).toBeGreaterThan(r.certifiedB);
      expect(r.p).toBeLessThan(0.001);
    });
    const rsCap = Math.max(...classified(RS50).map((r) => r.radius));
    const e15 = at(p, 1.5);
    expectProse(`RS at 1.0 loses at eps 0 / 0.25 / 0.5 (p < 0.001), cannot be told apart at 0.75 to 1.25 (p ${mid.map((r) => pv(r.p, 2)).join(', ')}), and wins from 1.5, near and beyond RS-0.5's cap of ${fix(rsCap, 3)} (${pctOf(e15.certifiedA, 500)} against ${pctOf(e15.certifiedB, 500)}% at eps 1.5, p ${pv(e15.p, 3)})`);
    const d = acrDiff(p);
    expectProse(`ACR ${fix(p.acr.acrA, 3)} against ${fix(p.acr.acrB, 3)}, interval [${d.lo}, ${d.hi}]`);
  });

  test('training and certification times', () => {
    const w = workerTime(RS100);
    expect(sidecar(RS100).runs.map((r) => r.workers)).toEqual([1, 2]);
    expectProse(`Training took ${fix(trainMinutes(RS100), 1)} min (${secondsRange(RS100)} s per epoch, beside the \`headline\` RS training); certification ${w.min} worker-minutes (${w.perImage} s per image per worker), ${fix(wallMinutes(RS100), 0)} min of wall time: ${sidecar(RS100).runs[1].images_before} images on 1 worker`);
  });
});

describe('CIFAR-10 SPLITZ at sigma 1.0', () => {
  test('certified row, abstentions, ACR, and the paper\'s ACRs', () => {
    expectProse(`Certified ${certRow(SZ100, QUARTERS)}% at eps 0 / 0.25 / ... / 2.5 (steps of 0.25), ${abstentions(SZ100)} abstentions of 500, ACR ${acr(SZ100)}`);
    expectProse(`The paper's Table III ACR for SPLITZ at sigma 1.0 is ${literatureAcr('SPLITZ', 1)} (RS: ${literatureAcr('RS', 1)})`);
  });

  test('against RS at sigma 1.0: loses from 0 to 1, not told apart from 1.25 to 2.5, ACR, the images past RS\'s cap', () => {
    const p = paired(SZ100, RS100);
    p.accuracy.filter((r) => r.eps <= 1).forEach((r) => expect(r.certifiedA).toBeLessThan(r.certifiedB));
    p.accuracy.filter((r) => r.eps < 1).forEach((r) => expect(r.p).toBeLessThan(0.001));
    const [h, one] = [at(p, 0.5), at(p, 1)];
    expectProse(`SPLITZ loses at every eps from 0 to 1 (${pctOf(h.certifiedA, 500)} against ${pctOf(h.certifiedB, 500)}% at eps 0.5, ${pctOf(one.certifiedA, 500)} against ${pctOf(one.certifiedB, 500)}% at 1; McNemar p ${pv(h.p, 3)} and ${pv(one.p, 3)})`);
    const late = p.accuracy.filter((r) => r.eps >= 1.25).map((r) => r.p);
    expect(Math.min(...late)).toBeGreaterThan(0.05);
    expectProse(`cannot be told apart from 1.25 to 2.5 (p ${fix(Math.min(...late), 2)} to ${fix(Math.max(...late), 1)})`);
    const d = acrDiff(p);
    expectProse(`ACR difference SPLITZ - RS ${d.d}, 95% interval [${d.lo}, ${d.hi}]`);
    const rsCap = Math.max(...classified(RS100).map((r) => r.radius));
    const past = classified(SZ100).filter((r) => r.correct === 1 && r.radius > rsCap);
    expectProse(`Only SPLITZ certifies past RS's cap of ${fix(rsCap, 2)} at n = 10,000 (${past.length} images, up to ${fix(Math.max(...past.map((r) => r.radius)), 1)})`);
  });

  test("with the paper's bound: ACR, the difference to RS, how far its L(x) sits below the sound one", () => {
    const p = paired(SZ100, RS100, 'radius_paper');
    const d = acrDiff(p);
    expectProse(`the same log gives ACR ${fix(p.acr.acrA, 3)} (\`--column radius_paper\`), and the difference to RS, ${d.d} [${d.lo}, ${d.hi}], is "not significant"`);
    const s = analyze(SZ100, [0]);
    const s50 = analyze(SZ50, [0]);
    const below = (x: Summary) => (1 - x.medianLipschitzPaper! / x.medianLipschitz!) * 100;
    expectProse(`The power iteration's L(x) is ${fix(below(s), 1)}% below the sound one here (median ${fix(s.medianLipschitzPaper!, 3)} against ${fix(s.medianLipschitz!, 3)} over the ${s.n - s.abstain} images with a class`);
    expectProse(`more than at sigma 0.5 (${fix(below(s50), 0)}%): its radii are ${fix((1 / diagnostics(SZ100)['bound-tightness']!.value.paper_median - 1) * 100, 0)}% larger`);
  });

  test('against SPLITZ at sigma 0.5', () => {
    const p = paired(SZ100, SZ50);
    const upTo1 = p.accuracy.filter((r) => r.eps <= 1);
    upTo1.forEach((r) => expect(r.certifiedA).toBeLessThan(r.certifiedB));
    const beyond = p.accuracy.filter((r) => r.eps > 1.25);
    expect(Math.min(...beyond.map((r) => r.p))).toBeGreaterThan(0.05);
    const d = acrDiff(p);
    expect(Math.max(...upTo1.map((r) => r.p))).toBeLessThan(0.025);
    expectProse(`lower at eps 0 to 1 (p < 0.025; p = ${fix(at(p, 1.25).p, 3)} at 1.25), not told apart beyond; ACR ${d.d} [${d.lo}, ${d.hi}]`);
  });

  test('why: L(x) at the floor from epoch 2, the units, the spread, held-out accuracy by epoch', () => {
    const e = epochs(SZ100);
    const floor = epochRange(SZ100, 2, 5).map((x) => x.mean_L);
    expect(e[0].mean_L).toBeGreaterThan(2);
    expectProse(`Mean L(x) fell from ${fix(e[0].mean_L, 2)} to the 0.5 floor of theta_lip in epoch 2 and stayed there (${range(floor, 3)})`);
    const L = classified(SZ100).map((r) => r.lipschitz);
    expect(fix(Math.min(...L), 3)).toBe(fix(Math.max(...L), 3));
    const s = signal(SZ100);
    expectProse(`at certification L(x) = ${fix(L[0], 3)} on every image, and ${fix(100 * s.linear_fraction, 1)}% of the ReLU_theta units sit in their linear range`);
    expectProse(`(spread at the split ${fix(s.spread, 1)} against the pixels' ${fix(signal(RS100).spread, 1)})`);
    expectProse(`about RS's task at sigma / L = ${fix(1 / analyze(SZ100, [0]).medianLipschitz!, 2)}`);
    expectProse(`Held-out accuracy under noise was ${byEpoch(SZ100)} by epoch (RS at sigma 1.0: ${fix(epochs(RS100)[4].holdout_acc, 3)} at the end)`);
  });

  test('training and certification times', () => {
    const w = workerTime(SZ100);
    expect(sidecar(SZ100).runs.length).toBe(4);
    expect(new Set(sidecar(SZ100).runs.map((r) => r.workers))).toEqual(new Set([1, 2]));
    expectProse(`Training took ${fix(trainMinutes(SZ100), 0)} min (${secondsRange(SZ100)} s per epoch, beside a certification); certification ${w.min} worker-minutes (${w.perImage} s per image per worker) in four resumed steps`);
  });
});

describe('CIFAR-10 SPLITZ at sigma 0.25', () => {
  test('certified row, abstentions, ACR, and the paper\'s ACRs', () => {
    expectProse(`Certified ${certRow(SZ25, [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75])}% at eps 0 / 0.25 / ... / 1.75 (steps of 0.25), ${abstentions(SZ25)} abstentions, ACR ${acr(SZ25)}`);
    expectProse(`The paper's Table III ACR for SPLITZ at sigma 0.25 is ${literatureAcr('SPLITZ', 0.25)} (RS: ${literatureAcr('RS', 0.25)})`);
  });

  test('f_L at the floor after epoch 1, L(x) on every image, held-out accuracy by epoch', () => {
    const e = epochs(SZ25);
    const later = epochRange(SZ25, 2, 5).map((x) => x.mean_L);
    const L = classified(SZ25).map((r) => r.lipschitz);
    expect(fix(Math.min(...L), 3)).toBe(fix(Math.max(...L), 3));
    expectProse(`mean L(x) ${fix(e[0].mean_L, 2)} after epoch 1, then ${range(later, 3)}; at certification L(x) = ${fix(L[0], 3)} on every image, with ${fix(100 * signal(SZ25).linear_fraction, 1)}% of the ReLU_theta units in their linear range`);
    expectProse(`RS's task at sigma / L = ${fix(0.25 / analyze(SZ25, [0]).medianLipschitz!, 2)}`);
    expectProse(`Held-out accuracy under noise was ${byEpoch(SZ25)} by epoch (RS at sigma 0.5: ${fix(epochs(RS50)[4].holdout_acc, 3)} at the end)`);
  });

  test('against RS at sigma 0.5: rows, McNemar, the caps, ACR, agreement', () => {
    const p = paired(SZ25, RS50);
    const rows = [0, 0.5, 0.75, 1].map((e) => at(p, e));
    expectProse(`${rows.map((r) => pctOf(r.certifiedA, 500)).join(' / ')}% against ${rows.map((r) => pctOf(r.certifiedB, 500)).join(' / ')}% at eps 0 / 0.5 / 0.75 / 1 (McNemar p ${[pv(rows[0].p, 2), pv(rows[1].p, 3), pv(rows[2].p, 2), pv(rows[3].p, 2)].join(' / ')})`);
    const cap = capOverSigma();
    const L = analyze(SZ25, [0]).medianLipschitz!;
    expect([fix((cap * 0.25) / L, 2), fix(cap * 0.5, 2)]).toEqual(['1.55', '1.60']);
    expectProse(`capped near 1.55-1.60 (${fix(cap, 2)} x 0.25 / ${fix(L, 3)} for SPLITZ, ${fix(cap, 2)} x 0.5 for RS)`);
    const d = acrDiff(p);
    expectProse(`The ACR difference is ${d.d}, 95% interval [${d.lo}, ${d.hi}]: a small loss`);
    expectProse(`The two give the same answer (class or abstention) on ${p.agreement.sameAnswer} of 500 images, and the same class on ${p.agreement.sameClass} of the ${p.agreement.bothClassify} that both classify`);
  });

  test("with the paper's bound: its L(x) below the sound one, ACR, the difference to RS at sigma 0.5", () => {
    const s = analyze(SZ25, [0]);
    const p = paired(SZ25, RS50, 'radius_paper');
    const d = acrDiff(p);
    expectProse(`its L(x) ${fix((1 - s.medianLipschitzPaper! / s.medianLipschitz!) * 100, 0)}% below the sound one, median ${fix(s.medianLipschitzPaper!, 3)} against ${fix(s.medianLipschitz!, 3)}`);
    expectProse(`the same log gives ACR ${fix(p.acr.acrA, 3)}, and the difference to RS at sigma 0.5 turns to ${d.d} [${d.lo}, ${d.hi}]`);
  });

  test('against SPLITZ at sigma 0.5: more at eps 0-0.5, less from 1.5', () => {
    const p = paired(SZ25, SZ50);
    const low = p.accuracy.filter((r) => r.eps <= 0.5);
    low.forEach((r) => expect(r.certifiedA).toBeGreaterThan(r.certifiedB));
    p.accuracy.filter((r) => r.eps >= 1.5).forEach((r) => {
      expect(r.certifiedA).toBeLessThan(r.certifiedB);
      expect(r.p).toBeLessThan(0.001);
    });
    const d = acrDiff(p);
    expect(Math.max(...low.map((r) => r.p))).toBeLessThan(0.02);
    expectProse(`more at eps 0 to 0.5 (p < 0.02), less from 1.5 (its cap), ACR ${d.d} [${d.lo}, ${d.hi}]`);
  });

  test('training and certification times', () => {
    const w = workerTime(SZ25);
    expectProse(`Training took ${fix(trainMinutes(SZ25), 0)} min (${secondsRange(SZ25)} s per epoch, beside a certification); certification ${w.min} worker-minutes (${w.perImage} s per image per worker), ${fix(wallMinutes(SZ25), 0)} min of wall time: ${sidecar(SZ25).runs[1].images_before} images on 1 worker`);
  });
});

describe('CIFAR-10 RS at sigma 0.25', () => {
  test('certified row, abstentions, ACR, and the paper\'s ACR', () => {
    expectProse(`Certified ${certRow(RS25, [0, 0.25, 0.5, 0.75, 1])}% at eps 0 / 0.25 / 0.5 / 0.75 / 1, ${abstentions(RS25)} abstentions, ACR ${acr(RS25)}`);
    expectProse(`The paper's Table III ACR for RS at sigma 0.25 is ${literatureAcr('RS', 0.25)}`);
  });

  test('the cap at sigma 0.25 and the images certified there', () => {
    const cap = Math.max(...classified(RS25).map((r) => r.radius));
    expect(cap / 0.25).toBeCloseTo(capOverSigma(), 9);
    const atCap = analyze(RS25, [0.799, cap + 1e-9]).certifiedAccuracy;
    expect(atCap[1]).toBe(0);
    expectProse(`No radius can exceed 0.25 x Phi^-1(0.001^(1/10,000)) = ${fix(cap, 3)} at n = 10,000; ${fix(100 * atCap[0], 1)}% of the images are certified correctly at that cap (\`--radii 0.799\`)`);
  });

  test('held-out accuracy by epoch, each a new best', () => {
    const e = epochs(RS25);
    expect(e.every((x) => x.best)).toBe(true);
    expectProse(`Held-out accuracy under noise ${byEpoch(RS25)} by epoch, each a new best (clean: ${fix(e[4].holdout_clean_acc, 3)} at the end)`);
  });

  test('against SPLITZ at sigma 0.25 (Table III\'s sigma 0.25 row), with both bounds', () => {
    const p = paired(SZ25, RS25);
    const pct = (n: number) => pctOf(n, 500);
    const [e0, e25, e5, e75, e1] = [0, 0.25, 0.5, 0.75, 1].map((e) => at(p, e));
    expect(e5.p).toBeGreaterThan(0.05);
    expectProse(`SPLITZ loses at eps 0 and 0.25 (${pct(e0.certifiedA)} against ${pct(e0.certifiedB)}%, p ${pv(e0.p, 3)}; ${pct(e25.certifiedA)} against ${pct(e25.certifiedB)}%, p = ${pv(e25.p, 3)}), cannot be told apart at 0.5 (${pct(e5.certifiedA)} / ${pct(e5.certifiedB)}%, p = ${pv(e5.p, 2)}), and wins at 0.75 (${pct(e75.certifiedA)} against ${pct(e75.certifiedB)}%, p ${pv(e75.p, 3)}) and beyond RS's cap (${pct(e1.certifiedA)} against ${pct(e1.certifiedB)}% at eps 1)`);
    const d = acrDiff(p);
    expectProse(`ACR ${fix(p.acr.acrA, 3)} against ${fix(p.acr.acrB, 3)}, difference ${d.d}, 95% interval [${d.lo}, ${d.hi}]`);
    const dp = acrDiff(paired(SZ25, RS25, 'radius_paper'));
    expectProse(`With the paper's bound (\`--column radius_paper\`): ${dp.d} [${dp.lo}, ${dp.hi}]`);
  });

  test('RS at 0.5 against RS at 0.25: the same trade; the agreement lines', () => {
    const p = paired(RS25, RS50);
    const e0 = at(p, 0);
    const e25 = at(p, 0.25);
    const wins = p.accuracy.filter((r) => r.eps >= 0.5 && r.eps <= 1.5);
    wins.forEach((r) => {
      expect(r.certifiedB).toBeGreaterThan(r.certifiedA);
      expect(r.p).toBeLessThan(0.001);
    });
    // Beyond 1.5 neither certifies anything.
    p.accuracy.filter((r) => r.eps > 1.5).forEach((r) => expect([r.certifiedA, r.certifiedB]).toEqual([0, 0]));
    expectProse(`RS at 0.5 loses at eps 0 (${pctOf(e0.certifiedB, 500)} against ${pctOf(e0.certifiedA, 500)}%, p ${pv(e0.p, 3)}), cannot be told apart at 0.25 (p = ${pv(e25.p, 3)}), and wins from 0.5 to 1.5 (p < 0.001)`);
    const d = acrDiff(p, true);
    expectProse(`with ACR ${d.d} [${d.lo}, ${d.hi}]`);
    const L = classified(SZ25).map((r) => r.lipschitz);
    expectProse(`(L(x) = ${fix(L[0], 3)}), gives the same answer (class or abstention) as RS at sigma 0.5 on ${paired(SZ25, RS50).agreement.sameAnswer} of 500 images, and as RS at sigma 0.25 on ${paired(SZ25, RS25).agreement.sameAnswer}`);
  });

  test('Table II: which RS is best at eps 0.5 to 1; the sound-bound verdict at eps 0.5', () => {
    const best = (eps: number) => {
      const acc = [RS25, RS50, RS100].map((r) => analyze(r, [eps]).certifiedAccuracy[0]);
      return ['0.25', '0.5', '1.0'][acc.indexOf(Math.max(...acc))];
    };
    expect([0.5, 0.75, 1].map(best)).toEqual(['0.5', '0.5', '1.0']);
    expectProse(`RS at 0.25 is not the best RS at eps 0.5 to 1 (RS at ${best(0.5)} is at 0.5 and 0.75, RS at ${best(1)} at 1)`);
    expectProse(`(SPLITZ 0.25 below RS 0.5 at eps 0.5, p = ${pv(at(paired(SZ25, RS50), 0.5).p, 3)}; not told apart at 0.75 and 1.0)`);
  });

  test('training and certification times', () => {
    const w = workerTime(RS25);
    expect(sidecar(RS25).runs.length).toBe(5);
    expectProse(`Training took ${fix(trainMinutes(RS25), 0)} min (${secondsRange(RS25)} s per epoch, the slow ones beside a certification); certification ${w.min} worker-minutes (${w.perImage} s per image per worker) in five resumed steps`);
  });
});

describe('The Lipschitz figures (Figs. 1, 5, 6): data/results/lipschitz', () => {
  const LIP = path.join(RESULTS, 'lipschitz');
  interface Net { arch: string; label: string; lr: number; test_accuracy: number; train_seconds: number }
  const provenance = readJson<{ code: { commit: string }; started: string; training: { width: number; epochs: number; optimizer: string; augment: boolean }; nets: (Net & { trained_with_code: string | null })[] }>(path.join(LIP, 'provenance.json'));
  /** Rows of one of the Lipschitz CSVs, parsed by lib/report/render.ts, every cell as text. */
  const csv = (file: string): Record<string, string>[] =>
    parseCsv(fs.readFileSync(path.join(LIP, file), 'utf8')).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? '' : String(v)])));

  test('the six nets and their test accuracies', () => {
    expect(provenance.training).toMatchObject({ width: 0.25, epochs: 2, optimizer: 'adam', augment: true });
    const acc = provenance.nets.map((n) => `${n.label} ${fix(100 * n.test_accuracy, 1)}%`);
    expect(acc.length).toBe(6);
    expectProse(`Their test accuracies are ${acc.slice(0, 5).join(', ')} and ${acc[5]}.`);
    const lrs = provenance.nets.map((n) => n.lr);
    expect(lrs[0]).toBe(1e-4);
    expect(lrs.slice(1).every((lr) => lr === 1e-3)).toBe(true);
  });

  test('the training commit: the first training began 11 s after bf09dbb', () => {
    const vgg = readJson<{ savedAt: string; metrics: { train_seconds: number } }>(path.join(LIP, 'checkpoints', 'vgg16-w0.25-e2', 'meta.json'));
    const metas = provenance.nets.map((n) => readJson<{ savedAt: string }>(path.join(LIP, 'checkpoints', `${n.arch}-w0.25-e2`, 'meta.json')).savedAt);
    expect(metas.slice().sort()[0]).toBe(vgg.savedAt);
    const began = Date.parse(vgg.savedAt) - 1000 * vgg.metrics.train_seconds;
    // bf09dbb's commit time (git log): 2026-11-27 05:21:59 +0000.
    const after = (began - Date.parse('2026-11-27T05:21:59Z')) / 1000;
    expect(provenance.nets.every((n) => n.trained_with_code === null)).toBe(true);
    expectProse(`The nets were trained at commit bf09dbb: the first training began ${fix(after, 0)} s after it (the VGG-16 checkpoint's \`savedAt\` less its \`train_seconds\`). provenance.json names ${provenance.code.commit.slice(0, 7)}, the commit of a later run that reloaded the saved nets (\`trained_with_code\` null).`);
  });

  test('per-layer spectral norms: VGG-16 and SqueezeNet ranges, the largest ratio', () => {
    const rows = csv('global_layers.csv');
    const norms = (label: string) => rows.filter((r) => r.net.startsWith(`${label} (`)).map((r) => Number(r.lipschitz));
    const ratio = (label: string) => Math.max(...norms(label)) / Math.min(...norms(label));
    const labels = provenance.nets.map((n) => n.label);
    labels.forEach((l) => expect(norms(l).length).toBeGreaterThan(1));
    const largest = labels.reduce((m, l) => (ratio(l) > ratio(m) ? l : m));
    expectProse(`from ${fix(Math.min(...norms('VGG-16')), 1)} to ${fix(Math.max(...norms('VGG-16')), 1)} in VGG-16 and from ${fix(Math.min(...norms('SqueezeNet')), 1)} to ${fix(Math.max(...norms('SqueezeNet')), 1)} in SqueezeNet`);
    expectProse(`The largest ratio is ${fix(ratio(largest), 1)}, in ${largest}.`);
  });

  test("VGG-16's local bound over 200 test images, and the product of its first 4 layers' norms", () => {
    const local = csv('local_testset.csv').filter((r) => r.net.startsWith('VGG-16') && r.layer === '4').map((r) => Number(r.bound));
    expect(local.length).toBe(200);
    const sorted = local.slice().sort((a, b) => a - b);
    const median = (sorted[99] + sorted[100]) / 2;
    expectProse(`Over ${local.length} test images, VGG-16's local bound of its first 4 layers runs from ${fix(sorted[0], 0)} to ${fix(sorted[199], 0)} (median ${fix(median, 0)}), ${fix(sorted[199] / sorted[0], 1)} times from least to most`);
    const first4 = csv('global_layers.csv').filter((r) => r.net.startsWith('VGG-16 (') && Number(r.layer) <= 4).map((r) => Number(r.lipschitz));
    expect(first4.length).toBe(4);
    const product = first4.reduce((a, x) => a * x, 1);
    const model = readJson<{ modelTopology: { config: { layers: { class_name: string; config: { std?: number[] } }[] } } }>(path.join(LIP, 'checkpoints', 'vgg16-w0.25-e2', 'model.json'));
    const std = model.modelTopology.config.layers.find((l) => l.class_name === 'Normalize')!.config.std!;
    // 1/std is about 4 in each channel; the normalisation's Lipschitz constant is 1 / (the smallest std).
    std.forEach((s) => expect(fix(1 / s, 0)).toBe('4'));
    expectProse(`(1/std, about ${fix(1 / Math.min(...std), 0)})`);
    expectProse(`The product of those layers' global norms is ${fix(product, 1)} before normalisation, about ${fix(product / Math.min(...std), 0)} after.`);
  });
});

describe('the signal at the split (diagnostics.json, the generated table "The signal at the split")', () => {
  const M = (s: string) => `mnist-splitz-sigma${s}-reduced`;
  const R = (s: string) => `mnist-rs-sigma${s}-reduced`;
  const sigmas = ['0.25', '0.50', '0.75'];

  test("spreads, their fraction of the pixels', spread / sigma against RS's, the linear units", () => {
    const pixels = signal(R('0.75')).spread;
    expectProse(`For RS it is the pixels' own spread, ${fix(pixels, 2)} on MNIST.`);
    const spread = sigmas.map((s) => signal(M(s)).spread);
    const frac = spread.map((s) => s / pixels);
    const linear = sigmas.map((s) => 100 * signal(M(s)).linear_fraction);
    expectProse(`SPLITZ at sigma 0.25 / 0.5 / 0.75 keeps a spread of ${spread.map((s) => fix(s, 2)).join(' / ')} (${range(frac, 2)} of the pixels'), so its spread / sigma is ${sigmas.map((s) => fix(signal(M(s)).snr, 1)).join(' / ')} against RS's ${sigmas.map((s) => fix(signal(R(s)).snr, 1)).join(' / ')} at the same sigma. ${range(linear, 0)}% of the pre-activations of its ReLU_theta sit in (0, theta)`);
  });

  test("at sigma 0.75: the ratio against RS's, and the base classifiers", () => {
    const below = (1 - signal(M('0.75')).snr / signal(R('0.75')).snr) * 100;
    const acc = (r: string) => fix(100 * Math.max(...epochs(r).map((e) => e.holdout_acc)), 1);
    expectProse(`At sigma 0.75 SPLITZ's ratio is about ${fix(below, 0)}% below RS's, yet its base classifier is much weaker (held-out accuracy under noise ${acc(M('0.75'))}% against ${acc(R('0.75'))}%)`);
  });
});

describe('what a nearly linear f_L does to the noise (the generated table "The noise through the split")', () => {
  const M = (s: string) => `mnist-splitz-sigma${s}-reduced`;

  test('the share of linear units in the split-1 f_L', () => {
    const splitOne = fs.readdirSync(RESULTS).filter((r) => r.includes('-splitz-') && !/split[23]/.test(r));
    const mnist = splitOne.filter((r) => r.startsWith('mnist-') && r !== 'mnist-splitz-sigma1.00-reduced').map((r) => 100 * signal(r).linear_fraction);
    const cifar = splitOne.filter((r) => r.startsWith('cifar10-')).map((r) => 100 * signal(r).linear_fraction);
    expect(mnist.length).toBeGreaterThanOrEqual(9);
    expect(cifar.length).toBe(3);
    expectProse(`Our MNIST split-1 f_L that trained keep ${range(mnist, 0)}% of their units linear on test images (CIFAR-10's: ${range(cifar, 1)}%)`);
  });

  test('sigma 0.75: s_max, the credited noise, the median direction, the directions above half of s_max', () => {
    const n = noise(M('0.75'));
    const acc = (r: string) => Math.max(...epochs(r).map((e) => e.holdout_acc));
    const [sz, rs] = [acc(M('0.75')), acc('mnist-rs-sigma0.75-reduced')];
    expectProse(`sigma 0.75: s_max ${fix(n.s_max, 3)}, so the radius is credited with input noise ${fix(n.noise_credited, 3)}, about RS's 0.75; but the median direction passes at ${fix(n.quantiles[2], 2)} s_max, i.e. noise ${fix(n.noise_median, 2)} (${fix(n.noise_median / 0.75, 1)}x RS's), and only ${fix(100 * n.above_half, 0)}% of directions pass at half of s_max or more`);
    expectProse(`the base classifier's ${fix(100 * (rs - sz), 0)} points (${fix(100 * sz, 1)}% against ${fix(100 * rs, 1)}%)`);
  });

  test('sigma 0.25 / 0.5 and split 2', () => {
    const [q, h] = [noise(M('0.25')), noise(M('0.50'))];
    expectProse(`sigma 0.25 / 0.5: median direction noise ${fix(q.noise_median, 2)} / ${fix(h.noise_median, 2)} against credited ${fix(q.noise_credited, 2)} / ${fix(h.noise_credited, 2)}`);
    const pay = [q, h].map((x) => x.noise_median / x.noise_credited);
    expect(Math.min(...pay)).toBeGreaterThan(1.95);
    expectProse(`(${fix(100 * q.above_half, 0)}% / ${fix(100 * h.above_half, 0)}% of directions above half of s_max) but still pay about twice or more (${pay.map((x) => fix(x, 1) + 'x').join(' / ')})`);
    const s2 = noise('mnist-splitz-sigma0.75-split2-reduced');
    expectProse(`split 2: median direction noise ${fix(s2.noise_median, 1)} against credited ${fix(s2.noise_credited, 2)}.`);
  });
});

describe('what separates the two radius columns: split 2 and split 3 (the generated tables)', () => {
  const S1 = 'mnist-splitz-sigma0.75-reduced';
  const S2 = 'mnist-splitz-sigma0.75-split2-reduced';
  const S3 = 'mnist-splitz-sigma0.75-split3-reduced';

  test('split 2: the bound over the Jacobian, the real stretch, the spread and its decomposition', () => {
    const [one, two] = [signal(S1), signal(S2)];
    expectProse(`the bound of eq. 18 overstates its real stretch by ${fix(two.bound_over_jacobian, 2)}x.`);
    const splitOne = fs.readdirSync(RESULTS).filter((r) => r.includes('-splitz-') && !/split[23]/.test(r));
    splitOne.forEach((r) => expect(fix(signal(r).bound_over_jacobian, 2)).toBe('1.00'));
    expectProse(`their product, has norm ${fix(two.jacobian_norm, 3)} against the bound's ${fix(two.bound_at_x, 3)}`);
    expectProse(`the real stretch of split 2 is ${fix(two.jacobian_norm, 2)}, against ${fix(one.jacobian_norm, 2)} for the split-1 run at the same sigma, and its spread ${fix(two.spread, 2)} is a fifth of split 1's ${fix(one.spread, 2)} (spread / sigma ${fix(two.snr, 2)})`);
    expect(fix(two.spread / one.spread, 1)).toBe('0.2');
    const smaller = one.spread / two.spread;
    const bound = one.jacobian_norm / two.bound_at_x;
    const rest = smaller / bound / two.bound_over_jacobian;
    expectProse(`Of the ${fix(smaller, 1)}x smaller spread, ${fix(bound, 1)}x is the smaller bound itself (${fix(two.bound_at_x, 2)} against ${fix(one.jacobian_norm, 2)}: this f_L never rose off the floor as lambda fell), ${fix(two.bound_over_jacobian, 1)}x the looseness, and the remaining ${fix(rest, 1)}x`);
    // "never rose off the floor": the training's mean L stayed under the 0.5 floor (plus a hair) from epoch 2 on.
    expect(Math.max(...epochRange(S2, 2, 12).map((e) => e.mean_L))).toBeLessThan(0.5);
  });

  test('split 3: the bound over the Jacobian, the spread, the noise along the median direction', () => {
    const s = signal(S3);
    const n = noise(S3);
    expect(n.quantiles[2]).toBeLessThanOrEqual(0.02);
    expectProse(`the bound sits ${fix(s.bound_over_jacobian, 2)}x above ||J(x)|| (${fix(s.bound_at_x, 3)} against ${fix(s.jacobian_norm, 3)}), the spread is ${fix(s.spread, 2)} (spread / sigma ${fix(s.snr, 2)})`);
    expectProse(`half of the input directions pass at ${fix(100 * n.quantiles[2], 0)}% of s_max or less (noise ${fix(n.noise_median, 0)} along the median direction, against a credited ${fix(n.noise_credited, 2)})`);
  });
});
