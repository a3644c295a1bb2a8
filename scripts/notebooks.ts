/**
 * `npm run notebooks [-- --full] [-- NAME...]`: execute every notebook in
 * notebooks/ headless, in reading order, and stop at the first cell error.
 *
 * Executed copies go to notebooks/executed/ (ignored by git), never over the
 * sources. Quick mode (SPLITZ_SCALE=quick) is the default; `--full` sets
 * SPLITZ_SCALE=full so notebooks read the stored results of long runs.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { findJupyter, findPython, installKernel, INSTALL_HINT, KERNEL_NAME, ROOT } from './jupyter';

function main(argv: string[]): number {
  const full = argv.includes('--full');
  const names = argv.filter((a) => !a.startsWith('--'));
  const jupyter = findJupyter();
  const python = findPython();
  if (!jupyter || !python) {
    console.error(INSTALL_HINT);
    return 1;
  }
  installKernel(jupyter);
  const dir = path.join(ROOT, 'notebooks');
  const outDir = path.join(dir, 'executed');
  fs.mkdirSync(outDir, { recursive: true });
  let notebooks = fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort();
  if (names.length) {
    const unknown = names.filter((n) => !notebooks.some((f) => f.startsWith(n)));
    if (unknown.length) {
      console.error(`No notebook matches ${unknown.join(', ')}. Notebooks: ${notebooks.join(', ')}`);
      return 1;
    }
    notebooks = notebooks.filter((f) => names.some((n) => f.startsWith(n)));
  }
  const env = { ...process.env, SPLITZ_SCALE: full ? 'full' : process.env.SPLITZ_SCALE ?? 'quick' };
  for (const nb of notebooks) {
    const t0 = Date.now();
    process.stdout.write(`[notebooks] ${nb} (${env.SPLITZ_SCALE}) ... `);
    const r = spawnSync(
      python,
      [path.join(ROOT, 'scripts', 'execute_notebook.py'), path.join(dir, nb), path.join(outDir, nb), KERNEL_NAME, '3600'],
      { encoding: 'utf8', env, cwd: dir },
    );
    if (r.status !== 0) {
      console.log('FAILED');
      console.error(r.stderr);
      console.error(`[notebooks] ${nb} failed; the partly executed copy is ${path.relative(ROOT, path.join(outDir, nb))}`);
      return 1;
    }
    console.log(`ok in ${((Date.now() - t0) / 1000).toFixed(1)} s -> ${path.relative(ROOT, path.join(outDir, nb))}`);
  }
  console.log(`[notebooks] ${notebooks.length} notebook(s) executed without errors`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
