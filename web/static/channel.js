// The channel's header (name, connection state, members, leave) and its
// member panel (who is in it, their presence, adding people).

import { $, h, replace } from './dom.js';
import { dot, isDM } from './sidebar.js';

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
    else if (c) title = h('span', {}, isDM(c) ? null : h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'), app.label(c));
    replace($('channel-title'), title);
    document.title = c ? `${app.title(c.id)} · ringcast` : 'ringcast';
    const banner = $('banner');
    banner.dataset.state = app.status;
    replace(banner, statusText[app.status]);
    banner.title = app.status === 'reconnecting' ? 'Messages you send now go out when the connection is back.' : '';
    replace($('header-error'), app.error ? `Something failed: ${app.error}` : '');
    const members = app.members.get(app.current);
    $('members-button').hidden = !c;
    $('leave-button').hidden = $('invite-form').hidden = !c || isDM(c);
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

  async #dm(id) {
    try {
      await this.app.openDM(id);
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
