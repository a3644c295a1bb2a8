/**
 * Table and figure builders on synthetic run directories whose numbers are
 * known by hand: summarizeRun reads the certification TSV, its sidecar and
 * the training log as lib/runner writes them; the tables put ours beside the
 * paper with difference = ours - paper; every figure spec compiles with
 * vega-lite and carries titles, units and a legend, with the paper's
 * numbers in a layer of their own.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vl from 'vega-lite';
import { spawnSync } from 'child_process';
import { FakeRun, makeRun } from './report-helpers';
import { accuracyVsRadius, certifiedAccuracy } from '../lib/eval/metrics';
import {
  RunSummary,
  accuracyAt,
  allTables,
  findCertifyLogs,
  mainScale,
  pickRuns,
  runLabel,
  scaleSubtitle,
  summarizeRun,
  tableI,
  tableIII,
  tableIV,
  tableV,
  tableBounds,
  tableHeadline,
  toDataFrame,
} from '../lib/report/tables';
import { accuracyFigure, binPercent, curveRows, fig2, fig3, fig4a, fig4b, figGlobalLipschitz, figLocalBoundDistribution, figLocalBoundsImages, niceEdges } from '../lib/report/figures';
import { loadLiterature } from '../lib/report/literature';

// Ten images; by hand: correct radii 0.3 0.6 1.2 1.6 2.1 2.6 0.8 1.0 (eight correct), two wrong/abstaining.
const IMAGES: Array<[number, 0 | 1]> = [
  [0.3, 1],
  [0.6, 1],
  [1.2, 1],
  [1.6, 1],
  [2.1, 1],
  [2.6, 1],
  [0, 0],
  [0.8, 1],
  [1.0, 1],
  [0.7, 0],
];
/** Share (%) of the ten images with correct = 1 and radius >= eps, counted by hand. */
const HAND: Record<string, number> = { '0': 80, '0.5': 70, '1': 50, '1.5': 30, '1.75': 20, '2': 20, '2.25': 10, '2.5': 10, '2.75': 0 };

