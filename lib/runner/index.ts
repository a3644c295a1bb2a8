/** Experiment orchestration: training runs, certification logs (resume, shards, workers), merging. */
export { RunnerError, loadDataset, holdoutSplit, archOptionsOf, buildConfigModel, defaultRunDir, trainingIdentity } from './common';
export { TRAIN_LOG, LAST_DIR, BEST_DIR, EpochRecord, TrainHooks, TrainOptions, TrainResult, readTrainLog, runTraining, runCheckpointDir } from './train';
export { CertifySettings, certifySettingsOf, certifyColumns, CertifyContext, openCertifyContext, certifyImage } from './certify-core';
export { CertifyRunOptions, CertifyRunResult, parseImages, parseShard, resolveTarget, repairPartialLine, runCertify } from './certify';
export { MergeResult, mergeLogs } from './merge';
