// App is the signed-in page: what it knows (users, channels, their
// timelines, members, presence, typing), how each RTM event changes it,
// the user's actions, and when each view re-renders.
//
// Views read the state and call actions; events and actions change the
// state and say which views changed (changed()); those views render once,
// after the current task.

import { ApiError } from './api.js';
import { Connection } from './rtm.js';
import { Outbox } from './outbox.js';
import { Timeline } from './timeline.js';
import { encode, typed } from './format.js';
import { ChannelMessages, ThreadMessages } from './messages.js';
import { Sidebar, isDM } from './sidebar.js';
import { ChannelView } from './channel.js';
import { Composer, ThreadComposer } from './composer.js';
import { SearchView } from './search.js';

// pageSize: messages per conversations.history page.
const pageSize = 50;
// typingFor: how long "X is typing…" shows after a user_typing event.
const typingFor = 6000;
// typingEvery: at most one typing frame per channel this often (the server's limit).
const typingEvery = 3000;
// markAfter: a channel shown is marked read (conversations.mark) this
// long after its newest message came, at most once per such wait.
const markAfter = 300;

// A reply belongs to its thread; a broadcast one shows in the channel too.
// A member joining or leaving: shown, but no news for the unread badge
// (the server does not count them either).
const memberEntry = (m) => m.subtype === 'channel_join' || m.subtype === 'channel_leave';
const inChannel = (m) => !m.thread_ts || m.thread_ts === m.ts || m.subtype === 'thread_broadcast';

export class App {
  self = null; // {id, name}
  team = null;
  users = new Map(); // id -> user object
  usersVersion = 0; // bumped when names change: rows showing names re-render
  channels = new Map(); // id -> channel object (is_member per this user)
  timelines = new Map(); // channel id -> Timeline
  members = new Map(); // channel id -> Set of user ids (channels shown so far)
  presence = new Map(); // user id -> 'active' | 'away'
  typing = new Map(); // channel id -> Map user id -> until (ms)
  current = null; // the channel shown
  thread = null; // the thread shown beside it: {channel, ts}
  threads = new Map(); // "channel/ts" -> Timeline of a thread (its parent first)
  unreadAfter = null; // the read mark of the conversation shown when it was opened with unread messages (where "New" goes)
  editing = null; // the message a composer edits: {channel, ts, thread} (thread: the thread panel's)
  status = 'connecting';
  ready = false; // users and channels loaded
  error = ''; // the last failed action, shown in the header

  #dirty = new Set();
  #typedAt = new Map(); // channel id -> when we last sent typing
  #marking = new Map(); // channel id -> timer of a conversations.mark to come

  constructor(api, { onSignOut }) {
    this.api = api;
    this.onSignOut = onSignOut;
    this.conn = new Connection(api, {
      resume: () => this.#resumePoints(),
      onConnect: (info) => { this.self ??= info.self; this.team ??= info.team; },
      onLive: (first) => this.#live(first),
      onStatus: (s) => { this.status = s; this.changed('header', 'composer'); },
      onEvent: (ev) => this.#event(ev),
      onFatal: (code) => onSignOut(`Signed out: ${code}`),
    });
    this.views = {
      messages: new ChannelMessages(this),
      thread: new ThreadMessages(this),
      threadComposer: new ThreadComposer(this),
      search: new SearchView(this),
      sidebar: new Sidebar(this),
      header: new ChannelView(this),
      composer: new Composer(this),
    };
    addEventListener('hashchange', () => this.open(location.hash.slice(1)));
  }

  start() {
    this.conn.start();
    this.changed('header', 'sidebar');
  }

