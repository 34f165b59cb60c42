// What `npm test` runs after typecheck and lint: every test file, with a throwaway PostgreSQL server
// for the tests that need one (its URL in REBOUND_TEST_POSTGRES_URL), stopped afterwards.
//
//   npm test                                  all of src/**/*.test.ts and test/**/*.test.ts
//   npm test -- src/store/postgres.test.ts    only these files (options such as
//                                             --test-name-pattern=… are passed to node --test)
// With REBOUND_TEST_POSTGRES_URL already set, that server is used and none is started.

import { spawn } from 'node:child_process';
import { ensureTools } from './debian.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from './postgres.ts';

/** Real peers the end-to-end tests talk to, installed from Debian's packages when missing. */
const PEERS = [
  { binary: 'prometheus-alertmanager', package: 'prometheus-alertmanager' },
  { binary: 'promtool', package: 'prometheus' },
];

const DEFAULT_FILES = ['src/**/*.test.ts', 'test/**/*.test.ts'];

function log(line: string): void {
  process.stderr.write(`[test] ${line}\n`);
}

async function main(args: string[]): Promise<number> {
  const files = args.filter((arg) => !arg.startsWith('-'));
  const options = args.filter((arg) => arg.startsWith('-'));

  ensureTools(PEERS, log);
  let server: ThrowawayPostgres | undefined;
  let url = process.env.REBOUND_TEST_POSTGRES_URL;
  if (url) {
    log('using the PostgreSQL server of REBOUND_TEST_POSTGRES_URL');
  } else {
    server = await startThrowawayPostgres();
    url = server.url;
  }

  try {
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--test',
        '--test-reporter=spec',
        ...options,
        ...(files.length > 0 ? files : DEFAULT_FILES),
      ],
      { stdio: 'inherit', env: { ...process.env, REBOUND_TEST_POSTGRES_URL: url } },
    );
    // A signal ends the test run first (passed on, in case it was sent to us alone), then the
    // server stops in `finally`.
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
      child.once('error', fail);
      child.once('exit', (exitCode, exitSignal) => done([exitCode, exitSignal]));
    });
    return code ?? (signal === 'SIGINT' ? 130 : 1);
  } finally {
    if (server) {
      const began = performance.now();
      await server.stop();
      log(
        `PostgreSQL: started in ${server.startMs} ms, stopped in ${Math.round(performance.now() - began)} ms`,
      );
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
