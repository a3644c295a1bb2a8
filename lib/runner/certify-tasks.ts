/**
 * Pool tasks of `splitz certify --workers K` (lib/parallel): each worker opens
 * the checkpoint and the test set once, then certifies the images it is sent.
 */
import { registerTask } from '../parallel/registry';
import { ExperimentConfig } from '../config';
import { CertifyRecord } from '../eval/log';
import { CertifyContext, CertifySettings, certifyImage, openCertifyContext } from './certify-core';

let ctx: CertifyContext | undefined;

export const OPEN_TASK = 'splitz.certify.open';
export const IMAGE_TASK = 'splitz.certify.image';

registerTask(OPEN_TASK, async (p: { checkpoint: string; dataset: ExperimentConfig['dataset']; settings: CertifySettings }) => {
  ctx?.model.dispose();
  // The worker's core is taken by its own f_R: no extra noise thread.
  ctx = await openCertifyContext(p.checkpoint, p.dataset, p.settings, false);
  return true;
});

registerTask(IMAGE_TASK, async (idx: number): Promise<CertifyRecord> => {
  if (!ctx) throw new Error(`${IMAGE_TASK}: run ${OPEN_TASK} first`);
  return certifyImage(ctx, idx);
});
