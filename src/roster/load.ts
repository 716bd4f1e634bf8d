import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { UserError } from '../core/errors.js';
import { hostName } from '../system/identity.js';
import { packageRoot } from '../system/package.js';
import { hostRosters } from './host-roster.js';
import { expandHome } from './paths.js';
import { notARegularFile } from './special-file.js';
import {
  DEFAULT_HEARTBEAT_SECONDS,
  DEFAULT_HOLDER_SESSION,
  DEFAULT_HOST_TIMEOUT_SECONDS,
  DEFAULT_RESTART_POLICY,
  defaultFleetMaxCrashes,
  defaultWorktreeBranch,
  namesADirectory,
  RESERVED_AGENT_NAMES,
  DEFAULT_SOCKET,
  DEFAULT_WORKING_DIRECTORY,
  sessionNameFor,
  type AgentMode,
  type NotifySink,
  type OnLimit,
  type AgentSpec,
  type Roster,
  type RemoteHost,
  type RuntimeOverride,
} from './model.js';

export interface RosterIssue {
  line: number;
  column: number;
  message: string;
}

export class RosterError extends UserError {
  constructor(
    readonly file: string,
    readonly issues: RosterIssue[],
  ) {
    const lines = issues.map((issue) => `  ${file}:${issue.line}:${issue.column}: ${issue.message}`);
    super(`roster ${file} is invalid (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, {
      hint: 'fix the roster and run the command again; `mosaic fleet init --profile minimal` prints a valid example',
    });
  }
}

export interface LoadRosterOptions {
  env: NodeJS.ProcessEnv;
  /** Runtimes that need no `command` in the roster (the built-in registry). */
  knownRuntimes: readonly string[];
  /** Login name used when the roster has no tenant_id. */
  defaultTenant: string;
  /** This machine's name (agents with no `host:`, or this name or its short form, run here); default: the hostname. */
  localHost?: string;
}

export async function loadRoster(file: string, options: LoadRosterOptions): Promise<Roster> {
  const special = await notARegularFile(file);
  if (special) throw special;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`no roster at ${file}`, {
        hint: 'create one with `mosaic fleet init --profile minimal --write`, or pass --roster <path>',
      });
    }
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') {
      throw new UserError(`roster ${file} is a directory, not a file`, {
        hint: 'name the roster file with --roster <path> (the default is <config root>/roster.yaml)',
      });
    }
    throw new UserError(`cannot read roster ${file}: ${(error as Error).message}`);
  }
  return parseRoster(text, file, options);
}

export function parseRoster(text: string, file: string, options: LoadRosterOptions): Roster {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): { line: number; column: number } => {
    if (offset === undefined) return { line: 1, column: 1 };
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  if (doc.errors.length > 0) {
    throw new RosterError(
      file,
      doc.errors.map((error) => ({ ...at(error.pos[0]), message: `YAML syntax: ${firstLine(error.message)}` })),
    );
  }
  const data: unknown = doc.toJS();
  const locate = (instancePath: (string | number)[], atKey = false): { line: number; column: number } => {
    if (atKey && instancePath.length > 0) {
      // Point at the key itself (for unknown fields), not at its value.
      const parent = doc.getIn(instancePath.slice(0, -1), true);
      const pair = isMap(parent) ? parent.items.find((item) => isScalar(item.key) && item.key.value === instancePath.at(-1)) : undefined;
      const key = pair?.key as { range?: [number, number, number] } | undefined;
      if (key?.range) return at(key.range[0]);
    }
    for (let depth = instancePath.length; depth >= 0; depth -= 1) {
      const node = doc.getIn(instancePath.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node && typeof node === 'object' && node.range) return at(node.range[0]);
      if (depth === 0) break;
    }
    return { line: 1, column: 1 };
  };

  const validate = rosterValidator();
  if (!validate(data)) {
    const issues = dedupe(withoutSummaries(validate.errors ?? []).map((error) => schemaIssue(error, locate)));
    throw new RosterError(file, issues);
  }
  const roster = normalise(data as RawRoster, file, locate, options);
  if (roster.remoteAgents && roster.remoteAgents.length > 0)
    roster.hostRosters = hostRosters(data as RawRoster, Object.keys(roster.hosts ?? {}));
  return roster;
}

/* ---------- schema ---------- */

let cachedValidator: ValidateFunction | undefined;

function rosterValidator(): ValidateFunction {
  if (cachedValidator) return cachedValidator;
  const require = createRequire(import.meta.url);
  try {
    // Compiled from the schema at build time (scripts/postbuild.mjs).
    cachedValidator = require('./roster-validator.cjs') as ValidateFunction;
  } catch {
    // Running from source (unit tests): compile it now. Ajv is CommonJS; the 2020-12 build matches the schema's $schema.
    const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv').default;
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    cachedValidator = ajv.compile(require(schemaPath()) as object);
  }
  return cachedValidator;
}

export function schemaPath(): string {
  return path.join(packageRoot(), 'framework', 'fleet', 'roster.schema.json');
}

function pointerToPath(pointer: string): (string | number)[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function schemaIssue(
  error: ErrorObject,
  locate: (p: (string | number)[], atKey?: boolean) => { line: number; column: number },
): RosterIssue {
  const instancePath = pointerToPath(error.instancePath);
  const where = describePath(instancePath);
  let message: string;
  switch (error.keyword) {
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      instancePath.push(extra);
      message = `${where ? `${where}: ` : ''}unknown field "${extra}"`;
      break;
    }
    case 'required':
      message = `${where || 'roster'}: missing required field "${(error.params as { missingProperty: string }).missingProperty}"`;
      break;
    case 'pattern':
      message = `${where} must match ${(error.params as { pattern: string }).pattern}`;
      break;
    case 'const':
      message = `${where} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
      break;
    case 'enum':
      message = `${where} must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    default:
      message = `${where || 'roster'} ${error.message ?? 'is invalid'}`;
  }
  return { ...locate(instancePath, error.keyword === 'additionalProperties'), message };
}

function describePath(parts: (string | number)[]): string {
  return parts.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('');
}

/**
 * Without the schema's summary errors ("must match exactly one schema in oneOf", "property name must
 * be valid") when an error at or under the same place already says what is wrong: they name schema
 * keywords, not the roster. A summary that stands alone (both oneOf branches matched) is kept.
 */
function withoutSummaries(errors: ErrorObject[]): ErrorObject[] {
  const summary = (e: ErrorObject): boolean => ['oneOf', 'anyOf', 'propertyNames'].includes(e.keyword);
  return errors.filter(
    (e) =>
      !summary(e) || !errors.some((other) => other !== e && !summary(other) && (other.instancePath + '/').startsWith(e.instancePath + '/')),
  );
}

function dedupe(issues: RosterIssue[]): RosterIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.line}:${issue.column}:${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/* ---------- normalisation and rules beyond the schema ---------- */

type RawObject = Record<string, unknown>;
interface RawRoster extends RawObject {
  agents: RawObject[];
}

function normalise(
  raw: RawRoster,
  file: string,
  locate: (p: (string | number)[], atKey?: boolean) => { line: number; column: number },
  options: LoadRosterOptions,
): Roster {
  const issues: RosterIssue[] = [];
  const home = options.env.HOME ?? os.homedir();
  /** Read a field given in snake_case or camelCase; both with different values is an error. */
  const pick = <T>(obj: RawObject | undefined, snake: string, camel: string, where: (string | number)[]): T | undefined => {
    if (!obj) return undefined;
    const a = obj[snake] as T | undefined;
    const b = obj[camel] as T | undefined;
    if (a !== undefined && b !== undefined && JSON.stringify(a) !== JSON.stringify(b)) {
      issues.push({ ...locate([...where, camel]), message: `both ${snake} and ${camel} are set, with different values` });
    }
    return a ?? b;
  };

  const tmux = raw.tmux as RawObject | undefined;
  const heartbeat = raw.heartbeat as RawObject | undefined;
  const restart = raw.restart as RawObject | undefined;
  const defaults = raw.defaults as RawObject | undefined;
  const rawRuntimes = (raw.runtimes ?? {}) as Record<string, RawObject>;

  /** Report each of `keys` in `obj` that is a string holding a line break or NUL. */
  const singleLine = (obj: RawObject | undefined, where: (string | number)[], keys: readonly (string | number)[]): void => {
    for (const key of keys) {
      const value = obj?.[key as string];
      if (typeof value === 'string' && /[\n\r\0]/.test(value)) {
        issues.push({ ...locate([...where, key]), message: `${describePath([...where, key])} may not contain a line break or NUL` });
      }
    }
  };

  const runtimes: Record<string, RuntimeOverride> = {};
  for (const [name, value] of Object.entries(rawRuntimes)) {
    const override: RuntimeOverride = {};
    const reset = pick<string>(value, 'reset_command', 'resetCommand', ['runtimes', name]);
    if (reset !== undefined) override.resetCommand = reset;
    if (Array.isArray(value.command)) override.command = (value.command as string[]).map((arg) => expandHome(arg, home));
    if (value.env) override.env = value.env as Record<string, string>;
    const seed = pick<string>(value, 'seed_dir', 'seedDir', ['runtimes', name]);
    if (seed !== undefined) override.seedDir = path.resolve(path.dirname(path.resolve(file)), expandHome(seed, home));
    runtimes[name] = override;
  }

  // Relative directories are relative to the roster file, so a roster can travel with its work tree.
  const rosterDir = path.dirname(path.resolve(file));
  const directory = (value: string): string => path.resolve(rosterDir, expandHome(value, home));
  const warnings: string[] = [];
  // Upstream rosters put working_directory at the top level: accepted as defaults.working_directory.
  const defaultsWorkdir = pick<string>(defaults, 'working_directory', 'workingDirectory', ['defaults']);
  const topWorkdir = pick<string>(raw, 'working_directory', 'workingDirectory', []);
  if (topWorkdir !== undefined) {
    const key = raw.working_directory === undefined ? 'workingDirectory' : 'working_directory';
    const where = locate([key], true);
    if (defaultsWorkdir !== undefined) {
      issues.push({
        ...where,
        message: `top-level ${key} and defaults.working_directory are both set; keep only defaults: working_directory`,
      });
    } else {
      warnings.push(
        `${file}:${where.line}: top-level ${key} (upstream's shorthand) is read as defaults.working_directory; move it under "defaults:"`,
      );
    }
  }
  const defaultWorkingDirectory = directory(defaultsWorkdir ?? topWorkdir ?? DEFAULT_WORKING_DIRECTORY);
  const defaultMode = (defaults?.mode as AgentMode | undefined) ?? 'safe';
  const defaultModel = defaults?.model as string | undefined;
  const defaultOnLimit = pick<OnLimit>(defaults, 'on_limit', 'onLimit', ['defaults']);
  const defaultApprovalTimeout = pick<number>(defaults, 'approval_timeout_seconds', 'approvalTimeoutSeconds', ['defaults']);
  const requiredFiles = new Set<string>();
  const personaFile = (value: string | undefined, where: (string | number)[], key: string): string | undefined => {
    if (value === undefined) return undefined;
    const resolved = directory(value);
    requiredFiles.add(resolved);
    if (!existsSync(resolved)) issues.push({ ...locate([...where, key]), message: `persona file ${resolved} does not exist` });
    return resolved;
  };
  const defaultPersona = personaFile(
    pick<string>(defaults, 'persona_file', 'personaFile', ['defaults']),
    ['defaults'],
    defaults?.persona_file === undefined ? 'personaFile' : 'persona_file',
  );

