// The web chat widget in a real browser: Debian's Chromium driven by
// playwright-core, against a running gateway (tests/browser/run.sh starts
// one with redis and the demo orders).
//
//   REDRESS_URL=http://127.0.0.1:8080 [REDIS_URL=redis://127.0.0.1:6379/0] node webchat.spec.mjs
//
// REDIS_URL enables the checks that put an agent reply straight into the
// outbox (HTML in agent text, the unread badge); without it they are skipped.
// SCREENSHOT (default <repo>/build/webchat.png) is where the open panel is
// saved. Prints "N passed, N failed" last; exits 1 if anything failed.
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const BASE = (process.env.REDRESS_URL || "").replace(/\/+$/, "");
const REDIS_URL = process.env.REDIS_URL || "";
const SCREENSHOT = process.env.SCREENSHOT || join(REPO, "build", "webchat.png");
const STEP_MS = 15000; // every wait is bounded by this
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const XSS = "<img src=x onerror=alert(1)>";

if (!BASE) {
  console.error("webchat.spec: set REDRESS_URL to a running gateway (tests/browser/run.sh does)");
  process.exit(2);
}
const ORIGIN = new URL(BASE).origin;

// ------------------------------------------------------------------ harness

const results = { passed: 0, failed: 0, skipped: 0 };

