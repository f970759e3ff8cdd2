// The RTM connection: rtm.connect, the websocket it names, hello, acks,
// keepalive, and reconnecting with resume until told to stop.

// Times, in milliseconds.
const helloWithin = 10000; // from opening the socket
const pingAfter = 5000; // of silence: then a ping
const pongWithin = 5000; // else the socket is dead (a frozen or gone peer)
const backoffMax = 10000;

// Answers of rtm.connect after which trying again cannot help.
const fatal = new Set(['not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'token_expired']);

// Disconnected rejects a request whose socket closed before its ack.
export class Disconnected extends Error {}

// AckError rejects a request the server refused ({ok:false,error:{code,msg}}).
export class AckError extends Error {
  constructor(err) {
    super(err?.msg || 'error');
    this.code = err?.code;
  }
}

// Connection keeps one RTM session up. Its owner supplies:
//   resume()          { channel: lastSeq } to resume from on each connect
//   onConnect(info)   rtm.connect's answer (self, team), before hello
//   onLive(first)     hello arrived; first: the first time
//   onStatus(status)  'connecting' | 'live' | 'reconnecting'
//   onEvent(frame)    every event frame (anything but hello, acks, pongs)
//   onFatal(code)     the token is no good; the connection stopped
export class Connection {
  #ws = null;
  #live = false;
  #stopped = false;
  #attempt = 0;
  #everLive = false;
  #nextId = 1;
  #waiting = new Map(); // id -> {resolve, reject}
  #lastRecv = 0;
  #pingAt = 0;
  #timer = 0;
  #retry = 0;

  constructor(api, hooks) {
    this.api = api;
    this.hooks = hooks;
  }

  get live() {
    return this.#live;
  }

  start() {
    this.#status();
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#retry);
    this.#drop();
  }

  // request sends frame with a fresh id; it resolves with the ack, or
  // rejects (AckError, or Disconnected if the socket went first).
  request(frame) {
    if (!this.#live) return Promise.reject(new Disconnected());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  // notify sends a frame nobody waits for; it is dropped when not live.
  notify(frame) {
    if (this.#live) this.#ws.send(JSON.stringify({ ...frame, id: this.#nextId++ }));
  }

  #status() {
    const s = this.#live ? 'live' : this.#everLive ? 'reconnecting' : 'connecting';
    this.hooks.onStatus(s);
  }

  async #connect() {
    let info;
    try {
      info = await this.api.call('rtm.connect', {}, 10000);
    } catch (e) {
      if (fatal.has(e.code)) {
        this.#stopped = true;
        this.hooks.onFatal(e.code);
        return;
      }
      this.#again();
      return;
    }
    if (this.#stopped) return;
    this.hooks.onConnect(info);
    const url = new URL(info.url);
    const resume = Object.entries(this.hooks.resume()).map(([ch, seq]) => `${ch}:${seq}`);
    if (resume.length) url.searchParams.set('resume', resume.join(','));
    const ws = new WebSocket(url);
    this.#ws = ws;
    this.#lastRecv = Date.now();
    this.#pingAt = 0;
    const helloTimer = setTimeout(() => this.#lost(ws), helloWithin);
    ws.onmessage = (e) => {
      this.#lastRecv = Date.now();
      let f;
      try {
        f = JSON.parse(e.data);
      } catch {
        return; // not JSON: nothing a Slack server sends
      }
      if (f.type === 'hello') {
        clearTimeout(helloTimer);
        this.#hello();
      } else {
        this.#frame(f, ws);
      }
    };
    ws.onclose = () => {
      clearTimeout(helloTimer);
      this.#lost(ws);
    };
  }

  #hello() {
    this.#live = true;
    this.#attempt = 0;
    const first = !this.#everLive;
    this.#everLive = true;
    this.#timer = setInterval(() => this.#keepalive(), 1000);
    this.#status();
    this.hooks.onLive(first);
  }

  #frame(f, ws) {
    if (f.type === undefined && f.reply_to !== undefined) { // an ack
      const w = this.#waiting.get(f.reply_to);
      this.#waiting.delete(f.reply_to);
      if (!w) return;
      if (f.ok) w.resolve(f);
      else w.reject(new AckError(f.error));
      return;
    }
    switch (f.type) {
      case 'pong':
        return;
      case 'goodbye': // the server is going away: go now, it closes soon
        this.#lost(ws);
        return;
      default:
        this.hooks.onEvent(f);
    }
  }

  // keepalive pings a quiet socket and gives up on one that does not
  // answer: a frozen peer or a dead path closes nothing by itself.
  #keepalive() {
    const now = Date.now();
    if (this.#pingAt > this.#lastRecv) {
      if (now - this.#pingAt > pongWithin) this.#lost(this.#ws);
      return;
    }
    if (now - this.#lastRecv >= pingAfter) {
      this.#pingAt = now;
      this.notify({ type: 'ping' });
    }
  }

  // lost ends socket ws (if it is still the current one) and starts over.
  #lost(ws) {
    if (ws !== this.#ws) return;
    this.#drop();
    this.#status();
    this.#again();
  }

  // drop forgets the current socket without waiting for its close
  // handshake (a frozen peer would never answer it).
  #drop() {
    const ws = this.#ws;
    this.#ws = null;
    this.#live = false;
    clearInterval(this.#timer);
    if (ws) {
      ws.onmessage = ws.onclose = null;
      ws.close();
    }
    for (const w of this.#waiting.values()) w.reject(new Disconnected());
    this.#waiting.clear();
  }

  #again() {
    if (this.#stopped) return;
    const delay = Math.min(backoffMax, 250 * 2 ** this.#attempt) * (0.5 + Math.random() / 2);
    this.#attempt++;
    this.#retry = setTimeout(() => this.#connect(), delay);
  }
}