  const localHost = options.localHost ?? hostName(options.env);
  const hosts: Record<string, RemoteHost> = {};
  for (const [name, entry] of Object.entries((raw.hosts ?? {}) as Record<string, RawObject>)) {
    const where = ['hosts', name];
    if (name === localHost || name === localHost.split('.')[0]) {
      issues.push({ ...locate(where, true), message: `hosts.${name} is this machine's own name; its agents need no host: entry` });
    }
    const mosaic = entry.mosaic === undefined ? ['mosaic'] : typeof entry.mosaic === 'string' ? [entry.mosaic] : (entry.mosaic as string[]);
    const identityFile = pick<string>(entry, 'identity_file', 'identityFile', where);
    const sshConfig = pick<string>(entry, 'ssh_config', 'sshConfig', where);
    singleLine(entry, where, ['ssh', 'identity_file', 'identityFile', 'ssh_config', 'sshConfig']);
    if (typeof entry.ssh === 'string' && (entry.ssh.startsWith('-') || /\s/.test(entry.ssh))) {
      issues.push({
        ...locate([...where, 'ssh']),
        message: `hosts.${name}.ssh "${entry.ssh}" must not start with "-" or contain whitespace (ssh would read it as options); give user@address or an ssh config alias`,
      });
    }
    mosaic.forEach((_, i) => singleLine(mosaic as unknown as RawObject, [...where, 'mosaic'], [i]));
    const host: RemoteHost = {
      name,
      ssh: entry.ssh as string,
      mosaic,
      timeoutSeconds: pick<number>(entry, 'timeout_seconds', 'timeoutSeconds', where) ?? DEFAULT_HOST_TIMEOUT_SECONDS,
    };
    if (entry.port !== undefined) host.port = entry.port as number;
    if (identityFile !== undefined) host.identityFile = directory(identityFile);
    if (sshConfig !== undefined) host.sshConfig = directory(sshConfig);
    hosts[name] = host;
  }
  /** The remote host an entry names, or undefined for this machine; an unknown name is an issue. */
  const hostOf = (entry: RawObject, where: (string | number)[]): string | undefined => {
    const name = entry.host as string | undefined;
    if (name === undefined || name === localHost || name === localHost.split('.')[0]) return undefined;
    if (hosts[name]) return name;
    issues.push({
      ...locate([...where, 'host']),
      message: `agent "${String(entry.name)}" names host "${name}", which is neither this machine (${localHost}) nor in hosts: (${Object.keys(hosts).join(', ') || 'none defined'})`,
    });
    return undefined;
  };
  const remoteAgents: AgentSpec[] = [];
  const onHost = (value: string | undefined): boolean =>
    value === undefined || path.isAbsolute(value) || value === '~' || value.startsWith('~/');

