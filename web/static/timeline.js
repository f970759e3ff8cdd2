// A channel's messages as the page knows them, and how they are laid
// out: pure code, no DOM.

// Timeline holds a channel's confirmed messages, oldest first, once
// each. They come from conversations.history pages, live events, acks
// and resumed events, in any order and any number of times; ts (unique
// per channel, fixed width, so string order is time order) identifies
// a message.
export class Timeline {
  msgs = [];
  #byTs = new Map();
  #seq = null; // the highest seq of a change (edit, delete, reaction, reply) seen
  // loaded: the newest page was fetched; until then msgs holds only what
  // arrived live. more: older messages exist before msgs[0].
  loaded = false;
  more = true;

  // add inserts m unless it is known; it answers whether m was new. A
  // known message learns its seq if it had none (an ack carries no seq;
  // its event does).
  add(m) {
    const old = this.#byTs.get(m.ts);
    if (old) {
      if (old.seq == null && m.seq != null) old.seq = m.seq;
      return false;
    }
    this.#byTs.set(m.ts, m);
    let i = this.msgs.length;
    while (i > 0 && this.msgs[i - 1].ts > m.ts) i--;
    this.msgs.splice(i, 0, m);
    return true;
  }

  get(ts) {
    return this.#byTs.get(ts);
  }

  // change applies f to the message ts (if held) and answers whether it
  // was; rev counts a message's changes, for the views.
  change(ts, f) {
    const m = this.#byTs.get(ts);
    if (!m) return false;
    f(m);
    m.rev = (m.rev || 0) + 1;
    return true;
  }

  // remove drops the message ts; it answers whether it was held.
  remove(ts) {
    if (!this.#byTs.delete(ts)) return false;
    this.msgs.splice(this.msgs.findIndex((m) => m.ts === ts), 1);
    return true;
  }

  // saw notes the seq of an entry of the channel's log that is not a
  // message of this timeline (a change to one, a thread reply): a resume
  // starts after it too.
  saw(seq) {
    if (seq != null && (this.#seq == null || seq > this.#seq)) this.#seq = seq;
  }

  // lastSeq is where a resume starts: everything after it is wanted. It
  // is the highest seq held or seen: what is held is contiguous up to it,
  // since history pages are and the live stream and its resumes are. A
  // loaded channel with no seq yet (empty, or only acks) resumes from the
  // start; one holding nothing is not resumed (its history is read when
  // shown).
  lastSeq() {
    let seq = this.#seq;
    for (let i = this.msgs.length - 1; i >= 0; i--) {
      if (this.msgs[i].seq != null) {
        if (seq == null || this.msgs[i].seq > seq) seq = this.msgs[i].seq;
        break;
      }
    }
    return seq ?? (this.loaded ? 0 : null);
  }

  oldestTs() {
    return this.msgs[0]?.ts;
  }
}

// tsDate is the Date of a Slack ts ("1700000000.000100").
export const tsDate = (ts) => new Date(Math.floor(parseFloat(ts) * 1000));

const dayKey = (d) => `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;

// dayLabel names a day as Slack does: Today, Yesterday, or the date.
export function dayLabel(d, now = new Date()) {
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(d) === dayKey(now)) return 'Today';
  if (dayKey(d) === dayKey(yesterday)) return 'Yesterday';
  const opts = { weekday: 'long', month: 'long', day: 'numeric' };
  if (d.getFullYear() !== now.getFullYear()) opts.year = 'numeric';
  return d.toLocaleDateString('en-US', opts);
}

// groupWithin: a message follows its author's previous one without a
// header when it comes less than this many seconds later, the same day.
export const groupWithin = 5 * 60;

// rows lays messages out: a day separator before each day's first
// message, and each message grouped (no author line) when it follows
// the same author's message within groupWithin. With unread ({after,
// self}: the read mark when the conversation was opened, and who we
// are), a "New" line goes before the first message after it that is not
// ours. Each row has a key that stays the same while the row means the
// same thing. items have user and ts; an item without ts (a message not
// yet sent) is dated at.
export function rows(items, now = new Date(), unread = null) {
  const out = [];
  let prev = null;
  let marked = !unread;
  for (const item of items) {
    const ts = item.ts ?? item.at;
    const d = tsDate(ts);
    const day = dayKey(d);
    if (prev?.day !== day) out.push({ kind: 'day', key: `d:${day}`, label: dayLabel(d, now) });
    const isNew = !marked && item.ts && item.ts > unread.after && item.user !== unread.self;
    if (isNew) {
      marked = true;
      out.push({ kind: 'new', key: 'new', label: 'New' });
    }
    const grouped = !isNew && prev?.day === day && prev.user === item.user && parseFloat(ts) - parseFloat(prev.ts) < groupWithin;
    out.push({ kind: 'msg', key: item.ts ? `m:${item.ts}` : `p:${item.client_msg_id}`, item, grouped, date: d });
    prev = { day, user: item.user, ts };
  }
  return out;
}

// typingText says who is typing.
export function typingText(names) {
  switch (names.length) {
    case 0: return '';
    case 1: return `${names[0]} is typing…`;
    case 2: return `${names[0]} and ${names[1]} are typing…`;
    default: return 'Several people are typing…';
  }
}
