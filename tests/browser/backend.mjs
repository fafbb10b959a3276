// backend.mjs: starts the service the browser tests talk to: the real hashwatchd (default) or the mock.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/*
 * startBackend({ listed: [{type, hash, id, category}] }) -> { url, key, listName, stop() }
 * Real: a fresh store in a temporary directory, a list imported with `hashwatch import` holding
 * exactly `listed`, an analyst key from `hashwatch keys create`, and hashwatchd on 127.0.0.1:0.
 */
export async function startBackend(opts)
{
    if (process.env.HW_BROWSER_BACKEND === 'mock') {
        const { startMock } = await import('./mock-server.mjs');
        const m = await startMock(0);
        return {
            url: 'http://127.0.0.1:' + m.port + '/', key: m.key, listName: 'demo',
            stop: () => new Promise((resolve) => m.server.close(resolve))
        };
    }
    return startReal(opts);
}

async function startReal(opts)
{
    const bin = process.env.HW_BIN_DIR;
    if (!bin) {
        throw new Error('HW_BIN_DIR is not set (run through CTest, or set HW_BROWSER_BACKEND=mock)');
    }
    const cli = path.join(bin, 'hashwatch');
    const daemon = path.join(bin, 'hashwatchd');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-browser-store-'));
    const store = path.join(dir, 'store');
    const listName = 'browser-test';
    const env = Object.assign({}, process.env, { HASHWATCH_STORE: store });

    const csv = path.join(dir, 'list.csv');
    fs.writeFileSync(csv, 'id,category,pdq,md5,sha1,sha256\n' + opts.listed.map((e) =>
        [e.id, e.category, e.type === 'pdq' ? e.hash : '', e.type === 'md5' ? e.hash : '',
            e.type === 'sha1' ? e.hash : '', e.type === 'sha256' ? e.hash : ''].join(',')).join('\n') + '\n');
    execFileSync(cli, ['import', '--store', store, '--list', listName, '--format', 'csv', csv],
        { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keyOut = execFileSync(cli, ['keys', 'create', '--store', store, '--role', 'analyst',
        '--name', 'browser-test'], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    const key = keyOut.split('\n')[0].trim();
    if (!key) {
        throw new Error('hashwatch keys create printed no key');
    }

    const child = spawn(daemon, ['--listen', '127.0.0.1:0', '--store', store], {
        env, stdio: ['ignore', 'pipe', 'pipe']
    });
    let log = '';
    const port = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('hashwatchd did not report its port:\n' + log)), 30000);
        const onData = (chunk) => {
            log += chunk.toString();
            const m = /(?:listening|http:\/\/)[^\n]*?(?:127\.0\.0\.1|localhost|\]):(\d+)/i.exec(log);
            if (m) {
                clearTimeout(timer);
                resolve(Number(m[1]));
            }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', (code) => {
            clearTimeout(timer);
            reject(new Error('hashwatchd exited (' + code + ') before listening:\n' + log));
        });
    });
    /* Keep draining its output so it never blocks on a full pipe. */
    child.stdout.on('data', () => {});
    child.stderr.on('data', () => {});
    return {
        url: 'http://127.0.0.1:' + port + '/', key, listName, log: () => log,
        stop: () => new Promise((resolve) => {
            child.once('exit', () => {
                fs.rmSync(dir, { recursive: true, force: true });
                resolve();
            });
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10000).unref();
        })
    };
}
