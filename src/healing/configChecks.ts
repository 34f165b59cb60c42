// Checks across fields of rebound.yaml (references, cycles, ports, bounds) that a per-field schema
// cannot make, and the experiment files its chaos schedules name.

import { readFileSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import {
  cronProblem,
  type Experiment,
  isExperimentError,
  parseExperiment,
  timezoneProblem,
} from '../chaos/index.ts';
import { CommandLineError, splitCommand } from './commandLine.ts';
import type { PathSegment } from './configErrors.ts';
import { CONFIG_DEFAULTS } from './configSchema.ts';
import { EXPERIMENT_ROLLBACK_ACTIONS, PREDICTIVE_OPS } from './configTypes.ts';

export interface CheckProblem {
  readonly path: readonly PathSegment[];
  readonly message: string;
  readonly atKey?: boolean;
}

export const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const STORE_SCHEMES = /^(sqlite:|postgres:\/\/|postgresql:\/\/|memory:$)/;

type Json = Record<string, unknown>;
const asObject = (value: unknown): Json | undefined =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
const asArray = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const asNumber = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** True for 127.0.0.0/8, ::1 and localhost: the addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Runs every cross-field check on the (env-substituted) document; tolerant of values of the wrong type. */
export function crossCheck(document: unknown): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const add = (path: PathSegment[], message: string, atKey = false) =>
    problems.push({ path, message, atKey });
  const root = asObject(document);
  if (!root) return problems;

  if (typeof root.store === 'string' && !STORE_SCHEMES.test(root.store)) {
    add(
      ['store'],
      "must be a URL starting with 'sqlite:', 'postgres://', 'postgresql://' or exactly 'memory:'",
    );
  }

  const server = asObject(root.server) ?? {};
  const host = typeof server.host === 'string' ? server.host : CONFIG_DEFAULTS.server.host;
  if (!isLoopback(host) && (typeof server.token !== 'string' || server.token === '')) {
    add(['server', 'token'], `is required when server.host is not a loopback address (host is ${host})`);
  }
  const serverPort =
    asNumber(server.port) ?? (server.port === undefined ? CONFIG_DEFAULTS.server.port : undefined);

  const services = asObject(root.services);
  const names = new Set(services ? Object.keys(services) : []);
  if (services && names.size === 0) add(['services'], 'must define at least one service');
  const known = (name: unknown) => typeof name === 'string' && names.has(name);

  const ports = new Map<number, string>();
  if (serverPort) ports.set(serverPort, 'server.port');
  const proxyApi = asObject(asObject(root.chaos)?.proxyApi);
  if (proxyApi) {
    const proxyPort =
      proxyApi.port === undefined ? CONFIG_DEFAULTS.chaos.proxyApi.port : asNumber(proxyApi.port);
    if (proxyPort && ports.has(proxyPort)) {
      add(['chaos', 'proxyApi', 'port'], `port ${proxyPort} is already used by ${ports.get(proxyPort)}`);
    } else if (proxyPort) ports.set(proxyPort, 'chaos.proxyApi.port');
  }

  for (const [name, value] of Object.entries(services ?? {})) {
    const at = (...rest: PathSegment[]): PathSegment[] => ['services', name, ...rest];
    if (!SERVICE_NAME.test(name)) {
      add(at(), 'service names use letters, digits, "-", "_" and "." and start with a letter or digit', true);
    }
    const service = asObject(value);
    if (!service) continue;
    if (typeof service.command === 'string') checkCommand(service.command, at('command'), add);

    const replicas =
      typeof service.replicas === 'number' ? { count: service.replicas } : asObject(service.replicas);
    if (replicas) {
      // Negative values are the schema's to report; comparing them too would say the same thing twice.
      const bounded = (value: unknown) => ((asNumber(value) ?? -1) >= 0 ? (value as number) : undefined);
      const count = bounded(replicas.count);
      const min = bounded(replicas.min);
      const max = bounded(replicas.max);
      if (min !== undefined && max !== undefined && min > max) {
        add(at('replicas', 'min'), `must be <= replicas.max (${max}), got ${min}`);
      }
      if (count !== undefined && min !== undefined && count < min) {
        add(at('replicas', 'count'), `must be >= replicas.min (${min}), got ${count}`);
      }
      if (count !== undefined && max !== undefined && count > max) {
        add(at('replicas', 'count'), `must be <= replicas.max (${max}), got ${count}`);
      }
    }

    const gatewayPort = asNumber(asObject(service.gateway)?.port);
    if (gatewayPort) {
      const owner = ports.get(gatewayPort);
      if (owner) add(at('gateway', 'port'), `port ${gatewayPort} is already used by ${owner}`);
      else ports.set(gatewayPort, `services.${name}.gateway.port`);
    }

    const health = asObject(service.health);
    if (health) {
      const kinds = ['http', 'tcp', 'exec'].filter((kind) => health[kind] !== undefined);
      if (kinds.length > 1) add(at('health'), `give one probe, not ${kinds.join(' and ')}`);
      const exec = asObject(health.exec);
      if (typeof exec?.command === 'string') checkCommand(exec.command, at('health', 'exec', 'command'), add);
    }

    asArray(service.dependsOn).forEach((dependency, index) => {
      if (dependency === name) add(at('dependsOn', index), 'a service cannot depend on itself');
      else if (typeof dependency === 'string' && !known(dependency)) {
        add(at('dependsOn', index), `unknown service ${JSON.stringify(dependency)}`);
      }
    });

    const failover = asObject(service.failover);
    if (failover && typeof failover.target === 'string') {
      if (failover.target === name) add(at('failover', 'target'), 'a service cannot fail over to itself');
      else if (!known(failover.target))
        add(at('failover', 'target'), `unknown service ${JSON.stringify(failover.target)}`);
    }

    const autoscale = asObject(service.autoscale);
    if (autoscale) {
      const min = asNumber(autoscale.min);
      const max = asNumber(autoscale.max);
      if (min !== undefined && max !== undefined && min > max) {
        add(at('autoscale', 'min'), `must be <= autoscale.max (${max}), got ${min}`);
      }
    }
  }

  for (const cycle of dependencyCycles(services ?? {})) {
    add(['services', cycle[0]!, 'dependsOn'], `dependency cycle: ${cycle.join(' -> ')}`);
  }

  const policyNames = new Map<string, number>();
  asArray(root.policies).forEach((value, index) => {
    const policy = asObject(value);
    if (!policy) return;
    if (typeof policy.name === 'string') {
      const first = policyNames.get(policy.name);
      if (first !== undefined) add(['policies', index, 'name'], `duplicates the name of policies.${first}`);
      else policyNames.set(policy.name, index);
    }
    asArray(policy.services).forEach((service, position) => {
      if (typeof service === 'string' && !known(service)) {
        add(['policies', index, 'services', position], `unknown service ${JSON.stringify(service)}`);
      }
    });
    asArray(policy.when).forEach((condition, position) => {
      const { op, predictedWithinMs } = asObject(condition) ?? {};
      const predictive = (PREDICTIVE_OPS as readonly unknown[]).includes(op);
      if (predictedWithinMs !== undefined && typeof op === 'string' && !predictive) {
        add(
          ['policies', index, 'when', position, 'predictedWithinMs'],
          `applies only to gt, gte, lt and lte (a trend says when a threshold is crossed, not when a value equals another), got op ${op}`,
        );
      }
    });
    asArray(policy.do).forEach((action, position) => {
      const target = asObject(asObject(action)?.failover)?.target;
      if (typeof target === 'string' && !known(target)) {
        add(
          ['policies', index, 'do', position, 'failover', 'target'],
          `unknown service ${JSON.stringify(target)}`,
        );
      }
    });
  });

  for (const service of Object.keys(asObject(root.permissions) ?? {})) {
    if (!known(service)) add(['permissions', service], `unknown service ${JSON.stringify(service)}`, true);
  }

  problems.push(...checkGroups(root, services ?? {}));

  asArray(root.escalation).forEach((value, index) => {
    const webhook = asObject(asObject(value)?.webhook);
    if (!webhook) return;
    if (typeof webhook.url === 'string' && !isHttpUrl(webhook.url)) {
      add(['escalation', index, 'webhook', 'url'], 'must be an http:// or https:// URL');
    }
    if (webhook.format === 'pagerduty' && webhook.routingKey === undefined) {
      add(
        ['escalation', index, 'webhook', 'routingKey'],
        'is required for format pagerduty (the Events API v2 integration key)',
      );
    }
  });

  return problems;
}

