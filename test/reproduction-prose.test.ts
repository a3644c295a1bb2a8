/**
 * The hand-written findings of docs/REPRODUCTION.md against the published
 * runs. The generated part of that page is rebuilt from data/results by
 * `npm run claims` (test/published.test.ts checks it); the prose above it is
 * not, so its numbers could drift from the logs unnoticed. Each test here
 * recomputes one statement of the prose from the logs (`splitz analyze`, the
 * training logs, run.json, the certification sidecars, data/literature) and
 * requires the page (and, for its summary, the README) to say exactly that,
 * whitespace aside. Rewording a
 * checked sentence means rewording it here too, which is the point: a number
 * in the prose changes only together with the computation behind it. This
 * file holds the MNIST findings, the bound summary and the paper's gaps;
 * test/reproduction-prose-cifar10.test.ts the CIFAR-10 and diagnostics ones;
 * test/prose-helpers.ts what both read and format.
 */
import * as fs from 'fs';
import * as path from 'path';
import { AccuracyRow, loadLiterature } from '../lib/report/literature';
import { mcnemarExact } from '../lib/eval/paired';
import { normalQuantile } from '../lib/smoothing/stats';
import {
  RESULTS, expectProse, expectReadme, generated, fix, analyze, certRow, acr, acrPaper, abstentions, paired, at, acrDiff,
  trainLog, earlyStop, epochs, epochRange, range, trainMinutes, readJson, runJson, sidecar, lastStepSeconds, records, classified, generatedRow,
} from './prose-helpers';

describe('MNIST headline pair', () => {
  test('where each training stopped and its best epoch (counted from 1)', () => {
    for (const run of ['mnist-splitz-sigma0.75-headline', 'mnist-rs-sigma0.75-headline']) {
      const { after, best } = earlyStop(run);
      expectProse(`stopped after epoch ${after} with the best held-out epoch ${best};`);
    }
  });

  test('the SPLITZ run sat at the Lip_theta floor from epoch 2 to 34, and its training and certification times', () => {
    const run = 'mnist-splitz-sigma0.75-headline';
    const floor = epochRange(run, 2, 34);
    expect(Math.max(...floor.map((e) => e.mean_L))).toBeLessThan(0.53);
    // The next epochs leave the floor for good.
    expect(epochRange(run, 37, 40).every((e) => e.mean_L > 0.53)).toBe(true);
    expectProse(`the 0.5 floor (${range(floor.map((e) => e.mean_L), 2)}) from epoch 2 to 34 with held-out accuracy under noise at ${range(floor.map((e) => e.holdout_acc), 3)}`);
    const log = trainLog(run);
    const firstStop = log.findIndex((r) => r.type === 'early_stop');
    const resumes = log.slice(0, firstStop).filter((r) => r.type === 'resume').length;
    expect(resumes).toBe(6);
    expectProse(`Training took ${fix(trainMinutes(run), 0)} min, stopped and resumed six times`);
    const c = runJson(run).certification;
    expect(c.commands.map((k) => k.workers)).toEqual([1, 1, 1, 2]);
    expectProse(`certification took ${fix((c.worker_seconds / 60), 0)} worker-minutes (${fix((c.worker_seconds / c.images), 1)} s per image per worker at n = 100,000), in three steps on 1 worker and a last one on 2`);
  });

  test('the RS run: certification time and steps', () => {
    const c = runJson('mnist-rs-sigma0.75-headline').certification;
    expect(c.commands.map((k) => k.workers)).toEqual([2, 2]);
    expectProse(`Certification ${fix((c.worker_seconds / 60), 1)} worker-minutes (${fix((c.worker_seconds / c.images), 1)} s per image per worker), in two steps, both on 2 workers`);
  });

  test('12-epoch RS beats headline SPLITZ at every eps from 0 to 2.25, not at 2.5', () => {
    const p = paired('mnist-splitz-sigma0.75-headline', 'mnist-rs-sigma0.75-reduced');
    for (const row of p.accuracy) {
      if (row.eps <= 2.25) {
        expect(row.certifiedB).toBeGreaterThan(row.certifiedA);
        expect(row.p).toBeLessThan(0.001);
      }
    }
    expect([at(p, 2.5).certifiedA, at(p, 2.5).certifiedB]).toEqual([1, 0]);
    const { d, lo, hi } = acrDiff(p);
    expectProse(`ACR ${d} [${lo}, ${hi}]`);
    expectProse('already beats this SPLITZ run at every eps from 0 to 2.25 (McNemar p < 0.001 at each); at 2.5, past its n = 10,000 cap of 2.40, it certifies nothing and SPLITZ 0.2%');
  });

  test('SPLITZ against RS, headline pair, with both bounds', () => {
    const sound = acrDiff(paired('mnist-splitz-sigma0.75-headline', 'mnist-rs-sigma0.75-headline'));
    const paper = acrDiff(paired('mnist-splitz-sigma0.75-headline', 'mnist-rs-sigma0.75-headline', 'radius_paper'));
    expectProse(`ACR difference SPLITZ - RS ${sound.d}, 95% interval [${sound.lo}, ${sound.hi}]; with the paper's bound (\`--column radius_paper\`) ${paper.d} [${paper.lo}, ${paper.hi}]`);
    expectReadme(`ACR difference ${sound.d}, interval [${sound.lo}, ${sound.hi}]; ${paper.d} with the paper's bound`);
  });
});

