/**
 * Download with a progress bar and a checksum, written to a temp file and
 * renamed into place, so an interrupted download never looks complete.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as cliProgress from 'cli-progress';

/** The official CIFAR-10 binary release and its published md5. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const CIFAR10_TARBALL = 'cifar-10-binary.tar.gz';

export interface DownloadOptions {
  /** Expected md5 (hex) of the whole file; a mismatch is an error and nothing is kept. */
  md5?: string;
  /** Show a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
}

/** md5 of a file, streamed. */
export async function md5File(file: string): Promise<string> {
  const h = crypto.createHash('md5');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} kB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** Fetch `url` to `dest` (temp file + rename), checking md5 when given. Returns dest. */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<string> {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    const cause = (e as Error & { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new Error(`could not reach ${url} (${cause}); download it by hand and place it at ${dest}`);
  }
  if (!res.ok || !res.body) {
    throw new Error(`${url}: HTTP ${res.status} ${res.statusText}; download it by hand and place it at ${dest}`);
  }
  const total = Number(res.headers.get('content-length') ?? 0);
  const showBar = options.progress ?? Boolean(process.stderr.isTTY);
  const bar = showBar
    ? new cliProgress.SingleBar(
        {
          format: `${path.basename(dest)} [{bar}] {percentage}% | {got}/{size} | {rate}/s | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
          etaBuffer: 50,
          // Asked for explicitly: print even when stderr is not a terminal (every 2 s).
          noTTYOutput: options.progress === true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const t0 = Date.now();
  bar?.start(total > 0 ? total : 1, 0, { got: formatBytes(0), size: total > 0 ? formatBytes(total) : '?', rate: '0 B' });

  const tmp = `${dest}.${process.pid}.tmp`;
  const hash = crypto.createHash('md5');
  const out = fs.createWriteStream(tmp);
  let got = 0;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      got += chunk.length;
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      const secs = Math.max((Date.now() - t0) / 1000, 1e-3);
      bar?.update(total > 0 ? got : 0, { got: formatBytes(got), rate: formatBytes(Math.round(got / secs)) });
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  } catch (e) {
    out.destroy();
    fs.rmSync(tmp, { force: true });
    bar?.stop();
    throw new Error(`${url}: download interrupted after ${formatBytes(got)} (${(e as Error).message}); try again`);
  }
  bar?.stop();
  if (total > 0 && got !== total) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${url}: got ${got} bytes but the server announced ${total}; try again`);
  }
  const md5 = hash.digest('hex');
  if (options.md5 && md5 !== options.md5.toLowerCase()) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${url}: md5 ${md5} does not match the expected ${options.md5}; the download is corrupt or the file changed (nothing was saved)`);
  }
  fs.renameSync(tmp, dest);
  return dest;
}

export interface Cifar10DownloadOptions extends DownloadOptions {
  /** Where to fetch from (default: the official address). */
  url?: string;
  /** Expected md5 (default: the official one). */
  md5?: string;
  /** Called with a short status line ("using cached ...", "downloading ..."). */
  log?: (line: string) => void;
}

/**
 * Make sure `<cacheDir>/cifar-10-binary.tar.gz` is present and has the
 * expected md5, downloading it when not. Returns its path.
 */
export async function downloadCifar10(cacheDir: string, options: Cifar10DownloadOptions = {}): Promise<string> {
  const url = options.url ?? CIFAR10_URL;
  const md5 = options.md5 ?? CIFAR10_MD5;
  const log = options.log ?? (() => undefined);
  const dest = path.join(cacheDir, CIFAR10_TARBALL);
  if (fs.existsSync(dest)) {
    const have = await md5File(dest);
    if (have === md5.toLowerCase()) {
      log(`using cached ${dest} (md5 ok)`);
      return dest;
    }
    log(`${dest} has md5 ${have}, expected ${md5}: downloading again`);
  }
  log(`downloading ${url} to ${dest}`);
  return downloadFile(url, dest, { md5, progress: options.progress });
}
