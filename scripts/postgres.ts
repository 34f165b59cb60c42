// A throwaway PostgreSQL server for tests and development: installs the server binaries from
// Debian's packages if missing, then runs a fresh cluster in a temp directory on a free loopback port.
//
//   npm run postgres              starts one, prints its postgres:// URL, keeps it until Ctrl-C
//   npm run postgres -- --install only makes sure the server binaries are installed
//
// The server runs under a small shell watchdog that reads our stdin: when this process ends in any
// way (stop(), Ctrl-C, an error, even kill -9) the pipe closes, the watchdog shuts the server down
// and removes the directory, so no server or data is left behind.

import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { aptInstall, isExecutable, which } from './debian.ts';

export interface ThrowawayPostgres {
  /** postgres://rebound:<password>@127.0.0.1:<port>/rebound */
  readonly url: string;
  readonly port: number;
  /** The temp directory holding the cluster, removed by stop(). */
  readonly directory: string;
  /** How long starting took (install excluded), in milliseconds. */
  readonly startMs: number;
  /** Shuts the server down and removes its directory; safe to call more than once. */
  stop(): Promise<void>;
}

export interface ThrowawayPostgresOptions {
  /** Where progress is told; default stderr. */
  log?: (line: string) => void;
  /** The database created for the URL; default 'rebound'. */
  database?: string;
}

const USER = 'rebound';
const READY_TIMEOUT_MS = 30_000;
const INSTALL_HINT =
  'Install the PostgreSQL server: on Debian or Ubuntu `sudo apt-get install postgresql`, on macOS ' +
  '`brew install postgresql`; or set REBOUND_POSTGRES_BIN to the directory holding initdb and postgres.';

const defaultLog = (line: string): void => {
  process.stderr.write(`[postgres] ${line}\n`);
};

function hasServer(binDirectory: string): boolean {
  return isExecutable(join(binDirectory, 'initdb')) && isExecutable(join(binDirectory, 'postgres'));
}

/** The directory holding initdb and postgres: REBOUND_POSTGRES_BIN, Debian's newest version, or PATH. */
export function findPostgresBinaries(): string | undefined {
  const explicit = process.env.REBOUND_POSTGRES_BIN;
  if (explicit) return hasServer(explicit) ? explicit : undefined;
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = join(debian, version, 'bin');
      if (hasServer(bin)) return bin;
    }
  }
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory && hasServer(directory)) return directory;
  }
  return undefined;
}