describe('MNIST reduced runs', () => {
  test('SPLITZ vs RS at sigma 0.5 and at sigma 1.0 (ACR differences)', () => {
    const half = acrDiff(paired('mnist-splitz-sigma0.50-reduced', 'mnist-rs-sigma0.50-reduced'));
    expectProse(`ACR difference ${half.d}, 95% interval [${half.lo}, ${half.hi}]`);
    const one = acrDiff(paired('mnist-splitz-sigma1.00-reduced', 'mnist-rs-sigma1.00-reduced'));
    expectProse(`fails with the sound bound (${one.d}, 95% interval [${one.lo}, ${one.hi}])`);
  });

  test('SPLITZ at sigma 0.5 at the floor over epochs 2-4', () => {
    const e = epochRange('mnist-splitz-sigma0.50-reduced', 2, 4);
    expectProse(`near the Lip_theta floor (${range(e.map((x) => x.mean_L), 2)}) over epochs 2-4 while held-out accuracy under noise creeps from ${fix(e[0].holdout_acc, 2)} to ${fix(e[e.length - 1].holdout_acc, 2)}`);
  });

  test('at eps 2.25 and 2.5 the trained reduced SPLITZ runs certify at most 0.6% and 0.2%; only the collapsed run more', () => {
    const reduced = fs.readdirSync(RESULTS).filter((d) => d.startsWith('mnist-splitz-') && d.includes('-reduced'));
    expect(reduced.length).toBeGreaterThanOrEqual(10);
    const trained = reduced.filter((d) => d !== 'mnist-splitz-sigma1.00-reduced');
    const large = trained.map((d) => analyze(d, [2.25, 2.5]).certifiedAccuracy.map((a) => 100 * a));
    const max = [0, 1].map((k) => Math.max(...large.map((a) => a[k])));
    const collapsed = analyze('mnist-splitz-sigma1.00-reduced', [0, 1, 2, 2.25, 2.5]).certifiedAccuracy.map((a) => 100 * a);
    expect(new Set(collapsed.map((x) => fix(x, 1)))).toEqual(new Set(['11.4']));
    const headline = analyze('mnist-splitz-sigma0.75-headline', [2.25, 2.5]).certifiedAccuracy.map((a) => 100 * a);
    const rs = analyze('mnist-rs-sigma1.00-reduced', [2.25, 2.5]).certifiedAccuracy.map((a) => 100 * a);
    expectProse(`It is the best RS model at eps 2.25 and 2.5 (${fix(rs[0], 1)}% and ${fix(rs[1], 1)}%), where the trained \`reduced\` SPLITZ runs certify at most ${fix(max[0], 1)}% and ${fix(max[1], 1)}% (the \`headline\` SPLITZ run: ${fix(headline[0], 1)}% and ${fix(headline[1], 1)}%)`);
  });

  test('split 3: the floor from epoch 3 to 10, and its epoch times', () => {
    const run = 'mnist-splitz-sigma0.75-split3-reduced';
    const floor = epochRange(run, 3, 10);
    const last = epochRange(run, 11, 12).map((e) => fix(e.mean_L, 2));
    expectProse(`(${range(floor.map((e) => e.mean_L), 2)}) from epoch 3 to 10 and rose to ${last.join(' / ')} in the last two`);
    expectProse(`training took ${range(epochs(run).map((e) => e.seconds), 0)} s per epoch`);
  });

  test('Lip_theta 0.3 / 0.5 / 0.7: more certified at every eps from 0 to 2, the order turns at 2.25; the end L of each training log', () => {
    const runs = ['mnist-splitz-sigma0.75-thetalip0.3-reduced', 'mnist-splitz-sigma0.75-reduced', 'mnist-splitz-sigma0.75-thetalip0.7-reduced'];
    const radii = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];
    const acc = runs.map((r) => analyze(r, radii).certifiedAccuracy);
    radii.forEach((_, k) => {
      expect(acc[1][k]).toBeGreaterThan(acc[0][k]);
      expect(acc[2][k]).toBeGreaterThan(acc[1][k]);
    });
    const at225 = runs.map((r) => fix(100 * analyze(r, [2.25]).certifiedAccuracy[0], 1));
    expectProse(`the order turns (${at225.join(' / ')}%)`);
    const endL = runs.map((r) => fix(epochs(r)[epochs(r).length - 1].mean_L, 2));
    expectProse(`All three end near the same L (${endL.join(' / ')})`);
    expectProse(`(the Lip_theta 0.5 run: ${endL[1]} and ${fix(epochs(runs[1])[11].holdout_acc, 3)})`);
  });
});

