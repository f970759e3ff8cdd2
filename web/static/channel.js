// The channel's header (name, topic, connection state, members, details,
// leave), its member panel (who is in it, their presence, adding people)
// and its details dialog (name, topic, purpose, archive).

import { $, h, replace } from './dom.js';
import { dot, isDM, nameErrors, sigil } from './sidebar.js';
import { render, typed } from './format.js';

// Why a change to the channel was refused, in words.
const changeErrors = {
  too_long: 'That is too long: at most 250 characters.',
  is_archived: 'The channel is archived.',
  not_in_channel: 'You are not in this channel.',
  already_archived: 'The channel is archived already.',
  ...nameErrors,
  not_archived: 'The channel is not archived.',
};

const statusText = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
};

export class ChannelView {
  constructor(app) {
    this.app = app;
    $('menu-button').addEventListener('click', () => {
      const open = document.body.classList.toggle('nav-open');
      $('menu-button').setAttribute('aria-expanded', open);
      if (open) $('channel-list').querySelector('a')?.focus();
    });
    $('members-button').addEventListener('click', () => {
      const panel = $('members');
      panel.hidden = !panel.hidden;
      $('members-button').setAttribute('aria-expanded', !panel.hidden);
      document.body.classList.toggle('members-open', !panel.hidden);
      if (!panel.hidden) $('invite-name').focus();
    });
    $('members-close').addEventListener('click', () => $('members-button').click());
    $('leave-button').addEventListener('click', () => app.leave());
    $('details-button').addEventListener('click', () => this.#details('topic-input'));
    $('details-close').addEventListener('click', () => $('details-dialog').close());
    $('details-form').addEventListener('submit', (e) => this.#saveDetails(e));
    $('archive-button').addEventListener('click', () => this.#archive());
    $('invite-form').addEventListener('submit', (e) => this.#invite(e));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && document.body.classList.contains('nav-open')) {
        document.body.classList.remove('nav-open');
        $('menu-button').focus();
      }
    });
  }

  render() {
    const app = this.app;
    const c = app.channels.get(app.current);
    let title = '';
    if (c?.is_im) title = h('span', {}, dot(app.presence.get(c.user) === 'active' ? 'active' : 'away'), ' ', app.label(c));
    else if (c) title = h('span', {}, isDM(c) ? null : sigil(c), app.label(c));
    replace($('channel-title'), title);
    const banner = $('banner');
    banner.dataset.state = app.status;
    replace(banner, statusText[app.status]);
    banner.title = app.status === 'reconnecting' ? 'Messages you send now go out when the connection is back.' : '';
    replace($('header-error'), app.error ? `Something failed: ${app.error}` : '');
    const members = app.members.get(app.current);
    $('members-button').hidden = !c;
    $('leave-button').hidden = $('invite-form').hidden = $('details-button').hidden = !c || isDM(c);
    // The topic, as its messages show it (links work); without one, a
    // way to add it.
    const topic = c && !isDM(c) ? c.topic?.value || '' : '';
    replace($('channel-topic'), topic ? render(topic, app.names)
      : c && !isDM(c) && !c.is_archived ? h('button', { type: 'button', class: 'link', onclick: () => this.#details('topic-input') }, 'Add a topic') : null);
    if ($('details-dialog').open) this.#detailsState();
    replace($('member-count'), members ? String(members.size) : '');
    $('members-button').setAttribute('aria-label', members ? `Members: ${members.size}` : 'Members');
    const ids = [...(members || [])].sort((a, b) => app.userName(a).localeCompare(app.userName(b)));
    replace($('member-list'), ids.map((id) => h('li', {},
      dot(app.presence.get(id) === 'active' ? 'active' : 'away'),
      h('span', { class: 'name' }, app.userName(id)),
      id === app.self?.id ? h('span', { class: 'you' }, ' (you)')
        : c?.is_im ? null
          : h('button', { type: 'button', class: 'link dm', 'aria-label': `Message ${app.userName(id)}`, onclick: () => this.#dm(id) }, 'Message'))));
    replace($('invite-names'), [...app.users.values()].filter((u) => !members?.has(u.id) && !u.deleted)
      .map((u) => h('option', { value: u.name })));
  }

  // details opens the channel's details, the focus in the field named.
  #details(focus) {
    const app = this.app;
    const c = app.channels.get(app.current);
    if (!c) return;
    const names = (id) => app.users.get(id)?.name;
    $('name-input').value = c.name;
    $('topic-input').value = typed(c.topic?.value || '', names);
    $('purpose-input').value = typed(c.purpose?.value || '', names);
    replace($('details-error'));
    this.#detailsState();
    $('details-dialog').showModal();
    $(focus).focus();
  }

  // detailsState shows what the details dialog allows for the channel
  // shown: nothing changes in an archived channel but its archiving.
  #detailsState() {
    const app = this.app;
    const c = app.channels.get(app.current);
    if (!c) {
      $('details-dialog').close();
      return;
    }
    replace($('details-title'), `About ${app.title(c.id)}`);
    for (const el of $('details-form').elements) el.disabled = !!c.is_archived;
    replace($('details-archived'), c.is_archived ? 'This channel is archived: it keeps its history, and nobody can post in it until it is unarchived.'
      : c.is_general ? 'Everyone is in this channel: it cannot be archived.' : 'Archiving keeps the history and stops all posting.');
    const b = $('archive-button');
    b.hidden = !!c.is_general;
    b.textContent = c.is_archived ? 'Unarchive the channel' : 'Archive the channel';
    b.classList.toggle('danger', !c.is_archived);
  }

  async #saveDetails(e) {
    e.preventDefault();
    const app = this.app;
    const c = app.channels.get(app.current);
    const names = (id) => app.users.get(id)?.name;
    try {
      const name = $('name-input').value.trim().toLowerCase().replace(/\s+/g, '-');
      if (name !== c.name) await app.rename(name);
      const topic = $('topic-input').value.trim();
      const purpose = $('purpose-input').value.trim();
      if (topic !== typed(c.topic?.value || '', names)) await app.setTopic(topic);
      if (purpose !== typed(c.purpose?.value || '', names)) await app.setPurpose(purpose);
      $('details-dialog').close();
      $('composer-input').focus();
    } catch (err) {
      replace($('details-error'), changeErrors[err.code] || `Could not save: ${err.code || err}`);
    }
  }

  async #archive() {
    const c = this.app.channels.get(this.app.current);
    try {
      await this.app.archive(!c.is_archived);
      $('details-dialog').close();
    } catch (err) {
      replace($('details-error'), changeErrors[err.code] || `Could not change the channel: ${err.code || err}`);
    }
  }

  async #dm(id) {
    try {
      await this.app.openDM([id]);
      if (matchMedia('(max-width: 700px)').matches) $('members-button').click(); // the drawer covers the DM
    } catch (err) {
      replace($('invite-error'), `Could not open a DM: ${err.code || err.message}`);
    }
  }

  async #invite(e) {
    e.preventDefault();
    const input = $('invite-name');
    const name = input.value.trim().replace(/^@/, '');
    const user = [...this.app.users.values()].find((u) => u.name === name);
    try {
      if (!user) throw new Error(`no user called ${name}`);
      await this.app.invite(user.id);
      input.value = '';
      replace($('invite-error'));
    } catch (err) {
      replace($('invite-error'), `Could not add ${name}: ${err.code || err.message}`);
    }
  }
}
