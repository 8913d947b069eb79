// DESIGN.md §1's import rules as a check: machines/ imports only xstate and other machines;
// supervisors/ never imports src/; Effect is imported only by supervisors/fx.ts. Import
// specifiers come from TypeScript's own pre-processor, so comments and strings cannot fool it.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

export interface Violation {
  readonly file: string;
  readonly specifier: string;
  readonly rule: string;
}

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

function specifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((f) => f.fileName);
}

const isEffect = (spec: string): boolean => spec === "effect" || spec.startsWith("effect/") || spec.startsWith("@effect/");

export function layerViolations(repo: string): Violation[] {
  const violations: Violation[] = [];
  const layerOf = (path: string): string => relative(repo, path).split(sep)[0] ?? "";
  for (const layer of ["machines", "supervisors", "src"]) {
    for (const file of sourceFiles(join(repo, layer))) {
      const name = relative(repo, file);
      for (const spec of specifiers(file)) {
        const target = spec.startsWith(".") ? layerOf(resolve(dirname(file), spec)) : undefined;
        const flag = (rule: string): void => void violations.push({ file: name, specifier: spec, rule });
        if (layer === "machines" && !(spec === "xstate" || spec.startsWith("xstate/") || target === "machines")) {
          flag("machines/ may import only xstate and other machines");
        }
        if (layer === "supervisors" && target === "src") flag("supervisors/ never imports src/");
        if (isEffect(spec) && name !== join("supervisors", "fx.ts")) flag("Effect is imported only through supervisors/fx.ts");
      }
    }
  }
  return violations;
}