let root: string;
let splitz: RunSummary;
let runs: RunSummary[];

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-builders-'));
  makeRun(root, { name: 'mnist-splitz-sigma0.75', dataset: 'mnist', sigma: 0.75, split: 1, images: IMAGES, both: true, n: 100000 });
  makeRun(root, { name: 'mnist-splitz-sigma0.75-split2', dataset: 'mnist', sigma: 0.75, split: 2, images: IMAGES.slice(0, 5) });
  makeRun(root, { name: 'mnist-rs-sigma0.25', dataset: 'mnist', sigma: 0.25, split: 0, images: IMAGES.map(([r, c]) => [r / 2, c] as [number, 0 | 1]) });
  makeRun(root, { name: 'cifar10-splitz-sigma0.25', dataset: 'cifar10', sigma: 0.25, split: 1, images: IMAGES.slice(0, 4) });
  // The same config at smoke scale: pickRuns must prefer 'reduced'.
  makeRun(root, { name: 'mnist-splitz-sigma0.75', scale: 'smoke', dataset: 'mnist', sigma: 0.75, split: 1, images: IMAGES.slice(0, 2) });
  runs = pickRuns(findCertifyLogs([root]).map((f) => summarizeRun(f)));
  splitz = runs.find((r) => r.config === 'mnist-splitz-sigma0.75')!;
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('summarizeRun', () => {
  test('reads settings, scale, epochs and times from the run directory', () => {
    expect(runs.map((r) => r.config)).toEqual(['cifar10-splitz-sigma0.25', 'mnist-rs-sigma0.25', 'mnist-splitz-sigma0.75', 'mnist-splitz-sigma0.75-split2']);
    expect(splitz.scale).toBe('reduced');
    expect(splitz).toMatchObject({ dataset: 'mnist', method: 'SPLITZ', sigma: 0.75, split: 1, theta_lip: 0.5, gamma_train: 1, bound: 'sound', n: 100000, n0: 100, alpha: 0.001 });
    expect(splitz).toMatchObject({ images: 10, abstain: 1, epochsTrained: 2, epochsPlanned: 12, backend: 'wasm', arch: 'lenet', imageSelection: 'every 20th' });
    expect(splitz.trainSecondsPerEpoch).toBeCloseTo(15, 12);
    expect(splitz.certifySecondsPerImage).toBeCloseTo(0.5 + 0.45, 6); // mean of 0.5 + 0.1 i, i = 0..9
    expect(runs.find((r) => r.config === 'mnist-rs-sigma0.25')!.method).toBe('RS');
    expect(splitz.machine).toBeNull();
  });

  test('certified accuracy at each radius equals the hand count; ACR is the mean of radius * correct', () => {
    for (const [eps, pct] of Object.entries(HAND)) expect(100 * accuracyAt(splitz.curve, Number(eps))).toBeCloseTo(pct, 10);
    const i1 = splitz.radii.indexOf(1);
    expect(100 * splitz.certifiedAccuracy[i1]).toBeCloseTo(50, 10);
    expect(splitz.acr).toBeCloseTo((0.3 + 0.6 + 1.2 + 1.6 + 2.1 + 2.6 + 0.8 + 1.0) / 10, 12);
    // The paper-bound column (1.25 x radius) is summarized on its own.
    expect(splitz.otherRadii.paper.acr).toBeCloseTo(1.25 * splitz.acr, 12);
  });

  test('accuracyAt on the exact step curve equals certifiedAccuracy at any eps', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const recs = Array.from({ length: 200 }, () => ({ radius: Math.floor(rnd() * 40) / 16, correct: rnd() < 0.7 ? 1 : 0 }));
    const curve = accuracyVsRadius(recs);
    for (let k = 0; k < 100; k++) {
      const eps = k === 0 ? 0 : rnd() * 3;
      expect(accuracyAt(curve, eps)).toBe(certifiedAccuracy(recs, [eps])[0]);
    }
  });

  test('a directory without a log, and a log without a sidecar, are clear errors', () => {
    const empty = fs.mkdtempSync(path.join(root, 'empty-'));
    expect(() => summarizeRun(empty)).toThrow(/no certification log/);
    const lone = path.join(empty, 'x.tsv');
    fs.writeFileSync(lone, 'idx\tlabel\tpredict\tradius\tcorrect\ttime\n0\t1\t1\t0.5\t1\t0.1\n');
    expect(() => summarizeRun(lone)).toThrow(/no sidecar/);
    expect(() => summarizeRun(path.join(root, 'missing'))).toThrow(/not found/);
  });
});