describe('how tight the two bounds are (the generated table, summarised in the prose)', () => {
  interface Tight { run: string; split: number; soundMedian: number; soundMax: number; paperMedian: number }
  const rows: Tight[] = generated
    .split('\n')
    .filter((l) => /^\| (mnist|cifar10)-splitz-.*\| \d+\.\d{4} \(\d+\.\d{4}\) \|/.test(l))
    .map((l) => {
      const c = l.split('|').map((x) => x.trim());
      const [sm, sx] = c[5].match(/[\d.]+/g)!.map(Number);
      return { run: c[1], split: Number(c[3]), soundMedian: sm, soundMax: sx, paperMedian: Number(c[6].match(/[\d.]+/)![0]) };
    });

  test('the sound bound sits 0.00-0.15% above the converged norm on one- and two-layer f_L (at most 0.30%), 0.3% on split 3', () => {
    expect(rows.length).toBeGreaterThanOrEqual(15);
    const shallow = rows.filter((r) => r.split <= 2);
    const pct = (x: number) => fix(((x - 1) * 100), 2);
    const med = shallow.map((r) => r.soundMedian);
    expectProse(`sits ${pct(Math.min(...med))}-${pct(Math.max(...med))}% above it on one- and two-layer f_L (median; at most ${pct(Math.max(...shallow.map((r) => r.soundMax)))}%)`);
    const split3 = rows.find((r) => r.split === 3)!;
    expectProse(`and ${fix(((split3.soundMedian - 1) * 100), 1)}% above on split 3's three layers`);
  });

  test("the paper's 5-step estimate on MNIST split-1 runs that trained, and CIFAR-10's 2-step one", () => {
    const below = (r: Tight) => (1 - r.paperMedian) * 100;
    const trained = rows.filter((r) => r.run.startsWith('mnist-') && r.split === 1 && r.run !== 'mnist-splitz-sigma1.00-reduced');
    expect(trained.length).toBeGreaterThanOrEqual(8);
    expectProse(`paper's 5-step estimate sits ${fix(Math.min(...trained.map(below)), 1)}-${fix(Math.max(...trained.map(below)), 1)}% below it on the split-1 runs that trained`);
    const cifar = rows.filter((r) => r.run.startsWith('cifar10-'));
    expectProse(`on CIFAR-10, with 2 steps, ${fix(Math.min(...cifar.map(below)), 0)}-${fix(Math.max(...cifar.map(below)), 0)}% below`);
  });
});

describe("the paper's gaps quoted in 'What a scale can tell apart' (data/literature)", () => {
  /** |difference| of certified accuracy between two settings of an ablation, at every eps both print. */
  function gaps(rows: AccuracyRow[], a: number, b: number): number[] {
    const byEps = (v: number) => new Map(rows.filter((r) => r.param_value === v).map((r) => [r.eps, r.certified_accuracy!]));
    const [ra, rb] = [byEps(a), byEps(b)];
    return [...ra.keys()].filter((e) => rb.has(e)).map((e) => Math.round(Math.abs(ra.get(e)! - rb.get(e)!) * 10) / 10);
  }

  test('Table V: split 1 over split 2 by 4 to 11 points, split 2 over split 3 by 1.1 to 5.8', () => {
    const v = loadLiterature('V');
    const g12 = gaps(v, 1, 2);
    const g23 = gaps(v, 2, 3);
    expectProse(`split 1 leads split 2 by ${fix(Math.min(...g12), 0)} to ${fix(Math.max(...g12), 0)} points`);
    expectProse(`split 2 leads split 3 by ${fix(Math.min(...g23), 1)} to ${fix(Math.max(...g23), 1)}`);
  });

  test('Tables VI and VII: differences of 0.0 to 4.7 points', () => {
    const all: number[] = [];
    for (const [t, values] of [['VI', [0.3, 0.5, 0.7]], ['VII', [0.1, 1, 2]]] as const) {
      const rows = loadLiterature(t);
      for (let i = 0; i < values.length; i++) for (let j = i + 1; j < values.length; j++) all.push(...gaps(rows, values[i], values[j]));
    }
    expectProse(`the paper's differences are ${fix(Math.min(...all), 1)} to ${fix(Math.max(...all), 1)} points`);
  });
});

const E6 = [0, 0.5, 1, 1.5, 2, 2.5];

