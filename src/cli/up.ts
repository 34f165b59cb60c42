// `rebound up`: starts the control plane of a rebound.yaml (services, gateways, healing, API) and
// keeps it running until SIGTERM or SIGINT; SIGHUP reloads the config.

import { type FaultProxyServer, startToxiproxyApi } from '../chaos/index.ts';
import {
  type ControlPlane,
  formatProblem,
  isConfigError,
  loadConfig,
  startControlPlane,
} from '../healing/index.ts';
import { dashboardRoutes } from '../server/dashboardRoutes.ts';
import { startApiServer } from '../server/index.ts';
import { type CliOutput, type Command, parseCommandArgs } from './command.ts';

export const upCommand: Command = {
  name: 'up',
  summary: 'start the services of a config and keep them healthy',
  usage: `Usage: rebound up [--config FILE]

Starts every service of FILE (default: rebound.yaml) as supervised replicas behind its gateway,
watches probes, exits and metrics, heals by the config's policies, and serves the HTTP API and
dashboard on server.host:server.port. Runs until SIGTERM or Ctrl-C, then stops every replica
(SIGTERM, SIGKILL after stopGraceMs) and exits 0. SIGHUP re-reads FILE and rolls out what changed.

Options:
  -c, --config FILE  the config file (default: rebound.yaml)
  -h, --help         show this help
`,
  async run(args: readonly string[], output: CliOutput): Promise<number> {
    const parsed = parseCommandArgs(this, args, output, { config: { type: 'string', short: 'c' } });
    if (typeof parsed === 'number') return parsed;
    const file = parsed.values.config ?? 'rebound.yaml';
    let config;
    try {
      config = await loadConfig(file);
    } catch (error) {
      if (!isConfigError(error)) throw error;
      for (const problem of error.problems) output.stderr.write(`${formatProblem(file, problem)}\n`);
      output.stderr.write(`rebound up: ${file} is invalid; nothing was started\n`);
      return 1;
    }
    const log = (line: string): void => void output.stdout.write(`${line}\n`);

    // Signal handlers first: a SIGTERM while starting must stop what has started, not kill rebound
    // with Node's default action and leave its replicas behind.
    let requestStop!: (signal: string) => void;
    const stopRequested = new Promise<string>((resolve) => (requestStop = resolve));
    let plane: ControlPlane | undefined;
    const onTerm = (): void => requestStop('SIGTERM');
    const onInt = (): void => requestStop('SIGINT');
    const onHup = (): void => {
      if (!plane) return log('rebound up: still starting; SIGHUP ignored');
      plane.reload().then(
        ({ changed }) =>
          log(`rebound up: reloaded ${file}: ${changed.length ? changed.join(', ') : 'nothing changed'}`),
        (error: unknown) => {
          if (isConfigError(error)) {
            for (const problem of error.problems) log(formatProblem(file, problem));
          }
          log(`rebound up: reload refused, nothing changed: ${(error as Error).message}`);
        },
      );
    };
    process.on('SIGTERM', onTerm).on('SIGINT', onInt).on('SIGHUP', onHup);
    try {
      const started = await startControlPlane({ config, configPath: file, log });
      let server;
      try {
        server = await startApiServer({
          controlPlane: started,
          host: config.server.host,
          port: config.server.port,
          token: config.server.token,
          routes: dashboardRoutes(),
        });
      } catch (error) {
        await started.close();
        output.stderr.write(
          `rebound up: cannot serve the API on ${config.server.host}:${config.server.port}: ${(error as Error).message}\n`,
        );
        return 1;
      }
      let faultProxy: FaultProxyServer | undefined;
      const { proxyApi, proxies } = config.chaos;
      if (proxyApi) {
        try {
          faultProxy = await startToxiproxyApi({ host: proxyApi.host, port: proxyApi.port });
          await faultProxy.proxies.populate(proxies);
        } catch (error) {
          await faultProxy?.close();
          await server.close();
          await started.close();
          output.stderr.write(
            `rebound up: cannot serve the fault proxy API on ${proxyApi.host}:${proxyApi.port}: ${(error as Error).message}\n`,
          );
          return 1;
        }
      }
      plane = started;
      output.stdout.write(`rebound up: dashboard and API at ${server.url}\n`);
      if (faultProxy)
        output.stdout.write(`rebound up: Toxiproxy-compatible fault proxy API at ${faultProxy.url}\n`);
      for (const service of plane.services()) {
        const gateway = service.gateway
          ? ` gateway http://${service.gateway.host}:${service.gateway.port}`
          : '';
        output.stdout.write(`  ${service.name}: ${service.replicas.length} replica(s)${gateway}\n`);
      }

      const signal = await stopRequested;
      output.stdout.write(`rebound up: ${signal}: stopping every replica\n`);
      await server.close();
      await faultProxy?.close();
      await plane.close();
      output.stdout.write('rebound up: stopped\n');
      return 0;
    } finally {
      process.off('SIGTERM', onTerm).off('SIGINT', onInt).off('SIGHUP', onHup);
    }
  },
};
