// The composers: the channel's and the thread panel's. In both Enter
// sends, Shift+Enter is a new line, up-arrow on an empty one edits our
// last message there (Enter saves, Escape cancels), @ offers people to
// mention. The channel's has the "X is typing…" line under it and keeps
// a draft per conversation. Neither takes anything in an archived
// channel: a note says so instead.

import { $, replace } from './dom.js';
import { typingText } from './timeline.js';
import { MentionPicker } from './mentions.js';

// maxText is the server's limit, in characters of the text as sent.
const maxText = 4000;

// Input is what both composers share: a textarea whose Enter sends (a
// subclass's send) or saves the edit it holds. thread: the thread
// panel's (app.editing.thread says which composer edits).
class Input {
  #draft = ''; // what the composer held before an edit began

  constructor(app, input, error, thread) {
    this.app = app;
    this.input = input;
    this.error = error;
    this.thread = thread;
    this.mentions = new MentionPicker(app, input, () => (thread ? app.thread?.channel : app.current));
    input.addEventListener('keydown', (e) => {
      if (e.isComposing || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.submit();
      } else if (e.key === 'ArrowUp' && !e.shiftKey && !input.value && !app.editing) {
        const m = app.lastOwn(thread);
        if (m) {
          e.preventDefault();
          app.startEdit(m.ts, thread);
        }
      } else if (e.key === 'Escape' && this.editing) {
        e.preventDefault();
        e.stopPropagation(); // not the thread panel's Escape, which closes it
        this.cancelEdit();
      }
    });
  }

  // editing: this composer holds a message being edited.
  get editing() {
    return !!this.app.editing && !!this.app.editing.thread === this.thread;
  }

  // draft is what was typed and not sent, an edit aside.
  get draft() {
    return this.editing ? this.#draft : this.input.value;
  }

  // submit sends what was typed (or saves the edit), unless it is blank
  // or too long.
  submit() {
    // Blank lines around a message are not part of it.
    const text = this.input.value.replace(/^\s*\n/, '').trimEnd();
    if (!text.trim()) return;
    const n = [...text].length;
    if (n > maxText) {
      replace(this.error, `That is ${n} characters; a message holds at most ${maxText}.`);
      return;
    }
    if (this.editing) {
      this.app.saveEdit(text);
      this.input.value = this.#draft;
      return;
    }
    if (this.send(text) !== false) this.input.value = '';
  }

  // edit puts a message's text in the composer, keeping the draft.
  edit(text) {
    this.#draft = this.draft;
    this.input.value = text;
    this.input.focus();
    this.input.setSelectionRange(text.length, text.length);
  }

  cancelEdit() {
    this.app.stopEdit();
    this.input.value = this.#draft;
    this.input.focus();
  }
}

export class Composer extends Input {
  #drafts = new Map(); // conversation id -> what was typed there and not sent

  constructor(app) {
    super(app, $('composer-input'), $('composer-error'), false);
    this.input.addEventListener('input', () => {
      if (this.input.value.trim() && !this.editing) app.typed();
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
    $('edit-cancel').addEventListener('click', () => this.cancelEdit());
  }

  send(text) {
    if (!this.app.current) return false;
    this.app.send(text);
    return true;
  }

  // switched keeps what the composer holds as the draft of the
  // conversation left (from) and shows the draft of the one opened (to),
  // as Slack does: nothing typed for one is sent to another.
  switched(from, to) {
    const text = this.draft;
    if (from && text.trim()) this.#drafts.set(from, text);
    else this.#drafts.delete(from);
    this.input.value = this.#drafts.get(to) ?? '';
    this.mentions.close();
    replace($('composer-error'));
  }

  render() {
    const app = this.app;
    const c = app.channels.get(app.current);
    const archived = !!c?.is_archived;
    const editing = this.editing;
    const label = !c ? 'Message' : archived ? `${app.title(c.id)} is archived` : editing ? 'Edit your message' : `Message ${app.title(c.id)}`;
    this.input.placeholder = label;
    this.input.setAttribute('aria-label', label);
    this.input.disabled = !c || archived;
    $('send-button').disabled = !c || archived;
    $('archived-note').hidden = !archived;
    if (archived) replace($('archived-text'), `You are viewing ${app.title(c.id)}, an archived channel: nobody can post in it. `);
    $('send-button').textContent = editing ? 'Save' : 'Send';
    $('send-button').setAttribute('aria-label', editing ? 'Save the edit' : 'Send');
    $('editing').hidden = !editing;
    $('composer').classList.toggle('editing', editing);
    replace($('typing'), typingText(app.typingNames(app.current)));
  }
}

// ThreadComposer replies in the thread shown, with "also send to the
// channel" (reply_broadcast).
export class ThreadComposer extends Input {
  constructor(app) {
    super(app, $('thread-input'), $('thread-error'), true);
    this.input.addEventListener('input', () => replace($('thread-error')));
    $('thread-composer').addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    $('thread-edit-cancel').addEventListener('click', () => this.cancelEdit());
  }

  send(text) {
    if (!this.app.thread) return false;
    this.app.sendReply(text, $('thread-broadcast').checked);
    $('thread-broadcast').checked = false;
    return true;
  }

  render() {
    const t = this.app.thread;
    const archived = !!t && !!this.app.channels.get(t.channel)?.is_archived;
    const editing = this.editing;
    this.input.disabled = $('thread-send').disabled = $('thread-broadcast').disabled = archived;
    this.input.placeholder = archived ? 'The channel is archived' : editing ? 'Edit your reply' : 'Reply…';
    this.input.setAttribute('aria-label', editing ? 'Edit your reply' : 'Reply');
    $('thread-send').textContent = editing ? 'Save' : 'Send';
    $('thread-send').setAttribute('aria-label', editing ? 'Save the edit' : 'Send the reply');
    $('thread-editing').hidden = !editing;
    $('thread-composer').classList.toggle('editing', editing);
    const label = t ? `Also send to ${this.app.title(t.channel)}` : 'Also send to the channel';
    replace($('thread-broadcast-label'), label);
  }
}