  const agents: AgentSpec[] = [];
  const byName = new Map<string, number>();
  const bySession = new Map<string, string>();
  raw.agents.forEach((entry, index) => {
    const where: (string | number)[] = ['agents', index];
    const name = entry.name as string;
    const runtime = entry.runtime as string;
    const line = locate(where).line;
    const previous = byName.get(name);
    if (previous !== undefined) {
      issues.push({ ...locate([...where, 'name']), message: `duplicate agent name "${name}" (first defined on line ${previous})` });
    }
    if (previous === undefined) byName.set(name, line);
    if (namesADirectory(name)) {
      // The name is a path component of the agent's files (agents/<name>/, pending/<name>/, worktrees/<name>).
      issues.push({
        ...locate([...where, 'name']),
        message: `agent name "${name}" cannot be used: it names a directory, so the agent's files would not be its own; rename the agent`,
      });
    }
    if (RESERVED_AGENT_NAMES.has(name)) {
      issues.push({
        ...locate([...where, 'name']),
        message: `agent name "${name}" is reserved: its transcript would be logs/${name}.log, the supervisor's own log; rename the agent`,
      });
    }
    const session = sessionNameFor(name);
    const clash = bySession.get(session);
    if (clash !== undefined && clash !== name) {
      issues.push({
        ...locate([...where, 'name']),
        message: `agent "${name}" maps to tmux session "${session}", which agent "${clash}" already uses (tmux turns "." into "_"); rename one of them`,
      });
    }
    bySession.set(session, name);
    if (!options.knownRuntimes.includes(runtime) && !runtimes[runtime]?.command) {
      issues.push({
        ...locate([...where, 'runtime']),
        message: `unknown runtime "${runtime}" (built-in: ${options.knownRuntimes.join(', ')}); define runtimes.${runtime}.command to launch a custom one`,
      });
    }
    const workdir = pick<string>(entry, 'working_directory', 'workingDirectory', where);
    const remote = hostOf(entry, where);
    if (remote !== undefined) {
      // Its own mosaic resolves everything else on that host; here it needs a name and where it runs.
      const dir = workdir ?? defaultsWorkdir ?? topWorkdir ?? DEFAULT_WORKING_DIRECTORY;
      if (!onHost(dir)) {
        issues.push({
          ...locate(
            workdir === undefined
              ? ['defaults']
              : [...where, entry.working_directory === undefined ? 'workingDirectory' : 'working_directory'],
          ),
          message: `agent "${name}" runs on host "${remote}": its working directory "${dir}" must be absolute or start with ~/ (a path on that host)`,
        });
      }
      const persona = pick<string>(entry, 'persona_file', 'personaFile', where);
      if (persona !== undefined && !onHost(persona)) {
        issues.push({
          ...locate([...where, entry.persona_file === undefined ? 'personaFile' : 'persona_file']),
          message: `agent "${name}" runs on host "${remote}": its persona_file "${persona}" must be absolute or start with ~/ (a path on that host)`,
        });
      }
      const spec: AgentSpec = {
        name,
        session,
        runtime,
        workingDirectory: dir,
        args: [],
        mode: (entry.mode as AgentMode | undefined) ?? defaultMode,
        line,
        host: remote,
      };
      if (entry.class !== undefined) spec.class = entry.class as string;
      remoteAgents.push(spec);
      return;
    }
    // Values that become one line of the launch spec (or of a unit's env file) cannot hold a line break.
    singleLine(entry, where, ['working_directory', 'workingDirectory', 'model']);
    (Array.isArray(entry.args) ? (entry.args as unknown[]) : []).forEach((_, i) =>
      singleLine(entry.args as RawObject, [...where, 'args'], [i]),
    );
    singleLine(entry.env as RawObject | undefined, [...where, 'env'], Object.keys((entry.env as RawObject | undefined) ?? {}));
    const spec: AgentSpec = {
      name,
      session,
      runtime,
      workingDirectory: workdir === undefined ? defaultWorkingDirectory : directory(workdir),
      args: Array.isArray(entry.args) ? (entry.args as string[]) : [],
      env: (entry.env as Record<string, string> | undefined) ?? {},
      mode: (entry.mode as AgentMode | undefined) ?? defaultMode,
      line,
    };
    const persistentPersona = pick<boolean | 'semi'>(entry, 'persistent_persona', 'persistentPersona', where);
    const resetBetweenTasks = pick<boolean>(entry, 'reset_between_tasks', 'resetBetweenTasks', where);
    if (persistentPersona === true && resetBetweenTasks === true) {
      issues.push({
        ...locate([...where, entry.reset_between_tasks === undefined ? 'resetBetweenTasks' : 'reset_between_tasks']),
        message: `agent "${name}": reset_between_tasks cannot be true when persistent_persona is true (mosaic never resets a persistent agent); drop one, or use persistent_persona: semi`,
      });
    }
    const optional = {
      class: entry.class as string | undefined,
      model: (entry.model as string | undefined) ?? defaultModel,
      modelHint: pick<string>(entry, 'model_hint', 'modelHint', where),
      personaFile:
        personaFile(
          pick<string>(entry, 'persona_file', 'personaFile', where),
          where,
          entry.persona_file === undefined ? 'personaFile' : 'persona_file',
        ) ?? defaultPersona,
      persistentPersona,
      resetBetweenTasks,
      kickstartTemplate: pick<string>(entry, 'kickstart_template', 'kickstartTemplate', where),
      worktree:
        entry.worktree === true
          ? { branch: defaultWorktreeBranch(name), explicit: false }
          : typeof entry.worktree === 'string'
            ? { branch: entry.worktree, explicit: true }
            : undefined,
      onLimit: pick<OnLimit>(entry, 'on_limit', 'onLimit', where) ?? defaultOnLimit,
      approvalTimeoutSeconds: pick<number>(entry, 'approval_timeout_seconds', 'approvalTimeoutSeconds', where) ?? defaultApprovalTimeout,
    };
    for (const [key, value] of Object.entries(optional)) {
      if (value !== undefined) (spec as unknown as RawObject)[key] = value;
    }
    agents.push(spec);
  });

