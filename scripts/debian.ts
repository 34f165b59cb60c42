// Installing what tests and benchmarks need from Debian's packages (PostgreSQL, Alertmanager,
// promtool, nginx, wrk) when it is missing, as root with apt-get; otherwise a clear error saying how.

import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The full path of `command` on PATH (or `command` itself when it is a path), if executable. */
export function which(command: string): string | undefined {
  if (command.includes('/')) return isExecutable(command) ? command : undefined;
  for (const directory of (process.env.PATH ?? '').split(delimiter)) {
    if (directory && isExecutable(join(directory, command))) return join(directory, command);
  }
  return undefined;
}

function runToStderr(command: string, args: readonly string[], hint: string): void {
  // stdout goes to stderr too: callers' stdout may carry a result (a URL).
  const result = spawnSync(command, args, {
    stdio: ['ignore', 2, 2],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` failed with exit code ${result.status}. ${hint}`);
  }
}

/** Installs Debian packages with apt-get; throws with `hint` when that cannot be done here. */
export function aptInstall(packages: readonly string[], hint: string, log: (line: string) => void): void {
  const root = process.getuid?.() === 0;
  if (process.platform !== 'linux' || !root || !which('apt-get')) {
    const why = !root ? 'not running as root' : 'apt-get is not available';
    throw new Error(`${packages.join(', ')} cannot be installed automatically (${why}). ${hint}`);
  }
  log(`installing Debian package(s) ${packages.join(', ')} (apt-get update, then apt-get install)`);
  // Another apt run (or a second test process installing at the same time) holds dpkg's lock: wait.
  const wait = ['-o', 'DPkg::Lock::Timeout=300'];
  runToStderr('apt-get', [...wait, 'update'], hint);
  runToStderr('apt-get', [...wait, 'install', '-y', '--no-install-recommends', ...packages], hint);
}

/** Makes sure every `binary` exists, installing the packages of those missing in one apt-get run. */
export function ensureTools(
  tools: readonly { binary: string; package: string }[],
  log: (line: string) => void,
): void {
  const missing = tools.filter((tool) => !which(tool.binary));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => tool.package))];
  aptInstall(packages, `Install them: \`sudo apt-get install ${packages.join(' ')}\`.`, log);
  const still = missing.filter((tool) => !which(tool.binary));
  if (still.length > 0) {
    throw new Error(
      `installed ${packages.join(', ')} but ${still.map((tool) => tool.binary).join(', ')} is still missing`,
    );
  }
}
