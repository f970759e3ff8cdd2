// The message lists (the channel shown, the thread beside it): rows from
// timeline.js, kept as DOM elements by key so that a render changes only
// what changed, and a scroll position that stays put (at the bottom, or
// on what the reader is looking at while older pages load above it).
// Each message has its reactions (click to toggle), its replies and its
// actions (react, reply in thread, edit and delete our own).

import { $, h, replace } from './dom.js';
import { rows, tsDate } from './timeline.js';
import { render, emoji, emojiText } from './format.js';

// Older messages load when the reader is this close to the top (px).
const nearTop = 400;

const timeFmt = { hour: 'numeric', minute: '2-digit' };

// channelEvents: the subtypes of a change to the channel (shown muted,
// without actions: the server takes no reaction or reply to them).
const channelEvents = new Set(['channel_topic', 'channel_purpose', 'channel_name', 'channel_archive', 'channel_unarchive']);

// sendErrors: why the server refused a message, in words (else its code).
const sendErrors = {
  is_archived: 'the channel is archived',
  not_in_channel: 'you are not in this channel',
  channel_not_found: 'the conversation is gone',
  msg_too_long: 'it is too long',
  rate_limited: 'too many messages, try again in a moment',
};

// MessageList is a list of messages in a scroller: the channel's
// (ChannelMessages) or a thread's (ThreadMessages). A subclass says what
// it shows (source()) and may load older pages (older()).
class MessageList {
  #els = new Map(); // row key -> element
  #shown = null; // what the elements are of
  #stick = true; // scroll to the bottom on the next render
  #atBottom = true; // the reader is at the bottom
  #reveal = null; // the ts of a message to bring into view once shown
  picking = null; // the ts of the message whose reaction picker is open
  confirming = null; // the ts of the message whose delete awaits a second click
  #active = null; // the key of the row the keyboard is on (its controls are tab stops)
  #sized = ''; // the scroller's size at the last scroll or resize (#size)