describe('tables', () => {
  const checkDifference = (rows: Array<Record<string, unknown>>) => {
    let both = 0;
    for (const r of rows) {
      if (typeof r.ours === 'number' && typeof r.paper === 'number') {
        both++;
        expect(r.difference).toBeCloseTo((r.ours as number) - (r.paper as number), 6);
      } else expect(r.difference).toBeNull();
    }
    return both;
  };

  test('Table I: paper rows, ours = best over our reference SPLITZ / RS runs, difference = ours - paper', () => {
    const t = tableI(runs);
    expect(t.columns).toEqual(['method', 'setting', 'eps', 'paper', 'ours', 'difference', 'our_run', 'paper_source']);
    expect(t.rows).toHaveLength(loadLiterature('I').length);
    const at = (m: string, eps: number) => t.rows.find((r) => r.method === m && r.eps === eps)!;
    expect(at('SPLITZ', 1.5)).toMatchObject({ paper: 80.2, ours: HAND['1.5'] });
    expect(at('SPLITZ', 2.5)).toMatchObject({ paper: 40.5, ours: HAND['2.5'], difference: HAND['2.5'] - 40.5 });
    // RS: radii halved, so accuracy at 1.5 equals SPLITZ's at 3.0 (0) ... at 1.5 -> radius >= 3: none.
    expect(at('RS', 1.5)).toMatchObject({ paper: 67.3, ours: 0, difference: -67.3 });
    expect(at('MACER', 2.5)).toMatchObject({ paper: null, ours: null, difference: null });
    expect(at('DRT', 2.5)).toMatchObject({ paper: 34.8, ours: null });
    expect(checkDifference(t.rows)).toBe(10);
    // The split-2 ablation is not the SPLITZ row; the caption names the scale and the runs used.
    expect(t.runs.map((r) => r.config).sort()).toEqual(['mnist-rs-sigma0.25', 'mnist-splitz-sigma0.75']);
    expect(t.caption).toMatch(/scale 'reduced'/);
    expect(t.caption).toMatch(/2 epochs trained \(12 planned\), 10 test images certified, n = 100,000/);
  });

  test('Table I without runs: the paper column only, and the caption says so', () => {
    const t = tableI([]);
    expect(t.rows.every((r) => r.ours === null && r.difference === null)).toBe(true);
    expect(t.caption).toMatch(/no run yet/);
  });

  test('Table III: ACR at the same sigma; our sigma 0.75 (absent from the table) gets its own row', () => {
    const t = tableIII(runs);
    const rs = t.rows.find((r) => r.method === 'RS' && r.dataset === 'mnist' && r.sigma === 0.25)!;
    const rsRun = runs.find((r) => r.config === 'mnist-rs-sigma0.25')!;
    expect(rs.paper).toBe(0.911);
    expect(rs.ours).toBeCloseTo(rsRun.acr, 4);
    const extra = t.rows.find((r) => r.sigma === 0.75 && r.method === 'SPLITZ')!;
    expect(extra).toMatchObject({ paper: null, difference: null });
    expect(extra.ours).toBeCloseTo(splitz.acr, 4);
    const cifar = t.rows.find((r) => r.method === 'SPLITZ' && r.dataset === 'cifar10' && r.sigma === 0.25)!;
    expect(cifar.paper).toBe(0.68);
    checkDifference(t.rows);
  });

  test('Table IV: seconds per epoch and per image with backend named', () => {
    const t = tableIV(runs);
    const tr = t.rows.find((r) => r.dataset === 'mnist' && r.quantity === 'training per epoch (s)')!;
    expect(tr).toMatchObject({ paper: 15.1, ours: 15, difference: -0.1 });
    expect(String(tr.our_hardware)).toMatch(/wasm backend; machine not recorded/);
    const ce = t.rows.find((r) => r.dataset === 'cifar10' && r.quantity === 'certifying per image (s)')!;
    expect(ce.paper).toBe(50.7);
    expect(ce.ours).toBeCloseTo(0.65, 3);
    checkDifference(t.rows);
  });

  test('Table V: the split-2 run fills the split-2 rows only', () => {
    const t = tableV(runs);
    expect(t.columns).toEqual(['setting', 'split', 'eps', 'paper', 'ours', 'difference', 'our_run']);
    expect(t.rows).toHaveLength(27);
    const r2 = t.rows.filter((r) => r.split === 2);
    const r3 = t.rows.filter((r) => r.split === 3);
    expect(r2.every((r) => typeof r.ours === 'number')).toBe(true);
    expect(r3.every((r) => r.ours === null)).toBe(true);
    // Five images 0.3 0.6 1.2 1.6 2.1, all correct: at 1.25, 2 of 5.
    expect(r2.find((r) => r.eps === 1.25)).toMatchObject({ paper: 75.0, ours: 40, difference: -35 });
    expect(checkDifference(t.rows)).toBe(18);
  });

  test('bound comparison: paper bound vs sound from the same log', () => {
    const t = tableBounds(runs);
    const r1 = t.rows.find((r) => r.eps === 1.5)!;
    // radius_paper = 1.25 radius: >= 1.5 means radius >= 1.2 -> 1.2, 1.6, 2.1, 2.6: 40 %.
    expect(r1).toMatchObject({ sound_bound: 30, paper_bound: 40, difference: 10 });
    expect(t.runs.map((r) => r.config)).toEqual(['mnist-splitz-sigma0.75']);
  });

  test('two runs for one setting are an error that says how to choose', () => {
    const twice = [splitz, { ...splitz, config: 'copy' }];
    expect(() => tableV(twice)).toThrow(/2 runs match.*pickRuns/);
  });

  test('every table builds from the same runs; toDataFrame keeps columns and shape', () => {
    const tables = allTables(runs);
    expect(tables.map((t) => t.name)).toEqual([
      'table_I_mnist',
      'table_II_cifar10',
      'table_III_acr',
      'table_IV_time',
      'table_V_split',
      'table_VI_theta_lip',
      'table_VII_gamma_train',
      'table_bounds_sound_vs_paper',
    ]);
    const t5 = tables[4];
    const df = toDataFrame(t5);
    expect(df.columns).toEqual(t5.columns);
    expect(df.shape).toEqual([t5.rows.length, t5.columns.length]);
  });
});

