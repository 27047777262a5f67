// The box's first-run page as an admin meets it, in a real headless Chromium (Debian's
// /usr/bin/chromium) driven by Playwright.
//
//   node setup_page.mjs SPEC_JSON        or        node setup_page.mjs < SPEC_JSON
//
// SPEC (JSON; give passwords on stdin, not argv, where other users can read argv):
//   http_url      the plain-HTTP page, e.g. "http://127.0.0.1:5280/": it must send the
//                 browser on to https_url
//   https_url     where the browser must land, e.g. "https://127.0.0.1:5281/"
//   code          the box's setup code (from its log)
//   wrong_code    a code to try first (default: code with its first character changed)
//   user          the admin's name, typed into the form
//   password      typed twice
//   set_up        true when the box has accounts already (a short press of the reset button
//                 opened the page): the form must be the set-up box's (id "reset"), which
//                 says nothing of whether the page is open; false (default): the first-run
//                 form (id "first-run")
//   timeout_ms    bound of every single step (default 15000)
//   total_ms      bound of the whole run (default 120000)
//   screenshots   optional folder: a PNG of each page seen is saved there
//   chromium      optional browser path (default /usr/bin/chromium)
//
// Steps: open http_url (and land on HTTPS), type a wrong code with the rest right and click
// the button (the page must show an error, id "error"), type the right code and click (the
// page must say it is done, id "done", naming the account, id "account"), then load "/"
// again (the set-up box's form, id "reset": the code just used is spent).
// Prints one JSON object of what the browser saw: URLs, HTTP statuses, texts, and the Origin
// and Sec-Fetch-Site each post carried. Exits 0 when
// every step went as above; otherwise prints the same object with "failure" set, says why on
// stderr, and exits 1 (2 for a bad spec, 3 when the whole run timed out).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const seen = { steps: [] };
let browser = null;
let lastPost = null;	// what the browser said of the form's origin in the last post

class Failure extends Error {}

function fail(msg) {
	throw new Failure(msg);
}

function readSpec() {
	const arg = process.argv[2];
	const text = arg !== undefined && arg !== '-' ? arg : readFileSync(0, 'utf8');
	let spec;
	try {
		spec = JSON.parse(text);
	} catch (e) {
		console.error(`setup_page: the spec is not JSON: ${e.message}`);
		process.exit(2);
	}
	for (const k of ['http_url', 'https_url', 'code', 'user', 'password']) {
		if (typeof spec[k] !== 'string' || spec[k] === '') {
			console.error(`setup_page: the spec lacks "${k}" (a non-empty string)`);
			process.exit(2);
		}
	}
	spec.timeout_ms = Number(spec.timeout_ms ?? 15000);
	spec.total_ms = Number(spec.total_ms ?? 120000);
	if (!(spec.timeout_ms > 0 && spec.total_ms > 0)) {
		console.error('setup_page: timeout_ms and total_ms must be positive numbers');
		process.exit(2);
	}
	if (spec.wrong_code === undefined) {
		const c = spec.code;
		spec.wrong_code = (c[0] === 'X' ? 'Y' : 'X') + c.slice(1);
	}
	if (spec.wrong_code === spec.code) {
		console.error('setup_page: wrong_code is the right code');
		process.exit(2);
	}
	return spec;
}

// The text of the element with this id on the page, or null when there is none.
async function textOf(page, id) {
	const el = page.locator(`#${id}`);
	if ((await el.count()) === 0)
		return null;
	return (await el.first().textContent()).replace(/\s+/g, ' ').trim();
}

// What the page shows, as one step of the report.
async function record(page, spec, name, resp) {
	const step = {
		name,
		url: page.url(),
		status: resp ? resp.status() : null,
		title: await page.title(),
		error: await textOf(page, 'error'),
		done: await textOf(page, 'done'),
		account: await textOf(page, 'account'),
		first_run: await textOf(page, 'first-run'),
		reset: await textOf(page, 'reset'),
		form: (await page.locator('form #submit').count()) > 0,
		post: lastPost,
	};
	lastPost = null;
	seen.steps.push(step);
	if (spec.screenshots) {
		const path = join(spec.screenshots, `${seen.steps.length}-${name}.png`);
		await page.screenshot({ path, fullPage: true });
	}
	return step;
}

function sameOrigin(url, want) {
	return new URL(url).origin === new URL(want).origin;
}

