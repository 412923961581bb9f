// npm pack of the `lockbox` package: copies the built web console into
// packages/cli/console (git-ignored) so that an installed `lockbox serve`
// serves it without the private @lockbox/console package; `--remove` (postpack)
// deletes the copy again. Refuses to pack without a built console.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const target = fileURLToPath(new URL('../console', import.meta.url));
if (process.argv.includes('--remove')) {
  rmSync(target, { recursive: true, force: true });
} else {
  const built = fileURLToPath(new URL('../../console/dist', import.meta.url));
  if (!existsSync(`${built}/index.html`)) {
    console.error(`${built} has no built console: run \`npm run build\` first`);
    process.exit(1);
  }
  rmSync(target, { recursive: true, force: true });
  cpSync(built, target, { recursive: true });
}
