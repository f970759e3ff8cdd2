// The channel's header (name, connection state, members, leave) and its
// member panel (who is in it, their presence, adding people).

import { $, h, replace } from './dom.js';
import { dot } from './sidebar.js';

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
    replace($('channel-title'), c ? h('span', {}, h('span', { class: 'hash', 'aria-hidden': 'true' }, '#'), c.name) : '');
    document.title = c ? `#${c.name} · ringcast` : 'ringcast';
    const banner = $('banner');
    banner.dataset.state = app.status;
    replace(banner, statusText[app.status]);
    banner.title = app.status === 'reconnecting' ? 'Messages you send now go out when the connection is back.' : '';
    replace($('header-error'), app.error ? `Something failed: ${app.error}` : '');
    const members = app.members.get(app.current);
    $('leave-button').hidden = $('members-button').hidden = !c;
    replace($('member-count'), members ? String(members.size) : '');
    $('members-button').setAttribute('aria-label', members ? `Members: ${members.size}` : 'Members');
    const ids = [...(members || [])].sort((a, b) => app.userName(a).localeCompare(app.userName(b)));
    replace($('member-list'), ids.map((id) => h('li', {},
      dot(app.presence.get(id) === 'active' ? 'active' : 'away'),
      h('span', { class: 'name' }, app.userName(id)),
      id === app.self?.id ? h('span', { class: 'you' }, ' (you)') : null)));
    replace($('invite-names'), [...app.users.values()].filter((u) => !members?.has(u.id) && !u.deleted)
      .map((u) => h('option', { value: u.name })));
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
