// The composers: the channel's (Enter sends, Shift+Enter is a new line,
// up-arrow on an empty one edits our last message, @ offers people to
// mention) with the
// "X is typing…" line under it, and the thread panel's. Neither takes
// anything in an archived channel: a note says so instead.

import { $, replace } from './dom.js';
import { typingText } from './timeline.js';
import { MentionPicker } from './mentions.js';

// maxText is the server's limit, in characters of the text as sent.
const maxText = 4000;

// Input is what both composers share: a textarea whose Enter submits.
class Input {
  constructor(input, error, onSubmit) {
    this.input = input;
    this.error = error;
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.onSubmit = onSubmit;
  }

  // submit hands what was typed to onSubmit, unless it is blank or too long.
  submit() {
    // Blank lines around a message are not part of it.
    const text = this.input.value.replace(/^\s*\n/, '').trimEnd();
    if (!text.trim()) return;
    const n = [...text].length;
    if (n > maxText) {
      replace(this.error, `That is ${n} characters; a message holds at most ${maxText}.`);
      return;
    }
    if (this.onSubmit(text) !== false) this.input.value = '';
  }
}

export class Composer extends Input {
  #draft = ''; // what the composer held before an edit began
  #drafts = new Map(); // conversation id -> what was typed there and not sent

  constructor(app) {
    super($('composer-input'), $('composer-error'), (text) => {
      if (!app.current) return false;
      if (app.editing) {
        app.saveEdit(text);
        this.input.value = this.#draft;
        return false;
      }
      app.send(text);
      return true;
    });
    this.app = app;
    this.mentions = new MentionPicker(app, this.input, () => app.current);
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowUp' && !this.input.value && !app.editing && !e.isComposing) {
        const m = app.lastOwn();
        if (m) {
          e.preventDefault();
          app.startEdit(m.ts);
        }
      } else if (e.key === 'Escape' && app.editing) {
        e.preventDefault();
        app.stopEdit();
        this.input.value = this.#draft;
      }
    });
    this.input.addEventListener('input', () => {
      if (this.input.value.trim() && !app.editing) app.typed();
      replace($('composer-error'));
    });
    $('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    $('unarchive-button').addEventListener('click', async () => {
      try {
        await app.archive(false);
        this.input.focus();
      } catch (err) {
        replace($('composer-error'), `Could not unarchive the channel: ${err.code || err}`);
      }
    });
    $('edit-cancel').addEventListener('click', () => {
      app.stopEdit();
      this.input.value = this.#draft;
      this.input.focus();
    });
  }

  // switched keeps what the composer holds as the draft of the
  // conversation left (from) and shows the draft of the one opened (to),
  // as Slack does: nothing typed for one is sent to another.
  switched(from, to) {
    const text = this.app.editing ? this.#draft : this.input.value;
    if (from && text.trim()) this.#drafts.set(from, text);
    else this.#drafts.delete(from);
    this.input.value = this.#drafts.get(to) ?? '';
    this.mentions.close();
    replace($('composer-error'));
  }

  // edit puts a message's text in the composer, keeping the draft.
  edit(text) {
    this.#draft = this.app.editing ? this.#draft : this.input.value;
    this.input.value = text;
    this.input.focus();
    this.input.setSelectionRange(text.length, text.length);
  }

  render() {
    const app = this.app;
    const c = app.channels.get(app.current);
    const archived = !!c?.is_archived;
    const label = !c ? 'Message' : archived ? `${app.title(c.id)} is archived` : app.editing ? 'Edit your message' : `Message ${app.title(c.id)}`;
    this.input.placeholder = label;
    this.input.setAttribute('aria-label', label);
    this.input.disabled = !c || archived;
    $('send-button').disabled = !c || archived;
    $('archived-note').hidden = !archived;
    if (archived) replace($('archived-text'), `You are viewing ${app.title(c.id)}, an archived channel: nobody can post in it. `);
    $('send-button').textContent = app.editing ? 'Save' : 'Send';
    $('send-button').setAttribute('aria-label', app.editing ? 'Save the edit' : 'Send');
    $('editing').hidden = !app.editing;
    $('composer').classList.toggle('editing', !!app.editing);
    replace($('typing'), typingText(app.typingNames(app.current)));
  }
}

// ThreadComposer replies in the thread shown, with "also send to the
// channel" (reply_broadcast).
export class ThreadComposer extends Input {
  constructor(app) {
    super($('thread-input'), $('thread-error'), (text) => {
      if (!app.thread) return false;
      app.sendReply(text, $('thread-broadcast').checked);
      $('thread-broadcast').checked = false;
      return true;
    });
    this.app = app;
    this.mentions = new MentionPicker(app, this.input, () => app.thread?.channel);
    this.input.addEventListener('input', () => replace($('thread-error')));
    $('thread-composer').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
  }

  render() {
    const t = this.app.thread;
    const archived = !!t && !!this.app.channels.get(t.channel)?.is_archived;
    this.input.disabled = $('thread-send').disabled = $('thread-broadcast').disabled = archived;
    this.input.placeholder = archived ? 'The channel is archived' : 'Reply…';
    const label = t ? `Also send to ${this.app.title(t.channel)}` : 'Also send to the channel';
    replace($('thread-broadcast-label'), label);
  }
}