describe('MNIST findings, run by run', () => {
  test('sigma 0.75 reduced: RS against SPLITZ, and the base classifiers', () => {
    expectProse(`The RS run is ${certRow('mnist-rs-sigma0.75-reduced', [0, 1.5, 2])}% at eps 0 / 1.5 / 2.0 with ACR ${fix(analyze('mnist-rs-sigma0.75-reduced', [0]).acr, 2)}. The SPLITZ run is ${certRow('mnist-splitz-sigma0.75-reduced', [0, 1.5, 2])}% with ACR ${fix(analyze('mnist-splitz-sigma0.75-reduced', [0]).acr, 2)}, and abstains on ${abstentions('mnist-splitz-sigma0.75-reduced')} of 500 images.`);
    const last = (run: string) => epochs(run)[epochs(run).length - 1];
    expectProse(`under noise was ${fix(last('mnist-splitz-sigma0.75-reduced').holdout_acc, 3)} after 12 epochs, against RS's ${fix(last('mnist-rs-sigma0.75-reduced').holdout_acc, 3)}.`);
    const floor = epochRange('mnist-splitz-sigma0.75-reduced', 3, 5).map((e) => e.holdout_acc);
    expectProse(`(held-out accuracy ${range(floor, 2)} over epochs 3-5). As lambda falls to 0.4, mean L(x) climbs back to ${fix(last('mnist-splitz-sigma0.75-reduced').mean_L, 2)}`);
    // "accuracy rises every epoch, still rising at epoch 12": from epoch 5 on.
    const rising = epochRange('mnist-splitz-sigma0.75-reduced', 5, 12).map((e) => e.holdout_acc);
    rising.slice(1).forEach((a, k) => expect(a).toBeGreaterThan(rising[k]));
    const global = readJson<{ L: number }>(path.join(RESULTS, 'mnist-splitz-sigma0.75-reduced', 'global-lipschitz.json'));
    expectProse(`The global bound of this f_L is ${fix(global.L, 3)}`);
  });

  test('headline SPLITZ: certified row, against the reduced SPLITZ run, its f_L and the paper bound', () => {
    const run = 'mnist-splitz-sigma0.75-headline';
    expectProse(`Certified ${certRow(run, E6)}% at eps 0 / 0.5 / 1 / 1.5 / 2 / 2.5, ${abstentions(run)} abstentions, ACR ${acr(run)}`);
    const vsReduced = acrDiff(paired(run, 'mnist-splitz-sigma0.75-reduced'));
    expectProse(`Against the \`reduced\` SPLITZ run: ACR ${vsReduced.d} (95% interval ${vsReduced.lo} to ${vsReduced.hi})`);
    expectProse(`Against the \`reduced\` RS run at sigma 0.75 (${certRow('mnist-rs-sigma0.75-reduced', [0, 1.5, 2])}% at eps 0 / 1.5 / 2, ACR ${acr('mnist-rs-sigma0.75-reduced')})`);
    const epoch = (e: number) => epochRange(run, e, e)[0];
    const end = epochs(run)[epochs(run).length - 1];
    expectProse(`(${fix(epoch(50).mean_L, 2)} at epoch 50, ${fix(epoch(100).mean_L, 2)} at 100, ${fix(end.mean_L, 2)} at the end), and accuracy with it (${fix(epoch(50).holdout_acc, 2)}, ${fix(epoch(100).holdout_acc, 2)}, ${fix(end.holdout_acc, 2)})`);
    const base = generatedRow('Base classifiers', run);
    const rsReduced = generatedRow('Base classifiers', 'mnist-rs-sigma0.75-reduced');
    expectProse(`At the certified epoch it scores ${base[3]}% under noise sigma = 0.75 at the split with L(x) ${fix(Number(base[5]), 2)}, the radius of RS at sigma / L = ${fix(Number(base[7]), 2)}; the RS run scores ${rsReduced[3]}%`);
    const signal = readJson<{ 'split-signal': { value: { bound_at_x: number; linear_fraction: number } } }>(path.join(RESULTS, run, 'diagnostics.json'))['split-signal'].value;
    const global = readJson<{ L: number }>(path.join(RESULTS, run, 'global-lipschitz.json')).L;
    expectProse(`the local bound (${fix(signal.bound_at_x, 3)}) equals the global one (${fix(global, 3)}) to ${fix(((global / signal.bound_at_x - 1) * 100), 1)}%, ${fix((signal.linear_fraction * 100), 0)}% of the ReLU_theta units`);
    const noise = (r: string) => generatedRow('The noise through the split', r);
    const median = (r: string) => noise(r)[5].split(' / ')[2];
    expectProse(`(median s_i / s_max ${median(run)} against ${median('mnist-splitz-sigma0.75-reduced')} at 12 epochs; ${fix(Number(noise(run)[6]), 0)}% of them above half of s_max)`);
    const sound = analyze(run, [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5]).certifiedAccuracy.map((a) => 100 * a);
    const both = paired(run, run, 'radius_paper').accuracy.map((r) => (100 * r.certifiedA) / r.images);
    const gain = Math.max(...both.map((p, k) => p - sound[k]));
    expectProse(`The paper's power-iteration bound adds up to ${fix(gain, 1)} points (ACR ${acrPaper(run)} against ${acr(run)})`);
  });

  test('headline RS: certified row, the pair image by image, against the reduced RS run, its training', () => {
    const run = 'mnist-rs-sigma0.75-headline';
    expectProse(`Certified ${certRow(run, E6)}% at eps 0 / 0.5 / 1 / 1.5 / 2 / 2.5, ${abstentions(run)} abstentions, ACR ${acr(run)}`);
    expectProse(`(${certRow(run, [0.5, 0.75])} against 94.1 / 92.0)`);
    const p = paired('mnist-splitz-sigma0.75-headline', run);
    for (const row of p.accuracy) {
      expect(row.certifiedB).toBeGreaterThan(row.certifiedA);
      expect(row.p).toBeLessThan(0.001);
    }
    expectProse(`SPLITZ certifies at most ${Math.max(...p.accuracy.map((r) => r.onlyA))} images RS does not`);
    expectProse(`same class on ${p.agreement.sameClass} of the ${p.agreement.bothClassify} images both classify`);
    expectProse(`while this RS base classifier scores ${generatedRow('Base classifiers', run)[3]}% (held-out, under sigma 0.75)`);
    const vsReduced = paired(run, 'mnist-rs-sigma0.75-reduced');
    const d = acrDiff(vsReduced);
    expectProse(`Against the 12-epoch \`reduced\` RS run: ACR ${d.d} [${d.lo}, ${d.hi}], ahead at every eps (p <= 0.002)`);
    // "ahead at every eps" except where neither certifies (eps 2.5 on the reduced run: 0.0%) is still ahead.
    for (const row of vsReduced.accuracy) {
      expect(row.certifiedA).toBeGreaterThan(row.certifiedB);
      expect(row.p).toBeLessThanOrEqual(0.002);
    }
    const epoch = (e: number) => epochRange(run, e, e)[0];
    const { best } = earlyStop(run);
    expectProse(`held-out accuracy under noise ${fix(epoch(1).holdout_acc, 3)} after the first epoch, ${fix(epoch(50).holdout_acc, 3)} by epoch 50, ${fix(epoch(best).holdout_acc, 3)} at the best epoch ${best} (clean ${fix(epoch(best).holdout_clean_acc, 3)}); ${fix(trainMinutes(run), 1)} min of wall time`);
    const secs = epochs(run).map((e) => e.seconds).sort((a, b) => a - b);
    expectProse(`(median ${fix(secs[Math.floor(secs.length / 2)], 0)} s per epoch; two epochs took ${fix((secs[secs.length - 2] / 60), 0)} and ${fix((secs[secs.length - 1] / 60), 0)} min`);
  });

  test('sigma 0.25 reduced', () => {
    expectProse(`RS: certified accuracy ${certRow('mnist-rs-sigma0.25-reduced', [0, 0.5, 0.75])}% at eps 0 / 0.5 / 0.75, and nothing at eps 1.`);
    expect(certRow('mnist-rs-sigma0.25-reduced', [1])).toBe('0.0');
    expectProse(`Its ACR is ${acr('mnist-rs-sigma0.25-reduced')}`);
    const run = 'mnist-splitz-sigma0.25-reduced';
    expectProse(`SPLITZ: ${certRow(run, [0, 0.5, 0.75, 1, 1.25])}% at eps 0 / 0.5 / 0.75 / 1 / 1.25, with ${abstentions(run)} abstentions, and ACR ${acr(run)} with the sound bound (${acrPaper(run)} with power iteration)`);
    const rec = classified(run);
    expectProse(`The local bound of f_L sits at ${range(rec.map((r) => r.lipschitz), 2)} on every certified image`);
    expectProse(`That carries SPLITZ past RS's cap: up to ${fix(Math.max(...rec.filter((r) => r.correct === 1).map((r) => r.radius)), 2)}.`);
    const d = acrDiff(paired(run, 'mnist-rs-sigma0.25-reduced'));
    expectProse(`significant: ${d.d}, 95% interval [${d.lo}, ${d.hi}]`);
    const last = (r: string) => epochs(r)[epochs(r).length - 1].holdout_acc;
    expectProse(`held-out noisy accuracy ${fix(last(run), 3)} against ${fix(Math.max(...epochs('mnist-rs-sigma0.25-reduced').map((e) => e.holdout_acc)), 3)}`);
  });

  test('sigma 0.5 reduced', () => {
    expectProse(`RS: ${certRow('mnist-rs-sigma0.50-reduced', [0, 0.5, 1, 1.5])}% at eps 0 / 0.5 / 1 / 1.5, nothing beyond its n = 10,000 cap of 1.60, and ACR ${acr('mnist-rs-sigma0.50-reduced')}`);
    const run = 'mnist-splitz-sigma0.50-reduced';
    expectProse(`SPLITZ: ${certRow(run, [0, 0.5, 1, 1.5, 1.75])}% at eps 0 / 0.5 / 1 / 1.5 / 1.75, with ${abstentions(run)} abstentions, and ACR ${acr(run)} with the sound bound (${acrPaper(run)} with power iteration)`);
    expectProse(`but RS at sigma = 0.75 certifies ${certRow('mnist-rs-sigma0.75-reduced', [1.75])}% there`);
    const p = paired(run, 'mnist-rs-sigma0.50-reduced');
    p.accuracy.filter((r) => r.eps <= 1.5).forEach((r) => expect(r.certifiedB).toBeGreaterThan(r.certifiedA));
    const end = epochs(run)[11];
    expectProse(`then L climbing to ${fix(end.mean_L, 2)} and accuracy to ${fix(end.holdout_acc, 3)}`);
  });

  test('RS sigma 1.0 reduced and the collapsed SPLITZ run', () => {
    expectProse(`Certified accuracy ${certRow('mnist-rs-sigma1.00-reduced', E6)}% at eps 0 / 0.5 / 1 / 1.5 / 2 / 2.5 (cap 3.20 at n = 10,000), ${abstentions('mnist-rs-sigma1.00-reduced')} abstentions, ACR ${acr('mnist-rs-sigma1.00-reduced')}`);
    const run = 'mnist-splitz-sigma1.00-reduced';
    const later = epochRange(run, 2, 12);
    expect(later.every((e) => e.holdout_acc === later[0].holdout_acc)).toBe(true);
    expectProse(`held-out accuracy at ${fix((later[0].holdout_acc * 100), 1)}% (one class), and mean L(x) at ${range(later.map((e) => e.mean_L), 2)}`);
    const rec = classified(run);
    expect(new Set(rec.map((r) => r.predict)).size).toBe(1);
    const sorted = rec.map((r) => r.lipschitz).sort((a, b) => a - b);
    expectProse(`divided by a median L of ${fix(sorted[Math.floor(sorted.length / 2)], 2)}), and nothing else: ${certRow(run, [0])}% at every eps, ACR ${acr(run)} (${acrPaper(run)} with power iteration)`);
  });

  test('the second seed at sigma 1.0', () => {
    const run = 'mnist-splitz-sigma1.00-reduced-seed1';
    const floor = epochRange(run, 2, 7);
    expectProse(`(${range(floor.map((e) => e.mean_L), 2)}) and held-out accuracy under noise at ${range(floor.map((e) => e.holdout_acc), 2)} over epochs 2-7`);
    const end = epochs(run)[11];
    expectProse(`to ${fix(end.holdout_acc, 3)} with mean L ${fix(end.mean_L, 2)} at epoch 12`);
    expectProse(`${certRow(run, E6)}% at eps 0 / 0.5 / 1 / 1.5 / 2 / 2.5, ${abstentions(run)} abstentions of 500, ACR ${acr(run)} (${acrPaper(run)} with power iteration); RS at sigma 1.0 has ACR ${acr('mnist-rs-sigma1.00-reduced')}`);
    const d = acrDiff(paired(run, 'mnist-rs-sigma1.00-reduced'));
    expectProse(`(difference ${d.d}, 95% interval [${d.lo}, ${d.hi}])`);
    expectProse(`Its spread at the split is ${generatedRow('The signal at the split', run)[5]}, near the pixels' ${fix(Number(generatedRow('The signal at the split', 'mnist-rs-sigma1.00-reduced')[4]), 2)}`);
  });

  test('why SPLITZ loses at the reduced scale: the base classifiers table', () => {
    const row = (r: string) => generatedRow('Base classifiers', r);
    const q = row('mnist-splitz-sigma0.25-reduced');
    expectProse(`SPLITZ at sigma 0.25 has median certified L ${q[6]}, i.e. sigma / L = ${fix(Number(q[7]), 2)}; its held-out accuracy under noise is ${q[3]}%, while RS at the larger sigma 0.5 reaches ${row('mnist-rs-sigma0.50-reduced')[3]}%`);
    const h = row('mnist-splitz-sigma0.50-reduced');
    expectProse(`SPLITZ at sigma 0.5: sigma / L = ${fix(Number(h[7]), 2)}, ${h[3]}%, against RS at sigma 0.75, ${row('mnist-rs-sigma0.75-reduced')[3]}%`);
    const t = row('mnist-splitz-sigma0.75-reduced');
    expectProse(`SPLITZ at sigma 0.75: sigma / L = ${fix(Number(t[7]), 2)}, ${t[3]}%, against RS at sigma 0.75, ${row('mnist-rs-sigma0.75-reduced')[3]}%`);
  });

  test('split 2 and split 3 (Table V)', () => {
    const s2 = 'mnist-splitz-sigma0.75-split2-reduced';
    const after = epochRange(s2, 2, 12);
    expectProse(`mean L(x) stayed at ${range(after.map((e) => e.mean_L), 2)} while held-out accuracy under noise crept from ${fix(after[0].holdout_acc, 2)} to ${fix(Math.max(...after.map((e) => e.holdout_acc)), 3)}`);
    expectProse(`certified ${certRow(s2, [0, 0.5])}% at eps 0 / 0.5 and nothing from eps 1 on, with ${abstentions(s2)} abstentions of 500, ACR ${acr(s2)}`);
    expect(certRow(s2, [1])).toBe('0.0');
    const s3 = 'mnist-splitz-sigma0.75-split3-reduced';
    const mid = epochRange(s3, 5, 10).map((e) => e.holdout_acc);
    expect(range(mid, 2)).toBe('0.27-0.28');
    const end = epochs(s3)[11];
    expectProse(`to ${fix(end.holdout_acc, 3)} at epoch 12, while the clean held-out accuracy of the same model was ${fix(end.holdout_clean_acc, 2)}`);
    expectProse(`Certified ${certRow(s3, [0, 0.25, 0.5])}% at eps 0 / 0.25 / 0.5 and nothing from eps 0.75 on, with ${abstentions(s3)} abstentions of 500, ACR ${acr(s3)}`);
    expect(certRow(s3, [0.75])).toBe('0.0');
    expectProse(`at eps 0.5 and 0.75 (${certRow(s2, [0.5])} against ${certRow(s3, [0.5])}%, ${certRow(s2, [0.75])} against ${certRow(s3, [0.75])}%)`);
    const ws = runJson(s3).certification.worker_seconds;
    expect(sidecar(s3).runs.length).toBe(1);
    const wall = lastStepSeconds(s3);
    expectProse(`Certification took ${fix((ws / 60), 0)} worker-minutes, about ${fix((wall / 60), 0)} minutes on 2 workers (${fix((ws / 500), 1)} s per image per worker`);
  });

  test('Lip_theta 0.3 and 0.7 (Table VI)', () => {
    const [t3, t5, t7] = ['mnist-splitz-sigma0.75-thetalip0.3-reduced', 'mnist-splitz-sigma0.75-reduced', 'mnist-splitz-sigma0.75-thetalip0.7-reduced'];
    const f3 = epochRange(t3, 2, 6);
    expectProse(`(${range(f3.map((e) => e.mean_L), 2)}) for epochs 2-6, with held-out accuracy under noise at ${range(f3.map((e) => e.holdout_acc), 2)}`);
    expectProse(`Certified ${certRow(t3, E6)}% at eps 0 / 0.5 / 1 / 1.5 / 2 / 2.5, with ${abstentions(t3)} abstentions of 500, ACR ${acr(t3)} (Lip_theta 0.5: ${certRow(t5, E6)}%, ACR ${acr(t5)})`);
    const e7 = epochs(t7);
    const f7 = epochRange(t7, 2, 7);
    expectProse(`fell from ${fix(e7[0].mean_L, 2)} in the first epoch to the 0.70 floor and stayed at ${range(f7.map((e) => e.mean_L), 2)} for epochs 2-7; as lambda fell it climbed to ${fix(e7[11].mean_L, 2)} at epoch 12, with held-out accuracy under noise going from ${fix(e7[0].holdout_acc, 2)} to ${fix(e7[11].holdout_acc, 3)} (clean ${fix(e7[11].holdout_clean_acc, 3)})`);
    expectProse(`Certified ${certRow(t7, E6)}% at eps 0 / 0.5 / 1 / 1.5 / 2 / 2.5, with ${abstentions(t7)} abstentions of 500, ACR ${acr(t7)}`);
    expectProse(`ACR ${[t3, t5, t7].map(acr).join(' / ')} and ${[t3, t5, t7].map((r) => certRow(r, [0])).join(' / ')}% at eps 0`);
    expectProse(`(held-out under noise ${[t3, t5, t7].map((r) => fix(epochs(r)[11].holdout_acc, 3)).join(' / ')})`);
    const p = paired(t7, t3);
    expect(at(p, 0.5).p).toBeLessThan(0.001);
    expectProse(`(eps 0.5: ${certRow(t7, [0.5])} against ${certRow(t3, [0.5])}%, McNemar p < 0.001)`);
    const noise = (r: string) => generatedRow('The noise through the split', r);
    expectProse(`the median s_i / s_max is ${[t3, t5, t7].map((r) => noise(r)[5].split(' / ')[2]).join(' / ')}`);
    expectProse(`direction is ${[t3, t5, t7].map((r) => fix(Number(noise(r)[8]), 2)).join(' / ')} against ${[t3, t5, t7].map((r) => fix(Number(noise(r)[7]), 2)).join(' / ')} credited`);
  });

  test('gamma_train 0.1 and 2 (Table VII), and the run times of the ablations', () => {
    const [g01, g1, g2] = ['mnist-splitz-sigma0.75-gamma0.1-reduced', 'mnist-splitz-sigma0.75-reduced', 'mnist-splitz-sigma0.75-gamma2-reduced'];
    const end = (r: string) => epochs(r)[11];
    expectProse(`then up to ${fix(end(g01).mean_L, 3)} at epoch 12 (${fix(end(g1).mean_L, 3)}), with held-out accuracy under noise ${fix(end(g01).holdout_acc, 3)} (${fix(end(g1).holdout_acc, 3)})`);
    expectProse(`Certified ${certRow(g01, E6)}% at eps 0 / 0.5 / 1 / 1.5 / 2 / 2.5, ${abstentions(g01)} abstentions, ACR ${acr(g01)} (gamma_train 1: ${certRow(g1, E6)}%, ACR ${acr(g1)}`);
    expectProse(`rises to ${fix(end(g2).mean_L, 3)} at epoch 12 (gamma_train 1: ${fix(end(g1).mean_L, 3)}), with held-out accuracy under noise ${fix(end(g2).holdout_acc, 3)} (${fix(end(g1).holdout_acc, 3)})`);
    expectProse(`Certified ${certRow(g2, E6)}% at eps 0 / 0.5 / 1 / 1.5 / 2 / 2.5, ${abstentions(g2)} abstentions, ACR ${acr(g2)}`);
    expectProse(`have ACR ${[g01, g1, g2].map(acr).join(' / ')}`);
    const all = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5];
    const accs = [g01, g1, g2].map((r) => analyze(r, all).certifiedAccuracy.map((a) => 100 * a));
    const spread = Math.max(...all.map((_, k) => Math.max(...accs.map((a) => a[k])) - Math.min(...accs.map((a) => a[k]))));
    expectProse(`differ by at most ${fix(spread, 1)} points at any eps`);
    const minP = (a: string, b: string) => Math.min(...paired(a, b).accuracy.map((r) => r.p));
    expect(minP(g01, g1)).toBeGreaterThanOrEqual(0.5);
    expect(Math.min(minP(g01, g1), minP(g01, g2), minP(g1, g2))).toBeGreaterThanOrEqual(0.25);
    const sig = (r: string) => generatedRow('The signal at the split', r);
    expectProse(`L(x, 0) is ${sig(g1)[9]} and L(x, 1) ${sig(g1)[10]}`);
    expectProse(`L(x, 0) is ${sig(g2)[9]} and L(x, 2) ${sig(g2)[10]}`);
    for (const r of [g01, g2, 'mnist-splitz-sigma0.75-thetalip0.7-reduced']) {
      const ws = runJson(r).certification.worker_seconds;
      expectProse(`Training took ${fix(trainMinutes(r), 0)} min, certification ${fix(ws / 2 / 60, 0)} min on 2 workers (${fix(ws / 500, 1)} s per image per worker)`);
    }
  });
});

