/**
 * `npm run reproduce [-- --full]`: the paper's figures and tables, end to end.
 *
 * 1. executes every notebook headless (scripts/notebooks.ts), in quick mode
 *    unless --full or SPLITZ_SCALE=full: quick notebooks make their own small
 *    runs under runs/quick/ (or use data/results when it has the config);
 * 2. regenerates figures/ and tables/ from everything computed
 *    (scripts/figures.ts over data/results and runs/quick, the roots the
 *    notebooks read; full mode: data/results only);
 * 3. prints where every output went and checks that each figure of the paper
 *    (SVG + PNG) and each table (CSV) is there, and that no executed notebook
 *    holds an error output.
 *
 * Exit status 1 when a step fails or an expected output is missing.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');

/** What the paper's reproduction must produce (names shared with scripts/figures.ts and the notebooks). */
export const EXPECTED_FIGURES = [
  'fig1a_global_lipschitz',
  'fig1b_local_bounds_images',
  'fig1c_local_bound_distribution',
  'fig2_schematic',
  'fig3_cifar10_rs_vs_splitz',
  'fig4a_mnist_sigma',
  'fig4b_mnist_bounds_theta_lip',
  'fig5_global_lipschitz',
  'fig6a_local_bounds_images',
  'fig6b_local_bound_distribution',
];
export const EXPECTED_TABLES = ['table_I_mnist', 'table_II_cifar10', 'table_III_acr', 'table_IV_time', 'table_V_split', 'table_VI_theta_lip', 'table_VII_gamma_train'];

function run(what: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  console.log(`\n[reproduce] ${what}: ${args.join(' ')}`);
  const r = spawnSync(args[0], args.slice(1), { cwd: ROOT, env, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`[reproduce] ${what} failed (exit ${r.status ?? r.signal})`);
    return false;
  }
  return true;
}

/** Error outputs of an executed notebook: "cell N: ename: evalue". */
export function notebookErrors(file: string): string[] {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: Array<{ cell_type: string; outputs?: Array<{ output_type: string; ename?: string; evalue?: string; name?: string; text?: string | string[] }> }> };
  const out: string[] = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) {
      if (o.output_type === 'error') out.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
    }
  });
  return out;
}

function main(argv: string[]): number {
  const full = argv.includes('--full') || process.env.SPLITZ_SCALE === 'full';
  const names = argv.filter((a) => !a.startsWith('--'));
  const env = { ...process.env, SPLITZ_SCALE: full ? 'full' : 'quick' };
  const tsNode = path.join(ROOT, 'node_modules', '.bin', 'ts-node');
  const t0 = Date.now();

  const ok1 = run('notebooks', [tsNode, path.join('scripts', 'notebooks.ts'), ...names], env);
  const ok2 = run('figures and tables', [tsNode, '--transpile-only', path.join('scripts', 'figures.ts'), ...(full ? ['--results', 'data/results'] : ['--results', 'data/results', '--results', path.join('runs', 'quick')])], env);

  const problems: string[] = [];
  if (!ok1) problems.push('a notebook failed (see above); its partly executed copy is in notebooks/executed/');
  if (!ok2) problems.push('npm run figures failed (see above)');
  console.log(`\n[reproduce] outputs (${full ? 'full' : 'quick'} mode):`);
  const exec = path.join(ROOT, 'notebooks', 'executed');
  const sources = fs.readdirSync(path.join(ROOT, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort();
  console.log('  executed notebooks:');
  for (const nb of sources) {
    const f = path.join(exec, nb);
    if (!fs.existsSync(f)) {
      if (!names.length || names.some((n) => nb.startsWith(n))) problems.push(`notebooks/executed/${nb} is missing`);
      continue;
    }
    const errs = notebookErrors(f);
    console.log(`    notebooks/executed/${nb}${errs.length ? `  ERROR OUTPUTS: ${errs.join('; ')}` : ''}`);
    for (const e of errs) problems.push(`notebooks/executed/${nb}: ${e}`);
  }
  console.log('  figures (SVG + PNG + Vega-Lite JSON):');
  for (const f of EXPECTED_FIGURES) {
    const have = ['svg', 'png'].filter((e) => fs.existsSync(path.join(ROOT, 'figures', `${f}.${e}`)));
    console.log(`    figures/${f}.{${have.join(',') || 'MISSING'}}`);
    if (have.length < 2) problems.push(`figures/${f}: ${have.length ? 'only ' + have.join(', ') : 'missing'}`);
  }
  const extraFigures = fs.existsSync(path.join(ROOT, 'figures'))
    ? [...new Set(fs.readdirSync(path.join(ROOT, 'figures')).filter((f) => f.endsWith('.png')).map((f) => f.slice(0, -4)))].filter((f) => !EXPECTED_FIGURES.includes(f))
    : [];
  if (extraFigures.length) console.log(`    (also, from the notebooks: ${extraFigures.map((f) => `figures/${f}.png`).join(', ')})`);
  console.log('  tables (CSV; captions in tables/captions.md):');
  for (const t of [...EXPECTED_TABLES, 'table_bounds_sound_vs_paper', 'table_headline_mnist_sigma0.75']) {
    const f = path.join(ROOT, 'tables', `${t}.csv`);
    console.log(`    tables/${t}.csv${fs.existsSync(f) ? '' : ' MISSING'}`);
    if (!fs.existsSync(f) && EXPECTED_TABLES.includes(t)) problems.push(`tables/${t}.csv missing`);
  }
  const quick = path.join(ROOT, 'runs', 'quick');
  if (!full && fs.existsSync(quick)) {
    const dirs = fs.readdirSync(quick).filter((d) => fs.existsSync(path.join(quick, d, 'train-log.jsonl')));
    console.log(`  quick runs (scale 'quick', logs and checkpoints): runs/quick/{${dirs.join(',')}}`);
    if (fs.existsSync(path.join(quick, 'lipschitz'))) console.log('  Lipschitz CSVs of notebook 05: runs/quick/lipschitz/');
  }
  console.log(`\n[reproduce] ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  if (problems.length) {
    console.error(`[reproduce] ${problems.length} problem(s):\n  - ${problems.join('\n  - ')}`);
    return 1;
  }
  console.log('[reproduce] every figure and table of the paper is in figures/ and tables/; no notebook has an error output');
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
