// The sidebar (team, our channels and DMs with their unread badges,
// ourselves), the channel dialog (create a channel, browse and join the
// others) and the people dialog (open a DM).

import { $, h, replace } from './dom.js';

// Why conversations.create refused a name, in words.
const nameErrors = {
  name_taken: 'That name is already taken.',
  invalid_name_required: 'Give the channel a name.',
  invalid_name_maxlength: 'Names are at most 80 characters.',
  invalid_name_specials: 'Use lowercase letters, digits, - and _ only.',
  invalid_name_punctuation: 'Names need a letter or a digit.',
};

// isDM: a direct message (im) or a group one (mpim).
export const isDM = (c) => !!(c?.is_im || c?.is_mpim);

export class Sidebar {
  sig = '';

  constructor(app) {
    this.app = app;
    this.dialog = $('channel-dialog');
    $('add-channel').addEventListener('click', () => this.#openDialog());
    $('dialog-close').addEventListener('click', () => this.dialog.close());
    $('add-dm').addEventListener('click', () => this.#openPeople());
    $('people-close').addEventListener('click', () => $('people-dialog').close());
    $('people-filter').addEventListener('input', () => this.#people());
    $('create-form').addEventListener('submit', (e) => this.#create(e));
    $('away-button').addEventListener('click', () => app.setAway(app.presence.get(app.self?.id) !== 'away'));
    $('signout-button').addEventListener('click', () => app.signOut());
    // On a phone the sidebar is a drawer: choosing a channel closes it.
    for (const list of [$('channel-list'), $('dm-list')]) {
      list.addEventListener('click', (e) => {
        if (e.target.closest('a')) document.body.classList.remove('nav-open');
      });
    }
  }

  render() {
    const app = this.app;
    replace($('team-name'), app.team?.name || 'ringcast');
    const mine = app.myChannels();
    // Rebuilt only when it changed: a rebuild would lose the focus of
    // someone tabbing through it.
    const dms = app.myDMs();
    const presence = (c) => (c.is_im && app.presence.get(c.user) === 'active' ? 'active' : 'away');
    const sig = JSON.stringify([app.current, app.usersVersion, mine.map((c) => [c.id, c.name, c.unread]),
      dms.map((c) => [c.id, c.unread, presence(c)])]);
    if (sig !== this.sig) {
      this.sig = sig;
      const item = (c, icon) => h('li', {},
        h('a', { href: `#${c.id}`, class: c.unread ? 'unread' : null, 'aria-current': c.id === app.current ? 'page' : null },
          icon, h('span', { class: 'label' }, app.label(c)),
          c.unread ? h('span', { class: 'badge', 'aria-label': `${c.unread} unread` }, String(c.unread)) : null));
      replace($('channel-list'), mine.map((c) => item(c, h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'))));
      replace($('dm-list'), dms.map((c) => item(c, c.is_im ? dot(presence(c)) : h('span', { class: 'hash', 'aria-hidden': 'true' }, '∗'))));
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

  #openPeople() {
    $('people-filter').value = '';
    replace($('people-error'));
    this.#people();
    $('people-dialog').showModal();
  }

  // people lists everyone but us whose name has the filter's text.
  #people() {
    const app = this.app;
    const f = $('people-filter').value.trim().toLowerCase().replace(/^@/, '');
    const users = [...app.users.values()]
      .filter((u) => u.id !== app.self?.id && !u.deleted && app.userName(u.id).toLowerCase().includes(f))
      .sort((a, b) => app.userName(a.id).localeCompare(app.userName(b.id)));
    replace($('people-list'), users.length ? users.map((u) => h('li', {},
      h('span', { class: 'name' }, app.userName(u.id)),
      h('button', { type: 'button', 'aria-label': `Message ${app.userName(u.id)}`, onclick: () => this.#dm(u.id) }, 'Message')))
      : h('li', {}, 'Nobody by that name.'));
  }

  async #dm(id) {
    try {
      await this.app.openDM(id);
      $('people-dialog').close();
    } catch (err) {
      replace($('people-error'), `Could not open a DM: ${err.code || err}`);
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
