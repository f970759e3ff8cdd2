// The sign-in screen: paste a token; on a node started with --dev, also
// pick or create a user by name (the dev.* methods exist only there).

import { Api } from './api.js';
import { $, h, replace } from './dom.js';

// show shows the sign-in screen with message (why we are here, or '')
// and calls signedIn(token) once a token works.
export function show(message, signedIn) {
  $('app').hidden = true;
  $('signin').hidden = false;
  replace($('signin-error'), message);
  const api = new Api();
  const tokenInput = $('token-input');
  tokenInput.focus();

  const tryToken = async (token) => {
    try {
      await new Api(token).call('auth.test');
      signedIn(token);
    } catch (e) {
      replace($('signin-error'), e.code === 'invalid_auth' || e.code === 'not_authed'
        ? 'That token was not accepted.' : `Could not sign in: ${e.code}`);
    }
  };
  const devSignIn = async (name) => {
    try {
      const { token } = await api.call('dev.signIn', { name });
      signedIn(token);
    } catch (e) {
      replace($('signin-error'), e.code === 'invalid_name'
        ? 'Names are lowercase letters, digits, ".", "-" and "_".' : `Could not sign in: ${e.code}`);
    }
  };

  $('token-form').onsubmit = (e) => {
    e.preventDefault();
    tryToken(tokenInput.value.trim());
  };
  $('dev-form').onsubmit = (e) => {
    e.preventDefault();
    devSignIn($('dev-name').value);
  };
  api.call('dev.users.list').then(({ members }) => {
    replace($('dev-users'), members.map((u) => h('li', {},
      h('button', { type: 'button', onclick: () => devSignIn(u.name), 'aria-label': `Sign in as ${u.name}` }, u.name))));
    $('dev-signin').hidden = false;
  }, () => {
    $('dev-signin').hidden = true; // unknown_method: not a dev node
  });
}
