/**
 * The paper's claims, checked on our runs (docs/REPRODUCTION.md).
 *
 * Each claim compares two certified models on the same test images, image by
 * image (lib/eval/paired: McNemar's exact test for certified accuracy at eps,
 * a 95% interval of the mean difference for ACR). A comparison "holds" when
 * it goes the paper's way at p < 0.05 (interval above 0 for ACR), "fails"
 * when it goes the other way at p < 0.05, and is "not significant" otherwise:
 * at 500 images a difference of a few points of certified accuracy can be
 * noise. A claim holds when all its comparisons do.
 *
 * Nothing here looks at the paper's numbers to decide a verdict; they are
 * printed beside ours.
 */
import { readCertifyLog } from '../eval/log';
import { ImageRadii, pairedAccuracy, pairedAcr, recordRadii } from '../eval/paired';
import { RunSummary, accuracyAt } from './tables';
import { AccuracyRow, AcrRow, loadLiterature } from './literature';

/** 'incomplete': some comparisons are not run yet and none of the others fails. */
export type Verdict = 'holds' | 'not significant' | 'fails' | 'incomplete' | 'not run';

/** One paired comparison "A beats B" (the paper's direction). */
export interface Comparison {
  /** What is compared, e.g. "eps 1.5: SPLITZ sigma 0.5 vs RS sigma 0.75". */
  label: string;
  /** Percent (certified accuracy) or radius (ACR). */
  oursA: number;
  oursB: number;
  paperA: number | null;
  paperB: number | null;
  /** Images both logs certify. */
  images: number;
  /** Two-sided p-value (McNemar) or, for ACR, the 95% interval of the mean difference. */
  p?: number;
  ci?: [number, number];
  verdict: Verdict;
}

export interface ClaimResult {
  id: string;
  claim: string;
  source: string;
  verdict: Verdict;
  comparisons: Comparison[];
  /** Which runs were used, with their scale. */
  runs: string[];
  note?: string;
  /** What the comparisons measure: certified accuracy in percent (default) or ACR (radius); sets the table's columns even when nothing was run. */
  metric?: 'accuracy' | 'acr';
}

/** Reads each image's radius in one column ('radius', 'radius_paper', ...), or under the global bound L of f_L (R_fR / L). */
export function imageRadii(run: RunSummary, column = 'radius', globalL?: number): ImageRadii {
  return recordRadii(readCertifyLog(run.certifyLog).records, column, globalL);
}

/** Paired certified-accuracy comparison at eps ("A beats B"). */
export function compareAccuracy(label: string, a: ImageRadii, b: ImageRadii, eps: number, paper: [number | null, number | null] = [null, null], alpha = 0.05): Comparison {
  const r = pairedAccuracy(a, b, eps);
  const verdict: Verdict = r.images === 0 ? 'not run' : r.p < alpha ? (r.onlyA > r.onlyB ? 'holds' : 'fails') : 'not significant';
  const pct = (k: number) => (100 * k) / Math.max(1, r.images);
  return { label, oursA: pct(r.certifiedA), oursB: pct(r.certifiedB), paperA: paper[0], paperB: paper[1], images: r.images, p: r.p, verdict };
}

/** Paired ACR comparison ("A's ACR beats B's"). */
export function compareAcr(label: string, a: ImageRadii, b: ImageRadii, paper: [number | null, number | null] = [null, null]): Comparison {
  const r = pairedAcr(a, b);
  const verdict: Verdict = r.images === 0 ? 'not run' : r.ci[0] > 0 ? 'holds' : r.ci[1] < 0 ? 'fails' : 'not significant';
  return { label, oursA: r.acrA, oursB: r.acrB, paperA: paper[0], paperB: paper[1], images: r.images, ci: r.ci, verdict };
}

/** A claim's verdict from its comparisons: any fails -> fails; all hold -> holds; some not run -> incomplete. */
export function combine(cs: readonly Comparison[]): Verdict {
  if (cs.length === 0 || cs.every((c) => c.verdict === 'not run')) return 'not run';
  if (cs.some((c) => c.verdict === 'fails')) return 'fails';
  if (cs.some((c) => c.verdict === 'not run')) return 'incomplete';
  if (cs.every((c) => c.verdict === 'holds')) return 'holds';
  return 'not significant';
}

