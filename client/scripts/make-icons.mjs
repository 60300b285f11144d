// Renders the PWA icons from public/favicon.svg with Debian's Chromium (no browser download),
// so the PNGs can be regenerated whenever the mark changes: `node client/scripts/make-icons.mjs`.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const publicDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'public');
const svg = readFileSync(join(publicDir, 'favicon.svg'), 'utf8');

// Maskable icons are cropped to a circle by some launchers: keep the mark inside the 80 % safe
// zone on a full-bleed background.
const maskable = svg
  .replace(
    '<rect width="64" height="64" rx="14" fill="#1f5eff"/>',
    '<rect width="64" height="64" fill="#1f5eff"/><g transform="translate(6.4 6.4) scale(0.8)">',
  )
  .replace('</svg>', '</g></svg>');

const targets = [
  { file: 'pwa-192x192.png', size: 192, source: svg },
  { file: 'pwa-512x512.png', size: 512, source: svg },
  { file: 'maskable-512x512.png', size: 512, source: maskable },
  { file: 'apple-touch-icon.png', size: 180, source: maskable },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  for (const { file, size, source } of targets) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    const sized = source.replace('<svg ', `<svg width="${size}" height="${size}" `);
    await page.setContent(`<html><body style="margin:0;background:transparent">${sized}</body></html>`);
    await page.screenshot({ path: join(publicDir, file), omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    await page.close();
    console.log(`wrote public/${file}`);
  }
} finally {
  await browser.close();
}
