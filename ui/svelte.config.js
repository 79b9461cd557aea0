import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

export default {
  preprocess: vitePreprocess(),
  compilerOptions: {
    runes: true,
    // Styles go to a .css file: the CSP allows no <style> injected at run time.
    css: 'external',
  },
};