const describe = (r: RunSummary) => `${r.config} (${r.scale}: ${r.epochsTrained ?? '?'} epochs, ${r.images} images, n = ${r.n.toLocaleString('en-US')})`;
const pct = (v: number | null | undefined) => (v === null || v === undefined ? null : v);

/** The reference runs of a dataset and method (split 1 / the config's default setting), by sigma. */
function referenceRuns(runs: readonly RunSummary[], dataset: string, method: 'SPLITZ' | 'RS'): RunSummary[] {
  const re = new RegExp(`^${dataset}-${method === 'SPLITZ' ? 'splitz' : 'rs'}-sigma[0-9.]+$`);
  return runs.filter((r) => re.test(r.config)).sort((a, b) => a.sigma - b.sigma);
}

/** The run with the highest certified accuracy at eps (the paper's "best over sigma"). */
function bestAt(runs: readonly RunSummary[], eps: number, column = 'radius'): RunSummary | undefined {
  let best: RunSummary | undefined;
  let bestAcc = -1;
  for (const r of runs) {
    const curve = column === 'radius' ? r.curve : r.otherRadii[column.replace(/^radius_/, '')]?.curve;
    if (!curve) continue;
    const acc = accuracyAt(curve, eps);
    if (acc > bestAcc) {
      bestAcc = acc;
      best = r;
    }
  }
  return best;
}

function paperAcc(lit: readonly AccuracyRow[], method: string, eps: number, param?: { name: string; value: number }): number | null {
  const row = lit.find((l) => l.method === method && Math.abs(l.eps - eps) < 1e-9 && !l.extra_data && (!param || (l.param === param.name && l.param_value === param.value)));
  return pct(row?.certified_accuracy);
}

/**
 * "SPLITZ beats RS at every eps of `epsList`", best over sigma on both sides (Tables I, II).
 * Best over fewer sigmas than the paper's is not the paper's comparison: while a
 * sigma of `sigmas` has no run on either side, the claim is `incomplete` (the
 * per-eps comparisons are still shown) and `note` names the runs it waits for.
 */
function splitzVsRs(
  runs: readonly RunSummary[],
  dataset: 'mnist' | 'cifar10',
  epsList: number[],
  lit: readonly AccuracyRow[],
  column: string,
  sigmas: readonly number[],
): { comparisons: Comparison[]; used: Set<RunSummary>; verdict: Verdict; note?: string } {
  const used = new Set<RunSummary>();
  const sp = referenceRuns(runs, dataset, 'SPLITZ');
  const rs = referenceRuns(runs, dataset, 'RS');
  const comparisons = epsList.map((eps) => {
    const a = bestAt(sp, eps, column);
    const b = bestAt(rs, eps);
    const paper: [number | null, number | null] = [paperAcc(lit, 'SPLITZ', eps), paperAcc(lit, 'RS', eps)];
    if (!a || !b) return { label: `eps ${eps}`, oursA: NaN, oursB: NaN, paperA: paper[0], paperB: paper[1], images: 0, verdict: 'not run' as Verdict };
    used.add(a).add(b);
    return compareAccuracy(`eps ${eps}: SPLITZ sigma ${a.sigma} vs RS sigma ${b.sigma}`, imageRadii(a, column), imageRadii(b), eps, paper);
  });
  const missing = (
    [
      ['SPLITZ', sp],
      ['RS', rs],
    ] as const
  ).flatMap(([method, have]) => sigmas.filter((sigma) => !have.some((r) => r.sigma === sigma)).map((sigma) => `${method} at sigma ${sigma}`));
  const verdict = combine(comparisons);
  if (!missing.length || verdict === 'not run') return { comparisons, used, verdict };
  return { comparisons, used, verdict: 'incomplete', note: `Best over the published sigmas only, not yet over the paper's (${sigmas.join(', ')}): no run of ${missing.join(', ')}` };
}

function namedRun(runs: readonly RunSummary[], name: string): RunSummary | undefined {
  return runs.find((r) => r.config === name);
}

