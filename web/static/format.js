// Message text, both ways. On the wire a message is Slack's text format:
// &, < and > are escaped as entities, and <...> carries mentions
// (<@U123>), channel links (<#C123|name>), specials (<!here>) and links
// (<https://x|label>). render turns it into DOM nodes, as text only;
// encode turns what a user typed into it.

const entities = { '&amp;': '&', '&lt;': '<', '&gt;': '>' };

// decode undoes the wire's escaping.
export const decode = (s) => s.replace(/&(amp|lt|gt);/g, (m) => entities[m]);

// encode escapes what a user typed for the wire and turns @name of a
// known user (idByName(name) answers its id) into a mention.
export function encode(typed, idByName) {
  const escaped = typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return escaped.replace(/(^|[\s(])@([a-z0-9][a-z0-9._-]*)/g, (m, pre, name) => {
    const trimmed = name.replace(/[._-]+$/, ''); // "@bob." ends a sentence
    const id = idByName(trimmed);
    return id ? `${pre}<@${id}>${name.slice(trimmed.length)}` : m;
  });
}

const schemes = new Set(['http:', 'https:', 'mailto:']);

// safeURL answers the URL to link to, or null unless it is http(s) or
// mailto: nothing else (javascript:, data:...) ever becomes a link.
export function safeURL(raw) {
  try {
    const u = new URL(raw);
    return schemes.has(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

function link(href, label) {
  const a = document.createElement('a');
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener noreferrer';
  a.textContent = label;
  return a;
}

function span(cls, text) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

// render answers a DocumentFragment showing text. names.user(id) and
// names.channel(id) answer display names (or undefined); names.self is
// the signed-in user's id, whose mentions are highlighted.
export function render(text, names) {
  const frag = document.createDocumentFragment();
  const parts = text.split(/```/);
  // Odd parts are code blocks, unless the last opening ``` is unclosed.
  parts.forEach((part, i) => {
    if (i % 2 === 1 && i === parts.length - 1) frag.append('```'); // an unclosed fence is text
    if (i % 2 === 0 || i === parts.length - 1) {
      inline(frag, part, names);
      return;
    }
    const pre = document.createElement('pre');
    const code = document.createElement('code');
    code.textContent = decode(part.replace(/^\n/, ''));
    pre.append(code);
    frag.append(pre);
  });
  return frag;
}

// inline renders code spans and what is between them.
function inline(frag, text, names) {
  let last = 0;
  for (const m of text.matchAll(/`([^`\n]+)`/g)) {
    markup(frag, text.slice(last, m.index), names);
    const code = document.createElement('code');
    code.textContent = decode(m[1]);
    frag.append(code);
    last = m.index + m[0].length;
  }
  markup(frag, text.slice(last), names);
}

// markup renders <...> sequences and bare links; the rest is text.
function markup(frag, text, names) {
  let last = 0;
  // A bare link ends at a space, a bracket or an escaped < or >.
  for (const m of text.matchAll(/<([^<>\s][^<>]*)>|\bhttps?:\/\/(?:(?!&[lg]t;)[^\s<>])+/g)) {
    frag.append(decode(text.slice(last, m.index)));
    if (m[1] !== undefined) {
      frag.append(sequence(m[1], names));
      last = m.index + m[0].length;
      continue;
    }
    const raw = m[0].replace(/[.,;:!?)\]'"]+$/, ''); // trailing punctuation is the sentence's
    const url = decode(raw);
    const href = safeURL(url);
    frag.append(href ? link(href, url) : url);
    last = m.index + raw.length;
  }
  frag.append(decode(text.slice(last)));
}

// sequence renders the inside of one <...>.
function sequence(inner, names) {
  const bar = inner.indexOf('|');
  const target = bar < 0 ? inner : inner.slice(0, bar);
  const label = bar < 0 ? '' : decode(inner.slice(bar + 1));
  if (/^@[UW][A-Z0-9]+$/.test(target)) {
    const id = target.slice(1);
    const name = names.user(id) ?? (label.replace(/^@/, '') || id);
    return span(id === names.self ? 'mention self' : 'mention', `@${name}`);
  }
  if (/^#[CGD][A-Z0-9]+$/.test(target)) {
    const id = target.slice(1);
    const a = document.createElement('a');
    a.href = `#${id}`;
    a.className = 'channel-link';
    a.textContent = `#${names.channel(id) ?? (label || id)}`;
    return a;
  }
  if (/^!(here|channel|everyone)$/.test(target)) {
    return span('mention special', `@${target.slice(1)}`);
  }
  const href = safeURL(decode(target));
  if (href) return link(href, label || decode(target));
  return decode(`<${inner}>`); // not a sequence we know: the text as typed
}

// typed turns a message's wire text back into what its author would type
// (to edit it): mentions as @name (handle(id) answers a user's name, as
// encode takes it), entities decoded; links stay as sent.
export function typed(text, handle) {
  const out = text.replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (m, id) => {
    const name = handle(id);
    return name ? `@${name}` : m;
  });
  return decode(out);
}

// emoji are the reactions offered, by Slack's names, and how each looks.
export const emoji = {
  '+1': '👍', heart: '❤️', joy: '😂', tada: '🎉', eyes: '👀', white_check_mark: '✅', rocket: '🚀', pray: '🙏',
};

// emojiText shows a reaction: its picture when known, else :name:.
export const emojiText = (name) => emoji[name] ?? `:${name}:`;
