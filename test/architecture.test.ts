import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The floors of src/ as docs/architecture.md states them, checked against every import in src/.
const ROOT = path.resolve(import.meta.dirname, '..');
const SRC = path.join(ROOT, 'src');

/** `| 3 | tmux, heartbeat, roster | … |` rows of the doc's table → folder → floor. */
function floorsFromDoc(markdown: string): Map<string, number> {
  const floors = new Map<string, number>();
  for (const match of markdown.matchAll(/^\|\s*(\d+)\s*\|\s*([a-z][a-z, -]*?)\s*\|/gm)) {
    for (const folder of match[2]!.split(',')) floors.set(folder.trim(), Number(match[1]));
  }
  return floors;
}

/** Every relative import of a source file: static, type-only, re-exports and dynamic import(). */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.[^']+)'/gm)) found.push(match[1]!);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [full] : [];
  });
}

const folderOf = (file: string): string => path.relative(SRC, file).split(path.sep)[0]!;
const resolveImport = (from: string, spec: string): string => path.resolve(path.dirname(from), spec).replace(/\.js$/, '.ts');

describe('layers (docs/architecture.md)', () => {
  const floors = floorsFromDoc(readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8'));
  const files = sourceFiles(SRC);

  it('the doc places every folder of src/, and names none that is gone', () => {
    const folders = new Set(files.map(folderOf));
    expect(
      [...folders].filter((f) => !floors.has(f)),
      'folders missing from the table',
    ).toEqual([]);
    expect(
      [...floors.keys()].filter((f) => !folders.has(f)),
      'folders in the table but not in src/',
    ).toEqual([]);
  });

  it('no module imports from a higher floor or sideways', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const target = resolveImport(file, spec);
        const to = folderOf(target);
        if (to === from) continue;
        if ((floors.get(to) ?? Infinity) >= (floors.get(from) ?? -Infinity)) {
          violations.push(
            `${path.relative(ROOT, file)} (${from}, floor ${floors.get(from)}) imports ${path.relative(ROOT, target)} (${to}, floor ${floors.get(to)})`,
          );
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it('no import cycles between files', () => {
    const graph = new Map(files.map((file) => [file, importsOf(readFileSync(file, 'utf8')).map((spec) => resolveImport(file, spec))]));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, stack: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...stack.slice(stack.indexOf(file)), file].map((f) => path.relative(SRC, f)).join(' → '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...stack, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('the checker itself sees the import forms and reads the table', () => {
    const text = [
      "import { a } from '../x/a.js';",
      "import type { B } from './b.js';",
      "export { c } from '../c/c.js';",
      "const d = await import('../d/d.js');",
      "import '../side/effect.js';",
      "import fs from 'node:fs';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['../x/a.js', './b.js', '../c/c.js', '../d/d.js', '../side/effect.js']);
    expect(floorsFromDoc('| 3 | tmux, heartbeat |  x |\n| 4 | host | y |')).toEqual(
      new Map([
        ['tmux', 3],
        ['heartbeat', 3],
        ['host', 4],
      ]),
    );
  });
});
