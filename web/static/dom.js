// DOM helpers. Every piece of text a user typed reaches the page through
// h() children or textContent, as Text nodes: nothing is parsed as HTML.

// h builds an element. props: "class", "dataset" (an object), "on<event>"
// (a listener), otherwise an attribute (true: present, null/false:
// absent). Attribute names are code, never data. Children are nodes or
// strings (which become Text nodes); null, false and arrays are allowed.
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c);
  }
}

// $ is the element with this id.
export const $ = (id) => document.getElementById(id);

// replace sets el's children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}
