import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// `npm run build` writes dist/, which kronos-api serves at / (KRONOS_WEB_DIR);
// `npm run dev` serves the pages with hot reload and sends /v1 to a local API.
export default defineConfig({
  plugins: [svelte()],
  // hashed files under /_app/ (kronos-api caches them for a year; /assets/… are pages)
  build: { outDir: 'dist', assetsDir: '_app', emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
});
