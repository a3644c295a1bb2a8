/** Certification logs and the numbers computed from them. */
export {
  COHEN_COLUMNS,
  SPLITZ_COLUMNS,
  CertifyRecord,
  CertifyLog,
  LogFormatError,
  appendRecord,
  recordFromResult,
  readCertifyLog,
  parseCertifyLog,
  columnsFor,
  formatTimedelta,
  parseTime,
} from './log';
export { RadiusRecord, AccuracyCurve, certifiedAccuracy, averageCertifiedRadius, accuracyVsRadius, parseRadii } from './metrics';
export { LogSummary, DEFAULT_RADII, summarizeLog, formatSummaryTable } from './summary';
export {
  ImageRadii,
  PairedAccuracy,
  PairedAcr,
  PairedAgreement,
  recordRadii,
  mcnemarExact,
  pairedAccuracy,
  pairedAcr,
  pairedAgreement,
} from './paired';