/** Pairwise "A beats B at every eps" between named runs (Tables V-VII, Fig. 4b). */
function ordered(runs: readonly RunSummary[], pairs: [string, string, string][], epsList: number[], paperOf: (name: string, eps: number) => number | null): { comparisons: Comparison[]; used: Set<RunSummary> } {
  const used = new Set<RunSummary>();
  const comparisons: Comparison[] = [];
  for (const [nameA, nameB, what] of pairs) {
    const a = namedRun(runs, nameA);
    const b = namedRun(runs, nameB);
    for (const eps of epsList) {
      const paper: [number | null, number | null] = [paperOf(nameA, eps), paperOf(nameB, eps)];
      if (!a || !b) {
        comparisons.push({ label: `eps ${eps}: ${what}`, oursA: NaN, oursB: NaN, paperA: paper[0], paperB: paper[1], images: 0, verdict: 'not run' });
        continue;
      }
      used.add(a).add(b);
      comparisons.push(compareAccuracy(`eps ${eps}: ${what}`, imageRadii(a), imageRadii(b), eps, paper));
    }
  }
  return { comparisons, used };
}

/**
 * Runs that the claims do not use (another scale: a second training seed at
 * its own scale name, the headline pair), set beside the ones they use: for
 * each such SPLITZ or RS reference run, its ACR against the used run of the
 * same config (how much the draw or the schedule matters) and, for SPLITZ,
 * against RS at the same sigma (Table III's comparison with this run
 * instead): RS at the run's own scale where one is published, else the used
 * RS run; with the sound bound and, where logged, the paper's.
 */
export function otherRunComparisons(all: readonly RunSummary[], used: readonly RunSummary[]): Array<{ run: RunSummary; comparisons: Comparison[] }> {
  const out: Array<{ run: RunSummary; comparisons: Comparison[] }> = [];
  const usedSet = new Set(used);
  for (const r of all) {
    if (usedSet.has(r)) continue;
    if (!new RegExp(`^${r.dataset}-(splitz|rs)-sigma[0-9.]+$`).test(r.config)) continue;
    const comparisons: Comparison[] = [];
    const same = used.find((u) => u.config === r.config);
    if (same) comparisons.push(compareAcr(`ACR: ${r.config} (${r.scale}) vs (${same.scale})`, imageRadii(r), imageRadii(same)));
    // RS at the same sigma: at the run's own scale where one is published (the headline pair), else the one the claims use.
    const rsAt = (runs: readonly RunSummary[]) => referenceRuns(runs, r.dataset, 'RS').filter((x) => x.sigma === r.sigma);
    const rs = r.method === 'SPLITZ' ? (rsAt(all).find((x) => x.scale === r.scale) ?? rsAt(used)[0]) : undefined;
    if (rs) {
      comparisons.push(compareAcr(`ACR: ${r.config} (${r.scale}) vs RS sigma ${rs.sigma} (${rs.scale}), sound bound`, imageRadii(r), imageRadii(rs)));
      if (r.otherRadii.paper) comparisons.push(compareAcr(`ACR: ${r.config} (${r.scale}) vs RS sigma ${rs.sigma} (${rs.scale}), paper's bound`, imageRadii(r, 'radius_paper'), imageRadii(rs)));
    }
    if (comparisons.length) out.push({ run: r, comparisons });
  }
  return out;
}

const MNIST_EPS = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5];
/** The sigmas of the paper's experiments (Section IV): its "best over sigma" is over these. */
const MNIST_SIGMAS = [0.25, 0.5, 0.75, 1.0] as const;
const CIFAR10_SIGMAS = [0.25, 0.5, 1.0] as const;

/**
 * Every claim of docs/REPRODUCTION.md, evaluated on `runs` (one summary per
 * config: lib/report/tables pickRuns). `globalBounds` maps a config name to
 * the global Lipschitz bound of its f_L (global-lipschitz.json) for Fig. 4b.
 */