describe("'What a scale can tell apart' and 'how the campaign ran'", () => {
  test('the gap McNemar needs on 500 images when 5%, 10% or 20% of them disagree', () => {
    const needed = [25, 50, 100].map((discordant) => {
      // The smallest split onlyA / onlyB of the discordant images with p < 0.05.
      for (let gap = 0; gap <= discordant; gap += 1) {
        if ((discordant - gap) % 2 !== 0) continue;
        const small = (discordant - gap) / 2;
        if (mcnemarExact(small, small + gap) < 0.05) return (100 * gap) / 500;
      }
      throw new Error('no gap is significant');
    });
    expectProse(`when they disagree on 5%, 10% or 20% of the 500 images, p < 0.05 needs a gap of at least ${needed.map((g) => fix(g, 1)).join(', ').replace(/, ([^,]*)$/, ' or $1')} points of certified accuracy`);
  });

  test('the cap of n on every radius: sigma Phi^-1(alpha^(1/n))', () => {
    const cap = (n: number) => normalQuantile(Math.pow(0.001, 1 / n));
    expectProse(`at most sigma * Phi^-1(0.001^(1/n)) = ${fix(cap(1e4), 2)} sigma at n = 10,000 (${fix(0.75 * cap(1e4), 2)} at sigma = 0.75) and ${fix(cap(1e5), 2)} sigma at n = 100,000 (${fix(0.75 * cap(1e5), 2)} at sigma = 0.75)`);
    // The largest radius RS at sigma 1.0 logs is that cap (some image has pA at its bound).
    const top = Math.max(...records('mnist-rs-sigma1.00-reduced').map((r) => r.radius));
    expect(Math.abs(top - cap(1e4))).toBeLessThan(1e-3);
  });

  test("the paper's gaps of Tables I and II quoted as within reach", () => {
    const cell = (rows: AccuracyRow[], method: string, eps: number) => rows.find((r) => r.method === method && r.eps === eps && !r.extra_data)!.certified_accuracy!;
    const [one, two] = [loadLiterature('I'), loadLiterature('II')];
    expectProse(`(MNIST at eps 2.5: ${fix(cell(one, 'SPLITZ', 2.5), 1)}% vs ${fix(cell(one, 'RS', 2.5), 1)}%; CIFAR-10 at eps 1.0: ${fix(cell(two, 'SPLITZ', 1), 1)}% vs ${fix(cell(two, 'RS', 1), 1)}%)`);
  });

  test('speeds of the runs (training logs, run.json)', () => {
    const runs = fs.readdirSync(RESULTS).filter((d) => fs.existsSync(path.join(RESULTS, d, 'run.json')));
    const mnistReduced = runs.filter((d) => d.startsWith('mnist-') && d.includes('-reduced'));
    const rs = mnistReduced.filter((d) => d.startsWith('mnist-rs-'));
    const split1 = mnistReduced.filter((d) => d.startsWith('mnist-splitz-') && !/split[23]/.test(d));
    const seconds = (list: string[]) => list.flatMap((d) => epochs(d).map((e) => e.seconds));
    expectProse(`\`reduced\` MNIST training: RS ${range(seconds(rs), 0)} s per epoch, split-1 SPLITZ ${range(seconds(split1), 0)} s.`);
    const perImage = (list: string[]) => list.map((d) => runJson(d).certification.worker_seconds / runJson(d).certification.images);
    expectProse(`\`reduced\` MNIST certification at n = 10,000: RS ${range(perImage(rs), 1)} s per image per worker, split-1 SPLITZ ${range(perImage(split1), 1)} s`);
    const head = ['mnist-rs-sigma0.75-headline', 'mnist-splitz-sigma0.75-headline'];
    expectProse(`\`headline\` certification at n = 100,000: ${fix(perImage([head[0]])[0], 1)} s (RS) and ${fix(perImage([head[1]])[0], 1)} s (SPLITZ) per image per worker, ${head.map((d) => fix(runJson(d).certification.worker_seconds / 3600, 1)).join(' and ')} worker-hours for 500 images`);
  });
});

