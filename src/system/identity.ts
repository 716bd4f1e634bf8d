import os from 'node:os';

/** The login name, used as the default tenant id. */
export function loginName(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}

export function hostName(): string {
  return os.hostname();
}
