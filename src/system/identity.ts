import os from 'node:os';

/** The login name, used as the default tenant id. */
export function loginName(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}

/**
 * This machine's name as records print it. MOSAIC_HOST_NAME overrides it: the operator's mosaic
 * sets it when it drives this host over ssh, so rows carry the name the operator's roster gives the host.
 */
export function hostName(env: NodeJS.ProcessEnv = process.env): string {
  return env.MOSAIC_HOST_NAME || os.hostname();
}
