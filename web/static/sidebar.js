// The sidebar (team, our channels, ourselves) and the channel dialog
// (create a channel, browse and join the others).

import { $, h, replace } from './dom.js';

// Why conversations.create refused a name, in words.
const nameErrors = {
  name_taken: 'That name is already taken.',
  invalid_name_required: 'Give the channel a name.',
  invalid_name_maxlength: 'Names are at most 80 characters.',
  invalid_name_specials: 'Use lowercase letters, digits, - and _ only.',
  invalid_name_punctuation: 'Names need a letter or a digit.',
};

export class Sidebar {
  sig = '';

  constructor(app) {
    this.app = app;
    this.dialog = $('channel-dialog');
    $('add-channel').addEventListener('click', () => this.#openDialog());
    $('dialog-close').addEventListener('click', () => this.dialog.close());
    $('create-form').addEventListener('submit', (e) => this.#create(e));
    $('away-button').addEventListener('click', () => app.setAway(app.presence.get(app.self?.id) !== 'away'));
    $('signout-button').addEventListener('click', () => app.signOut());
    // On a phone the sidebar is a drawer: choosing a channel closes it.
    $('channel-list').addEventListener('click', (e) => {
      if (e.target.closest('a')) document.body.classList.remove('nav-open');
    });
  }

  render() {
    const app = this.app;
    replace($('team-name'), app.team?.name || 'ringcast');
    const mine = app.myChannels();
    // Rebuilt only when it changed: a rebuild would lose the focus of
    // someone tabbing through it.
    const sig = JSON.stringify([app.current, mine.map((c) => [c.id, c.name])]);
    if (sig !== this.sig) {
      this.sig = sig;
      replace($('channel-list'), mine.map((c) => h('li', {},
        h('a', { href: `#${c.id}`, 'aria-current': c.id === app.current ? 'page' : null },
          h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'), c.name))));
    }
    const away = app.presence.get(app.self?.id) === 'away';
    replace($('self'), dot(away ? 'away' : app.status === 'live' ? 'active' : 'away'), h('span', { class: 'name' }, app.self?.name || ''));
    $('away-button').textContent = away ? 'Set yourself active' : 'Set yourself away';
  }

  async #openDialog() {
    replace($('create-error'));
    replace($('browse-list'), h('li', {}, 'Loading…'));
    this.dialog.showModal();
    try {
      const others = (await this.app.listChannels()).filter((c) => !c.is_member).sort((a, b) => a.name.localeCompare(b.name));
      replace($('browse-list'), others.length ? others.map((c) => h('li', {},
        h('span', { class: 'name' }, `#${c.name}`),
        h('button', { type: 'button', 'aria-label': `Join #${c.name}`, onclick: () => this.#join(c.id) }, 'Join')))
        : h('li', {}, 'You are in every channel.'));
    } catch (e) {
      replace($('browse-list'), h('li', { role: 'alert' }, `Could not list channels: ${e.code || e}`));
    }
  }

  async #create(e) {
    e.preventDefault();
    const input = $('create-name');
    // Slack's own page turns what people type into a valid name.
    const name = input.value.trim().toLowerCase().replace(/\s+/g, '-');
    try {
      await this.app.create(name);
      input.value = '';
      this.dialog.close();
    } catch (err) {
      replace($('create-error'), nameErrors[err.code] || `Could not create the channel: ${err.code || err}`);
    }
  }

  async #join(id) {
    try {
      await this.app.join(id);
      this.dialog.close();
    } catch (err) {
      replace($('browse-list'), h('li', { role: 'alert' }, `Could not join: ${err.code || err}`));
    }
  }
}

// dot is a presence dot; its state is in words too, for screen readers.
export function dot(presence) {
  return h('span', { class: `dot ${presence}`, role: 'img', 'aria-label': presence === 'active' ? 'active' : 'away' });
}
