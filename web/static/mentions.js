// The @-mention picker of a composer: typing @ and the start of a name
// lists the people who match (the conversation's members first); up and
// down arrows choose, Enter or Tab puts @name in, Escape closes it.

import { h, replace } from './dom.js';

// shown: at most this many people are listed.
const shown = 6;

export class MentionPicker {
  #ids = []; // the people listed, by id
  #at = 0; // the one chosen
  #start = -1; // where the @ is in the text; -1: closed

  // channel() answers the conversation the composer writes to.
  constructor(app, input, channel) {
    this.app = app;
    this.input = input;
    this.channel = channel;
    this.list = h('ul', { id: `${input.id}-mentions`, class: 'mentions', role: 'listbox', 'aria-label': 'People to mention', hidden: true });
    input.form.append(this.list);
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', this.list.id);
    input.addEventListener('input', () => this.#update());
    // The caret moved without typing: what precedes it is another word.
    input.addEventListener('click', () => this.#update());
    input.addEventListener('keyup', (e) => {
      if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) this.#update();
    });
    input.addEventListener('blur', () => this.close());
    // Before the composer's own keys (Enter sends, up-arrow edits).
    input.addEventListener('keydown', (e) => this.#key(e), { capture: true });
    // A click chooses without taking the focus from the text.
    this.list.addEventListener('mousedown', (e) => {
      const li = e.target.closest('li[data-id]');
      if (!li) return;
      e.preventDefault();
      this.#at = this.#ids.indexOf(li.dataset.id);
      this.#choose();
    });
  }

  close() {
    this.#start = -1;
    this.#ids = [];
    this.list.hidden = true;
    this.input.removeAttribute('aria-activedescendant');
  }

  // update lists the people whose name starts with what follows the @
  // before the caret.
  #update() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const m = /(?:^|[\s(])@([a-z0-9._-]*)$/i.exec(before);
    if (!m) {
      this.close();
      return;
    }
    const app = this.app;
    const prefix = m[1].toLowerCase();
    const members = app.members.get(this.channel()) || new Set();
    this.#ids = [...app.users.values()]
      .filter((u) => !u.deleted && u.id !== app.self?.id && (u.name.startsWith(prefix) || app.userName(u.id).toLowerCase().startsWith(prefix)))
      .sort((a, b) => members.has(b.id) - members.has(a.id) || a.name.localeCompare(b.name))
      .slice(0, shown).map((u) => u.id);
    if (!this.#ids.length) {
      this.close();
      return;
    }
    this.#start = before.length - m[1].length - 1;
    this.#at = 0;
    this.#render();
  }

  #render() {
    const app = this.app;
    replace(this.list, this.#ids.map((id, i) => h('li', { id: `${this.list.id}-${i}`, role: 'option', 'aria-selected': i === this.#at ? 'true' : 'false', dataset: { id } },
      h('span', { class: 'name' }, app.userName(id)), app.users.get(id)?.name !== app.userName(id) ? h('span', { class: 'muted' }, ` @${app.users.get(id).name}`) : null)));
    this.list.hidden = false;
    this.input.setAttribute('aria-activedescendant', `${this.list.id}-${this.#at}`);
  }

  #key(e) {
    if (this.#start < 0 || e.isComposing || e.altKey || e.ctrlKey || e.metaKey) return;
    switch (e.key) {
      case 'ArrowDown':
      case 'ArrowUp':
        this.#at = (this.#at + (e.key === 'ArrowDown' ? 1 : -1) + this.#ids.length) % this.#ids.length;
        this.#render();
        break;
      case 'Enter':
      case 'Tab':
        if (e.shiftKey) return;
        this.#choose();
        break;
      case 'Escape':
        this.close();
        break;
      default:
        return;
    }
    e.preventDefault();
    e.stopImmediatePropagation();
    e.stopPropagation();
  }

  // choose puts "@name " in place of what was typed after the @.
  #choose() {
    const name = this.app.users.get(this.#ids[this.#at])?.name;
    const caret = this.input.selectionStart;
    const v = this.input.value;
    const text = `@${name} `;
    this.input.value = v.slice(0, this.#start) + text + v.slice(caret).replace(/^ /, '');
    const at = this.#start + text.length;
    this.input.setSelectionRange(at, at);
    this.close();
  }
}
