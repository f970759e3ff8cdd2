// The page's entry point: signed in (a token in localStorage) or not.

import { Api } from './api.js';
import { App } from './app.js';
import { $ } from './dom.js';
import * as signin from './signin.js';

const tokenKey = 'ringcast.token';

function start(token) {
  localStorage.setItem(tokenKey, token);
  $('signin').hidden = true;
  $('app').hidden = false;
  const app = new App(new Api(token), { onSignOut: signOut });
  app.start();
  $('composer-input').focus();
}

// signOut forgets the token and starts the page over, on the sign-in
// screen with why (or nothing when the user asked).
function signOut(why) {
  localStorage.removeItem(tokenKey);
  sessionStorage.setItem('ringcast.why', why);
  location.replace(location.pathname);
}

const token = localStorage.getItem(tokenKey);
if (token) {
  start(token);
} else {
  signin.show(sessionStorage.getItem('ringcast.why') || '', start);
  sessionStorage.removeItem('ringcast.why');
}