async function test(name, fn) {
  const t0 = Date.now();
  try {
    const skipped = await fn();
    if (skipped === "skip") {
      results.skipped++;
      console.log(`SKIP ${name}`);
    } else {
      results.passed++;
      console.log(`ok   ${name} (${Date.now() - t0} ms)`);
    }
  } catch (err) {
    results.failed++;
    console.log(`FAIL ${name}\n     ${String((err && err.stack) || err).split("\n").slice(0, 6).join("\n     ")}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

// Poll fn() until it returns something truthy (returned), or throw after timeout.
async function waitFor(fn, what, timeout = STEP_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function redis(...args) {
  return execFileSync("redis-cli", ["-u", REDIS_URL, "--raw", ...args], { encoding: "utf8", timeout: 5000 }).trim();
}

// Put an agent reply for the newest web chat conversation straight into the
// outbox, the way a worker would (gateway/worker.h: o = outbound JSON, c =
// conversation id, s = INCR rd:out:seq:{c}); a sender delivers it to the socket.
function injectReply(text, buttons = []) {
  const lines = redis("XREVRANGE", "rd:inbound", "+", "-", "COUNT", "50").split("\n");
  const inbound = lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l))
    .find((m) => m.channel === "webchat");
  assert(inbound, "a web chat message in rd:inbound");
  const cid = inbound.conversation_id;
  const ob = {
    channel: "webchat", user: inbound.user, conversation_id: cid, in_reply_to: "",
    locale: inbound.locale || "", received_at_ms: 0,
    replies: [{ name: "browser_test", text, buttons }],
  };
  const seq = redis("INCR", `rd:out:seq:{${cid}}`);
  redis("XADD", "rd:outbox", "*", "o", JSON.stringify(ob), "c", cid, "s", seq);
}

// ------------------------------------------------------------------ page helpers

const sel = {
  bubble: ".rdw-bubble", panel: ".rdw-panel", log: ".rdw-log", input: ".rdw-input", send: ".rdw-send",
  close: ".rdw-close", badge: ".rdw-badge", status: ".rdw-status",
  agent: ".rdw-msg--agent", customer: ".rdw-msg--customer", quick: ".rdw-quick button",
};

async function openChat(page) {
  await page.locator(sel.bubble).click();
  await page.locator(sel.panel).waitFor({ state: "visible", timeout: STEP_MS });
}

async function agentSays(page, pattern) {
  await page.locator(sel.agent, { hasText: pattern }).first().waitFor({ timeout: STEP_MS });
}

async function type(page, text) {
  await page.locator(sel.input).fill(text);
  await page.locator(sel.input).press("Enter");
}

// Every request the page makes must go to the gateway: no third parties.
function watchRequests(page, seen) {
  page.on("request", (r) => seen.push(r.url()));
  page.on("websocket", (ws) => seen.push(ws.url()));
}

// ------------------------------------------------------------------ the tests

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS,
  timeout: 30000 }); // launch() gives the browser a fresh temporary user-data-dir
const requests = [];
const dialogs = [];
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: "pt-BR" });
context.setDefaultTimeout(STEP_MS);
const page = await context.newPage();
watchRequests(page, requests);
page.on("dialog", (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));

try {
  await test("the demo page serves the widget: bubble, shop name, pt-BR strings, focus in the panel", async () => {
    const resp = await page.goto(`${BASE}/webchat/`, { timeout: STEP_MS });
    assert(resp && resp.status() === 200, `GET /webchat/ answered ${resp && resp.status()}`);
    await page.locator(sel.bubble).waitFor({ timeout: STEP_MS });
    assert(await page.locator(sel.panel).isHidden(), "the panel starts closed");
    assert((await page.locator(sel.bubble).getAttribute("aria-label")) === "Abrir chat", "bubble label in pt-BR");
    await openChat(page);
    assert(await page.evaluate(() => document.activeElement && document.activeElement.classList.contains("rdw-input")),
      "focus moves into the input when the panel opens");
    assert((await page.locator(".rdw-shop").textContent()) === "Loja Exemplo", "shop name from data-shop");
    assert((await page.locator(sel.input).getAttribute("placeholder")) === "Digite uma mensagem…", "pt-BR placeholder");
    assert((await page.locator(sel.input).getAttribute("aria-label")), "the input has an aria-label");
    assert((await page.locator(sel.log).getAttribute("role")) === "log", "the message list is a log");
    assert((await page.locator(sel.log).getAttribute("aria-live")) === "polite", "the log is polite");
    const color = await page.locator(sel.send).evaluate((n) => getComputedStyle(n).backgroundColor);
    assert(color === "rgb(0, 170, 119)", `send button in data-color #0a7, got ${color}`);
    // connected: the status line empties once the welcome arrives
    await waitFor(async () => (await page.locator(sel.status).textContent()) === "", "the welcome");
  });

  await test("refund conversation for order 8421: text, the e-mail, the Yes button, the credit note", async () => {
    await type(page, "Oi, quero reembolso do pedido 8421");
    await agentSays(page, /e-?mail/i);
    await page.locator(sel.input).fill("marina@example.com");
    await page.locator(sel.send).click(); // the button, this time
    const yes = page.locator(sel.quick).first();
    await yes.waitFor({ timeout: STEP_MS });
    await agentSays(page, /R\$\s186,00/);
    const titles = await page.locator(sel.quick).allTextContents();
    assert(titles.length === 2, `two quick replies, got ${JSON.stringify(titles)}`);
    const yesTitle = titles[0];
    assert(/sim/i.test(yesTitle), `the first button is Yes, got ${yesTitle}`);
    await yes.click();
    await page.locator(sel.customer, { hasText: yesTitle }).first().waitFor({ timeout: STEP_MS });
    await agentSays(page, "NC-0001");
    assert(await page.locator(sel.quick).count() === 0, "the buttons go once answered");
    await waitFor(async () => (await page.locator(".rdw-msg--pending").count()) === 0, "every message acked");
    const token = await page.evaluate(() => localStorage.getItem("redress.session"));
    assert(/^[0-9a-f]{32}$/.test(token || ""), `session token in localStorage, got ${token}`);
  });

  await test("a reload resumes the session and shows the history", async () => {
    await page.reload({ timeout: STEP_MS });
    await openChat(page);
    await agentSays(page, "NC-0001");
    await page.locator(sel.customer, { hasText: "8421" }).first().waitFor({ timeout: STEP_MS });
    await page.locator(sel.customer, { hasText: "marina@example.com" }).first().waitFor({ timeout: STEP_MS });
  });

  await test("customer text with HTML in it is shown as text", async () => {
    await type(page, XSS);
    const mine = page.locator(sel.customer, { hasText: "onerror" }).last();
    await mine.waitFor({ timeout: STEP_MS });
    assert((await mine.textContent()) === XSS, "the exact characters are shown");
    await waitFor(async () => (await page.locator(".rdw-msg--pending").count()) === 0, "the ack");
    assert(await page.locator(`${sel.panel} img`).count() === 0, "no <img> element in the panel");
    assert(dialogs.length === 0, `no alert() ran: ${JSON.stringify(dialogs)}`);
  });

  await test("agent text and button titles with HTML in them are shown as text", async () => {
    if (!REDIS_URL) return "skip";
    injectReply(`Resposta ${XSS} <b>negrito</b>`, [{ id: "confirm_no", title: "<i>não</i>" }]);
    await agentSays(page, "onerror");
    const text = await page.locator(sel.agent, { hasText: "onerror" }).last().textContent();
    assert(text === `Resposta ${XSS} <b>negrito</b>`, `agent text verbatim, got ${text}`);
    assert((await page.locator(sel.quick).first().textContent()) === "<i>não</i>", "button title verbatim");
    assert(await page.locator(`${sel.panel} img, ${sel.panel} b, ${sel.panel} i`).count() === 0,
      "no element made from agent text");
    assert(dialogs.length === 0, `no alert() ran: ${JSON.stringify(dialogs)}`);
  });

  await test("screenshot of the open panel", async () => {
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, animations: "disabled" });
  });

  await test("Escape closes the panel and gives focus back to the bubble; a reply meanwhile shows the unread badge", async () => {
    await page.locator(sel.input).focus();
    await page.keyboard.press("Escape");
    await page.locator(sel.panel).waitFor({ state: "hidden", timeout: STEP_MS });
    assert(await page.evaluate(() => document.activeElement && document.activeElement.classList.contains("rdw-bubble")),
      "focus is back on the bubble");
    if (!REDIS_URL) return "skip";
    injectReply("Mais alguma coisa?");
    await page.locator(sel.badge).waitFor({ state: "visible", timeout: STEP_MS });
    assert((await page.locator(sel.badge).textContent()) === "1", "one unread reply");
    await page.keyboard.press("Enter"); // the focused bubble is a <button>
    await page.locator(sel.panel).waitFor({ state: "visible", timeout: STEP_MS });
    assert(await page.locator(sel.badge).isHidden(), "opening reads them");
  });

  await test("a dropped socket: reconnecting state, the queued message is sent after the reconnect", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    ctx.setDefaultTimeout(STEP_MS);
    try {
      let refuse = false;
      const sockets = [];
      const p = await ctx.newPage();
      watchRequests(p, requests);
      // A proxy in front of the real socket: it lets the test cut the line.
      await p.routeWebSocket(/\/webchat\/ws$/, (ws) => {
        if (refuse) {
          ws.close({ code: 1011, reason: "test: down" });
          return;
        }
        sockets.push(ws);
        ws.connectToServer();
      });
      await p.goto(`${BASE}/webchat/?locale=en`, { timeout: STEP_MS });
      await openChat(p);
      await waitFor(async () => (await p.locator(sel.status).textContent()) === "", "the welcome");
      await type(p, "Hi, I want a refund for order 1001");
      await p.locator(sel.agent, { hasText: /e-?mail/i }).first().waitFor({ timeout: STEP_MS });
      refuse = true;
      await sockets[sockets.length - 1].close({ code: 1001, reason: "test: drop" });
      await waitFor(async () => /Reconnecting/.test(await p.locator(sel.status).textContent()), "Reconnecting…");
      await type(p, "alex@example.com");
      assert(await p.locator(".rdw-msg--pending").count() === 1, "the message waits, shown as pending");
      refuse = false;
      await p.locator(sel.agent, { hasText: "$49.00" }).first().waitFor({ timeout: 40000 });
      await waitFor(async () => (await p.locator(".rdw-msg--pending").count()) === 0, "the ack after the reconnect");
      assert(await p.locator(sel.customer, { hasText: "alex@example.com" }).count() === 1, "shown once");
    } finally {
      await ctx.close();
    }
  });

  await test("?locale=es: Spanish strings", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    ctx.setDefaultTimeout(STEP_MS);
    try {
      const p = await ctx.newPage();
      watchRequests(p, requests);
      await p.goto(`${BASE}/webchat/?locale=es`, { timeout: STEP_MS });
      await openChat(p);
      assert((await p.locator(sel.input).getAttribute("placeholder")) === "Escribe un mensaje…", "es placeholder");
      assert((await p.locator(sel.close).getAttribute("aria-label")) === "Cerrar chat", "es close");
      assert((await p.locator(sel.send).textContent()) === "Enviar", "es send");
    } finally {
      await ctx.close();
    }
  });

  await test("360 px wide screen: the open panel is full width and nothing scrolls sideways", async () => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
    ctx.setDefaultTimeout(STEP_MS);
    try {
      const p = await ctx.newPage();
      watchRequests(p, requests);
      await p.goto(`${BASE}/webchat/`, { timeout: STEP_MS });
      await openChat(p);
      await type(p, "Oi, quero reembolso do pedido 8421 — uma mensagem comprida para ver se a quebra de linha funciona bem: https://example.com/um/endereco/muito/comprido/sem/espacos/nenhum");
      await agentSays(p, /e-?mail/i);
      const m = await p.evaluate(() => {
        const r = document.querySelector(".rdw-panel").getBoundingClientRect();
        const log = document.querySelector(".rdw-log");
        return { left: r.left, right: r.right, width: r.width, vw: window.innerWidth,
          docScroll: document.documentElement.scrollWidth, logScroll: log.scrollWidth, logClient: log.clientWidth };
      });
      assert(m.vw === 360, `viewport 360, got ${m.vw}`);
      assert(m.left === 0 && Math.round(m.right) === 360, `panel spans the screen: ${JSON.stringify(m)}`);
      assert(m.docScroll <= 360, `no horizontal scroll on the page: ${JSON.stringify(m)}`);
      assert(m.logScroll <= m.logClient, `no horizontal scroll in the log: ${JSON.stringify(m)}`);
      await p.screenshot({ path: SCREENSHOT.replace(/\.png$/, "-360.png"), animations: "disabled" });
    } finally {
      await ctx.close();
    }
  });

  await test("no request leaves the gateway, no page errors", async () => {
    const foreign = requests.filter((u) => new URL(u).host !== new URL(ORIGIN).host);
    assert(foreign.length === 0, `third-party requests: ${JSON.stringify(foreign)}`);
    assert(pageErrors.length === 0, `page errors: ${JSON.stringify(pageErrors)}`);
  });
} finally {
  await browser.close();
}

console.log(`${results.passed} passed, ${results.failed} failed${results.skipped ? `, ${results.skipped} skipped` : ""}`);
process.exit(results.failed ? 1 : 0);
