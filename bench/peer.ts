/**
 * The PyTorch peer (../shared/bench/torch_peer.py) run from the benchmark, so
 * that both sides are measured in the same invocation on the same machine.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface PeerResult {
  workload: string;
  threads: number;
  samples_per_s: number;
}

/** The peer script: --peer, SPLITZ_TORCH_PEER, or ../shared/bench/torch_peer.py beside the repository. */
export function findPeerScript(explicit?: string): string | undefined {
  const cands = [explicit, process.env.SPLITZ_TORCH_PEER, path.resolve(__dirname, '..', '..', 'shared', 'bench', 'torch_peer.py')].filter(
    (p): p is string => !!p,
  );
  return cands.find((p) => fs.existsSync(p));
}

/** A python interpreter that imports torch: --python, then Debian's /usr/bin/python3, then python3 on the PATH. */
export function findTorchPython(explicit?: string): { python: string; torch: string } | undefined {
  for (const py of [explicit, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(py, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 60000 });
    if (r.status === 0) return { python: py, torch: r.stdout.trim() };
  }
  return undefined;
}

export function runPeer(python: string, script: string, threads: number, seconds: number): PeerResult[] {
  const out = execFileSync(python, [script, '--threads', String(threads), '--seconds', String(seconds)], { encoding: 'utf8', timeout: 600000 });
  return out
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as PeerResult);
}
