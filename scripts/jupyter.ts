/**
 * Finding Jupyter and registering the project's TypeScript kernel.
 *
 * The kernel is tslab from this project's node_modules, registered under the
 * name `splitz` so notebooks run against the same tslab (and TypeScript)
 * version whatever else a user has installed. tslab compiles each cell with
 * its own compiler options (it does not read a tsconfig); notebooks import the
 * compiled library from ../dist, which `npm run build` produces.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..');
export const KERNEL_NAME = 'splitz';

export const INSTALL_HINT = [
  'Jupyter (nbconvert + nbclient + jupyter_client) is needed to run the notebooks.',
  '  Debian/Ubuntu:  sudo apt-get install -y --no-install-recommends jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel',
  '  elsewhere:      python3 -m pip install nbconvert nbclient jupyter_client ipykernel   (or: pip install jupyterlab)',
].join('\n');

/** The `jupyter` command to use: $JUPYTER, else `jupyter` on the PATH, else Debian's /usr/bin/jupyter. */
export function findJupyter(): string | undefined {
  const candidates = [process.env.JUPYTER, 'jupyter', '/usr/bin/jupyter'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['nbconvert', '--version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  return undefined;
}

/**
 * A Python that has nbclient and nbformat (the notebooks are executed with
 * them): $SPLITZ_PYTHON, else `python3` on the PATH, else Debian's
 * /usr/bin/python3 (which is where apt's Jupyter lives when another python3
 * comes first on the PATH).
 */
export function findPython(): string | undefined {
  const candidates = [process.env.SPLITZ_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['-c', 'import nbclient, nbformat'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  return undefined;
}

export function tslabBinary(): string {
  const bin = path.join(ROOT, 'node_modules', '.bin', 'tslab');
  if (!fs.existsSync(bin)) throw new Error(`tslab is not installed at ${bin}: run \`npm ci\` in ${ROOT}`);
  return bin;
}

/** Register (or refresh) the `splitz` kernelspec for the current user. */
export function installKernel(jupyter: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitz-kernel-'));
  const spec = {
    argv: [tslabBinary(), 'kernel', '--config-path', '{connection_file}'],
    display_name: 'TypeScript (splitz)',
    language: 'typescript',
  };
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(spec, null, 1));
  const r = spawnSync(jupyter, ['kernelspec', 'install', dir, '--user', '--name', KERNEL_NAME], { encoding: 'utf8' });
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`jupyter kernelspec install failed:\n${r.stderr}`);
  return (r.stderr + r.stdout).trim();
}
