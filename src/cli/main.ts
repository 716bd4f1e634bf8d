#!/usr/bin/env node
// Thin entry: answers --version without loading anything else, then hands over to the program.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  process.stdout.write(`${pkg.version}\n`);
} else {
  // A reader that stops reading (`| head`) ends our output, as SIGPIPE ends a C tool: no stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
  // A plain command line runs its verb without commander (quick.ts); anything else goes to commander.
  // Help always does (quick.ts never takes it), so it skips loading quick.js and verbs.json.
  const help = args.includes('--help') || args.includes('-h');
  const quick = help ? undefined : (await import('./quick.js')).quickRun(process.argv);
  process.exitCode = await (quick ?? (await import('./program.js')).runProgram(process.argv));
}
