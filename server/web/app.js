/* app.js: the hashwatch analyst page: sign in, check images, look up hashes, view lists. */
/*
 * Plain browser JavaScript, no framework, no external resource; runs under the CSP
 * "default-src 'self'; img-src 'self' blob:" (no inline code, no eval, no inline styles).
 * The analyst key lives in sessionStorage only and is sent only in the Authorization header.
 * Uploaded images stay in memory: the preview uses an object URL revoked once drawn.
 */
'use strict';

(function () {
    const KEY_STORAGE = 'hashwatch.analyst-key';
    const MAX_IN_FLIGHT = 2; /* concurrent /v1/check requests in a batch */
    const MAX_RETRIES = 3;   /* automatic retries after 429/503 */
    const HASHES_OPEN_MAX = 3; /* batches up to this size show the hashes unfolded */

    const $ = (id) => document.getElementById(id);

    /* ---------- small DOM helpers ---------- */

    function el(tag, props, ...children)
    {
        const node = document.createElement(tag);
        if (props) {
            for (const [k, v] of Object.entries(props)) {
                if (v === undefined || v === null || v === false) {
                    continue;
                }
                if (k === 'class') {
                    node.className = v;
                } else if (k === 'text') {
                    node.textContent = v;
                } else if (k.startsWith('on')) {
                    node.addEventListener(k.slice(2), v);
                } else {
                    node.setAttribute(k, v === true ? '' : String(v));
                }
            }
        }
        for (const c of children) {
            if (c === undefined || c === null || c === false) {
                continue;
            }
            node.append(c instanceof Node ? c : document.createTextNode(String(c)));
        }
        return node;
    }

    function announce(text)
    {
        const s = $('status');
        s.textContent = '';
        /* A fresh text node makes screen readers speak repeated messages too. */
        window.setTimeout(() => { s.textContent = text; }, 30);
    }

    function formatBytes(n)
    {
        if (!Number.isFinite(n)) {
            return '';
        }
        if (n < 1024) {
            return n + ' B';
        }
        if (n < 1024 * 1024) {
            return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB';
        }
        return (n / (1024 * 1024)).toFixed(1) + ' MB';
    }

    function formatTime(v)
    {
        if (v === undefined || v === null || v === '' || v === 0) {
            return { text: 'never', iso: '' };
        }
        let d;
        if (typeof v === 'number') {
            d = new Date(v < 1e12 ? v * 1000 : v);
        } else if (/^\d+$/.test(String(v))) {
            d = new Date(Number(v) * 1000);
        } else {
            d = new Date(v);
        }
        if (Number.isNaN(d.getTime())) {
            return { text: String(v), iso: '' };
        }
        const secs = Math.round((Date.now() - d.getTime()) / 1000);
        let rel = '';
        if (secs >= 0) {
            if (secs < 90) {
                rel = 'just now';
            } else if (secs < 5400) {
                rel = Math.round(secs / 60) + ' minutes ago';
            } else if (secs < 129600) {
                rel = Math.round(secs / 3600) + ' hours ago';
            } else {
                rel = Math.round(secs / 86400) + ' days ago';
            }
        }
        const abs = d.toLocaleString(undefined, {
            year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit'
        });
        return { text: rel ? abs + ' (' + rel + ')' : abs, iso: d.toISOString() };
    }

    /* ---------- words for codes ---------- */

    const VARIANT_WORDS = {
        orig: 'as uploaded',
        rot90: 'rotated 90°',
        rot180: 'rotated 180°',
        rot270: 'rotated 270°',
        flipx: 'flipped top-bottom',
        flipy: 'mirrored left-right',
        flipplus1: 'mirrored along the main diagonal',
        flipminus1: 'mirrored along the other diagonal'
    };
    const VARIANT_BY_NUMBER = ['orig', 'rot90', 'rot180', 'rot270', 'flipx', 'flipy',
        'flipplus1', 'flipminus1'];
    const VARIANT_HINT = {
        rot90: 'the upload matches once turned 90° counter-clockwise',
        rot180: 'the upload matches once turned upside down',
        rot270: 'the upload matches once turned 90° clockwise',
        flipx: 'the upload matches once flipped upside down (top and bottom swapped)',
        flipy: 'the upload matches once mirrored (left and right swapped)',
        flipplus1: 'the upload matches once transposed (rows become columns)',
        flipminus1: 'the upload matches once anti-transposed'
    };

    function variantName(v)
    {
        if (v === undefined || v === null || v === '') {
            return 'orig';
        }
        if (typeof v === 'number' || /^\d$/.test(String(v))) {
            return VARIANT_BY_NUMBER[Number(v)] || String(v);
        }
        const k = String(v).toLowerCase().replace(/[^a-z0-9]/g, '');
        const aliases = { original: 'orig', identity: 'orig', none: 'orig', rotate90: 'rot90',
            rotate180: 'rot180', rotate270: 'rot270', mirror: 'flipy', transpose: 'flipplus1',
            antitranspose: 'flipminus1' };
        return aliases[k] || k;
    }

    function variantWords(v)
    {
        const n = variantName(v);
        return VARIANT_WORDS[n] || String(v);
    }

    const HASH_LABELS = {
        pdq: 'PDQ', md5: 'MD5', sha1: 'SHA-1', sha256: 'SHA-256', photodna: 'PhotoDNA',
        video_md5: 'video MD5'
    };

    function hashLabel(t)
    {
        return HASH_LABELS[String(t || '').toLowerCase()] || String(t || '');
    }

    const SEVERITY_WORDS = ['unknown', 'low', 'medium', 'high', 'critical'];

    function severityWords(s)
    {
        if (s === undefined || s === null || s === '') {
            return 'unknown';
        }
        if (typeof s === 'number') {
            return SEVERITY_WORDS[s] || String(s);
        }
        return String(s);
    }

    const REASON_WORDS = {
        not_an_image: 'This file is not an image the service can read.',
        not_image: 'This file is not an image the service can read.',
        unsupported: 'This image format is not supported (JPEG and PNG are).',
        unsupported_format: 'This image format is not supported (JPEG and PNG are).',
        format: 'This image format is not supported (JPEG and PNG are).',
        corrupt: 'The image file is damaged or truncated; it could not be decoded.',
        truncated: 'The image file is damaged or truncated; it could not be decoded.',
        decode: 'The image could not be decoded (damaged or unusual file).',
        decode_failed: 'The image could not be decoded (damaged or unusual file).',
        undecodable: 'The image could not be decoded (damaged or unusual file).',
        too_large: 'The image is too large for the service to decode (too many pixels).',
        too_big: 'The image is too large for the service to decode (too many pixels).',
        limit: 'The image exceeds the service’s limits (dimensions or pixels).',
        too_small: 'The image is too small to give a meaningful PDQ hash.',
        low_quality: 'The image has too little detail for a reliable PDQ hash (low quality), and no exact match was found.',
        quality: 'The image has too little detail for a reliable PDQ hash (low quality), and no exact match was found.',
        empty: 'The file is empty.'
    };

    function reasonWords(reason)
    {
        if (!reason) {
            return 'The service could not hash this file.';
        }
        const r = String(reason);
        const key = r.toLowerCase().replace(/[\s-]+/g, '_');
        if (REASON_WORDS[key]) {
            return REASON_WORDS[key];
        }
        for (const [code, words] of Object.entries(REASON_WORDS)) {
            if (key.startsWith(code + ':') || key.startsWith(code + '_')) {
                return words + ' (' + r + ')';
            }
        }
        /* Already a sentence from the service. */
        return r.charAt(0).toUpperCase() + r.slice(1);
    }

    /* ---------- the key (sessionStorage only) ---------- */

    function getKey()
    {
        try {
            return window.sessionStorage.getItem(KEY_STORAGE) || '';
        } catch (e) {
            return memoryKey;
        }
    }
    let memoryKey = '';

    function setKey(k)
    {
        memoryKey = k;
        try {
            if (k) {
                window.sessionStorage.setItem(KEY_STORAGE, k);
            } else {
                window.sessionStorage.removeItem(KEY_STORAGE);
            }
        } catch (e) {
            /* Storage disabled: keep it in this page's memory only. */
        }
    }

    /* ---------- talking to the service ---------- */

    class ApiError extends Error {
        constructor(status, code, message, retryAfter, requestId)
        {
            super(message || code || ('HTTP ' + status));
            this.status = status;
            this.code = code || '';
            this.serverMessage = message || '';
            this.retryAfter = retryAfter;
            this.requestId = requestId || '';
        }
    }

    async function api(method, path, body, contentType, signal)
    {
        const headers = { Authorization: 'Bearer ' + getKey(), Accept: 'application/json' };
        if (contentType) {
            headers['Content-Type'] = contentType;
        }
        let res;
        try {
            res = await fetch(path, {
                method, headers, body, signal, cache: 'no-store', credentials: 'omit',
                redirect: 'error', referrerPolicy: 'no-referrer'
            });
        } catch (e) {
            if (e && e.name === 'AbortError') {
                throw e;
            }
            throw new ApiError(0, 'network', '');
        }
        const text = await res.text();
        let data = null;
        try {
            data = text ? JSON.parse(text) : null;
        } catch (e) {
            data = null;
        }
        if (!res.ok) {
            const ra = Number(res.headers.get('Retry-After'));
            throw new ApiError(res.status, data && data.error, data && data.message,
                Number.isFinite(ra) ? ra : undefined, data && data.request_id);
        }
        if (data === null) {
            throw new ApiError(res.status, 'bad_response', 'The service sent an answer this page cannot read.');
        }
        return data;
    }

    /* Plain words for an error, by what the analyst was doing. */
    function errorWords(err, doing)
    {
        if (!(err instanceof ApiError)) {
            return 'Something went wrong in this page: ' + (err && err.message ? err.message : String(err));
        }
        const detail = err.serverMessage ? ' (' + err.serverMessage + ')' : '';
        switch (err.status) {
        case 0:
            return 'The service could not be reached. Check the network connection, or that hashwatchd is running, then try again.';
        case 400:
            if (doing === 'lookup') {
                return 'The service did not accept these hashes' + detail + '.';
            }
            return 'The service did not understand the request' + detail + '.';
        case 401:
            return 'Wrong key: the service did not accept this key (mistyped or revoked).';
        case 403:
            if (doing === 'signin') {
                return 'This key is valid but may not use the analyst page: it needs the analyst role.';
            }
            return 'This key is not allowed to do this' + detail + '. Analyst look-ups need an analyst key.';
        case 404:
            return 'The service does not offer this function (it may be an older version)' + detail + '.';
        case 413:
            if (doing === 'lookup') {
                return 'Too many hashes at once for the service' + detail + '. Split them into smaller batches.';
            }
            return 'Image too large: the file is bigger than the service accepts' + detail + '.';
        case 415:
        case 422:
            if (doing === 'check') {
                return 'Not an image: the service cannot read this file as an image' + detail + '.';
            }
            return 'The service could not process this input' + detail + '.';
        case 429:
            return 'Too many requests for this key: the rate limit was reached. Wait a moment and retry.';
        case 503:
            return 'The service is overloaded or not ready. Retry later.';
        default:
            if (err.status >= 500) {
                return 'The service had an internal error (HTTP ' + err.status + ')' + detail + '. Retry later, or tell the operator' +
                    (err.requestId ? ' (request ' + err.requestId + ')' : '') + '.';
            }
            return 'The service answered HTTP ' + err.status + detail + '.';
        }
    }

    function showAlert(text)
    {
        const a = $('alert');
        a.replaceChildren(el('span', { text }),
            el('button', { type: 'button', class: 'btn btn-small btn-quiet', onclick: hideAlert }, 'Dismiss'));
        a.hidden = false;
    }

    function hideAlert()
    {
        $('alert').hidden = true;
        $('alert').replaceChildren();
    }

    /* A 401 in the middle of work: the key was revoked or mistyped; back to sign-in. */
    function handleUnauthorized()
    {
        signOut('Your key is no longer accepted by the service (revoked or changed). Sign in again.');
    }

    /* ---------- views ---------- */

    const VIEWS = ['check', 'lookup', 'lists'];

    function showView(name)
    {
        for (const v of VIEWS) {
            const active = v === name;
            $('view-' + v).hidden = !active;
            const tab = $('tab-' + v);
            if (active) {
                tab.setAttribute('aria-current', 'page');
            } else {
                tab.removeAttribute('aria-current');
            }
        }
        if (name === 'lists') {
            loadLists();
        }
    }

    function showSignedIn(signedIn)
    {
        $('view-signin').hidden = signedIn;
        $('nav').hidden = !signedIn;
        $('session').hidden = !signedIn;
        if (signedIn) {
            showView('check');
        } else {
            for (const v of VIEWS) {
                $('view-' + v).hidden = true;
            }
        }
    }

    /* ---------- sign in / out ---------- */

    /* What the key may do, learnt once per page load (kept in memory only). */
    let keyRole = '';

    function renderRole()
    {
        const check = keyRole === 'check';
        /* hashwatch keys read hwk_<id>_<secret>: the id is what logs and `keys list` show. */
        const m = /^hwk_([0-9a-f]{4,32})_/.exec(getKey());
        const who = m ? ' with key ' + m[1].slice(0, 8) : '';
        $('session-state').textContent = 'Signed in' + who + (check ? ' (check role)' : '');
        $('role-note').hidden = !check;
    }

    /* An empty look-up is refused as such (422) for analysts, and with 403 for a check key. */
    async function probeRole()
    {
        try {
            await api('POST', '/v1/lookup', '{}', 'application/json');
            keyRole = 'analyst';
        } catch (err) {
            if (err instanceof ApiError && err.status === 403) {
                keyRole = 'check';
            } else if (err instanceof ApiError && (err.status === 400 || err.status === 422)) {
                keyRole = 'analyst';
            } else {
                keyRole = '';
            }
        }
        renderRole();
    }

    async function signIn(ev)
    {
        ev.preventDefault();
        const input = $('key');
        const errP = $('signin-error');
        /* Tolerate a pasted header value ("Bearer ...") or surrounding spaces. */
        const key = input.value.trim().replace(/^Bearer\s+/i, '');
        errP.hidden = true;
        if (!key) {
            errP.textContent = 'Paste your analyst key first.';
            errP.hidden = false;
            input.focus();
            return;
        }
        const button = $('signin-button');
        button.disabled = true;
        button.textContent = 'Signing in…';
        setKey(key);
        try {
            const data = await api('GET', '/v1/lists');
            input.value = '';
            hideAlert();
            showSignedIn(true);
            renderLists(data);
            probeRole();
            announce('Signed in.');
            $('drop').focus();
        } catch (err) {
            setKey('');
            errP.textContent = errorWords(err, 'signin');
            errP.hidden = false;
            input.select();
            input.focus();
        } finally {
            button.disabled = false;
            button.textContent = 'Sign in';
        }
    }

    function signOut(message)
    {
        setKey('');
        keyRole = '';
        renderRole();
        cancelBatch();
        clearResults();
        $('hashes').value = '';
        $('lookup-results').replaceChildren();
        $('detected').textContent = '';
        $('lists-body').replaceChildren();
        showSignedIn(false);
        if (typeof message === 'string' && message) {
            const errP = $('signin-error');
            errP.textContent = message;
            errP.hidden = false;
        } else {
            $('signin-error').hidden = true;
            announce('Signed out.');
        }
        $('key').focus();
    }

    /* ---------- preview (blurred and grey until revealed) ---------- */

    const preview = { item: null, url: null };

    function revokePreviewUrl()
    {
        if (preview.url) {
            URL.revokeObjectURL(preview.url);
            preview.url = null;
        }
    }

    function setRevealed(on)
    {
        const img = $('preview-img');
        const btn = $('reveal');
        img.classList.toggle('revealed', on);
        $('preview-frame').classList.toggle('revealed', on);
        btn.setAttribute('aria-pressed', on ? 'true' : 'false');
        btn.textContent = on ? 'Blur again' : 'Reveal image';
    }

    function selectPreview(item)
    {
        revokePreviewUrl();
        setRevealed(false);
        const img = $('preview-img');
        const empty = $('preview-empty');
        if (preview.item && preview.item.card) {
            preview.item.card.classList.remove('previewing');
            const b = preview.item.card.querySelector('.preview-button');
            if (b) {
                b.setAttribute('aria-pressed', 'false');
            }
        }
        preview.item = item;
        if (!item) {
            img.hidden = true;
            img.removeAttribute('src');
            empty.textContent = 'No image selected.';
            empty.hidden = false;
            $('preview-name').textContent = '';
            $('reveal').disabled = true;
            return;
        }
        if (item.card) {
            item.card.classList.add('previewing');
            const b = item.card.querySelector('.preview-button');
            if (b) {
                b.setAttribute('aria-pressed', 'true');
            }
        }
        $('preview-name').textContent = item.file.name;
        empty.hidden = true;
        img.hidden = false;
        img.alt = 'Preview of ' + item.file.name + ' (blurred until revealed)';
        $('reveal').disabled = false;
        preview.url = URL.createObjectURL(item.file);
        img.src = preview.url;
    }

    function onPreviewLoad()
    {
        /* Drawn: the object URL is no longer needed. */
        revokePreviewUrl();
    }

    function onPreviewError()
    {
        revokePreviewUrl();
        const img = $('preview-img');
        if (!img.getAttribute('src')) {
            return;
        }
        img.hidden = true;
        img.removeAttribute('src');
        const empty = $('preview-empty');
        empty.textContent = 'This browser cannot display this file.';
        empty.hidden = false;
        $('reveal').disabled = true;
    }

    function toggleReveal()
    {
        if ($('reveal').disabled) {
            return;
        }
        const on = $('reveal').getAttribute('aria-pressed') !== 'true';
        setRevealed(on);
        announce(on ? 'Image revealed.' : 'Image blurred.');
    }

    /* ---------- checking images ---------- */

    const batch = {
        queue: [],
        inFlight: new Set(),
        total: 0,
        done: 0,
        counts: { match: 0, no_match: 0, unscannable: 0, error: 0 },
        items: [],
        gen: 0 /* bumped when results are cleared: late answers of older items are ignored */
    };

    function updateProgress()
    {
        $('batch').hidden = batch.total === 0 && batch.items.length === 0;
        $('progress').max = Math.max(batch.total, 1);
        $('progress').value = batch.done;
        $('progress-text').textContent = batch.done + ' / ' + batch.total;
        const c = batch.counts;
        const parts = [];
        parts.push(c.match + (c.match === 1 ? ' match' : ' matches'));
        parts.push(c.no_match + ' no match');
        if (c.unscannable) {
            parts.push(c.unscannable + ' unscannable');
        }
        if (c.error) {
            parts.push(c.error + (c.error === 1 ? ' error' : ' errors'));
        }
        $('counts').textContent = parts.join(' · ');
        $('counts').classList.toggle('has-match', c.match > 0);
        const running = batch.done < batch.total;
        $('cancel').hidden = !running;
        $('clear').hidden = running;
    }

    function addFiles(fileList)
    {
        const files = Array.from(fileList || []);
        if (!files.length) {
            return;
        }
        hideAlert();
        if (batch.done === batch.total) {
            /* A new batch: the previous one's counters start over (its results stay). */
            batch.total = 0;
            batch.done = 0;
            batch.counts = { match: 0, no_match: 0, unscannable: 0, error: 0 };
        }
        const open = files.length <= HASHES_OPEN_MAX;
        const newItems = files.map((file) => makeItem(file, open));
        /* Newest batch on top, in the order chosen. */
        const list = $('results');
        const frag = document.createDocumentFragment();
        for (const it of newItems) {
            frag.append(it.card);
        }
        list.prepend(frag);
        batch.items.push(...newItems);
        batch.queue.push(...newItems);
        batch.total += newItems.length;
        /* The next image replaces the preview, blurred again. */
        selectPreview(newItems[0]);
        updateProgress();
        announce('Checking ' + newItems.length + (newItems.length === 1 ? ' image.' : ' images.'));
        pump();
    }

    function makeItem(file, open)
    {
        const card = $('result-template').content.firstElementChild.cloneNode(true);
        const item = { file, card, state: 'pending', abort: null, gen: batch.gen };
        card.querySelector('.file-name').textContent = file.name || '(pasted image)';
        card.querySelector('.file-meta').textContent =
            [formatBytes(file.size), file.type || 'unknown type'].join(' · ');
        setVerdict(item, 'pending', 'Waiting');
        card.querySelector('.hashes-wrap').hidden = true;
        card.querySelector('.hashes-wrap').open = open;
        card.querySelector('.preview-button').setAttribute('aria-pressed', 'false');
        card.querySelector('.preview-button').addEventListener('click', () => {
            selectPreview(item);
            $('reveal').focus();
        });
        card.querySelector('.preview-button').setAttribute('aria-label',
            'Preview ' + (file.name || 'image') + ' (blurred)');
        return item;
    }

    function setVerdict(item, kind, text)
    {
        const v = item.card.querySelector('.verdict');
        v.className = 'verdict verdict-' + kind;
        v.textContent = text;
        item.card.dataset.verdict = kind;
    }

    function pump()
    {
        while (batch.inFlight.size < MAX_IN_FLIGHT && batch.queue.length) {
            const item = batch.queue.shift();
            batch.inFlight.add(item);
            checkOne(item).finally(() => {
                batch.inFlight.delete(item);
                if (item.gen !== batch.gen) {
                    return;
                }
                if (item.state === 'stopped') {
                    batch.total--; /* never answered: not part of this batch's count */
                } else {
                    batch.done++;
                }
                updateProgress();
                if (batch.done === batch.total) {
                    const c = batch.counts;
                    announce('Done: ' + batch.done + ' checked, ' + c.match + ' matched.');
                }
                pump();
            });
        }
    }

    function sleep(ms, signal)
    {
        return new Promise((resolve, reject) => {
            const t = window.setTimeout(resolve, ms);
            if (signal) {
                signal.addEventListener('abort', () => {
                    window.clearTimeout(t);
                    reject(new DOMException('stopped', 'AbortError'));
                }, { once: true });
            }
        });
    }

    async function checkOne(item)
    {
        const ctl = new AbortController();
        item.state = 'checking';
        item.abort = ctl;
        setVerdict(item, 'pending', 'Checking…');
        let attempt = 0;
        for (;;) {
            try {
                const data = await api('POST', '/v1/check', item.file,
                    'application/octet-stream', ctl.signal);
                renderCheck(item, data);
                return;
            } catch (err) {
                if (err && err.name === 'AbortError') {
                    item.state = 'stopped';
                    setVerdict(item, 'stopped', 'Not checked');
                    item.card.querySelector('.reason').textContent = 'Stopped before it was checked.';
                    return;
                }
                if (err instanceof ApiError && (err.status === 429 || err.status === 503) &&
                    attempt < MAX_RETRIES) {
                    attempt++;
                    const secs = Math.min(Math.max(err.retryAfter || attempt * 2, 1), 30);
                    setVerdict(item, 'pending', 'Waiting');
                    item.card.querySelector('.reason').textContent =
                        'The service is busy; retrying in ' + secs + ' s (attempt ' + (attempt + 1) + ').';
                    try {
                        await sleep(secs * 1000, ctl.signal);
                    } catch (e) {
                        item.state = 'stopped';
                        setVerdict(item, 'stopped', 'Not checked');
                        item.card.querySelector('.reason').textContent = 'Stopped before it was checked.';
                        return;
                    }
                    continue;
                }
                renderError(item, err);
                if (err instanceof ApiError && err.status === 401) {
                    handleUnauthorized();
                }
                return;
            } finally {
                item.abort = null;
            }
        }
    }

    function renderError(item, err)
    {
        if (item.gen !== batch.gen) {
            return;
        }
        const card = item.card;
        batch.counts.error++;
        let title = 'Error';
        if (err instanceof ApiError) {
            if (err.status === 413) {
                title = 'Too large';
            } else if (err.status === 415 || err.status === 422) {
                title = 'Not an image';
            } else if (err.status === 401) {
                title = 'Key refused';
            } else if (err.status === 429 || err.status === 503) {
                title = 'Service busy';
            }
        }
        setVerdict(item, 'error', title);
        card.querySelector('.reason').textContent = errorWords(err, 'check');
        const retry = el('button', { type: 'button', class: 'btn btn-small', text: 'Retry' });
        retry.addEventListener('click', () => {
            batch.counts.error--;
            card.querySelector('.reason').textContent = '';
            card.querySelector('.result-foot').replaceChildren();
            batch.total++;
            batch.queue.push(item);
            updateProgress();
            pump();
        });
        const foot = card.querySelector('.result-foot');
        foot.replaceChildren(retry);
        if (err instanceof ApiError && err.requestId) {
            foot.append(' ', el('span', { class: 'muted', text: 'request ' + err.requestId }));
        }
    }

    function copyButton(text, label)
    {
        const b = el('button', {
            type: 'button', class: 'btn btn-small copy', 'aria-label': 'Copy ' + label, text: 'Copy'
        });
        b.addEventListener('click', () => copyText(text, b));
        return b;
    }

    async function copyText(text, button, label)
    {
        let ok = false;
        try {
            if (navigator.clipboard && window.isSecureContext) {
                await navigator.clipboard.writeText(text);
                ok = true;
            }
        } catch (e) {
            ok = false;
        }
        if (!ok) {
            /* Plain-http deployments: the old way, through a temporary selection. */
            const ta = el('textarea', { class: 'copy-buffer', readonly: true, 'aria-hidden': 'true' });
            ta.value = text;
            document.body.append(ta);
            ta.select();
            try {
                ok = document.execCommand('copy');
            } catch (e) {
                ok = false;
            }
            ta.remove();
            button.focus();
        }
        const old = label || 'Copy';
        button.textContent = ok ? 'Copied' : 'Copy failed';
        button.classList.toggle('copied', ok);
        announce(ok ? 'Copied to the clipboard.' : 'Could not copy; select the text instead.');
        window.setTimeout(() => {
            button.textContent = old;
            button.classList.remove('copied');
        }, 1600);
    }

    function hashRow(label, value, extra)
    {
        const dt = el('dt', { text: label });
        const dd = el('dd', null,
            el('code', { class: 'hash', text: value }),
            extra ? el('span', { class: 'hash-extra', text: extra }) : null,
            copyButton(value, label));
        return [dt, dd];
    }

    function matchesTable(matches, withVariant)
    {
        const thead = el('thead', null, el('tr', null,
            el('th', { scope: 'col', text: 'List' }),
            el('th', { scope: 'col', text: 'Category' }),
            el('th', { scope: 'col', text: 'Severity' }),
            el('th', { scope: 'col', text: 'Hash' }),
            el('th', { scope: 'col', text: 'Distance' }),
            withVariant ? el('th', { scope: 'col', text: 'Orientation' }) : null,
            el('th', { scope: 'col', text: 'Entry' })));
        const tbody = el('tbody');
        for (const m of matches) {
            const type = String(m.hash_type || m.type || '').toLowerCase();
            const isPdq = type === 'pdq' || type === '';
            const hidden = m.distance === undefined || m.distance === null;
            const dist = hidden ? '—' : m.distance;
            const vname = variantName(m.variant);
            const sev = severityWords(m.severity);
            tbody.append(el('tr', { class: 'match-row' },
                el('td', { class: 'm-list', 'data-label': 'List' }, el('strong', { text: m.list || '' }),
                    m.list_version !== undefined ? el('span', { class: 'muted', text: ' v' + m.list_version }) : null),
                el('td', { class: 'm-category', 'data-label': 'Category', text: m.category || '—' }),
                el('td', { class: 'm-severity', 'data-label': 'Severity' },
                    el('span', { class: 'sev sev-' + sev.toLowerCase(), text: sev })),
                el('td', { class: 'm-type', 'data-label': 'Hash', text: hashLabel(type || 'pdq') + (isPdq ? '' : ' (exact)') }),
                el('td', { class: 'm-distance', 'data-label': 'Distance', text: String(dist) }),
                withVariant ? el('td', { class: 'm-variant', 'data-label': 'Orientation', title: VARIANT_HINT[vname] || '' },
                    isPdq && m.variant !== undefined && m.variant !== null ? variantWords(m.variant) : '—') : null,
                el('td', { class: 'm-entry', 'data-label': 'Entry' }, el('code', { text: m.entry_id || '—' }))));
        }
        return el('div', { class: 'table-scroll' }, el('table', { class: 'matches' }, thead, tbody));
    }

    function renderCheck(item, data)
    {
        if (item.gen !== batch.gen) {
            return;
        }
        item.data = data;
        const card = item.card;
        const verdict = String(data.verdict || '');
        const matches = Array.isArray(data.matches) ? data.matches : [];
        const reasonP = card.querySelector('.reason');
        reasonP.textContent = '';
        if (verdict === 'match') {
            batch.counts.match++;
            setVerdict(item, 'match', matches.length > 1 ? 'Match (' + matches.length + ')' : 'Match');
            const lists = Array.from(new Set(matches.map((m) => m.list))).join(', ');
            reasonP.textContent = 'Listed on ' + (lists || 'a list') + '.';
        } else if (verdict === 'no_match') {
            batch.counts.no_match++;
            setVerdict(item, 'no_match', 'No match');
            reasonP.textContent = 'Not on any list this key may use.';
        } else if (verdict === 'unscannable') {
            batch.counts.unscannable++;
            setVerdict(item, 'unscannable', 'Unscannable');
            reasonP.textContent = reasonWords(data.reason);
        } else {
            batch.counts.error++;
            setVerdict(item, 'error', 'Unknown answer');
            reasonP.textContent = 'The service answered with an unknown verdict: ' + verdict;
        }
        const wrap = card.querySelector('.matches-wrap');
        wrap.replaceChildren();
        if (matches.length) {
            wrap.append(matchesTable(matches, true));
        }
        if (data.matches_truncated) {
            wrap.append(el('p', { class: 'muted', text: 'More entries matched than the service lists in one answer.' }));
        }
        const h = data.hashes || {};
        const dl = card.querySelector('.hashes');
        dl.replaceChildren();
        if (h.pdq) {
            const q = h.quality === undefined || h.quality === null ? '' : 'quality ' + h.quality;
            dl.append(...hashRow('PDQ', h.pdq, q));
        }
        for (const [k, label] of [['md5', 'MD5'], ['sha1', 'SHA-1'], ['sha256', 'SHA-256']]) {
            if (h[k]) {
                dl.append(...hashRow(label, h[k]));
            }
        }
        card.querySelector('.hashes-wrap').hidden = dl.childElementCount === 0;
        const foot = card.querySelector('.result-foot');
        foot.replaceChildren();
        const lists = data.lists && typeof data.lists === 'object' ? Object.entries(data.lists) : [];
        const bits = [];
        if (lists.length) {
            bits.push('Checked against ' + lists.map(([n, v]) => n + ' v' + v).join(', '));
        }
        if (data.request_id) {
            bits.push('request ' + data.request_id);
        }
        foot.textContent = bits.join(' · ');
    }

    /* The results as tab-separated text (no image data), for a report or a spreadsheet. */
    function resultsText()
    {
        const cols = ['file', 'verdict', 'reason', 'matches', 'pdq', 'quality', 'md5', 'sha1', 'sha256',
            'request_id'];
        const clean = (v) => String(v === undefined || v === null ? '' : v).replace(/[\t\r\n]+/g, ' ');
        const lines = [cols.join('\t')];
        for (const item of batch.items) {
            const d = item.data;
            const h = (d && d.hashes) || {};
            const matches = d && Array.isArray(d.matches) ? d.matches.map((m) => [m.list, m.entry_id,
                m.hash_type, m.distance, m.variant].filter((x) => x !== undefined && x !== '').join(':')).join('; ') : '';
            const verdict = d ? d.verdict : item.card.dataset.verdict;
            const reason = d ? (d.reason || '') : item.card.querySelector('.reason').textContent;
            lines.push([item.file ? item.file.name : '', verdict, reason, matches, h.pdq, h.quality, h.md5,
                h.sha1, h.sha256, d ? d.request_id : ''].map(clean).join('\t'));
        }
        return lines.join('\n') + '\n';
    }

    function cancelBatch()
    {
        const stopped = batch.queue.splice(0);
        for (const item of stopped) {
            setVerdict(item, 'stopped', 'Not checked');
            item.card.querySelector('.reason').textContent = 'Stopped before it was checked.';
        }
        batch.total -= stopped.length;
        for (const item of batch.inFlight) {
            if (item.abort) {
                item.abort.abort();
            }
        }
        updateProgress();
    }

    function clearResults()
    {
        selectPreview(null);
        for (const item of batch.items) {
            item.file = null;
        }
        batch.items = [];
        batch.gen++;
        batch.queue = [];
        for (const item of batch.inFlight) {
            if (item.abort) {
                item.abort.abort();
            }
        }
        batch.inFlight.clear();
        batch.total = batch.done = 0;
        batch.counts = { match: 0, no_match: 0, unscannable: 0, error: 0 };
        $('results').replaceChildren();
        updateProgress();
    }

    /* ---------- hash look-ups ---------- */

    const PREFIXES = {
        md5: 'md5', sha1: 'sha1', 'sha-1': 'sha1', sha256: 'sha256', 'sha-256': 'sha256',
        pdq: 'pdq', photodna: 'photodna', pdna: 'photodna'
    };

    function base64Length(s)
    {
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0) {
            return -1;
        }
        const pad = s.endsWith('==') ? 2 : (s.endsWith('=') ? 1 : 0);
        return (s.length / 4) * 3 - pad;
    }

    /* One token: [{type, value}] to send, or {error}. */
    function classifyToken(raw, hex64)
    {
        let t = raw.trim();
        let forced = '';
        const m = /^([a-z0-9-]+):(.+)$/i.exec(t);
        if (m && PREFIXES[m[1].toLowerCase()]) {
            forced = PREFIXES[m[1].toLowerCase()];
            t = m[2];
        }
        const isHex = /^[0-9a-f]+$/i.test(t);
        const hex = t.toLowerCase();
        const want = {
            md5: isHex && t.length === 32,
            sha1: isHex && t.length === 40,
            sha256: isHex && t.length === 64,
            pdq: isHex && t.length === 64,
            photodna: (isHex && t.length === 288) || base64Length(t) === 144
        };
        if (forced) {
            if (!want[forced]) {
                return { error: 'not a valid ' + hashLabel(forced) + ' hash' };
            }
            return { items: [{ type: forced, value: forced === 'photodna' && !isHex ? t : hex }] };
        }
        if (want.md5) {
            return { items: [{ type: 'md5', value: hex }] };
        }
        if (want.sha1) {
            return { items: [{ type: 'sha1', value: hex }] };
        }
        if (want.pdq) {
            if (hex64 === 'both') {
                return { items: [{ type: 'pdq', value: hex, ambiguous: true },
                    { type: 'sha256', value: hex, ambiguous: true }] };
            }
            return { items: [{ type: hex64 === 'sha256' ? 'sha256' : 'pdq', value: hex, ambiguous: true }] };
        }
        if (want.photodna) {
            return { items: [{ type: 'photodna', value: isHex ? hex : t }] };
        }
        if (isHex) {
            return { error: t.length + ' hex digits: not a length of any supported hash' };
        }
        return { error: 'not a hash this page recognises' };
    }

    function parseHashes(text, hex64)
    {
        const tokens = text.split(/[\s,;]+/).filter((s) => s.length > 0);
        const items = [];
        const bad = [];
        const seen = new Set();
        for (const tok of tokens) {
            const r = classifyToken(tok, hex64);
            if (r.error) {
                bad.push({ token: tok, error: r.error });
                continue;
            }
            for (const it of r.items) {
                const k = it.type + ':' + it.value;
                if (!seen.has(k)) {
                    seen.add(k);
                    items.push(it);
                }
            }
        }
        return { items, bad };
    }

    function hex64Mode()
    {
        const r = document.querySelector('input[name="hex64"]:checked');
        return r ? r.value : 'pdq';
    }

    function describeDetected()
    {
        const { items, bad } = parseHashes($('hashes').value, hex64Mode());
        const counts = {};
        let ambiguous = 0;
        for (const it of items) {
            counts[it.type] = (counts[it.type] || 0) + 1;
            if (it.ambiguous) {
                ambiguous++;
            }
        }
        const parts = Object.entries(counts).map(([t, n]) => n + ' ' + hashLabel(t));
        let text = '';
        if (parts.length) {
            text = 'Will look up: ' + parts.join(', ') + '.';
        }
        if (ambiguous) {
            text += ' 64-digit hashes are read as ' +
                ({ pdq: 'PDQ', sha256: 'SHA-256', both: 'both PDQ and SHA-256' })[hex64Mode()] + '.';
        }
        if (bad.length) {
            text += ' Not recognised: ' + bad.length + ' (' +
                bad.slice(0, 3).map((b) => '“' + shorten(b.token) + '”: ' + b.error).join('; ') +
                (bad.length > 3 ? '; …' : '') + ').';
        }
        $('detected').textContent = text.trim();
        $('detected').classList.toggle('has-bad', bad.length > 0);
        return { items, bad };
    }

    function shorten(s)
    {
        return s.length > 24 ? s.slice(0, 12) + '…' + s.slice(-8) : s;
    }

    /* Results come back either as {"results": [...]} or per type, in the order sent. */
    function lookupResults(data, sent)
    {
        const out = [];
        if (data && Array.isArray(data.results)) {
            data.results.forEach((r, i) => {
                out.push({ sent: sent[i], r });
            });
            return out;
        }
        const cursor = {};
        for (const it of sent) {
            const arr = data && Array.isArray(data[it.type]) ? data[it.type] : [];
            const i = cursor[it.type] || 0;
            cursor[it.type] = i + 1;
            out.push({ sent: it, r: arr[i] });
        }
        return out;
    }

    function lookupVerdict(r)
    {
        if (!r) {
            return 'error';
        }
        if (r.verdict) {
            return String(r.verdict);
        }
        if (r.error) {
            return 'error';
        }
        if (r.match === true || (Array.isArray(r.matches) && r.matches.length)) {
            return 'match';
        }
        return 'no_match';
    }

    async function lookup(ev)
    {
        ev.preventDefault();
        hideAlert();
        const { items, bad } = describeDetected();
        const out = $('lookup-results');
        if (!items.length) {
            out.replaceChildren(el('p', { class: 'field-error', role: 'alert',
                text: bad.length ? 'None of these is a hash this page recognises.' : 'Paste one or more hashes first.' }));
            $('hashes').focus();
            return;
        }
        const body = {};
        for (const it of items) {
            (body[it.type] = body[it.type] || []).push(it.value);
        }
        /* The order sent, per type, for pairing the answers. */
        const sent = [];
        for (const t of Object.keys(body)) {
            for (const it of items) {
                if (it.type === t) {
                    sent.push(it);
                }
            }
        }
        const button = $('lookup-button');
        button.disabled = true;
        out.replaceChildren(el('p', { class: 'muted', text: 'Looking up ' + items.length + '…' }));
        try {
            const data = await api('POST', '/v1/lookup', JSON.stringify(body), 'application/json');
            renderLookup(data, sent, bad);
        } catch (err) {
            out.replaceChildren(el('p', { class: 'field-error', role: 'alert', text: errorWords(err, 'lookup') }));
            if (err instanceof ApiError && err.status === 401) {
                handleUnauthorized();
            }
        } finally {
            button.disabled = false;
        }
    }

    function renderLookup(data, sent, bad)
    {
        const out = $('lookup-results');
        const rows = lookupResults(data, sent);
        const nMatch = rows.filter((x) => lookupVerdict(x.r) === 'match').length;
        const summary = el('p', { class: 'lookup-summary' + (nMatch ? ' has-match' : ''),
            text: nMatch + ' of ' + rows.length + (rows.length === 1 ? ' hash' : ' hashes') + ' matched.' });
        const list = el('ol', { class: 'lookup-list' });
        for (const { sent: it, r } of rows) {
            const v = lookupVerdict(r);
            const words = { match: 'Match', no_match: 'No match', error: 'Error', invalid: 'Invalid' }[v] || v;
            const label = hashLabel(it.type);
            const other = it.type === 'pdq' ? 'SHA-256' : 'PDQ';
            const li = el('li', { class: 'lookup-item', 'data-verdict': v },
                el('div', { class: 'lookup-head' },
                    el('span', { class: 'verdict verdict-small verdict-' + v, text: words }),
                    el('span', { class: 'lookup-type', text: label }),
                    it.ambiguous ? el('span', { class: 'muted lookup-note', text: '(64 digits; could also be ' + other + ')' }) : null,
                    el('code', { class: 'hash', text: it.value }),
                    copyButton(it.value, label)));
            if (r && r.error) {
                const words = r.error === 'invalid_hash'
                    ? 'The service did not accept this as a ' + hashLabel(it.type) + ' hash.'
                    : String(r.message || r.error);
                li.append(el('p', { class: 'reason', text: words }));
            }
            const matches = r && Array.isArray(r.matches) ? r.matches : [];
            if (matches.length) {
                li.append(matchesTable(matches.map((m) => Object.assign({ hash_type: it.type }, m)), false));
            }
            list.append(li);
        }
        const parts = [summary, list];
        if (bad.length) {
            parts.push(el('p', { class: 'field-error', text: 'Not sent (not recognised): ' +
                bad.map((b) => shorten(b.token)).join(', ') }));
        }
        out.replaceChildren(...parts);
        announce(summary.textContent);
    }

    /* ---------- lists ---------- */

    let listsLoading = false;

    async function loadLists()
    {
        if (listsLoading) {
            return;
        }
        listsLoading = true;
        const body = $('lists-body');
        if (!body.childElementCount) {
            body.replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
        }
        try {
            renderLists(await api('GET', '/v1/lists'));
        } catch (err) {
            body.replaceChildren(el('p', { class: 'field-error', role: 'alert', text: errorWords(err, 'lists') }));
            if (err instanceof ApiError && err.status === 401) {
                handleUnauthorized();
            }
        } finally {
            listsLoading = false;
        }
    }

    function listArray(data)
    {
        if (Array.isArray(data)) {
            return data;
        }
        if (data && Array.isArray(data.lists)) {
            return data.lists;
        }
        if (data && data.lists && typeof data.lists === 'object') {
            return Object.entries(data.lists).map(([name, v]) => Object.assign({ name }, v));
        }
        return [];
    }

    function countsText(c)
    {
        if (c === undefined || c === null) {
            return '';
        }
        if (typeof c === 'number') {
            return c.toLocaleString();
        }
        const parts = [];
        let total = 0;
        for (const [t, n] of Object.entries(c)) {
            if (typeof n === 'number' && n > 0 && t !== 'total') {
                parts.push(hashLabel(t) + ' ' + n.toLocaleString());
                total += n;
            }
        }
        if (typeof c.total === 'number') {
            total = c.total;
        }
        return parts.length ? total.toLocaleString() + ' (' + parts.join(', ') + ')' : '0';
    }

    function renderLists(data)
    {
        const lists = listArray(data);
        const body = $('lists-body');
        if (!lists.length) {
            body.replaceChildren(el('p', { class: 'muted', text: 'No lists are loaded, or none is visible to this key.' }));
            return;
        }
        const tbody = el('tbody');
        for (const l of lists) {
            const t = formatTime(l.updated !== undefined ? l.updated : l.updated_at);
            const threshold = l.pdq_threshold !== undefined ? l.pdq_threshold : l.threshold;
            tbody.append(el('tr', null,
                el('th', { scope: 'row', class: 'l-name' }, el('strong', { text: l.name || '' }),
                    l.source ? el('span', { class: 'muted l-source', text: l.source }) : null,
                    l.licence ? el('span', { class: 'muted l-source', text: 'Licence: ' + l.licence }) : null),
                el('td', { class: 'l-counts', text: countsText(l.counts !== undefined ? l.counts : (l.count !== undefined ? l.count : l.entries)) }),
                el('td', { class: 'l-version', text: l.version === undefined ? '' : String(l.version) }),
                el('td', { class: 'l-threshold', text: threshold === undefined ? '' : String(threshold) }),
                el('td', { class: 'l-updated' }, t.iso ? el('time', { datetime: t.iso, text: t.text }) : t.text)));
        }
        const table = el('table', { class: 'lists' },
            el('caption', { class: 'visually-hidden', text: 'Hash lists visible to this key' }),
            el('thead', null, el('tr', null,
                el('th', { scope: 'col', text: 'List' }),
                el('th', { scope: 'col', text: 'Entries' }),
                el('th', { scope: 'col', text: 'Version' }),
                el('th', { scope: 'col', text: 'PDQ threshold' }),
                el('th', { scope: 'col', text: 'Last update' }))),
            tbody);
        body.replaceChildren(el('div', { class: 'table-scroll' }, table));
    }

    /* ---------- wiring ---------- */

    function onDragOver(ev)
    {
        if (ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files')) {
            ev.preventDefault();
            ev.dataTransfer.dropEffect = 'copy';
            $('drop').classList.add('dragging');
        }
    }

    function onDrop(ev)
    {
        ev.preventDefault();
        $('drop').classList.remove('dragging');
        if (!getKey() || $('view-check').hidden) {
            return;
        }
        if (ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files.length) {
            addFiles(ev.dataTransfer.files);
        }
    }

    function onPaste(ev)
    {
        if ($('view-check').hidden || !getKey()) {
            return;
        }
        const files = ev.clipboardData ? Array.from(ev.clipboardData.files || []) : [];
        if (files.length) {
            ev.preventDefault();
            addFiles(files);
        }
    }

    function init()
    {
        $('signin-form').addEventListener('submit', signIn);
        $('sign-out').addEventListener('click', () => signOut());
        for (const v of VIEWS) {
            $('tab-' + v).addEventListener('click', () => showView(v));
        }
        $('drop').addEventListener('click', () => $('files').click());
        $('files').addEventListener('change', (ev) => {
            addFiles(ev.target.files);
            ev.target.value = '';
        });
        /* Never let a dropped file open (unblurred) in the tab itself. */
        window.addEventListener('dragover', (ev) => {
            ev.preventDefault();
            if (ev.dataTransfer) {
                ev.dataTransfer.dropEffect = $('view-check').hidden ? 'none' : 'copy';
            }
        });
        window.addEventListener('drop', onDrop);
        $('drop').addEventListener('dragover', onDragOver);
        $('drop').addEventListener('dragleave', () => $('drop').classList.remove('dragging'));
        document.addEventListener('paste', onPaste);
        $('cancel').addEventListener('click', () => {
            cancelBatch();
            announce('Stopped.');
        });
        $('copy-results').addEventListener('click', (ev) => copyText(resultsText(), ev.currentTarget,
            'Copy results'));
        $('clear').addEventListener('click', () => {
            clearResults();
            announce('Results cleared.');
            $('drop').focus();
        });
        $('only-matches').addEventListener('change', (ev) => {
            $('results').classList.toggle('only-matches', ev.target.checked);
        });
        $('reveal').addEventListener('click', toggleReveal);
        $('preview-img').addEventListener('click', toggleReveal);
        $('preview-img').addEventListener('load', onPreviewLoad);
        $('preview-img').addEventListener('error', onPreviewError);
        document.addEventListener('keydown', (ev) => {
            if (ev.key === 'Escape' && $('reveal').getAttribute('aria-pressed') === 'true') {
                setRevealed(false);
                announce('Image blurred.');
            }
        });
        $('lookup-form').addEventListener('submit', lookup);
        $('hashes').addEventListener('input', describeDetected);
        for (const r of document.querySelectorAll('input[name="hex64"]')) {
            r.addEventListener('change', describeDetected);
        }
        $('lists-refresh').addEventListener('click', loadLists);
        window.addEventListener('pagehide', () => revokePreviewUrl());
        /* Leaving the tab blurs a revealed image again. */
        document.addEventListener('visibilitychange', () => {
            if (document.hidden && $('reveal').getAttribute('aria-pressed') === 'true') {
                setRevealed(false);
            }
        });

        if (getKey()) {
            showSignedIn(true);
            /* Confirm the stored key still works. */
            api('GET', '/v1/lists').then((data) => {
                renderLists(data);
                probeRole();
            }).catch((err) => {
                if (err instanceof ApiError && err.status === 401) {
                    handleUnauthorized();
                } else {
                    showAlert(errorWords(err, 'lists'));
                }
            });
        } else {
            showSignedIn(false);
            $('key').focus();
        }
        updateProgress();
    }

    if (document.readyState === 'loading') {
        document.addEventListener('DOMContentLoaded', init);
    } else {
        init();
    }
}());
