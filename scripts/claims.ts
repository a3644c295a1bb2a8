/**
 * `npm run claims`: rewrites the generated part of docs/REPRODUCTION.md (between
 * the `<!-- generated:start -->` and `<!-- generated:end -->` markers) from
 * data/results alone: the table of published runs (data/results/<run>/run.json)
 * and every claim of the paper checked on them (lib/report/claims.ts).
 * The hand-written text around the markers is kept.
 *
 * Options: --results DIR (default data/results), --doc FILE (default
 * docs/REPRODUCTION.md), --check (exit 1 when the file is not up to date).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { RunSummary, findCertifyLogs, oursCaption, pickRuns, summarizeRun, tableHeadline, GLOBAL_BOUND_FILE } from '../lib/report/tables';
import { claimsMarkdown, evaluateClaims, otherRunComparisons } from '../lib/report/claims';
import { writeFileAtomic } from '../lib/io/atomic';
import { baseClassifierRows } from '../lib/report/base-classifier';
import { splitSignalRows } from '../lib/report/split-signal';
import { noiseThroughSplitRows } from '../lib/report/noise-through-split';
import { boundTightnessRows } from '../lib/report/bound-tightness';
import { DiagnosticsCacheUse } from '../lib/report/published-checkpoints';
import { initBackend } from '../lib/backend';

const START = '<!-- generated:start (npm run claims) -->';
const END = '<!-- generated:end -->';

interface RunJson {
  id: string;
  config: string;
  scale: { name: string; note: string };
  code: { commit: string; uncommitted_lib_changes: boolean };
  machine: { cpu: string; cores: number };
  training: { epochs: number; wall_seconds: number; commands: { backend?: string }[] };
  certification: { images: number; worker_seconds: number; commands: { workers?: number }[] };
  checkpoint: { dir: string | null; bytes: number };
}

function runsTable(results: string, summaries: readonly RunSummary[]): string {
  const dirs = fs.existsSync(results) ? fs.readdirSync(results).filter((d) => fs.existsSync(path.join(results, d, 'run.json'))).sort() : [];
  if (!dirs.length) return '_No published run yet: `npm run campaign` publishes each finished run to data/results/._\n';
  const lines = [
    '| run | scale | epochs | test images | n | training (min) | certification (worker-min, s per image) | clean acc. of g (%) | ACR | backend, machine | code |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const d of dirs) {
    const rj = JSON.parse(fs.readFileSync(path.join(results, d, 'run.json'), 'utf8')) as RunJson;
    const s = summaries.find((x) => path.dirname(path.resolve(x.certifyLog)) === path.resolve(results, d));
    const backend = rj.training.commands.map((c) => c.backend).find(Boolean) ?? '?';
    // Per-image times summed over workers: a run certified partly on 1 worker and partly on 2 has no single divisor for its wall time.
    const workers = Math.max(1, ...rj.certification.commands.map((c) => c.workers ?? 1));
    lines.push(
      `| ${d} | ${rj.scale.name} | ${rj.training.epochs} | ${rj.certification.images} | ${s ? s.n.toLocaleString('en-US') : '?'} | ${(rj.training.wall_seconds / 60).toFixed(0)} | ` +
        `${(rj.certification.worker_seconds / 60).toFixed(0)} (${(rj.certification.worker_seconds / Math.max(1, rj.certification.images)).toFixed(1)}${workers > 1 ? `; up to ${workers} workers` : ''}) | ` +
        `${s ? (100 * s.certifiedAccuracy[0]).toFixed(1) : '?'} | ${s ? s.acr.toFixed(3) : '?'} | ${backend}, ${rj.machine.cores} cores ${rj.machine.cpu} | ${rj.code.commit.slice(0, 7)}${rj.code.uncommitted_lib_changes ? '+' : ''} |`,
    );
  }
  return lines.join('\n') + '\n';
}

/** The base-classifier table (lib/report/base-classifier.ts) as markdown. */
function baseClassifierTable(summaries: readonly RunSummary[]): string {
  const pct = (v: number | null) => (v === null ? '-' : (100 * v).toFixed(1));
  const lines = [
    '| run | sigma | best epoch | held-out acc. under noise (%) | held-out clean acc. (%) | mean L(x, gamma_train) at the best epoch (training, power iteration) | median L(x) of certified images (sound) | sigma / median L |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of baseClassifierRows(summaries)) {
    const rs = r.method === 'RS';
    lines.push(
      `| ${r.config}-${r.scale} | ${r.sigma} | ${r.best_epoch} of ${r.epochs} | ${pct(r.holdout_noisy_acc)} | ${pct(r.holdout_clean_acc)} | ` +
        `${rs ? '- (RS: 1)' : r.mean_L_train.toFixed(3)} | ${rs ? '- (RS: 1)' : r.median_L_certified === null ? '-' : r.median_L_certified.toFixed(3)} | ${r.sigma_over_L === null ? '-' : r.sigma_over_L.toFixed(3)} |`,
    );
  }
  return lines.join('\n') + '\n';
}

