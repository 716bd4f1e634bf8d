import path from 'node:path';
import { UserError } from '../core/errors.js';
import type { AgentSpec } from '../roster/model.js';
import { classifyGenerated } from './fingerprint.js';
import { agentEnvFile, renderAgentEnvFile } from './units.js';
import { writeRunFile } from '../system/fs.js';
import { packageVersion } from '../system/package.js';
import { joinCommands } from '../tmux/client.js';
import { DirectSupervisor, sessionCreateCommands } from '../supervisor/direct.js';
import { findRuntimeBinDirs, prepareAgentLaunch, renderLineFile } from '../launch/spec.js';
import { clearFleetCrashes } from '../supervisor/fleet-crashes.js';
import { launchIdentity } from '../supervisor/identity.js';
import { freshRunState, writeFreshStateCopy, writeRunState } from '../supervisor/state.js';
import type { SupervisorDeps } from '../supervisor/types.js';

/** The tmux arguments that create an agent's session, one per line, for framework/bin/mosaic-systemd-agent. */
export const unitStartFile = (runDir: string, agent: string): string => path.join(runDir, `${agent}.unit-start`);
/** The tmux arguments that set a new server up (options, hooks), one per line, for framework/bin/mosaic-systemd-holder. */
export const holderSetupFile = (runDir: string): string => path.join(runDir, 'holder.unit-setup');

async function writeUnitStart(agent: string, file: string, commands: string[][]): Promise<void> {
  const text = renderLineFile(
    joinCommands(commands),
    `agent "${agent}": its session values`,
    'check the working directory and the config root path',
  );
  await writeRunFile(file, text);
}

/**
 * What the holder unit's ExecStartPost replays (framework/bin/mosaic-systemd-holder): the server's set-up,
 * the commands that make the holder session, its launch spec and its fresh run state. Written before every
 * holder start the CLI asks for, and on install and enable, so a boot or a restart after a server crash
 * finds them without starting Node.
 */
export async function prepareHolder(deps: SupervisorDeps): Promise<void> {
  const { roster, paths } = deps;
  await Promise.all([deps.host.files.ensurePrivateDir(paths.runDir), deps.host.files.ensurePrivateDir(paths.logsDir)]);
  const direct = new DirectSupervisor(deps);
  const holder = roster.holderSession;
  await Promise.all([
    writeRunFile(
      holderSetupFile(paths.runDir),
      renderLineFile(joinCommands(direct.serverSetupCommands()), 'the tmux server set-up', 'check the config root path'),
    ),
    direct.holderLaunch().then((commands) => writeUnitStart(holder, unitStartFile(paths.runDir, holder), commands)),
    writeFreshStateCopy(paths.runDir, freshRunState(holder, holder, roster.restart)),
  ]);
}

/**
 * Before systemd starts an agent, the CLI writes what the unit replays: the launch spec
 * (argv and PATH from the operator's environment, so a runtime in ~/.npm-global/bin is found
 * even though the user manager's PATH is minimal), the tmux arguments that create its session,
 * its fresh run state and its EnvironmentFile. All stay on disk, which is what lets an enabled
 * unit start the agent at boot with nobody logged in, and without starting Node.
 * With `resetRunState` (an explicit start or restart), the fresh record also goes into place now: a unit
 * the CLI hands off does not touch it, and one it does not finds the two the same and copies nothing.
 * Returns the per-agent error for agents that could not be prepared.
 */
export async function prepareAgents(
  deps: SupervisorDeps,
  agents: readonly AgentSpec[],
  options: { force?: boolean; resetRunState?: boolean } = {},
): Promise<Map<string, UserError>> {
  const { roster, paths } = deps;
  const env = deps.host.env;
  const errors = new Map<string, UserError>();
  if (agents.length === 0) return errors;
  const { files } = deps.host;
  await Promise.all([files.ensurePrivateDir(paths.runDir), files.ensurePrivateDir(paths.logsDir), files.ensurePrivateDir(paths.agentsDir)]);
  clearFleetCrashes(paths.runDir);
  const runtimeBinDirs = await findRuntimeBinDirs(env);
  const meta = { version: packageVersion(), rosterFile: roster.file };
  await Promise.all(
    agents.map(async (agent) => {
      try {
        await prepareAgentLaunch(roster, agent, {
          env,
          runDir: paths.runDir,
          agentsDir: paths.agentsDir,
          runtimeBinDirs,
          identity: launchIdentity(deps),
          runner: deps.host.runner,
        });
        const fresh = freshRunState(agent.name, agent.session, roster.restart);
        await Promise.all([
          writeUnitStart(agent.name, unitStartFile(paths.runDir, agent.name), sessionCreateCommands(paths.runDir, agent, paths.logsDir)),
          writeFreshStateCopy(paths.runDir, fresh),
        ]);
        const file = agentEnvFile(paths.agentsDir, agent.name);
        const rendered = renderAgentEnvFile(meta, agent);
        const state = classifyGenerated(await files.read(file), rendered);
        if ((state === 'modified' || state === 'foreign') && !options.force) {
          throw new UserError(
            `agent "${agent.name}": ${file} was ${state === 'modified' ? 'changed by hand' : 'not written by mosaic'}; left as it is`,
            { hint: 'put the change into the roster, then `mosaic fleet install-systemd --force` rewrites the file' },
          );
        }
        if (state !== 'current') await files.writeAtomic(file, rendered);
        // Last, for an agent that will start. Not best effort: a unit whose session the CLI makes (the handoff) leaves
        // the record alone, as its agent may have crashed and been recorded by then (framework/bin/mosaic-systemd-agent).
        if (options.resetRunState) await writeRunState(paths.runDir, fresh);
      } catch (error) {
        errors.set(agent.name, error instanceof UserError ? error : new UserError(`agent "${agent.name}": ${(error as Error).message}`));
      }
    }),
  );
  return errors;
}