describe("the README's 'Where the reproduction stands'", () => {
  test('MNIST', () => {
    expectReadme(`RS's only at σ = 0.25 (${acr('mnist-splitz-sigma0.25-reduced')} against ${acr('mnist-rs-sigma0.25-reduced')})`);
    const sz = 'mnist-splitz-sigma0.75-headline';
    const rs = 'mnist-rs-sigma0.75-headline';
    expectReadme(`(the \`headline\` scale: ${earlyStop(sz).after} epochs with early stopping, 500 images, n = 100,000). SPLITZ at σ = 0.75 certifies ${certRow(sz, [0.5, 1, 1.5, 2])}% at ε 0.5 / 1 / 1.5 / 2, with ACR ${acr(sz)}.`);
    expectReadme(`schedule (${earlyStop(rs).after} epochs, early stopping) certifies ${certRow(rs, [0.5, 1, 1.5, 2])}% at ε 0.5 / 1 / 1.5 / 2, ACR ${acr(rs)}`);
  });

  test('CIFAR-10', () => {
    const [sz50, rs50, rs100, sz100] = ['cifar10-splitz-sigma0.50-reduced', 'cifar10-rs-sigma0.50-reduced', 'cifar10-rs-sigma1.00-reduced', 'cifar10-splitz-sigma1.00-reduced'];
    expectReadme(`At σ = 0.5, SPLITZ certifies ${certRow(sz50, [0.5, 0.75, 1])}% at ε 0.5 / 0.75 / 1 (ACR ${acr(sz50)}) and RS ${certRow(rs50, [0.5, 0.75, 1])}% (ACR ${acr(rs50)})`);
    expectReadme(`SPLITZ's ACR would be ${acrPaper(sz50)}, ahead of RS`);
    expectReadme(`(${certRow(rs100, [0, 0.5, 1])}% at ε 0 / 0.5 / 1, ACR ${acr(rs100)};`);
    const p = paired(sz100, rs100);
    expect(at(p, 0.5).p).toBeLessThan(0.001);
    expect(fix(at(p, 1).p, 3)).toBe('0.002');
    const d = acrDiff(p);
    expectReadme(`SPLITZ at σ = 1.0 loses to RS at σ = 1.0: ${certRow(sz100, [0.5, 1])}% against ${certRow(rs100, [0.5, 1])}% at ε 0.5 / 1 (p < 0.001 / 0.002), ACR ${acr(sz100)} against ${acr(rs100)} (difference interval [${d.lo}, ${d.hi}])`);
    expectReadme(`with the paper's bound (ACR ${acrPaper(sz100)}) it is not significant`);
    const half = acrDiff(paired(sz50, rs100));
    expectReadme(`the ACR difference SPLITZ - RS is ${half.d}, interval [${half.lo}, ${half.hi}]`);
    const quarterVsHalf = paired('cifar10-splitz-sigma0.25-reduced', rs50);
    const dq = acrDiff(quarterVsHalf);
    expectReadme(`(ACR ${fix(quarterVsHalf.acr.acrA, 3)} against ${fix(quarterVsHalf.acr.acrB, 3)}, interval [${dq.lo}, ${dq.hi}]; same answer on ${quarterVsHalf.agreement.sameAnswer} of 500`);
    const quarter = paired('cifar10-splitz-sigma0.25-reduced', 'cifar10-rs-sigma0.25-reduced');
    const d4 = acrDiff(quarter);
    expectReadme(`(${fix(quarter.acr.acrA, 3)} against ${fix(quarter.acr.acrB, 3)}, interval [${d4.lo}, ${d4.hi}])`);
  });
});
