/**
 * The inspector page at GET / (runtime/admin/inspector-page.ts) in a real headless Chromium
 * (Debian's, driven by playwright-core): it shows the node's health, tree, members and
 * topics; its kill button makes an actor exit and the supervisor's restart shows; with an
 * admin token it asks for it; an actor path full of markup is shown as text, never run.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ActorSystem, startAdminServer, supervisor, type AdminServer } from '../../dist/index.js';
import { Sink } from '../fixtures/cluster-agents.mjs';

const CHROMIUM = process.env.APIARY_TEST_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'inspector-test-token-0123456789';
let browser: Browser;
const systems: ActorSystem[] = [];
const servers: AdminServer[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (the inspector test drives a real browser)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(systems.map((s) => s.stop()));
});

async function node(name: string, token?: string): Promise<{ system: ActorSystem; url: string }> {
  const system = new ActorSystem({ name });
  systems.push(system);
  await system.ready();
  await system.spawn(supervisor({ children: [{ id: 'worker', actor: Sink }, { id: '<img src=x onerror="window.pwned=1">', actor: Sink }] }), { name: 'app' });
  system.topics.subscribe('news', (await system.spawn(Sink))!);
  const admin = await startAdminServer(system, { host: '127.0.0.1', port: 0, ...(token === undefined ? {} : { token }) });
  servers.push(admin);
  return { system, url: `http://${admin.address}/` };
}

async function open(url: string): Promise<Page> {
  const page = await browser.newPage();
  page.on('dialog', (d) => void d.accept());
  await page.goto(url);
  return page;
}

describe('the inspector page', () => {
  it('shows health, the tree, members and topics; kill makes the actor exit and its restart shows', async () => {
    const { url } = await node('inspected');
    const page = await open(url);
    try {
      await page.waitForSelector('li[data-path="/app/worker"]', { timeout: 10_000 });
      expect(await page.textContent('#title')).toBe('apiary · inspected');
      expect(await page.textContent('#health')).toBe('healthy');
      expect(await page.textContent('li[data-path="/app/worker"] .meta')).toMatch(/worker · restarts 0 · inspected\/0/);
      expect(await page.textContent('#members')).toMatch(/inspected\s*up/);
      expect(await page.textContent('#topics')).toMatch(/news\s*1/);
      // markup in a path is text: shown, never run
      expect(await page.locator('li[data-path^="/app/<img"] >> .path').first().textContent()).toBe('/app/<img src=x onerror="window.pwned=1">');
      expect(await page.evaluate(() => (globalThis as { pwned?: number }).pwned)).toBeUndefined();
      await page.click('li[data-path="/app/worker"] > button');
      // (polled from here: the page's CSP forbids the string evaluation waitForFunction would use)
      const deadline = performance.now() + 10_000;
      while (!/restarts 1/.test((await page.textContent('li[data-path="/app/worker"] .meta')) ?? '')) {
        if (performance.now() > deadline) throw new Error('the restart did not show within 10 s');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await page.close();
    }
  });

  it('is served without a token but asks for one when the node has one, and works once it is given', async () => {
    const { url } = await node('guarded', TOKEN);
    const page = await open(url);
    try {
      await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
      expect(await page.textContent('#error')).toMatch(/admin token/);
      await page.fill('#token', TOKEN);
      await page.click('#auth button');
      await page.waitForSelector('li[data-path="/app/worker"]', { timeout: 10_000 });
      expect(await page.isHidden('#auth')).toBe(true);
    } finally {
      await page.close();
    }
  });

  it('comes with a Content-Security-Policy that allows only its own script and this server', async () => {
    const { url } = await node('headers');
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect((await fetch(url, { method: 'POST' })).status).toBe(405);
  });
});
