// page.test.mjs: the analyst page in headless Chromium (Playwright) against the real hashwatchd.
// Run by run.sh from CTest (label browser). HW_BROWSER_BACKEND=mock runs against mock-server.mjs
// instead (page development only).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startBackend } from './backend.mjs';
import { BLUR, ORIGINAL, FLIPY, LARGE, VARIANT_WORDS, expected, bestVariant, file, digest }
    from './conformance.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.HW_BROWSER_ARTIFACTS || path.join(here, 'artifacts');
const chromiumPath = process.env.HW_CHROMIUM || '/usr/bin/chromium';
const MAX_BODY = 2 * 1024 * 1024;
const LOOKUP_MAX = 50;

/* ---- browser and service ---- */

let backend;
let context;
let userDataDir;
const problems = []; /* CSP violations and page errors seen in any test */

before(async () => {
    fs.mkdirSync(artifacts, { recursive: true });
    /* A 2 MiB body limit, so that a 3.5 MB conformance photo is refused as too large, and at
     * most 50 hashes per look-up. */
    backend = await startBackend({ args: ['--max-body', String(MAX_BODY), '--lookup-max', String(LOOKUP_MAX)] });
    userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-browser-'));
    context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: chromiumPath,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1280, height: 900 },
        colorScheme: 'light'
    });
});

after(async () => {
    if (context) {
        await context.close();
    }
    if (backend) {
        await backend.stop();
    }
    if (userDataDir) {
        fs.rmSync(userDataDir, { recursive: true, force: true });
    }
});

async function newPage()
{
    const page = await context.newPage();
    page.on('console', (msg) => {
        if (/Content Security Policy|Refused to/i.test(msg.text())) {
            problems.push('console: ' + msg.text());
        }
    });
    page.on('pageerror', (err) => problems.push('page error: ' + err.message));
    /* Air-gapped use: every request stays on the service's origin (blob: is the local preview). */
    page.on('request', (req) => {
        const u = req.url();
        if (!u.startsWith(new URL(backend.url).origin + '/') && !u.startsWith('blob:')) {
            problems.push('request to another origin: ' + u);
        }
    });
    /* The active tab: a background one may not open a file chooser. */
    await page.bringToFront();
    await page.goto(backend.url);
    return page;
}

async function signIn(page, key)
{
    await page.fill('#key', key);
    await page.click('#signin-button');
}

async function signedInPage()
{
    const page = await newPage();
    await signIn(page, backend.key);
    await page.waitForSelector('#view-check:not([hidden])');
    return page;
}

/* Waits until the newest result card has a final verdict; returns that card. */
async function newestResult(page, name)
{
    const card = page.locator('#results > li', { hasText: name }).first();
    await card.locator('.verdict:not(.verdict-pending)').waitFor();
    return card;
}

async function previewFilter(page)
{
    return page.$eval('#preview-img', (img) => getComputedStyle(img).filter);
}

