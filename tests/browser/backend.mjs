// backend.mjs: starts the service the browser tests talk to: the real hashwatchd (default) or the mock.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/*
 * startBackend({ args: [extra hashwatchd flags] }) -> { url, key, listName, category, stop() }
 * Real: hashwatchd on 127.0.0.1:0 with a fresh store in a temporary directory, set up by --demo
 * (list "demo" and an analyst key, read from its output).
 */
export async function startBackend(opts)
{
    if (process.env.HW_BROWSER_BACKEND === 'mock') {
        const { startMock } = await import('./mock-server.mjs');
        const m = await startMock(0);
        return {
            url: 'http://127.0.0.1:' + m.port + '/', key: m.key, listName: 'demo', category: 'test-image',
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
    const daemon = path.join(bin, 'hashwatchd');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hw-browser-store-'));
    const store = path.join(dir, 'store');
    const env = Object.assign({}, process.env);
    delete env.HASHWATCH_STORE;

    /* --demo: list "demo" holds the reference hashes of bridge-1-original.jpg and
     * pen-and-coaster.png (server/demo.c) and an analyst key is printed once. */
    const args = ['--listen', '127.0.0.1:0', '--store', store, '--demo', '--workers', '2',
        '--audit-log', path.join(dir, 'audit.log')].concat(opts.args || []);
    const child = spawn(daemon, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    const started = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('hashwatchd did not start:\n' + log)), 60000);
        const onData = (chunk) => {
            log += chunk.toString();
            const p = /listening on [^\n]*?:(\d+) /.exec(log);
            const k = /demo key[^:\n]*: *(\S+)/.exec(log);
            if (p && k) {
                clearTimeout(timer);
                resolve({ port: Number(p[1]), key: k[1] });
            }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error('hashwatchd exited (' + code + ') before listening:\n' + log));
        });
    });
    return {
        url: 'http://127.0.0.1:' + started.port + '/', key: started.key, listName: 'demo',
        category: 'demo', store, bin, log: () => log,
        stop: () => new Promise((resolve) => {
            if (child.exitCode !== null) {
                fs.rmSync(dir, { recursive: true, force: true });
                return resolve();
            }
            child.once('exit', () => {
                fs.rmSync(dir, { recursive: true, force: true });
                resolve();
            });
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 10000).unref();
        })
    };
}
