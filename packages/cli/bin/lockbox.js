#!/usr/bin/env node
// The `lockbox` command's entry point. It is a committed file (not the build
// output itself) so that `npm ci` in the repository links node_modules/.bin/lockbox
// even before anything is built, and an unbuilt checkout says what to do instead
// of failing with a module-not-found stack.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'error [INTERNAL]: lockbox is not built yet; run `npm run build` in the repository first\n',
  );
  process.exit(1);
}
await import(main.href);