/** The split-signal table (lib/report/split-signal.ts) as markdown: each published checkpoint on its certified test images. */
async function splitSignalTable(summaries: readonly RunSummary[], cache: DiagnosticsCacheUse): Promise<string> {
  const pct = (v: number | null) => (v === null ? '-' : (100 * v).toFixed(1));
  const { rows, skipped } = await splitSignalRows(summaries, { cache });
  const lines = [
    '| run | sigma | split | test images | spread of f_L(x) | spread / sigma | pre-activations of the last ReLU_theta in (0, theta) (%) | off, <= 0 (%) | \\|\\|J(x)\\|\\| | L(x, 0) | L(x, gamma_train) | L(x, 0) / \\|\\|J(x)\\|\\| |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const num = (v: number | null, digits: number) => (v === null ? '-' : v.toFixed(digits));
  for (const r of rows) {
    lines.push(
      `| ${r.config}-${r.scale} | ${r.sigma} | ${r.split} | ${r.images} | ${r.spread.toFixed(3)} | ${r.snr.toFixed(2)} | ${pct(r.linear_fraction)} | ${pct(r.below_fraction)} | ` +
        `${num(r.jacobian_norm, 3)} | ${num(r.bound_at_x, 3)} | ${num(r.bound_train, 3)} | ${num(r.bound_over_jacobian, 2)} |`,
    );
  }
  const stretch = rows.find((r) => r.stretch_images > 0);
  if (stretch) {
    lines.push(
      '',
      `The last four columns are means over the first ${stretch.stretch_images} of those images, by power iteration (100 steps; lower estimates): ||J(x)|| is the spectral norm of f_L's Jacobian at x, what f_L really stretches a small step (lib/lipschitz/jacobian.ts); L(x, 0) and L(x, gamma_train) are the bound of eq. 18 (\`paper\` mode), the second being what the training loss holds at theta_lip. For one affine layer L(x, 0) = ||J(x)||; for more, the bound multiplies one norm per layer.`,
    );
  }
  if (skipped.length) lines.push('', `Not measured (no checkpoint published beside the log): ${skipped.join('; ')}.`);
  return lines.join('\n') + '\n';
}

/** The noise-through-the-split table (lib/report/noise-through-split.ts): singular values of J(x) at each run's first certified image. */
async function noiseThroughSplitTable(summaries: readonly RunSummary[], cache: DiagnosticsCacheUse): Promise<string> {
  const { rows, skipped } = await noiseThroughSplitRows(summaries, { cache });
  const lines = [
    '| run | sigma | split | test image | s_max | s_i / s_max at 10 / 25 / 50 / 75 / 90% | directions with s_i >= s_max / 2 (%) | noise credited, sigma / s_max | noise along the median direction, sigma / s_median |',
    '| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.config}-${r.scale} | ${r.sigma} | ${r.split} | ${r.image} | ${r.s_max.toFixed(3)} | ${r.quantiles.map((q) => q.toFixed(2)).join(' / ')} | ` +
        `${(100 * r.above_half).toFixed(1)} | ${r.noise_credited.toFixed(3)} | ${r.noise_median.toFixed(3)} |`,
    );
  }
  if (skipped.length) lines.push('', `Not measured: ${skipped.join('; ')}.`);
  return lines.join('\n') + '\n';
}

