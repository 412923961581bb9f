/**
 * Builds the console into dist/ as static files for `lockbox serve` to serve at /.
 * Relative asset URLs keep the bundle servable under any path prefix.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
});
