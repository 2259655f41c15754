/*! journeys.js: saleor-journeys storefront snippet (BSD-3-Clause) */
(() => {
  'use strict';
  const w = window, d = document, nav = navigator;
  // Calls made before this file ran wait in the stub's queue for boot().
  const stub = (w.journeys = w.journeys || function () {
    (stub.q = stub.q || []).push(arguments);
  });
  if (stub.loaded) return; // the tag twice on one page

  const script = d.currentScript || d.querySelector('script[data-site]');
  const attr = (name) => (script && script.getAttribute('data-' + name)) || '';
  const isId = (v) => typeof v === 'string' && /^[A-Za-z0-9_-]{8,64}$/.test(v);
  const VID = 'journeys_vid';
  const site = attr('site');
  const swPath = attr('sw');
  const linkParam = attr('link-param') || 'sj';
  const blocked = nav.doNotTrack === '1' || nav.globalPrivacyControl === true;
  // The app: data-endpoint, or where this file came from.
  const base = attr('endpoint') || (script && script.src && new URL(script.src).origin);
  const collectUrl = site && base ? base.replace(/\/+$/, '') + '/api/web/' + encodeURIComponent(site) + '/collect' : '';
  let consented = attr('consent') !== 'required';
  let vid = null;
  let pushKey = '';
  let queue = []; // [event, when]
  let page = null;
  let lastFetch = Promise.resolve();
  let linkToken = '';
  let routeTimer = 0;
  let observer = null;
  let popups = []; // close functions

  const now = () => performance.now();
  const active = () => consented && !blocked && !!vid && !!collectUrl;
  const visible = () => d.visibilityState !== 'hidden';
  const isObject = (v) => !!v && typeof v === 'object' && !Array.isArray(v);
  const text = (v, max) => (typeof v === 'string' || typeof v === 'number' ? String(v).slice(0, max) : '');
  const warn = (message) => console.warn('journeys: ' + message);
  // Never throw into the page.
  const guard = (fn) =>
    function () {
      try {
        return fn.apply(this, arguments);
      } catch (e) {
        warn(e && e.message);
      }
    };
  const on = (target, type, fn, capture) => target.addEventListener(type, guard(fn), capture);

  function randomId(prefix, length) {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    return prefix + Array.from(bytes, (byte) => (byte % 36).toString(36)).join('');
  }

  // The visitor id: localStorage, and a cookie the storefront's server reads for checkouts.
  function storedId() {
    let id = null;
    try {
      id = localStorage.getItem(VID);
    } catch (e) {}
    const cookie = d.cookie.match(/(?:^|;\s*)journeys_vid=([^;]*)/);
    id = isId(id) ? id : cookie && cookie[1];
    return isId(id) ? id : null;
  }

  function storeId(id, maxAge) {
    try {
      if (maxAge) localStorage.setItem(VID, id);
      else localStorage.removeItem(VID);
    } catch (e) {}
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    d.cookie = VID + '=' + id + '; Max-Age=' + maxAge + '; Path=/; SameSite=Lax' + secure;
  }

  function startVisitor() {
    if (vid || !consented || blocked) return;
    vid = storedId() || randomId('v_', 20);
    storeId(vid, 31536000);
  }

  // Page views go with fetch, to read the answer; the rest waits for a beacon.
  function send(event, immediately) {
    if (!active()) return;
    event.id = event.id || randomId('e_', 16);
    queue.push([event, now()]);
    if (immediately || queue.length >= 50) flush(!immediately);
  }

  function flush(beacon) {
    while (active() && queue.length) {
      const events = queue
        .splice(0, 50)
        .map(([event, at]) => Object.assign({}, event, { age: Math.round(now() - at) }));
      const body = JSON.stringify({ v: vid, events }); // text/plain: no preflight
      let sent = false;
      try {
        sent = beacon && nav.sendBeacon(collectUrl, body);
      } catch (e) {}
      if (!sent) post(body);
    }
  }

  function post(body) {
    const from = page;
    lastFetch = fetch(collectUrl, { method: 'POST', keepalive: true, credentials: 'omit', body })
      .then((response) => (response.ok ? response.json() : null))
      .then((answer) => read(answer, from))
      .catch(() => null);
  }

  function read(answer, from) {
    if (!isObject(answer) || !active()) return;
    pushKey = text(isObject(answer.push) && answer.push.key, 200) || pushKey;
    // Messages are for the page they were asked for, not a later route.
    if (Array.isArray(answer.messages) && from === page) answer.messages.forEach(guard(show));
  }

  // Fields the app would refuse are left out, not to lose the batch.
  function item(value) {
    if (!isObject(value) || !text(value.id, 255)) return null;
    const price = text(value.price, 32);
    const currency = text(value.currency, 4);
    return {
      id: text(value.id, 255),
      name: text(value.name, 300) || undefined,
      image: safeUrl(value.image),
      url: safeUrl(value.url),
      price: /^\d+(\.\d+)?$/.test(price) ? price : undefined,
      currency: /^[A-Z]{3}$/.test(currency) ? currency : undefined,
    };
  }

  function declared() {
    try {
      const data = JSON.parse(d.querySelector('script[data-journeys-page]').textContent);
      return isObject(data) ? data : {};
    } catch (e) {
      return {}; // none, or not JSON
    }
  }

  // The identity link parameter leaves the address bar, so it is not shared.
  function takeLinkToken() {
    const url = new URL(location.href);
    const token = url.searchParams.get(linkParam);
    if (token === null) return;
    url.searchParams.delete(linkParam);
    history.replaceState(history.state, '', url.href);
    linkToken = token.slice(0, 1024);
  }

  function pageView(data) {
    clearTimeout(routeTimer);
    endPage();
    takeLinkToken();
    const referrer = page ? page.url : d.referrer;
    page = { id: randomId('e_', 16), url: location.href.slice(0, 2048), referrer, data: isObject(data) ? data : {} };
    sendPage();
  }

  function sendPage() {
    if (!page || page.sent || !active()) return;
    Object.assign(page, { sent: true, since: visible() ? now() : null, visibleMs: 0, reported: 0 });
    if (linkToken) send({ type: 'link', token: linkToken });
    linkToken = '';
    const event = { id: page.id, type: 'page', url: page.url, title: d.title.slice(0, 300) };
    if (/^https?:/.test(page.referrer)) event.referrer = page.referrer.slice(0, 2048);
    const data = Object.assign(declared(), page.data);
    for (const key of ['product', 'variant', 'category']) {
      if (item(data[key])) event[key] = item(data[key]);
    }
    send(event, true);
  }

  // Reports the visible seconds not reported yet.
  function endPage() {
    if (!page || !page.sent) return;
    if (page.since !== null) page.visibleMs += now() - page.since;
    page.since = null;
    const seconds = Math.floor(page.visibleMs / 1000) - page.reported;
    if (seconds < 1) return;
    page.reported += seconds;
    send({ type: 'engaged', page: page.id, url: page.url, seconds: Math.min(seconds, 86400) });
  }

  function hidden() {
    endPage();
    flush(true);
  }

  // Counted once the new route has rendered its title and product: the page quiet (3 s max).
  function routeChanged() {
    const started = now();
    const done = guard(() => {
      observer.disconnect();
      if (page && page.url.split('#')[0] !== location.href.split('#')[0]) pageView();
    });
    const wait = () => {
      clearTimeout(routeTimer);
      routeTimer = setTimeout(done, now() - started > 3000 ? 0 : 200);
    };
    if (observer) observer.disconnect();
    observer = new MutationObserver(wait);
    observer.observe(d, { childList: true, subtree: true });
    wait();
  }

  function identify(email, props, form) {
    email = text(email, 254).trim();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return warn('identify: no email');
    const event = { type: 'identify', email, props: isObject(props) ? props : {} };
    if (form) event.form = text(form, 100);
    send(event, true);
  }

  // Never passwords, hidden fields (tokens), files or card fields.
  function submitted(e) {
    const form = e.target;
    if (!form.matches('[data-journeys-form]')) return;
    let email = '';
    const props = {};
    for (const field of form.elements) {
      const { name, type } = field;
      if (
        !name ||
        field.disabled ||
        field.hasAttribute('data-journeys-ignore') ||
        /^(password|hidden|file|submit|button|reset|image)$/.test(type) ||
        /cc-|password|one-time-code/.test(field.autocomplete) ||
        (/^(checkbox|radio)$/.test(type) && !field.checked)
      ) {
        continue;
      }
      const value = String(field.value || '').trim().slice(0, 500);
      if (!email && (type === 'email' || name === 'email')) email = value;
      else if (value && !(name in props)) props[name] = type === 'checkbox' && value === 'on' || value;
    }
    if (email) identify(email, props, form.getAttribute('data-journeys-form') || 'form');
  }

  const pushable = () => !!swPath && 'serviceWorker' in nav && 'PushManager' in w;

  function push() {
    if (!active() || !pushable()) return Promise.resolve(false);
    // Asked first: browsers prompt only within a user gesture.
    return Promise.resolve(Notification.requestPermission())
      .then(async (permission) => {
        if (permission !== 'granted') return false;
        await nav.serviceWorker.register(swPath);
        const { pushManager } = await nav.serviceWorker.ready;
        await lastFetch; // for the key
        const b64 = pushKey.replace(/-/g, '+').replace(/_/g, '/');
        const key = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const subscription =
          (await pushManager.getSubscription()) ||
          (await pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
        send({ type: 'push', subscription: subscription.toJSON() }, true);
        return true;
      })
      .catch((e) => warn('push: ' + e.message) || false);
  }

  // On-site messages: a shadow root each; text and attributes only, never HTML; http(s) URLs.
  const CSS = `:host{all:initial!important;display:block!important}
.m{font:15px/1.4 system-ui,sans-serif;color:#222;text-align:left}
.wrap,.banner,.push_prompt{position:fixed;z-index:2147483647}
.wrap{top:0;left:0;width:100%;height:100%;display:grid;place-items:center;background:#0008}
.popup,.push_prompt{width:90vw;max-width:420px;padding:24px;border-radius:12px;background:#fff}
.popup{position:relative}
.push_prompt{right:16px;bottom:16px;border:1px solid}
.banner{top:0;left:0;right:0;padding:12px 48px 12px 16px;background:#222;color:#fff}
.t,.b,img{display:block;max-width:100%;margin:0 0 12px}
.t{font-size:19px}
.c{display:inline-block;margin-right:8px;padding:8px 16px;border:1px solid;border-radius:8px;background:#222;color:#fff;font:inherit;text-decoration:none}
.n{background:#fff;color:#222}
.x{position:absolute;top:4px;right:4px;border:0;background:none;color:inherit;font-size:24px}
.cards{display:flex;flex-wrap:wrap;gap:16px}.cards a{width:150px;color:inherit}`;

  function el(tag, className, content, parent) {
    const node = d.createElement(tag);
    node.className = className;
    node.textContent = content || '';
    if (parent) parent.append(node);
    return node;
  }

  function safeUrl(value) {
    try {
      const url = new URL(value, location.href);
      if (value && /^https?:$/.test(url.protocol)) return url.href.slice(0, 2048);
    } catch (e) {}
  }

  function image(parent, src, alt) {
    if (safeUrl(src)) Object.assign(el('img', '', '', parent), { src: safeUrl(src), alt });
  }

  function link(parent, url, className, label, clicked) {
    if (!safeUrl(url)) return null;
    const a = el('a', className, label, parent);
    a.href = safeUrl(url);
    on(a, 'click', clicked);
    return a;
  }

  function button(parent, className, label, clicked) {
    const b = el('button', className, label, parent);
    b.type = 'button';
    on(b, 'click', clicked);
    return b;
  }

  function show(message) {
    const kind = message && message.kind;
    const id = String(message && message.id);
    let parent = d.body;
    if (kind === 'frame') {
      parent = [...d.querySelectorAll('[data-journeys-frame]')].find((node) => node.dataset.journeysFrame === message.slot);
    } else if (kind === 'push_prompt') {
      if (!pushable() || Notification.permission !== 'default') return;
    } else if (kind !== 'popup' && kind !== 'banner') {
      return;
    }
    const showing = [...d.querySelectorAll('journeys-message')].some((node) => node.dataset.id === id);
    if (!parent || showing || message.id == null) return;

    const report = (action) => send({ type: 'message', message: message.id, action });
    const host = d.createElement('journeys-message');
    host.dataset.id = id;
    const root = host.attachShadow({ mode: 'open' });
    const close = (action) => {
      if (!host.parentNode) return;
      host.remove();
      popups = popups.filter((fn) => fn !== close);
      if (action) report(action);
    };
    const title = text(message.title, 300);
    const cta = isObject(message.cta) ? message.cta : {};
    const label = text(cta.label, 100);
    const box = el('div', 'm ' + kind);
    if (kind !== 'frame') box.setAttribute('role', kind === 'banner' ? 'region' : 'dialog');
    box.setAttribute('aria-label', title || label);
    if (kind !== 'banner') image(box, message.image, title);
    if (title) el(kind === 'banner' ? 'strong' : 'h2', 't', title, box);
    const body = text(message.body, 2000);
    if (body) el('p', 'b', body, box);
    if (kind === 'frame') {
      const cards = el('div', 'cards', '', box);
      for (const product of Array.isArray(message.products) ? message.products : []) {
        const card = isObject(product) && link(cards, product.url, 'card', '', () => report('clicked'));
        if (!card) continue;
        image(card, product.image, text(product.name, 300));
        el('span', 'b', text(product.name, 300), card);
        el('span', 'b', [text(product.price, 40), text(product.currency, 3)].join(' ').trim(), card);
      }
    }
    if (kind === 'push_prompt') {
      button(box, 'c', label || 'Allow', () => {
        close();
        report('clicked');
        push();
      });
      button(box, 'c n', 'Not now', () => close('dismissed'));
    } else if (label) {
      link(box, cta.url, 'c', label, () => report('clicked') || (kind === 'popup' && close()));
    }
    let top = box;
    if (kind === 'popup' || kind === 'banner') {
      button(box, 'x', '\u00d7', () => close('dismissed')).setAttribute('aria-label', 'Close');
    }
    if (kind === 'popup') {
      top = el('div', 'wrap');
      top.append(box);
      box.setAttribute('aria-modal', 'true');
      on(top, 'click', (e) => e.target === top && close('dismissed'));
      popups.push(close);
    }
    if (kind === 'frame') for (const old of parent.querySelectorAll('journeys-message')) old.remove();
    root.append(el('style', '', CSS), top);
    parent.append(host);
    if (kind === 'popup') root.querySelector('.x').focus({ preventScroll: true });
    report('shown');
  }

  const commands = { page: pageView, track, identify, consent, push };
  const journeys = guard((command, a, b) =>
    commands[command] ? commands[command](a, b) : warn('unknown command ' + command)
  );

  function track(name, props) {
    props = isObject(props) ? props : {};
    if (!/^[a-z][a-z0-9_]{0,47}$/.test(text(name, 99))) return warn('track: bad name');
    if (new Blob([JSON.stringify(props)]).size > 4096) return warn('track: props over 4 KB');
    send({ type: 'track', name, props });
  }

  function consent(yes) {
    yes = yes !== false;
    if (yes === consented) return;
    consented = yes;
    if (yes) {
      startVisitor();
      sendPage();
    } else {
      queue = [];
      if (vid) storeId(vid, 0);
      vid = null;
    }
  }

  function boot() {
    if (!site) warn('no data-site');
    startVisitor();
    w.journeys = journeys;
    journeys.loaded = true;
    on(d, 'submit', submitted, true);
    on(d, 'keydown', (e) => e.key === 'Escape' && popups.length && popups.pop()('dismissed'));
    on(d, 'visibilitychange', () => (visible() ? page && page.since === null && (page.since = now()) : hidden()));
    on(w, 'pagehide', hidden);
    on(w, 'popstate', routeChanged);
    const pushState = history.pushState;
    history.pushState = function () {
      const result = pushState.apply(this, arguments);
      guard(routeChanged)();
      return result;
    };
    // A page view asked for replaces the automatic one.
    for (const args of stub.q || []) journeys.apply(null, args);
    stub.q = [];
    if (!page) pageView();
  }

  if (d.readyState === 'loading') on(d, 'DOMContentLoaded', boot);
  else guard(boot)();
})();
