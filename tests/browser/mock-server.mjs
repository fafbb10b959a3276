// mock-server.mjs: a stand-in for hashwatchd's API (page development only; the tests use the real server).
// Serves server/web/ and answers /v1/check, /v1/lookup, /v1/lists from the conformance data:
// the PDQ hashes come from tests/data/conformance/pdq/dihedral.tsv (keyed by the file's SHA-256).
// Usage: node mock-server.mjs [port]   (key: "mock-analyst-key")
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '../..');
const webDir = path.join(top, 'server/web');
const pdqDir = path.join(top, 'tests/data/conformance/pdq');
export const MOCK_KEY = 'mock-analyst-key';
const MAX_BODY = 2 * 1024 * 1024; // the --max-body page.test.mjs gives the real server
const VARIANTS = ['orig', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1'];

function loadDihedral()
{
    const bySha = new Map();
    const byFile = new Map();
    const lines = fs.readFileSync(path.join(pdqDir, 'dihedral.tsv'), 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
        const c = line.split('\t');
        const row = { file: c[0], variants: c.slice(1, 9), quality: Number(c[9]) };
        const bytes = fs.readFileSync(path.join(pdqDir, c[0]));
        bySha.set(crypto.createHash('sha256').update(bytes).digest('hex'), row);
        byFile.set(c[0], row);
    }
    return { bySha, byFile };
}

function hamming(a, b)
{
    let d = 0;
    for (let i = 0; i < a.length; i += 8) {
        let x = parseInt(a.slice(i, i + 8), 16) ^ parseInt(b.slice(i, i + 8), 16);
        while (x) {
            x &= x - 1;
            d++;
        }
    }
    return d;
}

export function startMock(port = 0)
{
    const { bySha, byFile } = loadDihedral();
    const original = byFile.get('images/reg-test-input/dih/bridge-1-original.jpg');
    const list = {
        name: 'demo', version: 3, pdq_threshold: 31,
        source: 'conformance images (mock)', updated: Math.floor(Date.now() / 1000) - 3600,
        entries: [
            { type: 'pdq', hash: original.variants[0], entry_id: 'demo-1', category: 'test-image', severity: 'high' },
            { type: 'md5', hash: 'd41d8cd98f00b204e9800998ecf8427e', entry_id: 'demo-empty', category: 'test-file', severity: 'low' }
        ]
    };

    function send(res, status, obj, extra)
    {
        const body = JSON.stringify(obj);
        res.writeHead(status, Object.assign({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, extra || {}));
        res.end(body);
    }

    function error(res, status, code, message, extra)
    {
        send(res, status, { error: code, message }, extra);
    }

    function matchPdq(variants)
    {
        const out = [];
        for (const e of list.entries) {
            if (e.type !== 'pdq') {
                continue;
            }
            let best = null;
            variants.forEach((h, v) => {
                const d = hamming(h, e.hash);
                if (d <= list.pdq_threshold && (!best || d < best.distance)) {
                    best = { distance: d, variant: VARIANTS[v] };
                }
            });
            if (best) {
                out.push({ list: list.name, entry_id: e.entry_id, category: e.category, severity: e.severity,
                    hash_type: 'pdq', distance: best.distance, variant: best.variant });
            }
        }
        return out;
    }

    function matchExact(type, hash)
    {
        return list.entries.filter((e) => e.type === type && e.hash === hash).map((e) => ({
            list: list.name, entry_id: e.entry_id, category: e.category, severity: e.severity,
            hash_type: type, distance: 0, variant: 'orig'
        }));
    }

    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        if (req.method === 'GET' && !url.pathname.startsWith('/v1/')) {
            const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
            const types = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8',
                css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };
            const ext = name.split('.').pop();
            if (!/^[a-z0-9_.-]+$/i.test(name) || !types[ext] || !fs.existsSync(path.join(webDir, name))) {
                return error(res, 404, 'not_found', 'no such page');
            }
            res.writeHead(200, { 'Content-Type': types[ext],
                'Content-Security-Policy': "default-src 'self'; img-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
            return res.end(fs.readFileSync(path.join(webDir, name)));
        }
        if (req.headers.authorization !== 'Bearer ' + MOCK_KEY) {
            return error(res, 401, 'unauthorized', 'missing or unknown API key');
        }
        const chunks = [];
        let size = 0;
        let tooBig = false;
        req.on('data', (c) => {
            size += c.length;
            if (size > MAX_BODY) {
                tooBig = true;
            } else {
                chunks.push(c);
            }
        });
        req.on('end', () => {
            if (tooBig) {
                return error(res, 413, 'too_large', 'body larger than ' + MAX_BODY + ' bytes');
            }
            const body = Buffer.concat(chunks);
            const rid = crypto.randomBytes(6).toString('hex');
            if (req.method === 'GET' && url.pathname === '/v1/lists') {
                const counts = { pdq: 0, md5: 0, sha1: 0, sha256: 0, photodna: 0 };
                for (const e of list.entries) {
                    counts[e.type]++;
                }
                return send(res, 200, { lists: [{ name: list.name, version: list.version, pdq_threshold: list.pdq_threshold,
                    counts, updated: list.updated, source: list.source }] });
            }
            if (req.method === 'POST' && url.pathname === '/v1/check') {
                const isJpeg = body.length > 3 && body[0] === 0xff && body[1] === 0xd8;
                const isPng = body.length > 8 && body.slice(1, 4).toString() === 'PNG';
                const hashes = {
                    md5: crypto.createHash('md5').update(body).digest('hex'),
                    sha1: crypto.createHash('sha1').update(body).digest('hex'),
                    sha256: crypto.createHash('sha256').update(body).digest('hex')
                };
                let matches = matchExact('md5', hashes.md5);
                if (!isJpeg && !isPng) {
                    return send(res, 200, { verdict: matches.length ? 'match' : 'unscannable',
                        reason: 'not_an_image', matches, hashes, lists: { demo: list.version }, request_id: rid });
                }
                const row = bySha.get(hashes.sha256);
                if (row) {
                    hashes.pdq = row.variants[0];
                    hashes.quality = row.quality;
                    if (row.quality >= 50) {
                        matches = matches.concat(matchPdq(row.variants));
                    }
                } else {
                    hashes.pdq = crypto.createHash('sha256').update('pdq' + hashes.sha256).digest('hex');
                    hashes.quality = 80;
                }
                const low = hashes.quality < 50 && !matches.length;
                return send(res, 200, { verdict: matches.length ? 'match' : (low ? 'unscannable' : 'no_match'),
                    reason: low ? 'low_quality' : undefined, matches, hashes,
                    lists: { demo: list.version }, request_id: rid });
            }
            if (req.method === 'POST' && url.pathname === '/v1/lookup') {
                let q;
                try {
                    q = JSON.parse(body.toString('utf8'));
                } catch (e) {
                    return error(res, 400, 'bad_json', 'body is not JSON');
                }
                const results = [];
                for (const type of ['pdq', 'md5', 'sha1', 'sha256', 'photodna']) {
                    for (const h of q[type] || []) {
                        const m = type === 'pdq' ? matchPdq([h]) : matchExact(type, h);
                        results.push({ type, hash: h, verdict: m.length ? 'match' : 'no_match', matches: m });
                    }
                }
                return send(res, 200, { results, lists: { demo: list.version }, request_id: rid });
            }
            return error(res, 404, 'not_found', 'no such endpoint');
        });
    });
    return new Promise((resolve) => {
        server.listen(port, '127.0.0.1', () => resolve({ server, port: server.address().port, key: MOCK_KEY }));
    });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const { port } = await startMock(Number(process.argv[2] || 0));
    console.log('mock hashwatchd on http://127.0.0.1:' + port + '/  key: ' + MOCK_KEY);
}