/** Certified images among each log's first that the bound-tightness table measures. */
export const TIGHTNESS_IMAGES = 30;

/** The bound-tightness table (lib/report/bound-tightness.ts): logged bounds against converged power iteration. */
async function boundTightnessTable(summaries: readonly RunSummary[], cache: DiagnosticsCacheUse): Promise<string> {
  const { rows, skipped } = await boundTightnessRows(summaries, { maxImages: TIGHTNESS_IMAGES, cache });
  const lines = [
    '| run | sigma | split | certified images measured | sound / converged: median (max) | paper / converged: median (min) | paper radius over what its L supports: median |',
    '| --- | ---: | ---: | ---: | --- | --- | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.config}-${r.scale} | ${r.sigma} | ${r.split} | ${r.images} | ${r.sound_median.toFixed(4)} (${r.sound_max.toFixed(4)}) | ` +
        `${r.paper_median.toFixed(4)} (${r.paper_min.toFixed(4)}) | +${(100 * (1 / r.paper_median - 1)).toFixed(1)}% |`,
    );
  }
  if (skipped.length) lines.push('', `Not measured: ${skipped.join('; ')}.`);
  return lines.join('\n') + '\n';
}

/** The headline pair (tableHeadline) as markdown, one line per eps; empty until a headline run is published. */
export function headlineSection(summaries: readonly RunSummary[]): string {
  const t = tableHeadline(summaries);
  if (!t.runs.length) return '';
  const fmt = (v: unknown, digits: number) => (typeof v === 'number' ? v.toFixed(digits) : '-');
  const lines = [
    '## The headline pair',
    '',
    `${t.title}: certified test accuracy at each eps (l2 radius, pixels in [0, 1]) and ACR, from \`tables/table_headline_mnist_sigma0.75.csv\` (\`npm run figures\`; figure \`figures/fig_headline_mnist_sigma0.75.png\`). The paper's column is its sigma = 0.75 reference row of Tables V-VII; it prints no RS numbers and no ACR at this sigma. SPLITZ's two columns come from the same noise samples, with the sound bound on L(x, gamma) and with the paper's power iteration. ` +
      `${oursCaption(t.runs, '')} These runs are not in the claims above (they compare \`${CLAIMS_SCALE}\` runs); the next section sets them against the other runs image by image.`,
    '',
    "| eps | paper: SPLITZ (%) | ours: SPLITZ, sound bound (%) | ours: SPLITZ, paper's bound (%) | ours: RS (%) |",
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const eps of [...new Set(t.rows.map((r) => r.eps))]) {
    const splitz = t.rows.find((r) => r.eps === eps && r.method === 'SPLITZ')!;
    const rs = t.rows.find((r) => r.eps === eps && r.method === 'RS')!;
    const digits = eps === 'ACR' ? 3 : 1;
    lines.push(`| ${eps} | ${fmt(splitz.paper, 1)} | ${fmt(splitz.ours, digits)} | ${fmt(splitz.ours_paper_bound, digits)} | ${fmt(rs.ours, digits)} |`);
  }
  return lines.join('\n') + '\n\n';
}