/** `groups`, each service's `group` and `global.addCapacity`: the hierarchy of controllers (docs/control.md). */
function checkGroups(root: Json, services: Json): CheckProblem[] {
  const problems: CheckProblem[] = [];
  const add = (path: PathSegment[], message: string, atKey = false): void => {
    problems.push({ path, message, atKey });
  };
  const groups = asObject(root.groups) ?? {};
  const groupNames = Object.keys(groups);
  const members = new Map<string, string[]>(groupNames.map((name) => [name, []]));
  for (const [name, value] of Object.entries(services)) {
    const group = asObject(value)?.group;
    if (typeof group !== 'string') continue;
    const list = members.get(group);
    if (list) list.push(name);
    else {
      const known = groupNames.length === 0 ? 'no groups are defined' : `known: ${groupNames.join(', ')}`;
      add(['services', name, 'group'], `unknown group ${JSON.stringify(group)} (${known})`);
    }
  }
  for (const name of groupNames) {
    if (!SERVICE_NAME.test(name)) {
      add(
        ['groups', name],
        'group names use letters, digits, "-", "_" and "." and start with a letter or digit',
        true,
      );
    }
    if (members.get(name)!.length === 0) {
      add(['groups', name], `has no member: give its services \`group: ${name}\``, true);
    }
    const seen = new Set<unknown>();
    asArray(asObject(groups[name])?.shed).forEach((shed, index) => {
      const at: PathSegment[] = ['groups', name, 'shed', index];
      if (typeof shed !== 'string') return;
      if (seen.has(shed)) return add(at, `${JSON.stringify(shed)} is listed twice`);
      seen.add(shed);
      const service = asObject(services[shed]);
      if (!Object.hasOwn(services, shed)) return add(at, `unknown service ${JSON.stringify(shed)}`);
      if (!members.get(name)!.includes(shed)) {
        return add(at, `${shed} is not in group ${name}: give it \`group: ${name}\``);
      }
      const missing = ['gateway', 'fallback'].filter((key) => service?.[key] === undefined);
      if (missing.length > 0) {
        add(
          at,
          `${shed} needs a ${missing.join(' and a ')} to be shed (its gateway answers with its fallback)`,
        );
      }
    });
  }
  const addCapacity = asObject(root.global)?.addCapacity;
  const command = typeof addCapacity === 'string' ? addCapacity : asObject(addCapacity)?.command;
  if (typeof command === 'string') {
    const path =
      typeof addCapacity === 'string' ? ['global', 'addCapacity'] : ['global', 'addCapacity', 'command'];
    checkCommand(command, path, add);
  }
  return problems;
}