  constructor(app, scroller, list, top) {
    this.app = app;
    this.scroller = scroller;
    this.list = list;
    this.top = top;
    this.scroller.addEventListener('scroll', () => {
      // A scroll the layout made (the list resized, its lines rewrapped,
      // before the observer below hears of it) says nothing of where
      // the reader is: only one at an unchanged size does.
      const size = this.#size();
      if (size === this.#sized) this.#atBottom = this.#isAtBottom();
      this.#sized = size;
      this.#maybeOlder();
    }, { passive: true });
    // A reader at the bottom stays there when the page changes size (a
    // phone turned, its keyboard shown).
    new ResizeObserver(() => {
      if (this.#atBottom) this.scroller.scrollTop = this.scroller.scrollHeight;
      this.#sized = this.#size();
    }).observe(this.scroller);
    this.list.addEventListener('click', (e) => this.#click(e));
    // The keyboard: the list is one tab stop; up and down arrows go from
    // message to message, and Tab reaches the controls of the one focused
    // (only its controls are tab stops, not every message's).
    this.list.addEventListener('focusin', (e) => {
      const li = e.target.closest('li.msg');
      const key = li && [...this.#els].find(([, el]) => el === li)?.[0];
      if (key && key !== this.#active) {
        this.#roving(this.#els.get(this.#active), false);
        this.#active = key;
        this.#roving(li, true);
      }
    });
    this.scroller.addEventListener('keydown', (e) => {
      if ((e.key !== 'ArrowUp' && e.key !== 'ArrowDown') || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
      if (e.target !== this.scroller && e.target.closest('.picker')) return;
      const rows = [...this.list.querySelectorAll('li.msg')];
      const at = rows.indexOf(e.target.closest('li.msg'));
      const up = e.key === 'ArrowUp';
      const to = rows[at < 0 ? (up ? rows.length - 1 : 0) : at + (up ? -1 : 1)];
      if (!to) return;
      e.preventDefault();
      to.focus();
    });
  }

  // roving makes a row's controls tab stops (on) or not.
  #roving(el, on) {
    if (!el) return;
    for (const c of el.querySelectorAll('button, a[href]')) c.tabIndex = on ? 0 : -1;
  }

  // stick scrolls to the bottom on the next render (we just sent).
  stick() {
    this.#stick = true;
  }

  // reveal brings message ts into view (and marks it) once it is shown.
  reveal(ts) {
    this.#reveal = ts;
    this.app.changed('messages', 'thread');
  }

  render() {
    const src = this.source();
    if (src.key !== this.#shown) {
      this.#shown = src.key;
      this.#els.clear();
      this.list.replaceChildren();
      this.#stick = true;
      this.picking = this.confirming = this.#active = null;
    }
    this.scroller.setAttribute('aria-label', src.label);
    const sc = this.scroller;
    const atBottom = this.#stick || this.#isAtBottom();
    const anchor = atBottom ? null : this.#firstVisible();
    replace(this.top, src.status);
    this.#reconcile(rows(src.items, undefined, src.unread));
    if (atBottom) {
      sc.scrollTop = sc.scrollHeight;
    } else if (anchor) {
      // The anchor's row may have been rebuilt (older messages above can
      // make it a grouped one): find it by key, and keep its text in place.
      const text = this.#els.get(anchor.key)?.querySelector('.text');
      if (text) sc.scrollTop += text.getBoundingClientRect().top - anchor.top;
    }
    this.#stick = false;
    const found = this.#reveal && this.#els.get(`m:${this.#reveal}`);
    if (found) {
      this.#reveal = null;
      for (const el of this.list.querySelectorAll('.found')) el.classList.remove('found');
      found.classList.add('found');
      found.scrollIntoView({ block: 'center' });
    }
    this.#atBottom = this.#isAtBottom();
    this.#maybeOlder();
  }

  older() {}

  // channel is the conversation the listed messages are of.
  get channel() {
    return this.app.current;
  }

  #click(e) {
    const app = this.app;
    const b = e.target.closest('button');
    if (!b) return;
    const { act, ts, name } = b.dataset;
    const ch = this.channel;
    switch (act) {
      case 'retry': app.retry(b.dataset.id); return;
      case 'react': app.react(ch, ts, name); this.picking = null; break;
      case 'pick': this.picking = this.picking === ts ? null : ts; break;
      case 'thread': app.openThread(ch, ts); queueMicrotask(() => $('thread-input').focus()); return;
      case 'edit': app.startEdit(ts, !this.inChannel); return;
      case 'delete':
        if (this.confirming !== ts) {
          this.confirming = ts;
          break;
        }
        this.confirming = null;
        app.deleteMessage(ch, ts);
        break;
      default: return;
    }
    this.render();
    if (act === 'pick' && this.picking) this.list.querySelector(`li[data-ts="${CSS.escape(ts)}"] .picker button`)?.focus();
  }

  #size() {
    const sc = this.scroller;
    return `${sc.clientWidth}x${sc.clientHeight}/${sc.scrollHeight}`;
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
    if (this.scroller.scrollTop < nearTop) this.older();
  }

  // reconcile makes the list's children the rows' elements, in order,
  // building only rows that are new or changed (by signature).
  #reconcile(rs) {
    const next = new Map();
    for (const r of rs) {
      const sig = this.#signature(r);
      let el = this.#els.get(r.key);
      if (!el || el.dataset.sig !== sig) {
        el = r.kind === 'day' ? this.#day(r) : r.kind === 'new' ? this.#newLine() : this.#message(r);
        el.dataset.sig = sig;
        if (r.kind === 'msg') {
          el.tabIndex = -1;
          this.#roving(el, r.key === this.#active);
        }
      }
      next.set(r.key, el);
    }
    // A rebuilt row that had the focus gives it to its new element.
    let refocus = null;
    for (const [key, el] of this.#els) {
      if (next.get(key) === el) continue;
      if (el.contains(document.activeElement)) refocus = next.get(key);
      el.remove();
    }
    let prev = null;
    for (const el of next.values()) {
      const want = prev ? prev.nextSibling : this.list.firstChild;
      if (want !== el) this.list.insertBefore(el, want);
      prev = el;
    }
    this.#els = next;
    refocus?.focus({ preventScroll: true });
  }

  // signature is what a row's element shows: it is rebuilt when it changes.
  #signature(r) {
    if (r.kind !== 'msg') return r.label;
    const m = r.item;
    const app = this.app;
    return JSON.stringify([r.grouped, m.text, m.state, m.error, m.rev, app.usersVersion, this.picking === m.ts,
      this.confirming === m.ts, this.#editing(m), this.#archived()]);
  }

  // archived: the list's channel is archived, so its messages take no
  // reactions, replies, edits or deletes.
  #archived() {
    return !!this.app.channels.get(this.channel)?.is_archived;
  }

  // editing: the composer edits m.
  #editing(m) {
    const e = this.app.editing;
    return !!e && !!m.ts && e.ts === m.ts && e.channel === this.channel && !!e.thread === !this.inChannel;
  }