export function evaluateClaims(runs: readonly RunSummary[], globalBounds: Record<string, number> = {}): ClaimResult[] {
  const out: ClaimResult[] = [];
  const litI = loadLiterature('I');
  const litII = loadLiterature('II');
  const litIII = loadLiterature('III') as AcrRow[];

  for (const column of ['radius', 'radius_paper']) {
    const which = column === 'radius' ? 'sound bound' : "paper's power-iteration bound";
    const t1 = splitzVsRs(runs, 'mnist', [1.5, 1.75, 2.0, 2.25, 2.5], litI, column, MNIST_SIGMAS);
    out.push({ id: column === 'radius' ? 'I' : 'I-paper', claim: `MNIST: SPLITZ beats RS at every eps in 1.5-2.5 (best over sigma on both sides; SPLITZ radii with the ${which})`, source: 'Table I', verdict: t1.verdict, comparisons: t1.comparisons, runs: [...t1.used].map(describe), note: t1.note });
    const t2 = splitzVsRs(runs, 'cifar10', [0.5, 0.75, 1.0], litII, column, CIFAR10_SIGMAS);
    out.push({ id: column === 'radius' ? 'II' : 'II-paper', claim: `CIFAR-10: SPLITZ beats RS at eps 0.5, 0.75, 1.0 (best over sigma; SPLITZ radii with the ${which})`, source: 'Table II, Fig. 3', verdict: t2.verdict, comparisons: t2.comparisons, runs: [...t2.used].map(describe), note: t2.note });
  }

  // Table III: ACR per sigma, on MNIST (sigma 0.25-1.0; the paper prints none at 0.75, ours is tested
  // all the same) and on CIFAR-10 (the sigmas of the paper's table).
  const acrSigmas: Array<['mnist' | 'cifar10', readonly number[]]> = [
    ['mnist', MNIST_SIGMAS],
    ['cifar10', CIFAR10_SIGMAS],
  ];
  for (const [dataset, sigmas] of acrSigmas) {
    for (const column of ['radius', 'radius_paper']) {
      const which = column === 'radius' ? 'sound bound' : "paper's power-iteration bound";
      const comparisons: Comparison[] = [];
      const used = new Set<RunSummary>();
      const sp = referenceRuns(runs, dataset, 'SPLITZ');
      const rs = referenceRuns(runs, dataset, 'RS');
      for (const sigma of sigmas) {
        const a = sp.find((r) => r.sigma === sigma);
        const b = rs.find((r) => r.sigma === sigma);
        const paper: [number | null, number | null] = [
          litIII.find((l) => l.dataset === dataset && l.method === 'SPLITZ' && l.sigma === sigma)?.acr ?? null,
          litIII.find((l) => l.dataset === dataset && l.method === 'RS' && l.sigma === sigma)?.acr ?? null,
        ];
        if (!a || !b) {
          comparisons.push({ label: `sigma ${sigma}: ACR SPLITZ vs RS`, oursA: NaN, oursB: NaN, paperA: paper[0], paperB: paper[1], images: 0, verdict: 'not run' });
          continue;
        }
        used.add(a).add(b);
        comparisons.push(compareAcr(`sigma ${sigma}: ACR SPLITZ vs RS`, imageRadii(a, column), imageRadii(b), paper));
      }
      const id = `III${dataset === 'mnist' ? '' : '-cifar10'}${column === 'radius' ? '' : '-paper'}`;
      const name = dataset === 'mnist' ? 'MNIST' : 'CIFAR-10';
      out.push({ id, claim: `${name}: SPLITZ's ACR beats RS's at each sigma (SPLITZ radii with the ${which})`, source: 'Table III', verdict: combine(comparisons), comparisons, runs: [...used].map(describe), metric: 'acr' });
    }
  }

  const litV = loadLiterature('V');
  const splitPaper = (name: string, eps: number) => paperAcc(litV, 'SPLITZ', eps, { name: 'split', value: name.endsWith('split3') ? 3 : name.endsWith('split2') ? 2 : 1 });
  const tV = ordered(
    runs,
    [
      ['mnist-splitz-sigma0.75', 'mnist-splitz-sigma0.75-split2', 'split 1 vs split 2'],
      ['mnist-splitz-sigma0.75-split2', 'mnist-splitz-sigma0.75-split3', 'split 2 vs split 3'],
    ],
    MNIST_EPS,
    splitPaper,
  );
  out.push({ id: 'V', claim: 'MNIST, sigma 0.75: earlier splits certify more (split after the 1st > 2nd > 3rd affine layer at every eps)', source: 'Table V', verdict: combine(tV.comparisons), comparisons: tV.comparisons, runs: [...tV.used].map(describe) });

  const litVI = loadLiterature('VI');
  const thetaPaper = (name: string, eps: number) => paperAcc(litVI, 'SPLITZ', eps, { name: 'theta_lip', value: name.endsWith('thetalip0.3') ? 0.3 : name.endsWith('thetalip0.7') ? 0.7 : 0.5 });
  const small = ordered(runs, [['mnist-splitz-sigma0.75-thetalip0.7', 'mnist-splitz-sigma0.75-thetalip0.3', 'Lip_theta 0.7 vs 0.3 (small eps)']], [0.5], thetaPaper);
  const large = ordered(runs, [['mnist-splitz-sigma0.75-thetalip0.3', 'mnist-splitz-sigma0.75-thetalip0.7', 'Lip_theta 0.3 vs 0.7 (large eps)']], [2.5], thetaPaper);
  const tVI = [...small.comparisons, ...large.comparisons];
  out.push({ id: 'VI', claim: 'MNIST, sigma 0.75: a higher Lip_theta certifies more at small eps, a lower one at large eps (the trade-off of Table VI, tested at eps 0.5 and 2.5)', source: 'Table VI, Fig. 4b', verdict: combine(tVI), comparisons: tVI, runs: [...new Set([...small.used, ...large.used])].map(describe) });

  const litVII = loadLiterature('VII');
  const gammaPaper = (name: string, eps: number) => paperAcc(litVII, 'SPLITZ', eps, { name: 'gamma_train', value: name.endsWith('gamma0.1') ? 0.1 : name.endsWith('gamma2') ? 2 : 1 });
  const tVII = ordered(
    runs,
    [
      ['mnist-splitz-sigma0.75-gamma0.1', 'mnist-splitz-sigma0.75', 'gamma_train 0.1 vs 1'],
      ['mnist-splitz-sigma0.75-gamma0.1', 'mnist-splitz-sigma0.75-gamma2', 'gamma_train 0.1 vs 2'],
    ],
    MNIST_EPS,
    gammaPaper,
  );
  out.push({ id: 'VII', claim: 'MNIST, sigma 0.75: the smallest training gamma (0.1) certifies most at every eps', source: 'Table VII', verdict: combine(tVII.comparisons), comparisons: tVII.comparisons, runs: [...tVII.used].map(describe) });

  // Fig. 4b: the same model and samples, radii from the local (sound) bound vs the global bound of f_L.
  const ref = namedRun(runs, 'mnist-splitz-sigma0.75');
  const gL = ref ? globalBounds[ref.config] : undefined;
  const f4b: Comparison[] = [];
  for (const eps of [0.5, 1.0, 1.5, 2.0, 2.5]) {
    if (!ref || gL === undefined) f4b.push({ label: `eps ${eps}: local vs global`, oursA: NaN, oursB: NaN, paperA: null, paperB: null, images: 0, verdict: 'not run' });
    else f4b.push(compareAccuracy(`eps ${eps}: local (sound) vs global bound`, imageRadii(ref), imageRadii(ref, 'global', gL), eps));
  }
  out.push({ id: '4b', claim: 'MNIST, sigma 0.75: radii from the local bound of f_L certify more than from its global bound', source: 'Fig. 4b', verdict: combine(f4b), comparisons: f4b, runs: ref ? [describe(ref)] : [], note: gL !== undefined ? `global bound of f_L (sound): ${gL.toFixed(3)}` : undefined });
  return out;
}