/** Finds the server binaries, installing Debian's postgresql package when root with apt-get. */
export function ensurePostgresBinaries(log: (line: string) => void = defaultLog): string {
  const found = findPostgresBinaries();
  if (found) return found;
  if (process.env.REBOUND_POSTGRES_BIN) {
    throw new Error(`REBOUND_POSTGRES_BIN=${process.env.REBOUND_POSTGRES_BIN} holds no initdb and postgres.`);
  }
  log('server binaries (initdb, postgres) not found under /usr/lib/postgresql/*/bin or on PATH');
  aptInstall(['postgresql'], INSTALL_HINT, log);
  const installed = findPostgresBinaries();
  if (!installed) throw new Error(`apt-get installed postgresql but no initdb was found. ${INSTALL_HINT}`);
  log(`installed: ${installed}`);
  return installed;
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` user (or `nobody`). */
function serverAccount(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: 'pipe' }).trim());
      return { name, uid, gid };
    } catch {
      // No such user: try the next.
    }
  }
  throw new Error(
    'running as root, and neither a `postgres` nor a `nobody` user exists to run the server as',
  );
}

/** [command, args] that run `command args` as `account` (or as ourselves when not root). */
function asAccount(
  account: { name: string } | undefined,
  command: string,
  args: string[],
): [string, string[]] {
  if (!account) return [command, args];
  if (which('runuser')) return ['runuser', ['-u', account.name, '--', command, ...args]];
  const quoted = [command, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  return ['su', ['-s', '/bin/sh', account.name, '-c', quoted]];
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

// The watchdog: starts the server in the background, stops it (immediate shutdown: the data is
// thrown away) when stdin closes, and removes the directory once the server has exited, whatever
// made it exit. Positional parameters avoid any quoting of paths.
// (A background job's stdin is /dev/null in sh, hence the watcher reads our pipe through fd 3.)
const WATCHDOG = `
bin=$1; data=$2; port=$3; sockets=$4; log=$5; directory=$6
exec 3<&0
mkdir -p "$sockets" || exit 1
"$bin/postgres" -D "$data" -p "$port" -k "$sockets" -c listen_addresses=127.0.0.1 \\
  -c fsync=on -c synchronous_commit=on -c max_connections=200 >>"$log" 2>&1 </dev/null 3<&- &
server=$!
{ cat <&3 >/dev/null; kill -QUIT "$server" 2>/dev/null; } &
exec 3<&-
wait "$server"
code=$?
rm -rf "$directory"
exit $code
`;

class StartFailure extends Error {
  readonly portTaken: boolean;
  constructor(message: string, portTaken: boolean) {
    super(message);
    this.portTaken = portTaken;
  }
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-15).join('\n');
  } catch {
    return '(no server log)';
  }
}

async function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => child.once('exit', () => done()));
}

async function startOnce(
  bin: string,
  database: string,
  log: (line: string) => void,
): Promise<ThrowawayPostgres> {
  const started = performance.now();
  const account = serverAccount();
  const directory = await mkdtemp(join(tmpdir(), 'rebound-pg-'));
  const data = join(directory, 'data');
  const logFile = join(directory, 'server.log');
  const password = randomBytes(18).toString('base64url');
  let child: ChildProcess | undefined;

  const stop = async (): Promise<void> => {
    if (child) {
      child.ref();
      child.stdin?.end();
      await waitForExit(child);
    }
    await rm(directory, { recursive: true, force: true });
  };

  try {
    if (account) chownSync(directory, account.uid, account.gid);
    const passwordFile = join(directory, 'password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    if (account) chownSync(passwordFile, account.uid, account.gid);
    // --no-sync only skips initdb's own final fsync of the template files; the running server has
    // fsync on, which is what the durable-commit measurements need.
    const [initCommand, initArgs] = asAccount(account, join(bin, 'initdb'), [
      '-D',
      data,
      `--username=${USER}`,
      `--pwfile=${passwordFile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    const init = spawnSync(initCommand, initArgs, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (init.error || init.status !== 0) {
      throw new Error(`initdb failed: ${init.error?.message ?? `${init.stderr}`.trim()}`);
    }
    await rm(passwordFile, { force: true });

    const port = await freeLoopbackPort();
    const sockets = join(directory, 'socket');
    const [command, args] = asAccount(account, '/bin/sh', [
      '-c',
      WATCHDOG,
      'rebound-postgres',
      ...[bin, data, String(port), sockets, logFile, directory],
    ]);
    // Own session (detached): a Ctrl-C in the terminal reaches us, and we stop the server in order.
    child = spawn(command, args, {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();

    const url = `postgres://${USER}:${password}@127.0.0.1:${port}`;
    await waitUntilReady(`${url}/postgres`, child, logFile);
    const admin = new pg.Client({ connectionString: `${url}/postgres` });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${database.replaceAll('"', '""')}"`);
    } finally {
      await admin.end();
    }
    const startMs = Math.round(performance.now() - started);
    log(
      `started on 127.0.0.1:${port} as ${account?.name ?? 'the current user'} in ${startMs} ms (${directory})`,
    );
    let stopping: Promise<void> | undefined;
    return {
      url: `${url}/${encodeURIComponent(database)}`,
      port,
      directory,
      startMs,
      stop: () => (stopping ??= stop()),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitUntilReady(url: string, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const tail = logTail(logFile);
      throw new StartFailure(
        `the PostgreSQL server exited while starting:\n${tail}`,
        /already in use/i.test(tail),
      );
    }
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
    }
    if (performance.now() > deadline) {
      throw new StartFailure(
        `the PostgreSQL server did not accept connections within 30 s:\n${logTail(logFile)}`,
        false,
      );
    }
    await new Promise((wake) => setTimeout(wake, 25));
  }
}

/** Installs the server if needed, then starts a throwaway cluster; call stop() when done. */
export async function startThrowawayPostgres(
  options: ThrowawayPostgresOptions = {},
): Promise<ThrowawayPostgres> {
  const log = options.log ?? defaultLog;
  const bin = ensurePostgresBinaries(log);
  // The free port is found before the server binds it: another process may take it in between.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, options.database ?? 'rebound', log);
    } catch (error) {
      if (!(error instanceof StartFailure && error.portTaken && attempt < 3)) throw error;
      log('the chosen port was taken meanwhile; trying another');
    }
  }
}

async function main(args: string[]): Promise<void> {
  if (args.includes('--install')) {
    const bin = ensurePostgresBinaries();
    defaultLog(`server binaries present: ${bin}`);
    return;
  }
  const server = await startThrowawayPostgres();
  process.stdout.write(`${server.url}\n`);
  defaultLog('export REBOUND_TEST_POSTGRES_URL=<the URL above> to point tests at it; Ctrl-C stops it');
  await new Promise<void>((done) => {
    const finish = (): void => {
      const began = performance.now();
      void server.stop().then(() => {
        defaultLog(`stopped and removed in ${Math.round(performance.now() - began)} ms`);
        done();
      });
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    process.once('SIGHUP', finish);
    // Keeps the event loop alive while the server (unref'ed) runs.
    setInterval(() => {}, 1 << 30);
  });
  process.exit(0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    defaultLog(error instanceof Error ? error.message : String(error));
    process.exit(1);
  });
}