/** Runs the claims leave out (another seed of a config), each beside the run the claims use and RS at its sigma. */
function otherRunsSection(summaries: readonly RunSummary[], used: readonly RunSummary[]): string {
  const other = otherRunComparisons(summaries, used);
  if (!other.length) return '';
  const lines = [
    '## Runs beside the claims',
    '',
    `Published runs that the claims above do not use, because the claims compare runs of one scale (\`${CLAIMS_SCALE}\`) and these are at another (a second training seed has its own scale name; the headline pair is the paper's schedule). Each is compared with the claims' run of the same config and, for SPLITZ, with RS at the same sigma (at its own scale where that is published), as Table III would with this run instead (mean paired ACR difference over the images both logs certify, 95% interval).`,
    '',
    '| run | comparison | ACR of the run | ACR of the other | difference [95% interval] | the run beats the other |',
    '| --- | --- | ---: | ---: | --- | --- |',
  ];
  for (const { run, comparisons } of other) {
    for (const c of comparisons) {
      const ci = c.ci ? `${(c.oursA - c.oursB).toFixed(3)} [${c.ci[0].toFixed(3)}, ${c.ci[1].toFixed(3)}]` : '-';
      lines.push(`| ${run.config}-${run.scale} | ${c.label.replace(/^ACR: /, '')} | ${c.oursA.toFixed(3)} | ${c.oursB.toFixed(3)} | ${ci} | ${c.verdict} |`);
    }
  }
  return lines.join('\n') + '\n\n';
}

/** The scale every claim is judged at (configs/README.md). */
export const CLAIMS_SCALE = 'reduced';

/**
 * The generated block of docs/REPRODUCTION.md (markers included) and the
 * claims it states, from the runs in `results`. cache: the checkpoint
 * diagnostics kept beside each run (diagnostics.json,
 * lib/report/published-checkpoints.ts): 'write' measures what is missing or
 * out of date and writes it; 'read' only reads (a miss is measured, not
 * written); 'require' fails on a miss.
 */
export async function generateClaims(results: string, cache: DiagnosticsCacheUse = 'read'): Promise<{ block: string; claims: ReturnType<typeof evaluateClaims> }> {
  await initBackend();
  const summaries: RunSummary[] = [];
  for (const log of findCertifyLogs([results])) {
    try {
      summaries.push(summarizeRun(log));
    } catch (e) {
      console.warn(`skipped ${log}: ${(e as Error).message}`);
    }
  }
  // Every claim compares runs of one scale: a claim judged on a 150-epoch
  // SPLITZ run against a 12-epoch RS run (or 12-epoch ablations against a
  // 150-epoch reference) would measure the schedule, not the method. Runs at
  // other scales (the headline pair, a second seed) are set beside the claims.
  const runs = pickRuns(summaries, { scale: CLAIMS_SCALE });
  const globalBounds: Record<string, number> = {};
  for (const r of runs) {
    const f = path.join(path.dirname(r.certifyLog), GLOBAL_BOUND_FILE);
    if (fs.existsSync(f)) globalBounds[r.config] = (JSON.parse(fs.readFileSync(f, 'utf8')) as { L: number }).L;
  }
  const claims = evaluateClaims(runs, globalBounds);
  const generated = [
    START,
    '',
    '## Published runs',
    '',
    `Every run in data/results/ (${summaries.length} certification log(s)). "clean acc. of g" is the smoothed classifier's certified accuracy at radius 0; ACR of SPLITZ runs uses the \`sound\` bound.`,
    '',
    runsTable(results, summaries),
    '## Base classifiers',
    '',
    'The classifier that is smoothed, f_R(f_L(x) + delta), at the epoch each run certifies (the best held-out accuracy under noise, one fixed draw per image of the run\'s held-out split of the training set). SPLITZ certifies R_fR / L(x): the radius RS would certify at noise sigma / L with the same pA. So SPLITZ can beat RS at sigma / L only where its base classifier is more accurate under noise than RS\'s is there; the last column puts each SPLITZ run on that scale. The clean accuracy (no delta) is for reference: both kinds of model were trained on noisy inputs only.',
    '',
    baseClassifierTable(summaries),
    '## The signal at the split',
    '',
    'What f_R gets to see: f_L(x) + delta. `spread` is the root mean square distance of f_L(x) from its mean over the run\'s certified test images (for RS, f_L is the identity: the pixels\' spread); the noise has standard deviation sigma along any direction, so spread / sigma is the signal-to-noise ratio at the split. The Lipschitz term lowers L(x) most cheaply by scaling f_L down, which scales the spread down with it; ReLU_theta units lower the bound without that cost only outside (0, theta). Computed from each published checkpoint (lib/report/split-signal.ts; notebook 06 shows the same table).',
    '',
    await splitSignalTable(summaries, cache),
    '## The noise through the split',
    '',
    'Where f_L is linear, f_L(x) = J x + c, the noise delta added at the split acts on the input as N(0, sigma^2 (J^T J)^-1): noise sigma / s_i along the i-th right singular vector of J, while Theorem 1 credits the radius with the least of it, sigma / s_max (L >= s_max). So against RS at sigma / s_max, which certifies the same radius from the same pA, a linear f_L leaves its f_R as much noise or more in every direction; only the directions with s_i near s_max are noised as the radius assumes. For RS every s_i is 1. The singular values are of the Jacobian at each run\'s first certified test image (central differences and an eigendecomposition of J^T J: lib/lipschitz/jacobian.ts, lib/report/noise-through-split.ts; notebook 06 shows the same table).',
    '',
    await noiseThroughSplitTable(summaries, cache),
    '## How tight the two bounds are',
    '',
    `Each SPLITZ log holds two radii: \`radius\` from the \`sound\` bound (proven per-layer norms with rounding margins) and \`radius_paper\` from the paper's power iteration, which certification runs for the training's number of steps (config \`train.power_iterations\`: 5 on MNIST), warm-started from a random vector. Both logged L(x) are held here against power iteration run to convergence (300 steps, at the same gamma) on the certified images among each log's first ${TIGHTNESS_IMAGES} (lib/report/bound-tightness.ts). A sound ratio at 1 means rigour costs nothing; a paper ratio below 1 is a norm it underestimates, and where R_fR / L sets the radius, the radius it claims exceeds what a converged L(x) gives by the last column.`,
    '',
    await boundTightnessTable(summaries, cache),
    '## Claims, checked',
    '',
    claimsMarkdown(claims),
    headlineSection(summaries) + otherRunsSection(summaries, runs) + END,
  ].join('\n');
  return { block: generated, claims };
}