  // changed schedules the views named (messages, sidebar, header,
  // members, composer, typing) to render once the current task is done.
  changed(...parts) {
    if (this.#dirty.size === 0) queueMicrotask(() => this.#render());
    for (const p of parts) this.#dirty.add(p);
  }

  #render() {
    const d = new Set(this.#dirty);
    this.#dirty.clear();
    const v = this.views;
    if (d.has('sidebar')) v.sidebar.render();
    if (d.has('header') || d.has('members')) v.header.render();
    if (d.has('composer') || d.has('typing')) v.composer.render();
    if (d.has('messages')) v.messages.render();
    if (d.has('thread')) {
      v.thread.render();
      v.threadComposer.render();
    }
  }

  // --- what views read

  userName(id) {
    const u = this.users.get(id);
    return u ? u.profile?.display_name || u.name : id;
  }

  get names() {
    return {
      user: (id) => this.users.get(id) && this.userName(id),
      channel: (id) => this.channels.get(id)?.name,
      self: this.self?.id,
    };
  }

  timeline(id) {
    let tl = this.timelines.get(id);
    if (!tl) this.timelines.set(id, (tl = new Timeline()));
    return tl;
  }

  myChannels() {
    return [...this.channels.values()].filter((c) => c.is_member && !isDM(c)).sort((a, b) => a.name.localeCompare(b.name));
  }

  // myDMs are the DMs the sidebar lists: not those we closed
  // (conversations.close, here or elsewhere) unless they have news or are
  // the one shown.
  myDMs() {
    const listed = (c) => isDM(c) && (c.is_open !== false || c.unread > 0 || c.id === this.current);
    return [...this.channels.values()].filter(listed).sort((a, b) => this.label(a).localeCompare(this.label(b)));
  }

  // label names a conversation as the sidebar does: a channel's name, a
  // DM's other person, a group DM's other people (by name).
  label(c) {
    if (c.is_im) return c.user ? this.userName(c.user) : c.id;
    if (c.is_mpim) {
      const names = (c.name || '').replace(/^mpdm-/, '').replace(/-\d+$/, '').split('--');
      return names.filter((n) => n !== this.self?.name).sort().join(', ') || c.id;
    }
    return c.name || c.id;
  }

  // title is how the header, the composer and the list say it: #name,
  // or the people of a DM.
  title(id) {
    const c = this.channels.get(id);
    if (!c) return '';
    return isDM(c) ? this.label(c) : `#${c.name}`;
  }

  typingNames(channel) {
    const now = Date.now();
    const t = this.typing.get(channel);
    if (!t) return [];
    return [...t].filter(([id, until]) => until > now && id !== this.self?.id).map(([id]) => this.userName(id));
  }

  // --- the connection

  #resumePoints() {
    const out = {};
    for (const [id, tl] of this.timelines) {
      const seq = tl.lastSeq();
      if (seq != null) out[id] = seq;
    }
    return out;
  }

