// The sidebar (team, our channels and DMs with their unread badges,
// ourselves), the channel dialog (create a channel, browse and join the
// others) and the people dialog (open a DM, or a group DM with several).

import { $, h, replace } from './dom.js';
import { render } from './format.js';

// Why conversations.create or rename refused a name, in words.
export const nameErrors = {
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
  picked = new Set(); // the people ticked in the people dialog
  peopleSig = ''; // what the people list shows (rebuilt only when it changes)

  constructor(app) {
    this.app = app;
    this.dialog = $('channel-dialog');
    $('add-channel').addEventListener('click', () => this.#openDialog());
    $('dialog-close').addEventListener('click', () => this.dialog.close());
    $('add-dm').addEventListener('click', () => this.#openPeople());
    $('people-close').addEventListener('click', () => $('people-dialog').close());
    $('people-filter').addEventListener('input', () => this.#people());
    $('people-list').addEventListener('change', (e) => {
      const box = e.target.closest('input[type=checkbox]');
      if (!box) return;
      if (box.checked) this.picked.add(box.value);
      else this.picked.delete(box.value);
      this.#groupButton();
    });
    $('people-group').addEventListener('click', () => this.#dm([...this.picked]));
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
    const sig = JSON.stringify([app.current, app.usersVersion, mine.map((c) => [c.id, c.name, c.unread, c.is_archived, c.is_private]),
      dms.map((c) => [c.id, c.unread, presence(c)])]);
    if (sig !== this.sig) {
      this.sig = sig;
      const item = (c, icon) => h('li', {},
        h('a', { href: `#${c.id}`, class: [c.unread && 'unread', c.is_archived && 'archived'].filter(Boolean).join(' ') || null, 'aria-current': c.id === app.current ? 'page' : null },
          icon, h('span', { class: 'label' }, app.label(c)),
          c.is_archived ? h('span', { class: 'tag' }, 'archived') : null,
          c.unread ? h('span', { class: 'badge', 'aria-label': `${c.unread} unread` }, String(c.unread)) : null));
      replace($('channel-list'), mine.map((c) => item(c, sigil(c))));
      replace($('dm-list'), dms.map((c) => item(c, c.is_im ? dot(presence(c)) : h('span', { class: 'hash', 'aria-hidden': 'true' }, '∗'))));
    }
    // The tab's title counts what is unread, as Slack's does.
    const unread = [...mine, ...dms].reduce((n, c) => n + (c.unread || 0), 0);
    document.title = `${unread ? `(${unread}) ` : ''}${app.current ? `${app.title(app.current)} · ` : ''}ringcast`;
    const away = app.presence.get(app.self?.id) === 'away';
    replace($('self'), dot(away ? 'away' : app.status === 'live' ? 'active' : 'away'), h('span', { class: 'name' }, app.self?.name || ''));
    $('away-button').textContent = away ? 'Set yourself active' : 'Set yourself away';
  }

  async #openDialog() {
    replace($('create-error'));
    replace($('browse-list'), h('li', {}, 'Loading…'));
    this.dialog.showModal();
    try {
      const others = (await this.app.listChannels()).filter((c) => !c.is_member && !c.is_archived && !isDM(c)).sort((a, b) => a.name.localeCompare(b.name));
      replace($('browse-list'), others.length ? others.map((c) => h('li', {},
        h('span', { class: 'name' }, `#${c.name}`, c.purpose?.value ? h('span', { class: 'purpose' }, render(c.purpose.value, this.app.names)) : null),
        h('button', { type: 'button', 'aria-label': `Join #${c.name}`, onclick: () => this.#join(c.id) }, 'Join')))
        : h('li', {}, 'You are in every channel.'));
    } catch (e) {
      replace($('browse-list'), h('li', { role: 'alert' }, `Could not list channels: ${e.code || e}`));
    }
  }

  // openPeople shows the people dialog, with everyone: the list is read
  // again, since people join after the page loaded.
  async #openPeople() {
    $('people-filter').value = '';
    this.picked.clear();
    this.peopleSig = '';
    replace($('people-error'));
    this.#people();
    $('people-dialog').showModal();
    try {
      await this.app.loadUsers();
      this.#people();
    } catch (err) {
      replace($('people-error'), `Could not list people: ${err.code || err}`);
    }
  }

  // people lists everyone but us whose name has the filter's text: a box
  // to tick each (for a group conversation) and a button to message them.
  #people() {
    const app = this.app;
    const f = $('people-filter').value.trim().toLowerCase().replace(/^@/, '');
    const users = [...app.users.values()]
      .filter((u) => u.id !== app.self?.id && !u.deleted && app.userName(u.id).toLowerCase().includes(f))
      .sort((a, b) => app.userName(a.id).localeCompare(app.userName(b.id)));
    // Rebuilt only when it changed: the list read again on opening is
    // usually the same, and a rebuild would lose the focus.
    const sig = JSON.stringify(users.map((u) => [u.id, app.userName(u.id), this.picked.has(u.id)]));
    if (sig === this.peopleSig) return;
    this.peopleSig = sig;
    replace($('people-list'), users.length ? users.map((u) => h('li', {},
      h('label', { class: 'pick' }, h('input', { type: 'checkbox', value: u.id, checked: this.picked.has(u.id) }), ' ',
        h('span', { class: 'name' }, app.userName(u.id))),
      h('button', { type: 'button', 'aria-label': `Message ${app.userName(u.id)}`, onclick: () => this.#dm([u.id]) }, 'Message')))
      : h('li', {}, 'Nobody by that name.'));
    this.#groupButton();
  }

  // groupButton says whom the ticked people's conversation is with.
  #groupButton() {
    const b = $('people-group');
    const names = [...this.picked].map((id) => this.app.userName(id)).sort();
    b.disabled = names.length === 0;
    b.textContent = names.length ? `Message ${names.join(', ')}` : 'Start a conversation';
  }

  async #dm(ids) {
    try {
      await this.app.openDM(ids);
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
      await this.app.create(name, $('create-private').checked);
      input.value = '';
      $('create-private').checked = false;
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

// sigil marks a channel: # for a public one, a lock for a private one.
export function sigil(c) {
  return c.is_private ? h('span', { class: 'hash', role: 'img', 'aria-label': 'private' }, '🔒')
    : h('span', { class: 'hash', 'aria-hidden': 'true' }, '#');
}

// dot is a presence dot; its state is in words too, for screen readers.
export function dot(presence) {
  return h('span', { class: `dot ${presence}`, role: 'img', 'aria-label': presence === 'active' ? 'active' : 'away' });
}
