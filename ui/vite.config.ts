// Vite builds the page into ui/dist for the Tauri shell; vitest reads the same file.
// TIDELINE_MOCK=1 builds mock.html (the page over a fake backend, src/dev/mock.ts) into
// dist-mock instead, to look at the page in a browser under the app's CSP.
import { defineConfig } from 'vitest/config';

const mock = process.env.TIDELINE_MOCK === '1';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  // Component tests mount Svelte components, which needs the browser build of svelte.
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: mock ? 'dist-mock' : 'dist',
    emptyOutDir: true,
    rollupOptions: { input: mock ? 'mock.html' : 'index.html' },
    // Under `default-src 'self'` a data: URI is refused: never inline assets.
    assetsInlineLimit: 0,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