  #live(first) {
    if (first) {
      this.outbox = new Outbox(this.conn, this.api, this.self.id, {
        onAck: (item, ack) => this.#acked(item, ack),
        onChange: (item) => { if (item.channel === this.current) this.changed('messages'); },
      });
    }
    this.outbox.flush();
    this.#subscribePresence();
    this.#sync();
  }

  // sync loads users and channels the first time; after a reconnect, what
  // may have changed while no events came: our channels and the members
  // shown. It tries again while live until it succeeds.
  async #sync() {
    try {
      const wasReady = this.ready;
      if (!wasReady) await this.loadUsers();
      await this.#loadChannels();
      this.ready = true;
      this.error = '';
      this.changed('header');
      if (!wasReady) {
        this.open(location.hash.slice(1));
        return;
      }
      this.members.clear();
      if (this.channels.get(this.current)?.is_member) {
        await Promise.all([this.#loadMembers(this.current), this.#loadNewest(this.current)]);
      } else {
        this.open('');
      }
    } catch (e) {
      this.#failed(e);
      setTimeout(() => { if (this.conn.live) this.#sync(); }, 2000);
    }
  }

  // loadUsers reads everyone (users.list).
  async loadUsers() {
    for (const u of await this.api.all('users.list', { limit: 200 }, 'members')) this.users.set(u.id, u);
    this.usersVersion++;
    this.changed('messages', 'members', 'sidebar');
  }

  // loadChannels reads every channel and our DMs. Each of ours gets its
  // unread count (conversations.info) unless its timeline resumes: the
  // resume replays what it missed, which counts it.
  async #loadChannels() {
    const list = await this.api.all('conversations.list',
      { limit: 999, types: 'public_channel,private_channel,mpim,im' }, 'channels');
    const old = this.channels;
    this.channels = new Map(list.map((c) => {
      const o = old.get(c.id);
      return [c.id, { ...c, is_member: c.is_member || isDM(c), unread: o?.unread, last_read: o?.last_read }];
    }));
    for (const id of this.timelines.keys()) {
      if (!this.channels.get(id)?.is_member) this.#forget(id);
    }
    this.changed('sidebar', 'header');
    const counts = [...this.channels.values()].filter((c) => c.is_member && (c.unread === undefined || this.timelines.get(c.id)?.lastSeq() == null));
    await Promise.all(counts.map((c) => this.#loadUnread(c.id)));
  }

  async #loadUnread(id) {
    const { channel } = await this.api.call('conversations.info', { channel: id });
    const c = this.channels.get(id);
    if (!c) return;
    c.last_read = channel.last_read;
    c.unread = id === this.current ? 0 : channel.unread_count_display ?? 0;
    this.changed('sidebar');
    if (id === this.current) this.#markSoon(id);
  }

  // markSoon marks the channel shown read up to its newest message.
  #markSoon(id) {
    if (this.#marking.has(id)) return;
    this.#marking.set(id, setTimeout(() => {
      this.#marking.delete(id);
      if (id === this.current) this.#mark(id);
    }, markAfter));
  }

  // mark marks channel id read up to its newest message held, if it is
  // not already: called for the channel shown, and for the one left when
  // another is opened (it was read, however briefly).
  #mark(id) {
    clearTimeout(this.#marking.get(id));
    this.#marking.delete(id);
    const c = this.channels.get(id);
    const tl = this.timelines.get(id);
    const ts = tl?.msgs.at(-1)?.ts;
    if (!c || !tl?.loaded || !ts || ts <= (c.last_read || '')) return;
    c.last_read = ts;
    this.api.call('conversations.mark', { channel: id, ts }).catch((e) => this.#failed(e));
  }

  async #loadMembers(id) {
    const ids = await this.api.all('conversations.members', { channel: id, limit: 1000 }, 'members');
    this.members.set(id, new Set(ids));
    for (const uid of ids) if (!this.users.has(uid)) await this.#loadUser(uid);
    if (id === this.current) this.#subscribePresence();
    this.changed('members');
  }

  async #loadUser(id) {
    const { user } = await this.api.call('users.info', { user: id });
    this.users.set(id, user);
    this.usersVersion++;
    this.changed('messages', 'members');
  }

  // subscribePresence watches the members of the channel shown, the
  // people of our DMs, and us.
  #subscribePresence() {
    const ids = new Set(this.members.get(this.current) || []);
    if (this.self) ids.add(this.self.id);
    for (const c of this.channels.values()) if (c.is_im) ids.add(c.user);
    this.conn.notify({ type: 'presence_sub', ids: [...ids].slice(0, 500) });
  }

  // --- events

  #event(ev) {
    const handle = handlers[ev.type];
    if (handle) handle.call(this, ev);
  }

  #acked(item, ack) {
    const m = { type: 'message', user: item.user, text: ack.text ?? item.text, ts: ack.ts, client_msg_id: item.client_msg_id };
    if (item.thread_ts) {
      m.thread_ts = item.thread_ts;
      if (item.broadcast) m.subtype = 'thread_broadcast';
      this.#reply(item.channel, m);
    }
    if (!item.thread_ts || item.broadcast) this.timeline(item.channel).add(m);
    if (item.channel === this.current) this.changed('messages');
  }

  // threadOf answers the timeline of a thread, if held.
  threadOf(channel, ts) {
    return this.threads.get(`${channel}/${ts}`);
  }

  // reply puts a reply (m, of its channel) in its thread, if held, and
  // counts it on its parent once.
  #reply(channel, m) {
    this.threadOf(channel, m.thread_ts)?.add({ ...m });
    const bump = (p) => {
      if (p.latest_reply && p.latest_reply >= m.ts) return;
      p.reply_count = (p.reply_count || 0) + 1;
      p.latest_reply = m.ts;
      p.reply_users = [...new Set([...(p.reply_users || []), m.user])];
    };
    this.timelines.get(channel)?.change(m.thread_ts, bump);
    this.threadOf(channel, m.thread_ts)?.change(m.thread_ts, bump);
    if (channel === this.current) this.changed('messages');
    if (this.thread?.channel === channel && this.thread.ts === m.thread_ts) this.changed('thread');
  }

  // changeMessage applies f to message ts of channel wherever it is held
  // (the channel's timeline, threads); seq is the change's.
  #changeMessage(channel, ts, seq, f) {
    const tl = this.timelines.get(channel);
    tl?.saw(seq);
    tl?.change(ts, f);
    for (const [key, t] of this.threads) if (key.startsWith(`${channel}/`)) t.change(ts, f);
    if (channel === this.current) this.changed('messages');
    if (this.thread?.channel === channel) this.changed('thread');
  }

  // newDM learns of a DM someone opened with us: what it is and how much
  // of it we have not read (its first message may have come already).
  async #newDM(id) {
    if (!this.channels.has(id)) this.channels.set(id, { id, is_member: true, is_im: id.startsWith('D'), is_mpim: id.startsWith('G') });
    try {
      const { channel } = await this.api.call('conversations.info', { channel: id });
      const c = this.channels.get(id);
      Object.assign(c, channel, { is_member: true });
      c.unread = id === this.current ? 0 : channel.unread_count_display ?? 0;
      if (c.user && !this.users.has(c.user)) await this.#loadUser(c.user);
      this.#subscribePresence();
      this.changed('sidebar', 'header');
    } catch (e) {
      this.#failed(e);
    }
  }

  // removeMessage drops a deleted message wherever it is held.
  #removeMessage(channel, ts, seq) {
    const tl = this.timelines.get(channel);
    tl?.saw(seq);
    tl?.remove(ts);
    for (const [key, t] of this.threads) {
      if (!key.startsWith(`${channel}/`)) continue;
      const m = t.get(ts);
      if (m && m.thread_ts && m.thread_ts !== ts) {
        const parent = (p) => { p.reply_count = Math.max(0, (p.reply_count || 1) - 1); };
        t.change(m.thread_ts, parent);
        tl?.change(m.thread_ts, parent);
      }
      t.remove(ts);
    }
    if (this.thread?.channel === channel && this.thread.ts === ts) this.thread = null;
    if (this.editing?.ts === ts) this.editing = null;
    if (channel === this.current) this.changed('messages', 'composer');
    if (this.thread?.channel === channel || !this.thread) this.changed('thread');
  }

  // forget drops what we hold of a channel we are no longer in.
  #forget(id) {
    this.timelines.delete(id);
    this.members.delete(id);
    this.typing.delete(id);
    if (this.current === id) {
      this.current = null;
      this.open('');
    }
  }

  #failed(e) {
    this.error = e instanceof ApiError ? e.code : String(e);
    this.changed('header');
  }

  // --- actions

  // open shows channel id (or, when we are not in it, the first of ours).
  async open(id) {
    if (!this.ready) return;
    if (!this.channels.get(id)?.is_member) {
      const mine = this.myChannels();
      id = (mine.find((c) => c.id === localStorage.getItem('ringcast.channel')) || mine.find((c) => c.is_general) || mine[0])?.id;
      if (!id) {
        this.current = null;
        this.changed('sidebar', 'header', 'messages', 'composer');
        return;
      }
    }
    if (location.hash !== `#${id}`) history.replaceState(null, '', `#${id}`);
    if (this.current === id) return;
    if (this.current) this.#mark(this.current);
    this.views.composer.switched(this.current, id);
    this.current = id;
    this.error = '';
    if (this.thread && this.thread.channel !== id) this.closeThread();
    this.editing = null;
    const c = this.channels.get(id);
    this.unreadAfter = c.unread ? c.last_read || '0' : null;
    if (c.unread) {
      c.unread = 0;
      this.changed('sidebar');
    }
    localStorage.setItem('ringcast.channel', id);
    this.changed('sidebar', 'header', 'messages', 'composer', 'members');
    this.#subscribePresence();
    try {
      await Promise.all([this.#loadNewest(id), this.members.has(id) ? null : this.#loadMembers(id)]);
    } catch (e) {
      this.#failed(e);
    }
  }

  async #loadNewest(id) {
    const tl = this.timeline(id);
    if (tl.loaded || tl.loading) return;
    tl.loading = true;
    try {
      const res = await this.api.call('conversations.history', { channel: id, limit: pageSize });
      for (const m of res.messages) tl.add(m);
      tl.loaded = true;
      tl.more = res.has_more;
      this.#markSoon(id);
    } finally {
      tl.loading = false;
      this.changed('messages');
    }
  }

  // older loads the page before the oldest message shown.
  async older() {
    const id = this.current;
    const tl = this.timelines.get(id);
    if (!tl?.loaded || !tl.more || tl.loading) return;
    tl.loading = true;
    this.changed('messages');
    try {
      const res = await this.api.call('conversations.history', { channel: id, latest: tl.oldestTs(), limit: pageSize });
      for (const m of res.messages) tl.add(m);
      tl.more = res.has_more;
    } catch (e) {
      this.#failed(e);
    } finally {
      tl.loading = false;
      this.changed('messages');
    }
  }

  #encode(text) {
    const byName = new Map([...this.users.values()].map((u) => [u.name, u.id]));
    return encode(text, (n) => byName.get(n));
  }

  // send posts what the user typed in the channel shown.
  send(text) {
    const id = this.current;
    this.outbox.send(id, this.#encode(text));
    this.views.messages.stick();
    this.changed('messages');
  }

  // sendReply posts what the user typed in the thread shown, also to the
  // channel when broadcast.
  sendReply(text, broadcast) {
    const t = this.thread;
    if (!t) return;
    this.outbox.send(t.channel, this.#encode(text), { ts: t.ts, broadcast });
    this.views.thread.stick();
    this.changed('thread', 'messages');
  }

  // lastOwn is the newest message of ours in the channel shown, or with
  // thread in the thread shown (what up-arrow edits).
  lastOwn(thread = false) {
    const t = this.thread;
    const msgs = (thread ? t && this.threadOf(t.channel, t.ts) : this.timelines.get(this.current))?.msgs || [];
    for (let i = msgs.length - 1; i >= 0; i--) {
      const m = msgs[i];
      if (m.user === this.self?.id && (!m.subtype || m.subtype === 'thread_broadcast')) return m;
    }
    return null;
  }

  // startEdit puts message ts of the channel shown (with thread, of the
  // thread shown) in that composer.
  startEdit(ts, thread = false) {
    const t = this.thread;
    if (thread && !t) return;
    const channel = thread ? t.channel : this.current;
    const m = (thread ? this.threadOf(t.channel, t.ts) : this.timelines.get(channel))?.get(ts);
    if (!m || m.user !== this.self?.id) return;
    // The other composer's edit ends; this one keeps what it held.
    if (this.editing && this.editing.thread !== thread) this.views[thread ? 'composer' : 'threadComposer'].cancelEdit();
    this.views[thread ? 'threadComposer' : 'composer'].edit(typed(m.text, (id) => this.users.get(id)?.name));
    this.editing = { channel, ts, thread };
    this.changed('messages', 'composer', 'thread');
  }

  stopEdit() {
    this.editing = null;
    this.changed('messages', 'composer', 'thread');
  }

  // saveEdit saves what the composer holds as the edited message.
  async saveEdit(text) {
    const e = this.editing;
    if (!e) return;
    this.editing = null;
    this.changed('messages', 'composer', 'thread');
    try {
      const res = await this.api.call('chat.update', { channel: e.channel, ts: e.ts, text: this.#encode(text) });
      this.#changeMessage(e.channel, e.ts, null, (m) => {
        m.text = res.text ?? m.text;
        m.edited ??= { user: this.self.id, ts: '' };
      });
    } catch (err) {
      this.#failed(err);
    }
  }

  async deleteMessage(channel, ts) {
    try {
      await this.api.call('chat.delete', { channel, ts });
      this.#removeMessage(channel, ts, null);
    } catch (err) {
      this.#failed(err);
    }
  }

  // react adds our reaction name to a message, or takes it back.
  async react(channel, ts, name) {
    const m = this.timelines.get(channel)?.get(ts) || [...this.threads.values()].map((t) => t.get(ts)).find(Boolean);
    const mine = m?.reactions?.find((r) => r.name === name)?.users?.includes(this.self.id);
    try {
      await this.api.call(mine ? 'reactions.remove' : 'reactions.add', { channel, timestamp: ts, name });
    } catch (err) {
      if (err.code !== 'already_reacted' && err.code !== 'no_reaction') this.#failed(err);
    }
  }

  // openThread shows a thread beside the channel, loading its replies.
  async openThread(channel, ts) {
    this.thread = { channel, ts };
    this.changed('thread');
    const key = `${channel}/${ts}`;
    if (this.threads.has(key)) return;
    const tl = new Timeline();
    this.threads.set(key, tl);
    try {
      let cursor = '';
      do {
        const res = await this.api.call('conversations.replies', { channel, ts, limit: 200, cursor });
        for (const m of res.messages) tl.add(m);
        cursor = res.response_metadata?.next_cursor || '';
      } while (cursor);
      tl.loaded = true;
    } catch (err) {
      this.threads.delete(key);
      this.#failed(err);
    }
    this.changed('thread');
  }

  closeThread() {
    if (this.editing?.thread) this.editing = null;
    this.thread = null;
    this.changed('thread');
  }

  retry(clientMsgID) {
    this.outbox.retry(clientMsgID);
  }

  // typed tells the others we are typing, at most every typingEvery
  // (the gateway drops what comes faster, whatever we sent meanwhile).
  typed() {
    const id = this.current;
    if (!id || Date.now() - (this.#typedAt.get(id) || 0) < typingEvery) return;
    this.#typedAt.set(id, Date.now());
    this.conn.notify({ type: 'typing', channel: id });
  }

  async create(name, isPrivate) {
    const { channel } = await this.api.call('conversations.create', { name, is_private: isPrivate });
    this.#joined(channel);
  }

  async join(id) {
    const { channel } = await this.api.call('conversations.join', { channel: id });
    this.#joined(channel);
  }

  async leave() {
    const id = this.current;
    try {
      await this.api.call('conversations.leave', { channel: id });
      this.#left(id);
    } catch (e) {
      this.#failed(e);
    }
  }

  // openDM opens (creating it if new) the DM with a person, or the group
  // DM with several, and shows it.
  async openDM(userIDs) {
    const { channel } = await this.api.call('conversations.open', { users: userIDs.join(','), return_im: true });
    const c = { ...this.channels.get(channel.id), ...channel, is_member: true };
    c.unread ??= 0;
    this.channels.set(channel.id, c);
    this.#subscribePresence();
    this.changed('sidebar');
    location.hash = channel.id;
  }

  // setTopic and setPurpose change the channel shown's; what the user
  // typed is sent as a message's text is.
  async setTopic(topic) {
    await this.api.call('conversations.setTopic', { channel: this.current, topic: this.#encode(topic) });
  }

  async setPurpose(purpose) {
    await this.api.call('conversations.setPurpose', { channel: this.current, purpose: this.#encode(purpose) });
  }

  // rename renames the channel shown; its event changes the page.
  async rename(name) {
    await this.api.call('conversations.rename', { channel: this.current, name });
  }

  // archive archives the channel shown (or, with false, unarchives it);
  // its event changes the page.
  async archive(archived = true) {
    await this.api.call(archived ? 'conversations.archive' : 'conversations.unarchive', { channel: this.current });
  }

  async invite(userID) {
    await this.api.call('conversations.invite', { channel: this.current, users: userID });
  }

  async setAway(away) {
    try {
      await this.api.call('users.setPresence', { presence: away ? 'away' : 'auto' });
    } catch (e) {
      this.#failed(e);
    }
  }

  // listChannels answers every channel (for browsing), refreshing ours.
  async listChannels() {
    await this.#loadChannels();
    return [...this.channels.values()];
  }

  signOut() {
    this.conn.stop();
    this.onSignOut('');
  }

  #joined(channel) {
    this.channels.set(channel.id, { unread: 0, ...this.channels.get(channel.id), ...channel, is_member: true });
    this.changed('sidebar');
    location.hash = channel.id;
  }

  #left(id) {
    const c = this.channels.get(id);
    if (c) c.is_member = false;
    this.#forget(id);
    this.changed('sidebar');
  }

  // The RTM events the page follows, by type.
  static handlers = {
    message(ev) {
      if (!ev.channel) return;
      if (ev.subtype === 'message_changed' && ev.message?.ts) {
        const n = ev.message;
        this.#changeMessage(ev.channel, n.ts, ev.seq, (m) => {
          m.text = n.text;
          m.edited = n.edited;
        });
        return;
      }
      if (ev.subtype === 'message_deleted' && ev.deleted_ts) {
        this.#removeMessage(ev.channel, ev.deleted_ts, ev.seq);
        return;
      }
      if (ev.hidden || !ev.ts) return; // hidden: a change we do not show
      if (ev.subtype === 'channel_topic' || ev.subtype === 'channel_purpose') {
        const c = this.channels.get(ev.channel);
        const key = ev.subtype.slice('channel_'.length);
        if (c && ev[key] !== undefined && ev.ts >= (c[key]?.ts || '')) {
          c[key] = { value: ev[key], creator: ev.user, ts: ev.ts };
          this.changed('header');
        }
      }
      if (ev.thread_ts && ev.thread_ts !== ev.ts) {
        this.#reply(ev.channel, ev);
        if (ev.client_msg_id && this.outbox?.confirmed(ev.client_msg_id)) this.changed('messages', 'thread');
        if (!inChannel(ev)) {
          this.timeline(ev.channel).saw(ev.seq);
          return;
        }
      }
      const tl = this.timeline(ev.channel);
      if (tl.add(ev)) {
        const c = this.channels.get(ev.channel);
        if (ev.channel === this.current) {
          this.changed('messages');
          this.#markSoon(ev.channel);
        } else if (c && c.unread !== undefined && ev.user !== this.self?.id && inChannel(ev) && !memberEntry(ev) &&
          ev.ts > (c.last_read || '')) {
          c.unread++;
          this.changed('sidebar');
        }
      }
      if (ev.client_msg_id && this.outbox?.confirmed(ev.client_msg_id)) this.changed('messages');
      if (this.typing.get(ev.channel)?.delete(ev.user)) this.changed('typing');
    },
    user_typing(ev) {
      if (!this.typing.has(ev.channel)) this.typing.set(ev.channel, new Map());
      this.typing.get(ev.channel).set(ev.user, Date.now() + typingFor);
      if (ev.channel === this.current) this.changed('typing');
      setTimeout(() => this.changed('typing'), typingFor + 50);
    },
    presence_change(ev) {
      for (const id of ev.users || [ev.user]) this.presence.set(id, ev.presence);
      this.changed('members', 'sidebar');
    },
    manual_presence_change(ev) {
      this.presence.set(this.self.id, ev.presence);
      this.changed('sidebar', 'members');
    },
    channel_joined(ev) {
      this.channels.set(ev.channel.id, { ...ev.channel, is_member: true, unread: 0 });
      this.changed('sidebar');
      if (!this.current) this.open(ev.channel.id);
    },
    // An archived channel stays in the sidebar and shows its history;
    // nobody can post in it. The change is an entry of the channel's log,
    // shown as the history shows it.
    channel_archive(ev, archived = true) {
      const c = this.channels.get(ev.channel);
      if (!c) return;
      this.timelines.get(ev.channel)?.add({ type: 'message', subtype: ev.type, user: ev.user, ts: ev.ts, seq: ev.seq,
        text: `<@${ev.user}> ${archived ? 'archived' : 'un-archived'} the channel` });
      c.is_archived = archived;
      this.changed('sidebar', 'header', 'composer', 'messages', 'thread');
    },
    channel_unarchive(ev) {
      handlers.channel_archive.call(this, ev, false);
    },
    channel_rename(ev) {
      const c = this.channels.get(ev.channel?.id);
      if (!c) return;
      c.name = ev.channel.name;
      this.timelines.get(c.id)?.add({ type: 'message', subtype: 'channel_name', user: ev.user, ts: ev.ts, seq: ev.seq,
        text: `<@${ev.user}> renamed the channel to "${c.name}"` });
      this.changed('sidebar', 'header', 'composer', 'messages');
    },
    group_joined(ev) {
      handlers.channel_joined.call(this, ev); // a private channel's
    },
    reaction_added(ev) {
      handlers.reaction_removed.call(this, ev, true);
    },
    reaction_removed(ev, added = false) {
      const item = ev.item;
      if (item?.type !== 'message') return;
      this.#changeMessage(item.channel, item.ts, ev.seq, (m) => {
        const rs = m.reactions ? m.reactions.map((r) => ({ ...r, users: [...(r.users || [])] })) : [];
        let r = rs.find((x) => x.name === ev.reaction);
        if (added && !r) rs.push((r = { name: ev.reaction, users: [], count: 0 }));
        if (!r || r.users.includes(ev.user) === added) return; // seen already (a replay)
        r.users = added ? [...r.users, ev.user] : r.users.filter((u) => u !== ev.user);
        r.count = Math.max(0, (r.count || 0) + (added ? 1 : -1));
        m.reactions = rs.filter((x) => x.count > 0);
      });
    },
    im_created(ev) {
      this.#newDM(ev.channel.id);
    },
    mpim_open(ev) {
      this.#newDM(ev.channel);
    },
    im_open(ev) {
      const c = this.channels.get(ev.channel);
      if (!c) return this.#newDM(ev.channel);
      c.is_open = true;
      this.changed('sidebar');
    },
    im_close(ev) {
      const c = this.channels.get(ev.channel);
      if (!c) return;
      c.is_open = false;
      this.changed('sidebar');
    },
    mpim_close(ev) {
      handlers.im_close.call(this, ev);
    },
    channel_marked(ev) {
      // Another page of ours (or this one) read it up to ev.ts.
      const c = this.channels.get(ev.channel);
      if (!c || ev.ts < (c.last_read || '')) return;
      c.last_read = ev.ts;
      c.unread = ev.channel === this.current ? 0 : ev.unread_count_display;
      this.changed('sidebar');
    },
    im_marked(ev) {
      handlers.channel_marked.call(this, ev);
    },
    group_marked(ev) {
      handlers.channel_marked.call(this, ev);
    },
    channel_left(ev) {
      this.#left(ev.channel);
    },
    group_left(ev) {
      this.#left(ev.channel);
    },
    member_joined_channel(ev) {
      const m = this.members.get(ev.channel);
      if (!m || m.has(ev.user)) return;
      m.add(ev.user);
      if (!this.users.has(ev.user)) this.#loadUser(ev.user).catch((e) => this.#failed(e));
      if (ev.channel === this.current) this.#subscribePresence();
      this.changed('members');
    },
    member_left_channel(ev) {
      if (this.members.get(ev.channel)?.delete(ev.user)) this.changed('members');
    },
    error(ev) {
      // The server could not replay a channel from where we were (too
      // far behind): start it over from conversations.history.
      const id = /resume too old for (\S+):/.exec(ev.error?.msg || '')?.[1];
      if (!id) return;
      this.timelines.delete(id);
      if (id === this.current) this.#loadNewest(id).catch((e) => this.#failed(e));
    },
  };
}

const handlers = App.handlers;
