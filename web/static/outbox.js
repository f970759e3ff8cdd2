// Messages the user sent that the server has not confirmed yet.

import { AckError } from './rtm.js';
import { ApiError } from './api.js';

// sendWithin: a message not acked this long after it was sent (or
// retried) is shown as failed, with a retry button.
export const sendWithin = 8000;

// clientMsgID makes a random UUID (crypto.randomUUID needs a secure
// context; a page on http://<lan address> is not one).
function clientMsgID() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Outbox sends messages over the connection and keeps each until it is
// acked. Every attempt carries the same client_msg_id, so the server
// posts a message once however often it is sent: a message whose socket
// died before its ack is simply sent again on the next one.
//
// An item is {client_msg_id, channel, user, text, thread_ts, broadcast,
// at, state, error}, state 'pending' or 'failed'; thread_ts makes it a
// reply (broadcast: also to the channel). onAck(item, ack) is told when one is
// confirmed (and it leaves the outbox); onChange(item) when one changes.
export class Outbox {
  items = new Map(); // by client_msg_id, in sending order

  constructor(conn, api, user, { onAck, onChange }) {
    this.conn = conn;
    this.api = api;
    this.user = user;
    this.onAck = onAck;
    this.onChange = onChange;
  }

  send(channel, text, thread = null) {
    const item = { client_msg_id: clientMsgID(), channel, user: this.user, text, thread_ts: thread?.ts, broadcast: !!thread?.broadcast };
    this.items.set(item.client_msg_id, item);
    this.#attempt(item);
    return item;
  }

  retry(id) {
    const item = this.items.get(id);
    if (item?.state === 'failed') this.#attempt(item);
  }

  // flush sends every pending item again: called when a new socket is
  // live, since those in flight on the last one were never acked.
  flush() {
    for (const item of this.items.values()) {
      if (item.state === 'pending') this.#send(item);
    }
  }

  // confirmed drops an item whose message arrived (its event can come
  // before its ack).
  confirmed(id) {
    return this.items.delete(id);
  }

  // inChannel: the items shown in the channel (not replies but broadcast ones).
  inChannel(channel) {
    return [...this.items.values()].filter((i) => i.channel === channel && (!i.thread_ts || i.broadcast));
  }

  inThread(channel, ts) {
    return [...this.items.values()].filter((i) => i.channel === channel && i.thread_ts === ts);
  }

  #attempt(item) {
    item.state = 'pending';
    item.error = '';
    item.at ??= (Date.now() / 1000).toFixed(6);
    clearTimeout(item.timer);
    item.timer = setTimeout(() => this.#fail(item, 'no connection'), sendWithin);
    this.onChange(item);
    this.#send(item);
  }

  #send(item) {
    if (!this.conn.live) return; // flush sends it
    const frame = { type: 'message', channel: item.channel, text: item.text, client_msg_id: item.client_msg_id };
    if (item.thread_ts) frame.thread_ts = item.thread_ts;
    let sent;
    if (item.broadcast) {
      // RTM has no reply_broadcast: chat.postMessage has, and the same
      // client_msg_id makes a second attempt harmless there too.
      sent = this.api.call('chat.postMessage', { channel: item.channel, text: item.text, client_msg_id: item.client_msg_id, thread_ts: item.thread_ts, reply_broadcast: true })
        .then((res) => ({ ts: res.ts, text: res.message?.text }), (err) => {
          throw err instanceof ApiError && err.code !== 'network_error' ? new AckError({ msg: err.code }) : err;
        });
    } else {
      sent = this.conn.request(frame);
    }
    sent.then(
      (ack) => {
        if (!this.items.delete(item.client_msg_id)) return;
        clearTimeout(item.timer);
        this.onAck(item, ack);
      },
      (err) => {
        if (err instanceof AckError && this.items.has(item.client_msg_id)) this.#fail(item, err.message);
      },
    );
  }

  #fail(item, error) {
    if (!this.items.has(item.client_msg_id) || item.state === 'failed') return;
    clearTimeout(item.timer);
    item.state = 'failed';
    item.error = error;
    this.onChange(item);
  }
}
