import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Exact matches: a prefix alias would turn '@lockbox/core/hazmat' into
    // '…/index.ts/hazmat'.
    alias: [
      { find: /^@lockbox\/core$/, replacement: src('./packages/core/src/index.ts') },
      { find: /^@lockbox\/core\/hazmat$/, replacement: src('./packages/core/src/hazmat.ts') },
      { find: /^@lockbox\/server$/, replacement: src('./packages/server/src/index.ts') },
      {
        find: /^@lockbox\/test-helpers$/,
        replacement: src('./packages/test-helpers/src/index.ts'),
      },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
