/**
 * `splitz` command line: thin wrappers over the library's functions.
 * Every command initialises the backend through lib/backend.ts first.
 */
import { Command, CommanderError } from 'commander';
import { initBackend, formatBackendReport, BackendError } from './backend';
import { registerDataCommands } from './data/command';
import { registerAnalyzeCommand } from './commands/analyze';
import { formatToy, runToy } from './commands/toy';
import { registerTrainCommand } from './commands/train';
import { registerCertifyCommand } from './commands/certify';
import { registerMergeCommand } from './commands/merge';

/** Errors a user can act on: printed as one message, no stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('splitz')
    .description('SPLITZ: certifiable robustness via split Lipschitz randomized smoothing')
    .showHelpAfterError();

  program
    .command('backend')
    .description('show which TensorFlow.js backend splitz uses, what else is available, and why others are not')
    .action(async () => {
      const r = await initBackend();
      console.log(formatBackendReport(r));
    });

  registerAnalyzeCommand(program);

  program
    .command('toy')
    .description("the toy example of the paper's Appendix B: intervals, I^v, local and global Lipschitz bounds, computed by the library")
    .action(async () => {
      await initBackend();
      console.log(formatToy(runToy()));
    });

  registerDataCommands(program);
  registerTrainCommand(program);
  registerCertifyCommand(program);
  registerMergeCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    if (e instanceof UserError || e instanceof BackendError) {
      console.error(`splitz: ${e.message}`);
      process.exitCode = 2;
      return;
    }
    throw e;
  }
}