/* A new key made with the command line on the running server's store (real service only). */
function createKey(role, name)
{
    const out = execFileSync(path.join(backend.bin, 'hashwatch'),
        ['keys', 'create', '--role', role, '--name', name, '--store', backend.store],
        { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const key = out.split('\n')[0].trim();
    assert.ok(key.length > 8, 'hashwatch keys create printed no key');
    return key;
}

const realOnly = process.env.HW_BROWSER_BACKEND === 'mock' ? { skip: 'needs the real service' } : {};

/* ---- the tests ---- */

test('a wrong key is refused in plain words and nothing is kept', async () => {
    const page = await newPage();
    await signIn(page, 'not-a-real-key-' + crypto.randomBytes(8).toString('hex'));
    const err = page.locator('#signin-error');
    await err.waitFor({ state: 'visible' });
    assert.match(await err.textContent(), /Wrong key: the service did not accept this key/);
    assert.equal(await page.locator('#nav').isVisible(), false, 'navigation must stay hidden');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused key must not be kept');
    await page.screenshot({ path: path.join(artifacts, 'signin-refused.png') });
    await page.close();
});

test('the key lives in sessionStorage only: not in cookies, localStorage or the URL', async () => {
    const page = await newPage();
    /* Pasted as a header value with stray spaces: the key alone is kept. */
    await signIn(page, '  Bearer ' + backend.key + ' ');
    await page.waitForSelector('#view-check:not([hidden])');
    const stored = await page.evaluate(() => Object.keys(sessionStorage).map((k) => sessionStorage.getItem(k)));
    assert.deepEqual(stored, [backend.key]);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.equal(await page.evaluate(() => document.cookie), '');
    const cookies = await context.cookies();
    assert.ok(!cookies.some((c) => c.value.includes(backend.key)), 'key in a cookie');
    assert.ok(!page.url().includes(backend.key), 'key in the URL');
    assert.ok(!(await page.content()).includes(backend.key), 'key left in the document');
    /* A reload in the same tab stays signed in; signing out forgets the key. */
    await page.reload();
    await page.waitForSelector('#view-check:not([hidden])');
    await page.click('#sign-out');
    await page.waitForSelector('#view-signin:not([hidden])');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.close();
});

test('a key revoked during the session sends the analyst back to sign in', realOnly, async () => {
    const key = createKey('analyst', 'browser-revoked');
    const page = await newPage();
    await signIn(page, key);
    await page.waitForSelector('#view-check:not([hidden])');
    execFileSync(path.join(backend.bin, 'hashwatch'), ['keys', 'revoke', key, '--store', backend.store],
        { stdio: ['ignore', 'pipe', 'pipe'] });
    await page.setInputFiles('#files', file(BLUR));
    await page.waitForSelector('#view-signin:not([hidden])');
    assert.match(await page.textContent('#signin-error'), /no longer accepted/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.equal(await page.locator('#results > li').count(), 0, 'results are cleared on sign-out');
    await page.close();
});

test('a check key sees verdicts only and is told so', realOnly, async () => {
    const key = createKey('check', 'browser-check');
    const page = await newPage();
    await signIn(page, key);
    await page.waitForSelector('#view-check:not([hidden])');
    await page.locator('#role-note:not([hidden])').waitFor();
    assert.match(await page.textContent('#session-state'), /\(check role\)/);
    await page.setInputFiles('#files', file(BLUR));
    const card = await newestResult(page, 'blur-a-little.jpg');
    assert.match(await card.locator('.verdict').textContent(), /^Match/);
    assert.equal(await card.locator('.m-distance').first().textContent(), '—');
    assert.equal(await card.locator('.m-variant').first().textContent(), '—');
    await page.click('#tab-lookup');
    await page.fill('#hashes', expected.get(ORIGINAL)[0]);
    await page.click('#lookup-button');
    const err = page.locator('#lookup-results .field-error');
    await err.waitFor();
    assert.match(await err.textContent(), /not allowed/);
    await page.close();
});

test('a near-duplicate of a listed image is a match, with list, distance and hashes', async () => {
    const page = await signedInPage();
    await page.setInputFiles('#files', file(BLUR));
    const card = await newestResult(page, 'blur-a-little.jpg');
    assert.match(await card.locator('.verdict').textContent(), /^Match/);
    const row = card.locator('.match-row').first();
    assert.equal(await row.locator('.m-list strong').textContent(), backend.listName);
    const want = bestVariant(BLUR, expected.get(ORIGINAL)[0]);
    assert.equal(Number(await row.locator('.m-distance').textContent()), want.distance);
    assert.equal((await row.locator('.m-variant').textContent()).trim(), VARIANT_WORDS[want.variant]);
    assert.equal(await row.locator('.m-category').textContent(), backend.category);
    /* The hashes shown are the reference PDQ (with its quality) and the file's digests. */
    const hashes = await card.locator('.hashes dd .hash').allTextContents();
    assert.deepEqual(hashes, [expected.get(BLUR)[0], digest('md5', BLUR), digest('sha1', BLUR),
        digest('sha256', BLUR)]);
    assert.match(await card.locator('.hashes').textContent(), new RegExp('quality ' + expected.get(BLUR)[1]));
    assert.equal(await card.locator('.hashes .copy').count(), 4);
    await page.screenshot({ path: path.join(artifacts, 'match.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
    await page.screenshot({ path: path.join(artifacts, 'match-dark.png'), fullPage: true });
    await page.close();
});

test('a mirrored copy matches through the mirror variant, named in words', async () => {
    const page = await signedInPage();
    const listed = expected.get(ORIGINAL)[0];
    const want = bestVariant(FLIPY, listed);
    assert.equal(want.variant, 'flipy', 'conformance data: the mirrored bridge is closest mirrored');
    await page.setInputFiles('#files', file(FLIPY));
    const card = await newestResult(page, 'bridge-6-flipy.jpg');
    assert.match(await card.locator('.verdict').textContent(), /^Match/);
    const row = card.locator('.match-row').first();
    assert.equal(Number(await row.locator('.m-distance').textContent()), want.distance);
    assert.equal((await row.locator('.m-variant').textContent()).trim(), 'mirrored left-right');
    await page.close();
});

test('a file that is not an image is reported in plain words', async () => {
    const page = await signedInPage();
    await page.setInputFiles('#files', {
        name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('meeting notes, not a picture\n'.repeat(20))
    });
    const card = await newestResult(page, 'notes.txt');
    const verdict = await card.locator('.verdict').textContent();
    assert.match(verdict, /^(Unscannable|Not an image)$/);
    assert.doesNotMatch(verdict, /No match/);
    assert.match(await card.locator('.reason').textContent(), /not an image/i);
    /* The preview says it cannot show the file rather than showing a broken image. */
    await page.locator('#preview-empty:not([hidden])').waitFor();
    await page.close();
});

test('an image with too little detail is unscannable, never "no match"', async () => {
    const rel = 'images/misc-images/small.jpg';
    assert.ok(Number(expected.get(rel)[1]) < 50, 'conformance data: quality below the PDQ floor');
    const page = await signedInPage();
    await page.setInputFiles('#files', file(rel));
    const card = await newestResult(page, 'small.jpg');
    assert.equal(await card.locator('.verdict').textContent(), 'Unscannable');
    assert.match(await card.locator('.reason').textContent(), /too little detail/);
    assert.equal(await card.locator('.hash-extra').textContent(), 'quality ' + expected.get(rel)[1]);
    assert.equal(await card.locator('.hashes .hash').first().textContent(), expected.get(rel)[0]);
    await page.close();
});

test('an image over the size limit of the service is refused in plain words', async () => {
    assert.ok(fs.statSync(file(LARGE)).size > MAX_BODY, 'the test image must exceed the limit');
    const page = await signedInPage();
    await page.setInputFiles('#files', file(LARGE));
    const card = await newestResult(page, 'exif-rotn-6.jpg');
    assert.equal(await card.locator('.verdict').textContent(), 'Too large');
    assert.match(await card.locator('.reason').textContent(), /^Image too large/);
    await page.close();
});

test('an overloaded service is retried, then explained in plain words with a Retry button', async () => {
    const page = await signedInPage();
    /* The service's 503 + Retry-After, as hashwatchd sends it when its queue is full. */
    let refused = 0;
    await page.route('**/v1/check', (route) => {
        refused++;
        return route.fulfill({
            status: 503, contentType: 'application/json', headers: { 'Retry-After': '1' },
            body: JSON.stringify({ error: 'overloaded', message: 'the hashing queue is full; retry shortly' })
        });
    });
    await page.setInputFiles('#files', file(BLUR));
    const card = page.locator('#results > li', { hasText: 'blur-a-little.jpg' }).first();
    await card.locator('.reason', { hasText: 'retrying in 1 s' }).waitFor();
    await card.locator('.verdict-error').waitFor();
    assert.equal(refused, 4, 'one try and three retries');
    assert.equal(await card.locator('.verdict').textContent(), 'Service busy');
    assert.equal(await card.locator('.reason').textContent(), 'The service is overloaded or not ready. Retry later.');
    /* Once the service has room again, Retry checks it. */
    await page.unroute('**/v1/check');
    await card.locator('.result-foot button', { hasText: 'Retry' }).click();
    await card.locator('.verdict-match').waitFor();
    await page.close();
});

test('the preview is blurred and grey until revealed, and blurred again for the next image', async () => {
    const page = await signedInPage();
    await page.setInputFiles('#files', file(BLUR));
    await newestResult(page, 'blur-a-little.jpg');
    await page.locator('#preview-img:not([hidden])').waitFor();
    let filter = await previewFilter(page);
    assert.match(filter, /blur\(/);
    assert.match(filter, /grayscale\(1\)/);
    assert.equal(await page.getAttribute('#reveal', 'aria-pressed'), 'false');
    /* Revealed by keyboard: focus the button and press Enter. */
    await page.focus('#reveal');
    await page.keyboard.press('Enter');
    assert.equal(await previewFilter(page), 'none');
    assert.equal(await page.getAttribute('#reveal', 'aria-pressed'), 'true');
    /* The object URL is revoked once drawn: nothing of the image stays addressable. */
    const src = await page.getAttribute('#preview-img', 'src');
    assert.match(src, /^blob:/);
    const stillThere = await page.evaluate((u) => new Promise((resolve) => {
        const probe = new Image();
        probe.onload = () => resolve(true);
        probe.onerror = () => resolve(false);
        probe.src = u;
    }), src);
    assert.equal(stillThere, false, 'object URL still alive after the preview was drawn');
    /* The next image replaces it, blurred again. */
    await page.setInputFiles('#files', file(ORIGINAL));
    await newestResult(page, 'bridge-1-original.jpg');
    filter = await previewFilter(page);
    assert.match(filter, /blur\(/);
    assert.match(filter, /grayscale\(1\)/);
    assert.equal(await page.getAttribute('#reveal', 'aria-pressed'), 'false');
    assert.equal(await page.textContent('#preview-name'), 'bridge-1-original.jpg');
    /* Revealed by click, blurred again with Escape. */
    await page.click('#reveal');
    assert.equal(await previewFilter(page), 'none');
    await page.keyboard.press('Escape');
    assert.match(await previewFilter(page), /blur\(/);
    await page.close();
});

test('a batch shows progress and every result', async () => {
    const page = await signedInPage();
    const names = [BLUR, ORIGINAL, FLIPY, 'images/bridge-mods/blur-a-lot.jpg',
        'images/reg-test-input/dih/bridge-2-rotate-90.jpg'];
    /* Each is within the default PDQ threshold (31) of the listed bridge, in some orientation. */
    for (const rel of names) {
        assert.ok(bestVariant(rel, expected.get(ORIGINAL)[0]).distance <= 31, rel);
    }
    /* Count /v1/check requests in flight: the page keeps at most 2. */
    let inFlight = 0;
    let maxInFlight = 0;
    const isCheck = (req) => req.url().endsWith('/v1/check');
    page.on('request', (req) => {
        if (isCheck(req)) {
            maxInFlight = Math.max(maxInFlight, ++inFlight);
        }
    });
    const done = (req) => {
        if (isCheck(req)) {
            inFlight--;
        }
    };
    page.on('requestfinished', done);
    page.on('requestfailed', done);
    await page.setInputFiles('#files', names.map(file));
    await page.waitForFunction((n) => document.getElementById('progress-text').textContent === n + ' / ' + n,
        names.length);
    assert.equal(await page.locator('#results > li').count(), names.length);
    assert.equal(await page.locator('#results > li .verdict-pending').count(), 0);
    assert.equal(await page.locator('#results > li[data-verdict="match"]').count(), names.length,
        'every one is the listed bridge, rotated, mirrored or blurred');
    assert.match(await page.textContent('#counts'), new RegExp('^' + names.length + ' matches'));
    assert.ok(maxInFlight >= 1 && maxInFlight <= 2, 'requests in flight: ' + maxInFlight);
    /* "Copy results" puts one tab-separated line per image on the clipboard. */
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(backend.url).origin });
    await page.click('#copy-results');
    await page.locator('#copy-results', { hasText: 'Copied' }).waitFor();
    const lines = (await page.evaluate(() => navigator.clipboard.readText())).trim().split('\n');
    assert.equal(lines.length, names.length + 1);
    const cols = lines[0].split('\t');
    for (const rel of names) {
        const row = lines.find((l) => l.startsWith(path.basename(rel) + '\t')).split('\t');
        assert.equal(row[cols.indexOf('verdict')], 'match');
        assert.equal(row[cols.indexOf('pdq')], expected.get(rel)[0], rel);
        assert.equal(row[cols.indexOf('sha256')], digest('sha256', rel), rel);
        assert.match(row[cols.indexOf('matches')], new RegExp('^' + backend.listName + ':'));
    }
    await page.close();
});

test('a stopped batch keeps its answers, and the next batch counts from zero', async () => {
    const page = await signedInPage();
    const names = [BLUR, ORIGINAL, FLIPY, 'images/bridge-mods/blur-a-lot.jpg',
        'images/reg-test-input/dih/bridge-2-rotate-90.jpg', 'images/bridge-mods/high-contrast.jpg'];
    /* The first two checks go through; later ones wait, so Stop finds exactly 2 in flight. */
    let seen = 0;
    let release;
    const gate = new Promise((resolve) => {
        release = resolve;
    });
    await page.route('**/v1/check', async (route) => {
        if (++seen <= 2) {
            return route.continue();
        }
        await gate;
        return route.continue().catch(() => {});
    });
    await page.setInputFiles('#files', names.map(file));
    await page.waitForFunction(() => document.querySelectorAll('#results [data-verdict="match"]').length === 2);
    await page.waitForFunction(() => document.getElementById('progress-text').textContent === '2 / 6');
    while (seen < 4) {
        await page.waitForTimeout(20);
    }
    await page.click('#cancel');
    await page.waitForFunction(() => !document.querySelector('#results .verdict-pending'));
    release();
    const verdicts = await page.locator('#results > li').evaluateAll((li) => li.map((x) => x.dataset.verdict));
    assert.deepEqual(verdicts, ['match', 'match', 'stopped', 'stopped', 'stopped', 'stopped']);
    assert.equal(await page.textContent('#progress-text'), '2 / 2');
    assert.equal(seen, 4, 'the two queued images were never sent');
    await page.unroute('**/v1/check');
    await page.click('#clear');
    assert.equal(await page.locator('#results > li').count(), 0);
    await page.setInputFiles('#files', file(BLUR));
    await newestResult(page, 'blur-a-little.jpg');
    await page.waitForFunction(() => document.getElementById('progress-text').textContent === '1 / 1');
    assert.match(await page.textContent('#counts'), /^1 match · 0 no match$/);
    await page.close();
});

test('an image dropped on the drop zone is checked', async () => {
    const page = await signedInPage();
    const bytes = fs.readFileSync(file(BLUR)).toString('base64');
    await page.evaluate((b64) => {
        const bin = atob(b64);
        const arr = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) {
            arr[i] = bin.charCodeAt(i);
        }
        const dt = new DataTransfer();
        dt.items.add(new File([arr], 'dropped.jpg', { type: 'image/jpeg' }));
        const zone = document.getElementById('drop');
        zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, bytes);
    const card = await newestResult(page, 'dropped.jpg');
    assert.match(await card.locator('.verdict').textContent(), /^Match/);
    await page.close();
});

test('pasted hashes are typed and looked up', async () => {
    const page = await signedInPage();
    await page.click('#tab-lookup');
    const listed = expected.get(ORIGINAL)[0];
    const other = crypto.randomBytes(16).toString('hex');
    await page.fill('#hashes', listed + '\n' + other + '\nnot-a-hash');
    assert.match(await page.textContent('#detected'), /1 PDQ, 1 MD5/);
    assert.match(await page.textContent('#detected'), /Not recognised: 1/);
    await page.click('#lookup-button');
    const items = page.locator('.lookup-item');
    await items.first().waitFor();
    assert.equal(await items.count(), 2);
    const pdq = page.locator('.lookup-item', { hasText: listed });
    assert.equal(await pdq.getAttribute('data-verdict'), 'match');
    assert.equal(await pdq.locator('.m-list strong').textContent(), backend.listName);
    assert.equal(Number(await pdq.locator('.m-distance').textContent()), 0);
    const md5 = page.locator('.lookup-item', { hasText: other });
    assert.equal(await md5.getAttribute('data-verdict'), 'no_match');
    assert.match(await md5.locator('.lookup-type').textContent(), /^MD5/);
    await page.screenshot({ path: path.join(artifacts, 'lookup.png'), fullPage: true });
    /* The same 64 digits read as SHA-256 on request: no such SHA-256 is listed. */
    await page.fill('#hashes', listed);
    await page.check('input[name="hex64"][value="sha256"]');
    await page.click('#lookup-button');
    await page.locator('.lookup-item', { hasText: listed }).waitFor();
    const sha = page.locator('.lookup-item', { hasText: listed });
    assert.equal(await sha.locator('.lookup-type').textContent(), 'SHA-256');
    assert.equal(await sha.getAttribute('data-verdict'), 'no_match');
    /* Both readings at once, each labelled; a PhotoDNA in base64 is recognised as such. */
    const photodna = crypto.randomBytes(144).toString('base64');
    await page.fill('#hashes', listed + ', ' + photodna);
    await page.check('input[name="hex64"][value="both"]');
    assert.match(await page.textContent('#detected'), /1 PDQ, 1 SHA-256, 1 PhotoDNA/);
    await page.click('#lookup-button');
    await page.locator('.lookup-item .lookup-type', { hasText: 'PhotoDNA' }).waitFor();
    const types = await page.locator('.lookup-item .lookup-type').allTextContents();
    assert.deepEqual(types.slice().sort(), ['PDQ', 'PhotoDNA', 'SHA-256']);
    const verdicts = await page.locator('.lookup-item').evaluateAll((li) => li.map((x) =>
        x.querySelector('.lookup-type').textContent + '=' + x.dataset.verdict).sort());
    assert.deepEqual(verdicts, ['PDQ=match', 'PhotoDNA=no_match', 'SHA-256=no_match']);
    await page.close();
});

test('too many hashes at once are refused in plain words', realOnly, async () => {
    const page = await signedInPage();
    await page.click('#tab-lookup');
    const many = Array.from({ length: LOOKUP_MAX + 1 }, () => crypto.randomBytes(16).toString('hex'));
    await page.fill('#hashes', many.join('\n'));
    await page.click('#lookup-button');
    const err = page.locator('#lookup-results .field-error');
    await err.waitFor();
    assert.match(await err.textContent(), /^Too many hashes at once for the service .*at most 50/);
    await page.close();
});

test('the lists view shows the list with its version and threshold', async () => {
    const page = await signedInPage();
    await page.click('#tab-lists');
    const row = page.locator('#lists-body tbody tr', { hasText: backend.listName });
    await row.waitFor();
    assert.match(await row.locator('.l-counts').textContent(), /PDQ [1-9]/);
    assert.match(await row.locator('.l-version').textContent(), /^\d+$/);
    assert.match(await row.locator('.l-threshold').textContent(), /^\d+$/);
    assert.notEqual((await row.locator('.l-updated').textContent()).trim(), '');
    await page.screenshot({ path: path.join(artifacts, 'lists.png'), fullPage: true });
    await page.close();
});

test('keyboard only: the drop zone is a button that opens the file picker', async () => {
    const page = await signedInPage();
    /* Record the picker being opened instead of showing it (a headless background tab may
     * refuse to open a native dialog, which would make this test depend on window focus). */
    await page.evaluate(() => {
        window.pickerOpened = 0;
        document.getElementById('files').addEventListener('click', (ev) => {
            window.pickerOpened++;
            ev.preventDefault();
        });
    });
    /* Tab from the privacy notice's neighbourhood reaches the drop zone as a real button. */
    await page.focus('#tab-lists');
    let hops = 0;
    while (!(await page.evaluate(() => document.activeElement && document.activeElement.id === 'drop')) && hops < 10) {
        await page.keyboard.press('Tab');
        hops++;
    }
    assert.equal(await page.evaluate(() => document.activeElement.id), 'drop', 'Tab never reached the drop zone');
    assert.equal(await page.evaluate(() => document.activeElement.tagName), 'BUTTON');
    const outline = await page.$eval('#drop', (b) => getComputedStyle(b).outlineStyle);
    assert.notEqual(outline, 'none', 'keyboard focus must be visible');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Space');
    assert.equal(await page.evaluate(() => window.pickerOpened), 2);
    assert.equal(await page.getAttribute('#files', 'multiple'), '');
    await page.close();
});

test('at 200% zoom nothing needs horizontal scrolling', async () => {
    const page = await context.newPage();
    await page.bringToFront();
    /* 200% zoom of a 1280-pixel window is a 640 CSS-pixel viewport. */
    await page.setViewportSize({ width: 640, height: 900 });
    await page.goto(backend.url);
    await signIn(page, backend.key);
    await page.waitForSelector('#view-check:not([hidden])');
    await page.setInputFiles('#files', file(BLUR));
    await newestResult(page, 'blur-a-little.jpg');
    for (const tab of ['#tab-check', '#tab-lookup', '#tab-lists']) {
        await page.click(tab);
        const over = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(over <= 0, tab + ': page is ' + over + ' px wider than the window');
    }
    await page.click('#tab-check');
    await page.screenshot({ path: path.join(artifacts, 'match-200pct.png'), fullPage: true });
    await page.close();
});

test('no Content-Security-Policy violation, script error or request off the origin happened', () => {
    assert.deepEqual(problems, []);
});
