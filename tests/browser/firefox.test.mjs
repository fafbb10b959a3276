// firefox.test.mjs: the analyst page in headless Firefox (Debian's firefox-esr, WebDriver BiDi)
// against the real hashwatchd: sign-in, a match with its distance, the blurred preview, a
// non-image, a hash look-up, no CSP violation. Skipped when firefox-esr is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBackend } from './backend.mjs';
import { launchFirefox } from './bidi.mjs';
import { BLUR, ORIGINAL, VARIANT_WORDS, expected, bestVariant, file } from './conformance.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = process.env.HW_BROWSER_ARTIFACTS || path.join(here, 'artifacts');
const firefoxPath = [process.env.HW_FIREFOX, '/usr/bin/firefox-esr', '/usr/bin/firefox']
    .find((p) => p && fs.existsSync(p));
const skip = firefoxPath ? {} : { skip: 'firefox-esr is not installed (deploy/setup.sh --test)' };

let backend;
let ff;
let tmp;
const problems = [];

before(async () => {
    if (!firefoxPath) {
        return;
    }
    fs.mkdirSync(artifacts, { recursive: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-ff-files-'));
    backend = await startBackend({});
    ff = await launchFirefox(firefoxPath);
    await ff.send('session.subscribe', { events: ['log.entryAdded'] });
    ff.onEvent((ev) => {
        const e = ev.params || {};
        if (ev.method === 'log.entryAdded' && (e.level === 'error' || /Content[- ]Security[- ]Policy/i.test(e.text || ''))) {
            problems.push(e.level + ': ' + e.text);
        }
    });
    await ff.navigate(backend.url);
});

after(async () => {
    if (ff) {
        await ff.close();
    }
    if (backend) {
        await backend.stop();
    }
    if (tmp) {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});

const visible = `(sel) => { const e = document.querySelector(sel); return !!e && !e.closest('[hidden]'); }`;

async function signIn(key)
{
    await ff.call(`(k) => {
        document.getElementById('key').value = k;
        document.getElementById('signin-button').click();
    }`, key);
}

/* The newest result card named `name`, once it has a final verdict: its visible texts. */
async function result(name)
{
    return ff.waitFor(`(name) => {
        const card = [...document.querySelectorAll('#results > li')]
            .find((li) => li.querySelector('.file-name').textContent === name);
        if (!card || card.querySelector('.verdict-pending')) {
            return null;
        }
        const t = (s) => { const e = card.querySelector(s); return e ? e.textContent.trim() : ''; };
        return { verdict: t('.verdict'), reason: t('.reason'), list: t('.m-list strong'),
                 distance: t('.m-distance'), variant: t('.m-variant'),
                 hashes: [...card.querySelectorAll('.hashes .hash')].map((h) => h.textContent) };
    }`, 'the result of ' + name, name);
}

const filter = `() => getComputedStyle(document.getElementById('preview-img')).filter`;

test('Firefox: a wrong key is refused, the right one signs in', skip, async () => {
    await signIn('wrong-key-for-firefox');
    const msg = await ff.waitFor(`() => { const e = document.getElementById('signin-error');
        return e.hidden ? '' : e.textContent; }`, 'the sign-in error');
    assert.match(msg, /Wrong key/);
    assert.equal(await ff.call('() => sessionStorage.length'), 0);
    await signIn(backend.key);
    await ff.waitFor(visible, 'the check view', '#view-check');
    assert.equal(await ff.call('() => document.cookie'), '');
    assert.equal(await ff.call('() => localStorage.length'), 0);
    assert.ok(!(await ff.call('() => location.href')).includes(backend.key));
});

test('Firefox: a near-duplicate matches, the preview is blurred until revealed', skip, async () => {
    await ff.setFiles('#files', [file(BLUR)]);
    const r = await result('blur-a-little.jpg');
    const want = bestVariant(BLUR, expected.get(ORIGINAL)[0]);
    assert.match(r.verdict, /^Match/);
    assert.equal(r.list, backend.listName);
    assert.equal(Number(r.distance), want.distance);
    assert.equal(r.variant, VARIANT_WORDS[want.variant]);
    assert.equal(r.hashes[0], expected.get(BLUR)[0]);
    await ff.waitFor(visible, 'the preview image', '#preview-img');
    assert.match(await ff.call(filter), /blur\(/);
    assert.match(await ff.call(filter), /grayscale\(1\)/);
    await ff.screenshot(path.join(artifacts, 'firefox-match.png'));
    await ff.call(`() => document.getElementById('reveal').click()`);
    assert.equal(await ff.call(filter), 'none');
    await ff.setFiles('#files', [file(ORIGINAL)]);
    await result('bridge-1-original.jpg');
    assert.match(await ff.call(filter), /blur\(/);
});

test('Firefox: a non-image is reported in plain words', skip, async () => {
    const txt = path.join(tmp, 'letter.txt');
    fs.writeFileSync(txt, 'Dear analyst, this is not a picture.\n'.repeat(10));
    await ff.setFiles('#files', [txt]);
    const r = await result('letter.txt');
    assert.match(r.verdict, /^(Unscannable|Not an image)$/);
    assert.match(r.reason, /not an image/i);
});

test('Firefox: a pasted hash is looked up', skip, async () => {
    const listed = expected.get(ORIGINAL)[0];
    await ff.call(`(h) => {
        document.getElementById('tab-lookup').click();
        const ta = document.getElementById('hashes');
        ta.value = h;
        ta.dispatchEvent(new Event('input', { bubbles: true }));
        document.getElementById('lookup-button').click();
    }`, listed);
    const v = await ff.waitFor(`() => { const i = document.querySelector('.lookup-item');
        return i ? i.dataset.verdict + ' ' + i.querySelector('.m-list strong')?.textContent : ''; }`, 'the look-up');
    assert.equal(v, 'match ' + backend.listName);
});

test('Firefox: at 200% zoom nothing needs horizontal scrolling', skip, async () => {
    /* 200% zoom of a 1280-pixel window is a 640 CSS-pixel viewport. */
    await ff.send('browsingContext.setViewport', { context: ff.context, viewport: { width: 640, height: 900 } });
    for (const tab of ['tab-check', 'tab-lookup', 'tab-lists']) {
        const over = await ff.call(`(id) => {
            document.getElementById(id).click();
            return document.documentElement.scrollWidth - document.documentElement.clientWidth;
        }`, tab);
        assert.ok(over <= 0, tab + ': page is ' + over + ' px wider than the window');
    }
});

test('Firefox: no CSP violation or script error', skip, () => {
    assert.deepEqual(problems, []);
});
