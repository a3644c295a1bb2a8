/**
 * The code version a result was made with, for its provenance (run.json of
 * the campaign, provenance.json of the Lipschitz nets).
 */
import { spawnSync } from 'child_process';

/** HEAD's commit in ROOT ('unknown' outside a git checkout) and whether PATHS have uncommitted changes to tracked files. */
export function gitCommit(root: string, paths: string[] = ['lib']): { commit: string; dirty: boolean } {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', '--', ...paths], { cwd: root, encoding: 'utf8' });
  return { commit: head.status === 0 ? head.stdout.trim() : 'unknown', dirty: status.status === 0 && status.stdout.trim() !== '' };
}
