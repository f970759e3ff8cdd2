// Package web is the browser client that every node with the gateway or
// admin role serves at /: plain HTML, CSS and JavaScript modules under
// static/, embedded in the binary, with no build step and nothing
// fetched from elsewhere.
//
// It owns the bytes of the page and how they are served (content types,
// caching, gzip, the Content-Security-Policy). It must not talk to any
// role: the page is an ordinary client of the public Web API (/api/) and
// the RTM websocket, exactly like a Slack SDK, so nothing here may grow
// an endpoint of its own.
package web
