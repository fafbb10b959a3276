// bidi.mjs: a minimal WebDriver BiDi client to drive Debian's firefox-esr (Playwright's own
// Firefox support needs its patched build or a newer BiDi than ESR has).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

export async function launchFirefox(executable)
{
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-firefox-'));
    /* Quiet, offline profile: no updates, telemetry, studies or first-run pages. */
    fs.writeFileSync(path.join(profile, 'user.js'), [
        'user_pref("remote.prefs.recommended", true);',
        'user_pref("app.update.enabled", false);',
        'user_pref("browser.shell.checkDefaultBrowser", false);',
        'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
        'user_pref("toolkit.telemetry.enabled", false);',
        'user_pref("app.normandy.enabled", false);',
        'user_pref("browser.startup.homepage", "about:blank");',
        'user_pref("browser.newtabpage.enabled", false);',
        'user_pref("network.dns.disableIPv6", true);',
        ''
    ].join('\n'));
    const proc = spawn(executable, ['--headless', '--no-remote', '--remote-debugging-port=0',
        '--profile', profile, '--width', '1280', '--height', '900'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const url = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('firefox did not start:\n' + log)), 60000);
        const onData = (chunk) => {
            log += chunk.toString();
            const m = /WebDriver BiDi listening on (ws:\/\/\S+)/.exec(log);
            if (m) {
                clearTimeout(timer);
                resolve(m[1]);
            }
        };
        proc.stdout.on('data', onData);
        proc.stderr.on('data', onData);
        proc.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error('firefox exited (' + code + '):\n' + log));
        });
    });
    proc.stdout.on('data', () => {});
    proc.stderr.on('data', () => {});
    const ws = new WebSocket(url + '/session');
    await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
    });
    let nextId = 0;
    const pending = new Map();
    const listeners = [];
    ws.on('message', (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.id !== undefined && pending.has(msg.id)) {
            const { resolve, reject } = pending.get(msg.id);
            pending.delete(msg.id);
            if (msg.type === 'error') {
                reject(new Error(msg.error + ': ' + msg.message));
            } else {
                resolve(msg.result);
            }
        } else if (msg.type === 'event') {
            for (const fn of listeners) {
                fn(msg);
            }
        }
    });
    const send = (method, params) => new Promise((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params: params || {} }));
    });
    await send('session.new', { capabilities: {} });
    const tree = await send('browsingContext.getTree', {});
    const context = tree.contexts[0].context;

    const ff = {
        send,
        context,
        onEvent: (fn) => listeners.push(fn),
        async navigate(url)
        {
            await send('browsingContext.navigate', { context, url, wait: 'complete' });
        },
        /* Evaluates a function body (string) with arguments; returns a plain value. */
        async call(fnSource, ...args)
        {
            const r = await send('script.callFunction', {
                functionDeclaration: fnSource, awaitPromise: true, target: { context },
                arguments: args.map((a) => (a && a.sharedId ? a : { type: 'string', value: String(a) })),
                resultOwnership: 'none', serializationOptions: { maxDomDepth: 0 }
            });
            if (r.type === 'exception') {
                throw new Error('in page: ' + r.exceptionDetails.text);
            }
            return fromRemote(r.result);
        },
        async element(selector)
        {
            const r = await send('browsingContext.locateNodes', { context, locator: { type: 'css', value: selector } });
            if (!r.nodes.length) {
                throw new Error('no element ' + selector);
            }
            return { sharedId: r.nodes[0].sharedId };
        },
        async setFiles(selector, files)
        {
            await send('input.setFiles', { context, element: await ff.element(selector), files });
        },
        /* Waits until fnSource returns something truthy; returns it. */
        async waitFor(fnSource, what, ...args)
        {
            const end = Date.now() + 30000;
            for (;;) {
                const v = await ff.call(fnSource, ...args);
                if (v) {
                    return v;
                }
                if (Date.now() > end) {
                    throw new Error('timed out waiting for ' + what);
                }
                await new Promise((r) => setTimeout(r, 100));
            }
        },
        async screenshot(file)
        {
            const r = await send('browsingContext.captureScreenshot', { context, origin: 'document' });
            fs.writeFileSync(file, Buffer.from(r.data, 'base64'));
        },
        async close()
        {
            try {
                await Promise.race([send('session.end', {}), new Promise((r) => setTimeout(r, 2000))]);
            } catch (e) {
                /* closing anyway */
            }
            ws.close();
            await new Promise((resolve) => {
                if (proc.exitCode !== null) {
                    return resolve();
                }
                proc.once('exit', resolve);
                proc.kill('SIGTERM');
                setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
            });
            fs.rmSync(profile, { recursive: true, force: true });
        }
    };
    return ff;
}

function fromRemote(v)
{
    switch (v.type) {
    case 'undefined':
    case 'null':
        return null;
    case 'string':
    case 'number':
    case 'boolean':
        return v.value;
    case 'array':
        return v.value.map(fromRemote);
    case 'object':
        return Object.fromEntries(v.value.map(([k, x]) => [typeof k === 'string' ? k : fromRemote(k), fromRemote(x)]));
    default:
        return v;
    }
}