/** A schedule's name: the one given, else its experiment file's base name without the extension. */
export function scheduleName(name: unknown, file: string): string {
  return typeof name === 'string' ? name : basename(file, extname(file));
}

/**
 * Reads and checks the experiment of every `chaos.schedules` entry (paths relative to `directory`),
 * and the rules of a schedule the schema cannot say; answers the experiments parsed, by index.
 */
export function checkSchedules(
  document: unknown,
  directory: string,
): { problems: CheckProblem[]; experiments: Map<number, Experiment> } {
  const problems: CheckProblem[] = [];
  const experiments = new Map<number, Experiment>();
  const root = asObject(document);
  const services = new Set(Object.keys(asObject(root?.services) ?? {}));
  const names = new Map<string, number>();
  asArray(asObject(root?.chaos)?.schedules).forEach((value, index) => {
    const schedule = asObject(value);
    if (!schedule) return;
    const at = (...rest: PathSegment[]): PathSegment[] => ['chaos', 'schedules', index, ...rest];
    const add = (path: PathSegment[], message: string) => problems.push({ path, message });

    if ((schedule.every === undefined) === (schedule.cron === undefined)) {
      add(at(), 'give exactly one of every (milliseconds) and cron (a pattern)');
    }
    let timezoneKnown = true;
    if (typeof schedule.timezone === 'string') {
      if (schedule.cron === undefined) add(at('timezone'), 'applies only to a cron schedule');
      const problem = timezoneProblem(schedule.timezone);
      if (problem) add(at('timezone'), problem);
      timezoneKnown = problem === undefined;
    }
    if (typeof schedule.cron === 'string' && timezoneKnown) {
      const timezone = typeof schedule.timezone === 'string' ? schedule.timezone : undefined;
      const problem = cronProblem(schedule.cron, timezone);
      if (problem) add(at('cron'), `is not a valid cron pattern: ${problem}`);
    }

    const file = schedule.experiment;
    if (typeof file !== 'string' || file === '') return;
    const name = scheduleName(schedule.name, file);
    const first = names.get(name);
    if (first !== undefined) {
      add(
        at(typeof schedule.name === 'string' ? 'name' : 'experiment'),
        `the schedule name ${JSON.stringify(name)} duplicates that of chaos.schedules.${first}; give each a distinct name`,
      );
    } else names.set(name, index);

    let text: string;
    try {
      text = readFileSync(resolve(directory, file), 'utf8');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      add(at('experiment'), `cannot read ${file} (${reason})`);
      return;
    }
    try {
      const experiment = parseExperiment(text, { source: file, actions: EXPERIMENT_ROLLBACK_ACTIONS });
      if (!services.has(experiment.target)) {
        add(at('experiment'), `${file}: target: unknown service ${JSON.stringify(experiment.target)}`);
      } else experiments.set(index, experiment);
    } catch (error) {
      if (!isExperimentError(error)) throw error;
      // One problem per problem of the file, each with its own path in it.
      for (const problem of error.problems) {
        add(at('experiment'), `${file}: ${problem.path ? `${problem.path}: ` : ''}${problem.message}`);
      }
    }
  });
  return { problems, experiments };
}

function checkCommand(
  command: string,
  path: PathSegment[],
  add: (path: PathSegment[], message: string) => void,
) {
  try {
    if (splitCommand(command).length === 0) add(path, 'must name a program');
  } catch (error) {
    if (!(error instanceof CommandLineError)) throw error;
    add(path, `cannot be split into arguments: it ${error.message}`);
  }
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Each cycle once, as the names along it with the first repeated at the end. */
function dependencyCycles(services: Json): string[][] {
  const edges = (name: string) =>
    asArray(asObject(services[name])?.dependsOn).filter(
      (dependency): dependency is string =>
        typeof dependency === 'string' && dependency !== name && Object.hasOwn(services, dependency),
    );
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[][] = [];
  const stack: string[] = [];
  const visit = (name: string) => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const dependency of edges(name)) {
      if (state.get(dependency) === 'visiting')
        cycles.push([...stack.slice(stack.indexOf(dependency)), dependency]);
      else if (!state.has(dependency)) visit(dependency);
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of Object.keys(services)) if (!state.has(name)) visit(name);
  return cycles;
}