  #day(r) {
    return h('li', { class: 'day' }, h('h2', { class: 'day-label' }, r.label));
  }

  // newLine marks where what was unread when the conversation was opened
  // begins.
  #newLine() {
    return h('li', { class: 'new', role: 'separator', 'aria-label': 'New messages' }, h('span', { class: 'new-label', 'aria-hidden': 'true' }, 'New'));
  }

  #message(r) {
    const app = this.app;
    const m = r.item;
    const time = h('time', { datetime: r.date.toISOString(), title: r.date.toLocaleString() },
      r.date.toLocaleTimeString([], timeFmt));
    let state = null;
    if (m.state === 'pending') state = h('div', { class: 'state' }, 'Sending…');
    if (m.state === 'failed') {
      state = h('div', { class: 'state', role: 'alert' }, `Not sent: ${sendErrors[m.error] || m.error}. `,
        h('button', { class: 'retry', type: 'button', dataset: { act: 'retry', id: m.client_msg_id } }, 'Retry'));
    }
    const author = app.userName(m.user);
    const editing = this.#editing(m);
    const cls = ['msg', r.grouped && 'grouped', m.state, editing && 'editing', channelEvents.has(m.subtype) && 'event'].filter(Boolean).join(' ');
    return h('li', { class: cls, dataset: { ts: m.ts || '', user: m.user } },
      r.grouped ? h('div', { class: 'gutter' }, time)
        : [h('div', { class: `avatar ${colour(author)}`, 'aria-hidden': 'true' }, [...author][0] || '?'),
          h('div', { class: 'meta' }, h('span', { class: 'author' }, author), time)],
      h('div', { class: 'text' }, render(m.text, app.names),
        m.edited ? h('span', { class: 'edited', title: m.edited.ts ? `Edited ${tsDate(m.edited.ts).toLocaleString()}` : 'Edited' }, ' (edited)') : null),
      m.subtype === 'thread_broadcast' && this.inChannel ? h('div', { class: 'broadcast' }, 'replied to a thread') : null,
      m.ts ? this.#reactions(m) : null,
      m.ts && this.inChannel && m.reply_count ? h('button', { type: 'button', class: 'replies link', dataset: { act: 'thread', ts: m.ts } },
        m.reply_count === 1 ? '1 reply' : `${m.reply_count} replies`) : null,
      m.ts && !m.state && !this.#archived() && !channelEvents.has(m.subtype) ? this.#actions(m) : null,
      state);
  }

  #reactions(m) {
    const me = this.app.self?.id;
    const rs = (m.reactions || []).filter((r) => r.count > 0);
    const picker = this.picking === m.ts
      ? h('div', { class: 'picker', role: 'group', 'aria-label': 'Pick a reaction' }, Object.keys(emoji).map((name) =>
        h('button', { type: 'button', dataset: { act: 'react', ts: m.ts, name }, 'aria-label': `React with ${name}`, title: `:${name}:` }, emojiText(name))))
      : null;
    if (!rs.length && !picker) return null;
    return h('div', { class: 'reactions' }, rs.map((r) => {
      const mine = r.users?.includes(me);
      return h('button', { type: 'button', class: 'reaction', 'aria-pressed': mine ? 'true' : 'false', disabled: this.#archived(), dataset: { act: 'react', ts: m.ts, name: r.name },
        'aria-label': `${r.name}: ${r.count}${mine ? ', yours: click to take it back' : ''}`, title: `:${r.name}:` },
      h('span', { class: 'emoji' }, emojiText(r.name)), h('span', { class: 'count' }, String(r.count)));
    }), picker);
  }

  #actions(m) {
    const own = m.user === this.app.self?.id && (!m.subtype || m.subtype === 'thread_broadcast');
    const top = !m.thread_ts || m.thread_ts === m.ts;
    return h('div', { class: 'actions' },
      h('button', { type: 'button', dataset: { act: 'pick', ts: m.ts }, 'aria-label': 'Add a reaction', 'aria-expanded': this.picking === m.ts ? 'true' : 'false', title: 'Add a reaction' }, '☺'),
      this.inChannel && top ? h('button', { type: 'button', dataset: { act: 'thread', ts: m.ts }, 'aria-label': 'Reply in thread', title: 'Reply in thread' }, '💬') : null,
      own ? h('button', { type: 'button', dataset: { act: 'edit', ts: m.ts }, 'aria-label': 'Edit message', title: 'Edit message' }, '✎') : null,
      own ? h('button', { type: 'button', class: this.confirming === m.ts ? 'danger' : null, dataset: { act: 'delete', ts: m.ts },
        'aria-label': this.confirming === m.ts ? 'Really delete this message?' : 'Delete message', title: 'Delete message' },
      this.confirming === m.ts ? 'Delete?' : '🗑') : null);
  }
}