// Types into the form and clicks its button, as a person would; the page it leads to.
async function submit(page, spec, code) {
	await page.locator('#code').fill(code);
	await page.locator('#user').fill(spec.user);
	await page.locator('#password').fill(spec.password);
	await page.locator('#password2').fill(spec.password);
	const [resp] = await Promise.all([
		page.waitForNavigation({ waitUntil: 'load' }),
		page.locator('#submit').click(),
	]);
	if (resp === null)
		fail('clicking the button loaded no new page');
	const req = resp.request();
	if (req.method() !== 'POST' || new URL(req.url()).pathname !== '/setup')
		fail(`clicking the button sent ${req.method()} ${req.url()}, not POST /setup`);
	const h = await req.allHeaders();
	lastPost = { origin: h.origin ?? null, sec_fetch_site: h['sec-fetch-site'] ?? null };
	return resp;
}

async function run(spec) {
	const root = typeof process.getuid === 'function' && process.getuid() === 0;
	// Chromium's sandbox refuses to run as root; as anyone else it stays on.
	// Chromium refuses some ports (6000, 6665, ...) that the box's test ports may be.
	const ports = [spec.http_url, spec.https_url].map((u) => new URL(u).port).filter(Boolean);
	browser = await chromium.launch({
		executablePath: spec.chromium || '/usr/bin/chromium',
		headless: true,
		chromiumSandbox: !root,
		args: ports.length ? [`--explicitly-allowed-ports=${ports.join(',')}`] : [],
		timeout: spec.timeout_ms,
	});
	seen.browser = browser.version();
	const context = await browser.newContext({ ignoreHTTPSErrors: true });	// self-signed
	const page = await context.newPage();
	page.setDefaultTimeout(spec.timeout_ms);
	page.setDefaultNavigationTimeout(spec.timeout_ms);

	// 1. Plain HTTP sends the browser on to HTTPS.
	let resp = await page.goto(spec.http_url, { waitUntil: 'load' });
	const chain = [];
	for (let r = resp && resp.request(); r; r = r.redirectedFrom()) {
		const rr = await r.response();
		chain.unshift({ url: r.url(), status: rr ? rr.status() : null });
	}
	seen.redirects = chain;
	let step = await record(page, spec, 'open', resp);
	if (chain.length < 2 || !sameOrigin(chain[0].url, spec.http_url) ||
	    ![301, 302, 307, 308].includes(chain[0].status))
		fail(`${spec.http_url} did not redirect: ${JSON.stringify(chain)}`);
	if (!sameOrigin(step.url, spec.https_url))
		fail(`the browser landed on ${step.url}, not on ${spec.https_url}`);
	if (step.status !== 200 || !step.form)
		fail(`the first-run form is not there (status ${step.status})`);
	if (Boolean(spec.set_up) !== (step.reset !== null) ||
	    Boolean(spec.set_up) === (step.first_run !== null))
		fail(spec.set_up ? 'the form is not the set-up box\'s' :
		     `the first-run form speaks of a set-up box: ${step.reset}`);

	// 2. A wrong code is refused, with a message.
	resp = await submit(page, spec, spec.wrong_code);
	step = await record(page, spec, 'wrong-code', resp);
	if (step.error === null || step.done !== null)
		fail(`a wrong setup code was not refused with a message (status ${step.status}, ` +
		     `done ${JSON.stringify(step.done)})`);
	if (!step.form)
		fail('after a wrong code the form is gone');

	// 3. The right code makes the account.
	resp = await submit(page, spec, spec.code);
	step = await record(page, spec, 'right-code', resp);
	if (step.done === null || step.status !== 200)
		fail(`the right setup code did not finish the setup (status ${step.status}, ` +
		     `error ${JSON.stringify(step.error)})`);

	// 4. The box is set up now.
	resp = await page.goto(new URL('/', spec.https_url).href, { waitUntil: 'load' });
	step = await record(page, spec, 'after', resp);
	if (step.reset === null || !step.form || step.done !== null)
		fail(`after the setup "/" is not the set-up box's form (status ${step.status}, ` +
		     `form ${step.form})`);
}

async function main() {
	const spec = readSpec();
	const watchdog = setTimeout(() => {
		seen.failure = `the whole run took longer than ${spec.total_ms} ms`;
		console.log(JSON.stringify(seen));
		console.error(`setup_page: ${seen.failure}`);
		process.exit(3);	// playwright ends its browser on the way out
	}, spec.total_ms);
	let rc = 0;
	try {
		await run(spec);
	} catch (e) {
		// Playwright's messages carry terminal colours: not in a report.
		seen.failure = (e instanceof Failure ? e.message : `${e.name}: ${e.message}`)
			.replace(/\u001b\[[0-9;]*m/g, '');
		rc = 1;
	}
	if (browser) {
		try {
			await browser.close();
		} catch (e) {
			seen.close_failure = e.message;
		}
	}
	clearTimeout(watchdog);
	console.log(JSON.stringify(seen));
	if (rc !== 0)
		console.error(`setup_page: ${seen.failure}`);
	process.exit(rc);
}

main();