const fmt = (v: number | null, d: number) => (v === null || !Number.isFinite(v) ? '-' : v.toFixed(d));

/** Markdown of the claims: one summary table, then each claim's comparisons. */
export function claimsMarkdown(claims: readonly ClaimResult[]): string {
  const lines: string[] = [];
  lines.push('| claim | source | verdict at our scale |', '| --- | --- | --- |');
  for (const c of claims) lines.push(`| ${c.claim} | ${c.source} | **${c.verdict}** |`);
  for (const c of claims) {
    const acr = c.metric === 'acr';
    lines.push('', `### ${c.source}: ${c.claim}`, '', `Verdict: **${c.verdict}**.${c.note ? ` ${c.note}.` : ''}`, '');
    if (c.runs.length) lines.push(`Runs: ${c.runs.join('; ')}.`, '');
    lines.push(
      acr ? '| comparison | ours A | ours B | paper A | paper B | images | 95% CI of A - B | verdict |' : '| comparison | ours A (%) | ours B (%) | paper A (%) | paper B (%) | images | McNemar p | verdict |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    );
    for (const x of c.comparisons) {
      const d = acr ? 3 : 1;
      const stat = x.ci ? `[${x.ci[0].toFixed(3)}, ${x.ci[1].toFixed(3)}]` : x.p !== undefined ? (x.p < 0.001 ? '< 0.001' : x.p.toFixed(3)) : '-';
      lines.push(`| ${x.label} | ${fmt(x.oursA, d)} | ${fmt(x.oursB, d)} | ${fmt(x.paperA, d)} | ${fmt(x.paperB, d)} | ${x.images || '-'} | ${stat} | ${x.verdict} |`);
    }
  }
  return lines.join('\n') + '\n';
}