// ChannelMessages is the message list of the channel shown.
export class ChannelMessages extends MessageList {
  inChannel = true;

  constructor(app) {
    super(app, $('messages'), $('message-list'), $('history-status'));
  }

  source() {
    const app = this.app;
    const id = app.current;
    const tl = id && app.timelines.get(id);
    const name = app.title(id);
    return {
      key: id,
      label: name ? `Messages in ${name}` : 'Messages',
      status: this.#status(id, tl, name),
      items: tl ? [...tl.msgs, ...(app.outbox?.inChannel(id) ?? [])] : [],
      unread: app.unreadAfter ? { after: app.unreadAfter, self: app.self?.id } : null,
    };
  }

  older() {
    this.app.older();
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
}

// ThreadMessages is the thread panel's list: the parent, then replies.
export class ThreadMessages extends MessageList {
  inChannel = false;

  constructor(app) {
    super(app, $('thread-messages'), $('thread-list'), $('thread-status'));
    $('thread-close').addEventListener('click', () => app.closeThread());
    // Escape in the panel closes it, back to the channel's composer.
    $('thread').addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      app.closeThread();
      $('composer-input').focus();
    });
  }

  get channel() {
    return this.app.thread?.channel;
  }

  source() {
    const app = this.app;
    const t = app.thread;
    $('thread').hidden = !t;
    document.body.classList.toggle('thread-open', !!t);
    if (!t) return { key: null, label: 'Thread', status: '', items: [] };
    const tl = app.threadOf(t.channel, t.ts);
    replace($('thread-channel'), app.title(t.channel));
    return {
      key: `${t.channel}/${t.ts}`,
      label: `Thread in ${app.title(t.channel)}`,
      status: tl?.loaded ? '' : 'Loading…',
      items: tl ? [...tl.msgs, ...(app.outbox?.inThread(t.channel, t.ts) ?? [])] : [],
    };
  }
}

// colour picks one of the avatar colours (c0..c7) from a name.
function colour(name) {
  let n = 0;
  for (const ch of name) n = (n * 31 + ch.charCodeAt(0)) >>> 0;
  return `c${n % 8}`;
}
