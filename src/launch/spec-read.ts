// Reading a launch spec file back, apart from spec.ts's builders: status and stop read it, and must not load those.

/**
 * The parts of a launch spec file that mosaic reads back (renderLaunchSpec's format): the environment lines
 * before the sections and the argv after "--" (null when the file has no "--" line).
 */
export function parseLaunchSpec(text: string): { env: Record<string, string>; argv: string[] | null } {
  const lines = text.split('\n');
  const end = lines.indexOf('--');
  const env: Record<string, string> = {};
  for (const line of end >= 0 ? lines.slice(0, end) : lines) {
    if (line.startsWith('+')) break; // the fresh and resume sections come after the environment
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return { env, argv: end >= 0 ? lines.slice(end + 1).filter((line) => line !== '') : null };
}