  if (remoteAgents.length > 0) {
    // What other hosts' rosters share is read on those hosts: a path relative to this roster means nothing there.
    const shared: [RawObject | undefined, (string | number)[], string][] = [
      [defaults, ['defaults'], 'persona_file'],
      [defaults, ['defaults'], 'personaFile'],
      ...Object.keys(rawRuntimes).flatMap((name): [RawObject | undefined, (string | number)[], string][] => [
        [rawRuntimes[name], ['runtimes', name], 'seed_dir'],
        [rawRuntimes[name], ['runtimes', name], 'seedDir'],
      ]),
    ];
    for (const [obj, where, key] of shared) {
      const value = obj?.[key];
      if (typeof value === 'string' && !onHost(value)) {
        issues.push({
          ...locate([...where, key]),
          message: `${describePath([...where, key])} "${value}" is shared with other hosts (hosts:), so it must be absolute or start with ~/`,
        });
      }
    }
  }

  const notifySink = (sink: RawObject, where: (string | number)[]): NotifySink => {
    const kinds = ['exec', 'webhook', 'desktop'].filter((kind) => sink[kind] !== undefined);
    if (kinds.length !== 1) {
      issues.push({
        ...locate(where),
        message: `${describePath(where)}: give exactly one of exec, webhook, desktop${kinds.length ? ` (found ${kinds.join(' and ')})` : ''}`,
      });
    }
    const target = (
      sink.exec !== undefined
        ? { exec: sink.exec as string[] }
        : sink.webhook !== undefined
          ? { webhook: sink.webhook as string }
          : { desktop: true }
    ) as NotifySink;
    const extra = {
      on: sink.on as NotifySink['on'],
      dwellSeconds: pick<number>(sink, 'dwell_seconds', 'dwellSeconds', where),
      cooldownSeconds: pick<number>(sink, 'cooldown_seconds', 'cooldownSeconds', where),
      name: sink.name as string | undefined,
    };
    for (const [key, value] of Object.entries(extra)) if (value !== undefined) (target as RawObject)[key] = value;
    return target;
  };
  const holderSession = pick<string>(tmux, 'holder_session', 'holderSession', ['tmux']) ?? DEFAULT_HOLDER_SESSION;
  // Point at each offending agent's name, as every other per-agent rule does (not at tmux:).
  raw.agents.forEach((entry, index) => {
    const name = entry.name as string;
    if (sessionNameFor(name) !== holderSession) return;
    issues.push({
      ...locate(['agents', index, 'name']),
      message: `agent "${name}" uses the holder session name "${holderSession}"`,
    });
  });
  const policy = {
    backoffInitialMs:
      pick<number>(restart, 'backoff_initial_ms', 'backoffInitialMs', ['restart']) ?? DEFAULT_RESTART_POLICY.backoffInitialMs,
    backoffMaxMs: pick<number>(restart, 'backoff_max_ms', 'backoffMaxMs', ['restart']) ?? DEFAULT_RESTART_POLICY.backoffMaxMs,
    maxCrashes: pick<number>(restart, 'max_crashes', 'maxCrashes', ['restart']) ?? DEFAULT_RESTART_POLICY.maxCrashes,
    windowSeconds: pick<number>(restart, 'window_seconds', 'windowSeconds', ['restart']) ?? DEFAULT_RESTART_POLICY.windowSeconds,
    fleetMaxCrashes: pick<number>(restart, 'fleet_max_crashes', 'fleetMaxCrashes', ['restart']) ?? defaultFleetMaxCrashes(agents.length),
  };
  if (policy.backoffInitialMs > policy.backoffMaxMs) {
    const given = (key: string): boolean => restart?.[key] !== undefined;
    const maxGiven = given('backoff_max_ms') || given('backoffMaxMs');
    issues.push({
      ...locate(['restart', ['backoff_initial_ms', 'backoffInitialMs', 'backoff_max_ms', 'backoffMaxMs'].find(given)!]),
      message:
        `restart.backoff_initial_ms (${policy.backoffInitialMs}) is more than restart.backoff_max_ms (${policy.backoffMaxMs}` +
        `${maxGiven ? '' : ', its default'}): the first wait would be longer than the longest`,
    });
  }
  const roster: Roster = {
    file,
    version: 1,
    tenantId: pick<string>(raw, 'tenant_id', 'tenantId', []) ?? options.defaultTenant,
    supervisor: (raw.supervisor as Roster['supervisor'] | undefined) ?? 'builtin',
    supervisorSource: raw.supervisor === undefined ? 'default' : 'roster',
    socketName: options.env.MOSAIC_TMUX_SOCKET || (pick<string>(tmux, 'socket_name', 'socketName', ['tmux']) ?? DEFAULT_SOCKET),
    holderSession,
    heartbeatIntervalSeconds: pick<number>(heartbeat, 'interval_seconds', 'intervalSeconds', ['heartbeat']) ?? DEFAULT_HEARTBEAT_SECONDS,
    restart: policy,
    defaultWorkingDirectory,
    runtimes,
    agents,
    hosts,
    remoteAgents,
    localHost,
    notify: ((raw.notify ?? []) as RawObject[]).map((sink, i) => notifySink(sink, ['notify', i])),
    warnings,
    requiredFiles: [...requiredFiles],
  };
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(roster.socketName)) {
    issues.push({ line: 1, column: 1, message: `MOSAIC_TMUX_SOCKET "${roster.socketName}" must match ^[A-Za-z0-9_][A-Za-z0-9_.-]*$` });
  }
  if (issues.length > 0) throw new RosterError(file, issues);
  return roster;
}
