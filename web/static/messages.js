// The message list of the channel shown: rows from timeline.js, kept as
// DOM elements by key so that a render changes only what changed, and a
// scroll position that stays put (at the bottom, or on what the reader
// is looking at while older pages load above it).

import { $, h, replace } from './dom.js';
import { rows } from './timeline.js';
import { render } from './format.js';

// Older messages load when the reader is this close to the top (px).
const nearTop = 400;

const timeFmt = { hour: 'numeric', minute: '2-digit' };

export class MessageList {
  #els = new Map(); // row key -> element
  #shown = null; // the channel the elements are of
  #stick = true; // scroll to the bottom on the next render
  #atBottom = true; // the reader is at the bottom

  constructor(app) {
    this.app = app;
    this.scroller = $('messages');
    this.list = $('message-list');
    this.top = $('history-status');
    this.scroller.addEventListener('scroll', () => {
      this.#atBottom = this.#isAtBottom();
      this.#maybeOlder();
    }, { passive: true });
    // A reader at the bottom stays there when the page changes size (a
    // phone turned, its keyboard shown).
    new ResizeObserver(() => {
      if (this.#atBottom) this.scroller.scrollTop = this.scroller.scrollHeight;
    }).observe(this.scroller);
    this.list.addEventListener('click', (e) => {
      const b = e.target.closest('button.retry');
      if (b) app.retry(b.dataset.id);
    });
  }

  // stick scrolls to the bottom on the next render (we just sent).
  stick() {
    this.#stick = true;
  }

  render() {
    const app = this.app;
    const id = app.current;
    if (id !== this.#shown) {
      this.#shown = id;
      this.#els.clear();
      this.list.replaceChildren();
      this.#stick = true;
    }
    const tl = id && app.timelines.get(id);
    const name = app.title(id);
    this.scroller.setAttribute('aria-label', name ? `Messages in ${name}` : 'Messages');
    const items = tl ? [...tl.msgs, ...(app.outbox?.inChannel(id) ?? [])] : [];
    const sc = this.scroller;
    const atBottom = this.#stick || this.#isAtBottom();
    const anchor = atBottom ? null : this.#firstVisible();
    replace(this.top, this.#status(id, tl, name));
    this.#reconcile(rows(items));
    if (atBottom) {
      sc.scrollTop = sc.scrollHeight;
    } else if (anchor) {
      // The anchor's row may have been rebuilt (older messages above can
      // make it a grouped one): find it by key, and keep its text in place.
      const text = this.#els.get(anchor.key)?.querySelector('.text');
      if (text) sc.scrollTop += text.getBoundingClientRect().top - anchor.top;
    }
    this.#stick = false;
    this.#atBottom = this.#isAtBottom();
    this.#maybeOlder();
  }

  // status is the line above the messages.
  #status(id, tl, name) {
    if (!id) {
      return ['You are in no channel yet.',
        h('button', { type: 'button', onclick: () => $('add-channel').click() }, 'Create or join a channel')];
    }
    if (!tl?.loaded) return 'Loading…';
    if (tl.loading) return 'Loading older messages…';
    return tl.more ? '' : `This is the very beginning of ${name}.`;
  }

  #isAtBottom() {
    const sc = this.scroller;
    return sc.scrollHeight - sc.scrollTop - sc.clientHeight < 60;
  }

  // firstVisible is the first message in view, by key, and where its
  // text is: what stays put (not a day separator, which older messages of
  // its day push up).
  #firstVisible() {
    const top = this.scroller.getBoundingClientRect().top;
    for (const [key, el] of this.#els) {
      const text = el.querySelector('.text');
      if (text && text.getBoundingClientRect().bottom > top) return { key, top: text.getBoundingClientRect().top };
    }
    return null;
  }

  #maybeOlder() {
    if (this.scroller.scrollTop < nearTop) this.app.older();
  }

  // reconcile makes the list's children the rows' elements, in order,
  // building only rows that are new or changed (by signature).
  #reconcile(rs) {
    const next = new Map();
    for (const r of rs) {
      const sig = this.#signature(r);
      let el = this.#els.get(r.key);
      if (!el || el.dataset.sig !== sig) {
        el = r.kind === 'day' ? this.#day(r) : this.#message(r);
        el.dataset.sig = sig;
      }
      next.set(r.key, el);
    }
    for (const [key, el] of this.#els) if (next.get(key) !== el) el.remove();
    let prev = null;
    for (const el of next.values()) {
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== el) this.list.insertBefore(el, want);
      prev = el;
    }
    this.#els = next;
  }

  // signature is what a row's element shows: it is rebuilt when it changes.
  #signature(r) {
    if (r.kind === 'day') return r.label;
    const m = r.item;
    return JSON.stringify([r.grouped, m.text, m.state, m.error, this.app.usersVersion]);
  }

  #day(r) {
    return h('li', { class: 'day' }, h('h2', { class: 'day-label' }, r.label));
  }

  #message(r) {
    const app = this.app;
    const m = r.item;
    const time = h('time', { datetime: r.date.toISOString(), title: r.date.toLocaleString() },
      r.date.toLocaleTimeString([], timeFmt));
    let state = null;
    if (m.state === 'pending') state = h('div', { class: 'state' }, 'Sending…');
    if (m.state === 'failed') {
      state = h('div', { class: 'state', role: 'alert' }, `Not sent (${m.error}). `,
        h('button', { class: 'retry', type: 'button', dataset: { id: m.client_msg_id } }, 'Retry'));
    }
    const author = app.userName(m.user);
    return h('li', { class: `msg${r.grouped ? ' grouped' : ''}${m.state ? ` ${m.state}` : ''}`, dataset: { ts: m.ts || '', user: m.user } },
      r.grouped ? h('div', { class: 'gutter' }, time)
        : [h('div', { class: `avatar ${colour(author)}`, 'aria-hidden': 'true' }, [...author][0] || '?'),
          h('div', { class: 'meta' }, h('span', { class: 'author' }, author), time)],
      h('div', { class: 'text' }, render(m.text, app.names)),
      state);
  }
}

// colour picks one of the avatar colours (c0..c7) from a name.
function colour(name) {
  let n = 0;
  for (const ch of name) n = (n * 31 + ch.charCodeAt(0)) >>> 0;
  return `c${n % 8}`;
}
