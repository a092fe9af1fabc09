import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The renderer is built to static files: the Electron app serves them from app://, browser mode from
// 127.0.0.1. No dev-server-only behaviour, so tests exercise what ships.
export default defineConfig({
  root: 'src-renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 4000,
  },
});