describe('figures', () => {
  /** Every title, axis title and legend title of a spec (any depth). */
  function titles(spec: unknown): string[] {
    const out: string[] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === 'title' && typeof x === 'string') out.push(x);
          else if (k === 'title' && x && typeof x === 'object' && 'text' in x) out.push(String((x as { text: unknown }).text));
          if (k !== 'data') walk(x);
        }
      }
    };
    walk(spec);
    return out;
  }
  const compiles = (spec: object) => {
    const c = vl.compile(JSON.parse(JSON.stringify(spec)));
    expect(c.spec).toBeTruthy();
    return c.spec as unknown as { legends?: unknown[]; marks?: unknown[] };
  };

  const paperPoints = () =>
    loadLiterature('II')
      .filter((r) => (r.method === 'SPLITZ' || r.method === 'RS') && !r.extra_data)
      .map((r) => ({ series: r.method, eps: r.eps, certified_accuracy: r.certified_accuracy!, source: 'paper (Table II, best over σ)' }));

  test('Fig. 3: our step curves and the paper markers in separate layers, titled with units, with legends', () => {
    const spec = fig3(
      [
        { method: 'RS', sigma: 0.25, curve: splitz.curve },
        { method: 'SPLITZ', sigma: 0.25, curve: splitz.otherRadii.paper.curve },
      ],
      paperPoints(),
      { subtitle: 'ours: reduced scale' },
    ) as unknown as { layer: Array<{ mark: { type: string }; encoding: Record<string, { field?: string; title?: string }>; data: { values: Array<Record<string, unknown>> } }>; title: { subtitle: string } };
    compiles(spec);
    const [ours, paper] = spec.layer;
    expect(ours.mark.type).toBe('line');
    expect(paper.mark.type).toBe('point');
    expect(paper.encoding.shape.field).toBe('source');
    expect(paper.data.values).toHaveLength(8);
    expect(paper.data.values.find((v) => v.series === 'SPLITZ' && v.radius === 1)!.accuracy).toBe(43.2);
    expect(titles(spec)).toEqual(expect.arrayContaining(['l2 radius ε (input space, pixels in [0, 1])', 'certified accuracy (%)', 'method', "paper's numbers (markers)"]));
    expect(spec.title.subtitle).toBe('ours: reduced scale');
    // Our curve in percent: at eps 1.0 the hand count.
    const at1 = ours.data.values.filter((v) => v.series === 'RS').find((v) => v.radius === 1)!;
    expect(at1.accuracy).toBeCloseTo(HAND['1'], 10);
  });

  test('Fig. 4(a), 4(b) and a paper-only figure compile', () => {
    const v = loadLiterature('V').filter((r) => r.param_value === 1);
    compiles(fig4a([{ sigma: 0.75, curve: splitz.curve }], v.map((r) => ({ series: 'σ = 0.75', eps: r.eps, certified_accuracy: r.certified_accuracy!, source: 'paper (Table V)' }))));
    compiles(fig4b([{ setting: 'Lip_θ = 0.5', bound: 'local (sound)', curve: splitz.curve }, { setting: 'Lip_θ = 0.5', bound: 'local (paper)', curve: splitz.otherRadii.paper.curve }], []));
    const only = accuracyFigure([], paperPoints(), { title: 'paper only', colorTitle: 'method' }) as unknown as { title: { subtitle: string } };
    compiles(only);
    expect(only.title.subtitle).toMatch(/no runs of ours/);
    expect(() => accuracyFigure([], [], { title: 'x', colorTitle: 'm' })).toThrow(/no curves/);
  });

  test('Fig. 4(a) ends its x axis at 4 and names, with its values, a curve it cuts off', () => {
    // A collapsed run: 3 of 10 images certified far out (5, 6, 9), the rest not at all.
    const far = accuracyVsRadius([5, 6, 9, 0, 0, 0, 0, 0, 0, 0].map((radius, i) => ({ radius, correct: i < 3 ? 1 : 0 })));
    const spec = fig4a([{ sigma: 1, curve: far }, { sigma: 0.75, curve: splitz.curve }], []) as unknown as { title: { subtitle: string[] }; layer: Array<{ encoding: { x: { scale: { domain: number[] } } } }> };
    compiles(spec);
    expect(spec.layer[0].encoding.x.scale.domain).toEqual([0, 4]);
    const notes = spec.title.subtitle.filter((l) => /x axis ends/.test(l));
    // 30% of the images are certified at eps 4 and the last radius is 9; the sigma 0.75 curve (up to 2.6) is not cut.
    expect(notes).toEqual(['x axis ends at ε = 4; beyond it: σ = 1: 30.0% at ε = 4, certified up to ε = 9.00 (cut off)']);
    const within = fig4a([{ sigma: 0.75, curve: splitz.curve }], [], { subtitle: 'ours' }) as unknown as { title: { subtitle: unknown } };
    expect(within.title.subtitle).toBe('ours');
  });

  test('long curves are drawn on a grid with the exact step values', () => {
    const recs = Array.from({ length: 3000 }, (_, i) => ({ radius: (i % 997) / 400, correct: i % 5 ? 1 : 0 }));
    const curve = accuracyVsRadius(recs);
    const rows = curveRows(curve, 2.5);
    expect(rows.length).toBeLessThan(700);
    for (const r of rows.filter((_, i) => i % 37 === 0)) expect(r.accuracy).toBeCloseTo(100 * certifiedAccuracy(recs, [r.radius])[0], 10);
  });

  test('Figs. 1, 2, 5, 6 compile, with log axis and units', () => {
    const g = figGlobalLipschitz(
      [1, 2, 3].map((layer) => ({ net: 'LeNet', layer, kind: layer < 3 ? 'conv' : 'dense', lipschitz: layer * 2 })),
      { figure: '5', subtitle: 'trained here' },
    ) as unknown as { spec: { layer: Array<{ encoding: { y: { scale?: { type: string } } } }> } };
    compiles(g);
    expect(g.spec.layer[1].encoding.y.scale?.type).toBe('log');
    expect(() => figGlobalLipschitz([{ net: 'x', layer: 1, lipschitz: 0 }], { figure: '1a' })).toThrow(/log axis/);
    const imgs = ['a', 'b', 'c'].flatMap((image) => [1, 2, 3, 4].map((layer) => ({ image, layer, bound: layer })));
    compiles(figLocalBoundsImages(imgs, { figure: '1b', net: 'VGG-16', gamma: 0.1 }));
    const dist = figLocalBoundDistribution(imgs, { figure: '6b', net: 'AlexNet', gamma: 0.1 });
    compiles(dist);
    expect(titles(dist)).toEqual(expect.arrayContaining(['share of test images (%)']));
    const s2 = compiles(fig2());
    expect(JSON.stringify(fig2())).toMatch(/δ ~ N\(0, σ² I\)/);
    expect(s2.legends?.length ?? 0).toBeGreaterThan(0);
  });

  test('binPercent: shares sum to 100 and edges are half-open except the last', () => {
    const b = binPercent([0, 0.5, 1, 1.5, 2], [0, 1, 2]);
    expect(b.map((x) => x.count)).toEqual([2, 3]);
    expect(b.reduce((a, x) => a + x.percent, 0)).toBeCloseTo(100, 12);
    expect(() => binPercent([3], [0, 1, 2])).toThrow(/outside/);
    const vals = [0.13, 0.9, 2.71, 5.5];
    const e = niceEdges(vals, 4);
    expect(e[0]).toBeLessThanOrEqual(0.13);
    expect(e[e.length - 1]).toBeGreaterThanOrEqual(5.5);
    expect(binPercent(vals, e).reduce((a, x) => a + x.count, 0)).toBe(4);
  });
});

