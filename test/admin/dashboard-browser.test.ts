/**
 * The dashboard in a real browser: Debian's chromium, headless, driven by
 * playwright-core (no downloaded browser). One manager node with the admin
 * token; the page opened with ?token=. A service created with the CLI shows
 * within 2 s; a task killed with SIGKILL turns unhealthy on screen; 1,000
 * endpoints stay a short DOM (virtualised rows) and the filter finds one.
 * Saves test-output/dashboard.png (what the page looked like after the kill).
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ADMIN_TOKEN, httpGet, MeshNode, meshOk } from '../helpers/mesh'
import { freePort, loopback } from '../helpers/ports'
import { TestRedis } from '../helpers/redis'
import { waitFor } from '../helpers/wait'
import { createRedis } from '../../lib/registry/client'
import { RegistryStore } from '../../lib/registry/store'

/** What the page functions below use of the browser's DOM (this tsconfig has no DOM library; they run in the page, where the CSP forbids eval). */
interface Element { textContent: string | null }
declare const document: { getElementById: (id: string) => Element | null, querySelector: (s: string) => Element | null, querySelectorAll: (s: string) => { length: number } }

const CHROMIUM = '/usr/bin/chromium'
const OUTPUT = join(__dirname, '..', '..', '..', 'test-output')
// As root in a container (../shared/NOTES.md); playwright gives each launch a fresh profile directory.
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

async function cellText (page: Page, selector: string): Promise<string> {
  return await page.$eval(selector, (el) => el.textContent ?? '').catch(() => '')
}

t.test('the dashboard follows the cluster live', async (t) => {
  const redis = await TestRedis.start()
  t.teardown(async () => { await redis.close() })
  const node = await MeshNode.start('n1', loopback(), redis.url, ['--manager', '--set', 'scheduler.reconcileInterval=200ms', '--set', 'tasks.restartDelay=5s'])
  t.teardown(async () => { await node.stop() })
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
  t.teardown(async () => { await browser.close() })
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } })
  const errors: string[] = []
  page.on('pageerror', (err) => { errors.push(err.message) })

  await page.goto(`http://${node.admin}/?token=${ADMIN_TOKEN}`)
  await page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', undefined, { timeout: 10_000 })
  t.equal(new URL(page.url()).search, '', 'the token left the address bar')
  await page.waitForSelector('[data-node="n1"]', { timeout: 5000 })
  t.match(await cellText(page, '[data-node="n1"] span:nth-child(6)'), 'Leader', 'n1 leads')

  const port = await freePort(node.addr)
  await meshOk(['service', 'create', '--name', 'web', '--replicas', '2', '--publish', `${port}:80`, '--health-tcp', '--health-interval', '200ms', '--detach', '--', 'mesh', 'whoami'], redis.url)
  const created = Date.now()
  await page.waitForSelector('.services.row[data-service="web"]', { timeout: 2000 })
  const appeared = Date.now() - created
  t.ok(appeared <= 2000, `the service appeared ${appeared} ms after the CLI created it`)

  // Two healthy tasks, then some traffic through the node so the row shows its rate.
  await page.fill('#filter', 'web')
  await waitFor(async () => (await page.$$eval('.tasks.row span.health', (els) => els.filter((e) => e.textContent === 'healthy').length)) === 2, { timeout: 15_000, what: 'two healthy tasks on screen' })
  for (let i = 0; i < 40; i++) t.equal((await httpGet(`http://${node.addr}:${port}/`)).status, 200)
  t.match(await cellText(page, '.services.row[data-service="web"] span:nth-child(3)'), '2/2', 'replicas 2/2')
  // This node's traffic per endpoint: a rate and a p99 on the rows of the tasks that served it.
  await page.waitForFunction(() => document.querySelectorAll('.tasks.row span:nth-child(9)').length > 0 &&
    /ms$/.test(document.querySelector('.tasks.row span:nth-child(9)')?.textContent ?? ''), undefined, { timeout: 5000 })
  t.match(await cellText(page, '.tasks.row span:nth-child(7)'), /^\d+\.\d$/, 'requests per second on the task row')

  const store = new RegistryStore(createRedis({ url: redis.url, connectTimeout: 1000, reconnectMaxDelay: 200 }), 'mesh:')
  t.teardown(() => { store.redis.disconnect() })
  await store.redis.connect()
  const victim = [...(await store.snapshot()).tasks.values()].find((task) => task.service === 'web' && task.state === 'running' && task.pid > 0)
  if (victim === undefined) throw new Error('no running web task')
  process.kill(victim.pid, 'SIGKILL')
  const killed = Date.now()
  await page.waitForFunction((id) => document.querySelector(`[data-task="${id}"] span.health`)?.textContent === 'unhealthy', victim.id, { timeout: 5000 })
  t.pass(`task ${victim.id} (pid ${victim.pid}) unhealthy on screen ${Date.now() - killed} ms after SIGKILL`)
  await page.waitForTimeout(1200) // one more stats tick: req/s and heartbeat ages on screen
  mkdirSync(OUTPUT, { recursive: true })
  await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true })

  // 1,000 endpoints: the DOM keeps a screenful of rows; the filter finds any of them.
  const endpoints = Array.from({ length: 1000 }, (_, i) => ['--endpoint', `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}:9000`]).flat()
  await meshOk(['service', 'create', '--name', 'big', '--publish', `${await freePort(node.addr)}:9000`, ...endpoints], redis.url)
  await page.fill('#filter', '')
  await page.waitForFunction(() => parseInt(document.getElementById('tasks-count')?.textContent ?? '0', 10) > 1000, undefined, { timeout: 5000 })
  const rows = await page.$$eval('#tasks .row', (els) => els.length)
  t.ok(rows > 0 && rows < 40, `${await cellText(page, '#tasks-count')} tasks listed with ${rows} rows in the DOM`)
  await page.fill('#filter', '127.1.3.250:9000')
  await page.waitForFunction(() => document.querySelectorAll('#tasks .row').length === 1, undefined, { timeout: 2000 })
  t.match(await cellText(page, '#tasks .row span:nth-child(6)'), '127.1.3.250:9000', 'the filter finds the last endpoint')
  t.same(errors, [], 'no script error on the page')
})
