import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { layerViolations } from "./layer-rules.js";

const repo = fileURLToPath(new URL("..", import.meta.url));

describe("layer import rules (DESIGN.md §1)", () => {
  it("the repository keeps them", () => {
    expect(layerViolations(repo)).toEqual([]);
  });

  it("catches a machine that imports node:fs, a supervisor that imports src/, and Effect outside fx.ts", () => {
    const copy = mkdtempSync(join(tmpdir(), "tsqmail-layers-"));
    try {
      for (const dir of ["machines", "supervisors", "src"]) {
        mkdirSync(join(copy, dir), { recursive: true });
        if (existsSync(join(repo, dir))) cpSync(join(repo, dir), join(copy, dir), { recursive: true });
      }
      writeFileSync(join(copy, "machines", "bad.ts"), `// import "node:net" in a comment is fine\nimport { readFileSync } from "node:fs";\nexport const x = readFileSync;\n`);
      writeFileSync(join(copy, "supervisors", "bad.ts"), `import { rootPaths } from "../src/root/paths.js";\nexport const y = rootPaths;\n`);
      writeFileSync(join(copy, "src", "bad.ts"), `import * as Effect from "effect/Effect";\nexport const z = Effect;\n`);
      expect(layerViolations(copy)).toEqual([
        { file: join("machines", "bad.ts"), specifier: "node:fs", rule: "machines/ may import only xstate and other machines" },
        { file: join("supervisors", "bad.ts"), specifier: "../src/root/paths.js", rule: "supervisors/ never imports src/" },
        { file: join("src", "bad.ts"), specifier: "effect/Effect", rule: "Effect is imported only through supervisors/fx.ts" },
      ]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
