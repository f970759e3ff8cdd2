// The composer (Enter sends, Shift+Enter is a new line) and the
// "X is typing…" line under it.

import { $, replace } from './dom.js';
import { typingText } from './timeline.js';

// maxText is the server's limit, in characters of the text as sent.
const maxText = 4000;

export class Composer {
  constructor(app) {
    this.app = app;
    this.input = $('composer-input');
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey && !e.isComposing) {
        e.preventDefault();
        this.#submit();
      }
    });
    this.input.addEventListener('input', () => {
      if (this.input.value.trim()) app.typed();
      replace($('composer-error'));
    });
    $('composer').addEventListener('submit', (e) => {
      e.preventDefault();
      this.#submit();
    });
  }

  #submit() {
    // Blank lines around a message are not part of it.
    const text = this.input.value.replace(/^\s*\n/, '').trimEnd();
    if (!text.trim() || !this.app.current) return;
    const n = [...text].length;
    if (n > maxText) {
      replace($('composer-error'), `That is ${n} characters; a message holds at most ${maxText}.`);
      return;
    }
    this.app.send(text);
    this.input.value = '';
  }

  render() {
    const app = this.app;
    const c = app.channels.get(app.current);
    const label = c ? `Message ${app.title(c.id)}` : 'Message';
    this.input.placeholder = label;
    this.input.setAttribute('aria-label', label);
    this.input.disabled = !c;
    $('send-button').disabled = !c;
    replace($('typing'), typingText(app.typingNames(app.current)));
  }
}
