// conformance.mjs: expectations for the browser tests, derived from tests/data/conformance/pdq.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const dataDir = process.env.HW_TEST_DATA || path.resolve(here, '../data');
export const pdqDir = path.join(dataDir, 'conformance/pdq');

export const BLUR = 'images/bridge-mods/blur-a-little.jpg';
export const ORIGINAL = 'images/reg-test-input/dih/bridge-1-original.jpg';
export const FLIPY = 'images/reg-test-input/dih/bridge-6-flipy.jpg';
export const LARGE = 'images/reg-test-input/exif-rotn/exif-rotn-6.jpg';
export const VARIANTS = ['orig', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy', 'flipplus1', 'flipminus1'];
/* The page's words for each variant (server/web/app.js VARIANT_WORDS). */
export const VARIANT_WORDS = {
    orig: 'as uploaded', rot90: 'rotated 90°', rot180: 'rotated 180°', rot270: 'rotated 270°',
    flipx: 'flipped top-bottom', flipy: 'mirrored left-right',
    flipplus1: 'mirrored along the main diagonal', flipminus1: 'mirrored along the other diagonal'
};

function readTsv(name)
{
    const rows = new Map();
    const lines = fs.readFileSync(path.join(pdqDir, name), 'utf8').trim().split('\n');
    for (const line of lines.slice(1)) {
        const c = line.split('\t');
        rows.set(c[0], c.slice(1));
    }
    return rows;
}
export const dihedral = readTsv('dihedral.tsv');
/* file -> [pdq hex, quality] as Meta's reference hasher computes them. */
export const expected = readTsv('expected.tsv');

export function hamming(a, b)
{
    let d = 0;
    for (let i = 0; i < a.length; i++) {
        let x = parseInt(a[i], 16) ^ parseInt(b[i], 16);
        while (x) {
            x &= x - 1;
            d++;
        }
    }
    return d;
}

/* The smallest distance between any dihedral variant of `file` and the listed hash. */
export function bestVariant(file, listed)
{
    const hashes = dihedral.get(file).slice(0, 8);
    let best = { distance: 257, variant: '' };
    hashes.forEach((h, v) => {
        const d = hamming(h, listed);
        if (d < best.distance) {
            best = { distance: d, variant: VARIANTS[v] };
        }
    });
    return best;
}

export function file(rel)
{
    return path.join(pdqDir, rel);
}

export function digest(alg, rel)
{
    return crypto.createHash(alg).update(fs.readFileSync(file(rel))).digest('hex');
}
