/// <reference lib="dom" />
/**
 * What the web client's browser tests share: a person (a browser context, so its own
 * localStorage), waiting for the page to be connected, sending from the composer, the messages
 * shown, axe-core's findings, and a server with a browser around a test.
 */
import axe from "axe-core";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launch } from "./_browser.ts";
import { startServer, type TestServer } from "../_helpers.ts";

/** A browser context (its own localStorage: one person) whose pages record their errors. */
export async function person(
  browser: Browser,
  name?: string,
  viewport = { width: 1200, height: 800 },
  bypassCSP = false,
): Promise<
  {
    context: BrowserContext;
    errors: string[];
    open: (url: string) => Promise<Page>;
  }
> {
  // (axe-core is injected as an inline script, which the page's own policy forbids.)
  const context = await browser.newContext({ viewport, bypassCSP });
  if (name) {
    await context.addInitScript((n: string) => {
      if (!localStorage.getItem("chat.name")) {
        localStorage.setItem("chat.name", n);
      }
    }, name);
  }
  const errors: string[] = [];
  return {
    context,
    errors,
    open: async (url: string) => {
      const page = await context.newPage();
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(url);
      return page;
    },
  };
}

/** Waits until the page says it is connected. */
export async function connected(page: Page): Promise<void> {
  await page.locator("#status[data-state=online]").waitFor();
}

/** Types a message in the composer and sends it with Enter. */
export async function send(page: Page, text: string): Promise<void> {
  await page.getByLabel("Message", { exact: true }).fill(text);
  await page.keyboard.press("Enter");
}

/** The texts of the messages shown. */
export function bodies(page: Page): Promise<string[]> {
  return page.locator("#messages .msg-body").allTextContents();
}

/** axe-core's violations on the page as it is (rule id and impact), none expected. */
export async function violations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axe.source });
  const result = await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const axeRun = (globalThis as any).axe;
    const found = await axeRun.run(document, { resultTypes: ["violations"] });
    return found.violations.map((
      v: { id: string; impact: string; nodes: unknown[] },
    ) => `${v.id} (${v.impact}, ${v.nodes.length}): ${JSON.stringify(v.nodes.slice(0, 2))}`);
  });
  return result as string[];
}

/** Runs `body` with a server and a browser; everything is closed whatever happens. */
export async function withBrowser(
  options: Parameters<typeof startServer>[0],
  body: (browser: Browser, server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startServer(options);
  const browser = await launch();
  try {
    await body(browser, server);
  } finally {
    await browser.close();
    await server.close();
  }
}