describe('one scale across the tables, and the headline pair beside them', () => {
  let dir: string;
  let all: RunSummary[];
  beforeAll(() => {
    // Its own folder: the other tests read every run under root.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-scales-'));
    const hand: Array<[number, 0 | 1]> = IMAGES;
    for (const scale of ['reduced', 'headline']) {
      makeRun(dir, { name: 'mnist-splitz-sigma0.75', scale, dataset: 'mnist', sigma: 0.75, split: 1, images: scale === 'headline' ? hand : hand.slice(0, 3), both: true, n: 100000 });
      // Certified with both bounds, as the campaign does: the RS log repeats its radius in radius_paper.
      makeRun(dir, { name: 'mnist-rs-sigma0.75', scale, dataset: 'mnist', sigma: 0.75, split: 0, images: scale === 'headline' ? hand.map(([r, c]) => [r / 2, c] as [number, 0 | 1]) : hand.slice(0, 3), both: true });
    }
    makeRun(dir, { name: 'mnist-rs-sigma0.25', dataset: 'mnist', sigma: 0.25, split: 0, images: hand });
    // A config no reduced run covers, only a notebook's quick run.
    makeRun(dir, { name: 'cifar10-rs-sigma0.50', scale: 'quick', dataset: 'cifar10', sigma: 0.5, split: 0, images: hand.slice(0, 4) });
    all = findCertifyLogs([dir]).map((f) => summarizeRun(f));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('mainScale: the scale most configs ran at; a tie goes to the more trustworthy scale', () => {
    expect(mainScale(all)).toBe('reduced');
    const tie = all.filter((r) => r.config.includes('sigma0.75'));
    expect(mainScale(tie)).toBe('headline');
    expect(mainScale([])).toBeUndefined();
  });

  test('pickRuns keeps the main scale where a config has it (not the longer headline run), else the config\'s best scale', () => {
    const used = pickRuns(all);
    expect(used.map((r) => `${r.config} ${r.scale}`)).toEqual(['cifar10-rs-sigma0.50 quick', 'mnist-rs-sigma0.25 reduced', 'mnist-rs-sigma0.75 reduced', 'mnist-splitz-sigma0.75 reduced']);
    expect(pickRuns(all, { scale: 'headline' }).map((r) => r.config)).toEqual(['mnist-rs-sigma0.75', 'mnist-splitz-sigma0.75']);
  });

  test('tableHeadline: the headline runs only, the paper\'s sigma 0.75 row, both bounds, ACR', () => {
    const t = tableHeadline(all);
    expect(t.runs.map(runLabel).sort()).toEqual(['mnist-rs-sigma0.75 (headline)', 'mnist-splitz-sigma0.75 (headline)']);
    const at = (m: string, eps: number | string) => t.rows.find((r) => r.method === m && r.eps === eps)!;
    // Hand counts (HAND); RS's radii are halved, so RS at eps equals SPLITZ at 2 eps.
    expect(at('SPLITZ', 1)).toMatchObject({ paper: 88.8, ours: HAND['1'], difference: HAND['1'] - 88.8 });
    expect(at('SPLITZ', 0)).toMatchObject({ paper: null, ours: HAND['0'], difference: null });
    expect(at('RS', 0.25)).toMatchObject({ paper: null, ours: HAND['0.5'], ours_paper_bound: null });
    // The paper-bound radii are 1.25 x the sound ones in these logs: at eps 2.5 that counts radii >= 2.
    expect(at('SPLITZ', 2.5)).toMatchObject({ ours: HAND['2.5'], ours_paper_bound: HAND['2'] });
    const acr = (0.3 + 0.6 + 1.2 + 1.6 + 2.1 + 2.6 + 0.8 + 1.0) / 10;
    expect(at('SPLITZ', 'ACR').ours).toBeCloseTo(acr, 4);
    expect(at('SPLITZ', 'ACR').ours_paper_bound).toBeCloseTo(1.25 * acr, 4);
    expect(at('RS', 'ACR').ours).toBeCloseTo(acr / 2, 4);
    expect(t.caption).toMatch(/scale 'headline'/);
    // Without headline runs: the paper's column alone, and the caption says so.
    const none = tableHeadline(all.filter((r) => r.scale !== 'headline'));
    expect(none.runs).toEqual([]);
    expect(none.rows.every((r) => r.ours === null)).toBe(true);
    expect(none.rows.find((r) => r.method === 'SPLITZ' && r.eps === 2.5)!.paper).toBe(40.5);
    expect(none.caption).toMatch(/no run yet/);
  });

  test('npm run figures draws the headline figure from the headline runs alone', () => {
    const out = fs.mkdtempSync(path.join(dir, 'out-'));
    const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', 'scripts/figures.ts', '--results', dir, '--tables', path.join(out, 't'), '--figures', path.join(out, 'f')], {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect(fs.readdirSync(path.join(out, 'f'))).toEqual(expect.arrayContaining(['fig_headline_mnist_sigma0.75.png']));
    const spec = JSON.parse(fs.readFileSync(path.join(out, 'f', 'fig_headline_mnist_sigma0.75.vl.json'), 'utf8'));
    expect(JSON.stringify(spec.title)).toMatch(/scale 'headline'/);
    expect(JSON.stringify(spec.title)).not.toMatch(/scale 'reduced'/);
    // One RS curve (no f_L, no second bound); SPLITZ's under both bounds.
    const lines = spec.layer.find((l: { mark: { type: string } }) => l.mark.type === 'line').data.values as Array<{ series: string; style: string }>;
    expect([...new Set(lines.map((d) => `${d.series}|${d.style}`))].sort()).toEqual(['RS|none (RS)', 'SPLITZ|local (paper: power iteration)', 'SPLITZ|local (sound)']);
    // Table III uses the reduced runs, not the headline ones.
    const t3 = fs.readFileSync(path.join(out, 't', 'table_III_acr.csv'), 'utf8');
    expect(t3).toMatch(/mnist-rs-sigma0.75 \(reduced\)/);
    expect(t3).not.toMatch(/\(headline\)/);
  });
});

describe('npm run figures', () => {
  test('writes Tables I-VII, the bound comparison and the figures it has runs for, and names what it skipped', () => {
    const out = fs.mkdtempSync(path.join(root, 'out-'));
    const r = spawnSync(process.execPath, [require.resolve('ts-node/dist/bin.js'), '--transpile-only', 'scripts/figures.ts', '--results', root, '--tables', path.join(out, 't'), '--figures', path.join(out, 'f')], {
      cwd: path.join(__dirname, '..'),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const tables = fs.readdirSync(path.join(out, 't')).sort();
    expect(tables).toEqual(
      ['captions.md', 'table_III_acr.csv', 'table_II_cifar10.csv', 'table_IV_time.csv', 'table_I_mnist.csv', 'table_VII_gamma_train.csv', 'table_VI_theta_lip.csv', 'table_V_split.csv', 'table_bounds_sound_vs_paper.csv', 'table_headline_mnist_sigma0.75.csv'].sort(),
    );
    // No headline run here: its figure is skipped, its table has the paper's column only.
    expect(r.stdout).toMatch(/fig_headline_mnist_sigma0.75: no MNIST sigma 0.75 run at scale 'headline'/);
    const figs = fs.readdirSync(path.join(out, 'f'));
    for (const f of ['fig2_schematic', 'fig3_cifar10_rs_vs_splitz', 'fig4a_mnist_sigma', 'fig4b_mnist_bounds_theta_lip']) expect(figs).toEqual(expect.arrayContaining([`${f}.svg`, `${f}.png`]));
    expect(r.stdout).toMatch(/skipped or incomplete/);
    expect(r.stdout).toMatch(/fig1a_global_lipschitz: no rows/);
    const t1 = fs.readFileSync(path.join(out, 't', 'table_I_mnist.csv'), 'utf8').split('\n');
    expect(t1[0]).toBe('method,setting,eps,paper,ours,difference,our_run,paper_source');
    expect(t1.find((l) => l.startsWith('SPLITZ,best over sigma,2.5,40.5,10,-30.5,'))).toBeDefined();
    expect(fs.readFileSync(path.join(out, 't', 'captions.md'), 'utf8')).toMatch(/scale 'reduced'/);
  });

  test('scaleSubtitle groups runs by scale, architecture, epochs, images and n', () => {
    expect(scaleSubtitle(runs.filter((r) => r.dataset === 'mnist' && r.images === 10))).toBe(
      "ours, scale 'reduced': LeNet, 2 epochs, 10 test images (every 20th), n = 10,000; scale 'reduced': LeNet, 2 epochs, 10 test images (every 20th), n = 100,000",
    );
    expect(scaleSubtitle([])).toMatch(/no runs of ours/);
  });
});
