// The search box and its results panel (search.messages): a result opens
// its conversation at the message (or its thread, for a reply).

import { $, h, replace } from './dom.js';
import { render } from './format.js';
import { tsDate } from './timeline.js';

// perPage: results per search.messages page.
const perPage = 20;

export class SearchView {
  #query = '';
  #results = []; // matches so far, in the server's order
  #page = 0;
  #pages = 0;
  #total = 0;
  #state = ''; // '', 'loading', or an error code

  constructor(app) {
    this.app = app;
    $('search-form').addEventListener('submit', (e) => {
      e.preventDefault();
      this.search($('search-input').value.trim());
    });
    $('search-close').addEventListener('click', () => this.close());
    $('search').addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close();
    });
    $('search-more').addEventListener('click', () => this.#load(this.#page + 1));
    $('search-list').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-i]');
      if (b) this.#go(this.#results[Number(b.dataset.i)]);
    });
  }

  search(query) {
    if (!query) return;
    this.#query = query;
    this.#results = [];
    this.#page = this.#pages = this.#total = 0;
    $('search').hidden = false;
    document.body.classList.add('search-open');
    document.body.classList.remove('nav-open');
    this.#load(1);
  }

  close() {
    $('search').hidden = true;
    document.body.classList.remove('search-open');
    $('search-input').focus();
  }

  async #load(page) {
    const query = this.#query;
    this.#state = 'loading';
    this.render();
    try {
      const { messages } = await this.app.api.call('search.messages', { query, count: perPage, page, sort: 'timestamp', sort_dir: 'desc' });
      if (query !== this.#query) return; // a newer search started
      this.#results.push(...messages.matches);
      this.#page = messages.paging?.page ?? page;
      this.#pages = messages.paging?.pages ?? page;
      this.#total = messages.total ?? messages.paging?.total ?? this.#results.length;
      this.#state = '';
    } catch (e) {
      if (query === this.#query) this.#state = e.code || String(e);
    }
    this.render();
  }

  // go opens a result: its conversation, the message in view, and the
  // thread when it is a reply.
  async #go(r) {
    const app = this.app;
    const id = r.channel?.id;
    if (!id) return;
    if (matchMedia('(max-width: 700px)').matches) this.close();
    location.hash = id;
    await app.open(id);
    if (r.thread_ts && r.thread_ts !== r.ts) app.openThread(id, r.thread_ts);
    app.views.messages.reveal(r.thread_ts && r.thread_ts !== r.ts ? r.thread_ts : r.ts);
  }

  render() {
    const app = this.app;
    const n = this.#total;
    let status = '';
    if (this.#state === 'loading') status = 'Searching…';
    else if (this.#state) status = `The search failed: ${this.#state}`;
    else if (!this.#results.length) status = `No messages match “${this.#query}”.`;
    else status = `${n} ${n === 1 ? 'message matches' : 'messages match'} “${this.#query}”.`;
    replace($('search-status'), status);
    replace($('search-list'), this.#results.map((r, i) => {
      const d = tsDate(r.ts);
      const where = r.channel?.is_im ? app.userName(r.channel.name) : r.channel?.is_mpim ? app.title(r.channel.id) : `#${r.channel?.name ?? ''}`;
      return h('li', { class: 'result' },
        h('button', { type: 'button', class: 'result-open', dataset: { i: String(i) }, 'aria-label': `Open the message of ${app.userName(r.user)} in ${where}` },
          h('span', { class: 'where' }, where), ' · ', h('span', { class: 'author' }, app.userName(r.user)), ' · ',
          h('time', { datetime: d.toISOString() }, d.toLocaleString([], { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' }))),
        h('div', { class: 'text' }, render(r.text, app.names)));
    }));
    $('search-more').hidden = this.#state !== '' || this.#page >= this.#pages;
  }
}