/** The document's generated block (markers included); an error when the markers are missing. */
export function generatedBlockOf(doc: string, file: string): { start: number; end: number; block: string } {
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file} has no '${START}' ... '${END}' block; put the two markers where the generated part goes`);
  return { start: a, end: b + END.length, block: doc.slice(a, b + END.length) };
}

async function main(): Promise<void> {
  const o = new Command()
    .name('npm run claims --')
    .option('--results <dir>', 'published runs', path.join('data', 'results'))
    .option('--doc <file>', 'the document to update', path.join('docs', 'REPRODUCTION.md'))
    .option('--check', 'exit 1 when the document is not up to date')
    .parse(process.argv)
    .opts<{ results: string; doc: string; check?: boolean }>();

  const { block: generated, claims } = await generateClaims(o.results, o.check ? 'read' : 'write');
  const doc = fs.readFileSync(o.doc, 'utf8');
  const { start, end } = generatedBlockOf(doc, o.doc);
  const next = doc.slice(0, start) + generated + doc.slice(end);
  if (o.check) {
    if (next !== doc) {
      console.error(`${o.doc} is not up to date with ${o.results}: run \`npm run claims\``);
      process.exit(1);
    }
    console.log(`${o.doc} is up to date`);
    return;
  }
  writeFileAtomic(o.doc, next);
  for (const c of claims) console.log(`${c.verdict.padEnd(15)} ${c.source}: ${c.claim}`);
  console.log(`wrote ${o.doc}`);
}

// Run as a command; imported (by test/published.test.ts), it only provides the functions above.
if (require.main === module) {
  main().catch((e) => {
    console.error(`claims: ${(e as Error).message}`);
    process.exit(1);
  });
}
