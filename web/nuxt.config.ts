// The IDE is a client-side app served by Nitro's Node server (`node .output/server/index.mjs`).
// SSR buys nothing here: every pane needs the browser (CodeMirror, xterm.js, noVNC).
export default defineNuxtConfig({
  compatibilityDate: '2025-07-15',
  ssr: false,
  devtools: { enabled: false },
  telemetry: false,
  css: ['@xterm/xterm/css/xterm.css', '~/assets/ide.css'],
  runtimeConfig: {
    public: {
      // Overridden at run time by NUXT_PUBLIC_BACKEND_URL.
      backendUrl: 'ws://localhost:8000',
    },
  },
  app: {
    head: {
      title: 'pyplay — write Python, play Python',
      htmlAttrs: { lang: 'en' },
      meta: [
        { name: 'viewport', content: 'width=device-width, initial-scale=1' },
        { name: 'description', content: 'A Python IDE for the classroom: editor, terminal and a live display for pygame and turtle.' },
      ],
      link: [{ rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }],
    },
  },
  vite: {
    build: { target: 'es2022', chunkSizeWarningLimit: 1500 },
    optimizeDeps: { esbuildOptions: { target: 'es2022' } },
  },
})
