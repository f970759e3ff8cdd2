package admin_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/client"
)

// TestGetChangesNothing: a method that changes something refuses GET
// (a link or an image tag must not create an admin user or post), with
// method_not_allowed and nothing done; one that only reads answers GET.
func TestGetChangesNothing(t *testing.T) {
	e := setup(t)
	key := map[string]string{"Authorization": "Bearer " + e.c.First().AdminKey()}
	bearer := map[string]string{"Authorization": "Bearer " + e.bob.Token}
	for _, tt := range []struct {
		path   string
		header map[string]string
	}{
		{"admin.users.create?name=mallory&is_admin=true", key},
		{"admin.users.createToken?name=bob", key},
		{"admin.users.setInactive?user=" + e.aliceID, key},
		{"chat.postMessage?channel=" + e.ch + "&text=drive-by", bearer},
		{"conversations.create?name=drive-by", bearer},
		{"conversations.invite?channel=" + e.ch + "&users=" + e.aliceID, bearer},
		{"auth.revoke", bearer},
	} {
		status, body := raw(t, "GET", e.bob.Base+"/api/"+tt.path, "", "", tt.header)
		if status != 200 || body["error"] != "method_not_allowed" {
			t.Fatalf("GET %s: %d %v, want method_not_allowed", tt.path, status, body)
		}
	}
	e.fails(e.bob, "users.info", url.Values{"user": {"mallory"}}, "user_not_found") // (by id: none)
	var users struct{ Members []struct{ Name string } }
	e.ok(e.bob, "users.list", nil, &users)
	if len(users.Members) != 2 {
		t.Fatalf("users after the GETs: %+v", users.Members)
	}
	if n := e.historyLen(e.ch); n != 0 {
		t.Fatalf("a GET posted %d messages", n)
	}
	e.ok(e.alice, "auth.test", nil, nil) // not deactivated, token not revoked
	e.ok(e.bob, "auth.test", nil, nil)
	var list struct{ Channels []any }
	e.ok(e.bob, "conversations.list", nil, &list)
	if len(list.Channels) != 1 {
		t.Fatalf("channels after the GETs: %d", len(list.Channels))
	}
	// Reads answer GET, with the token in the header.
	status, body := raw(t, "GET", e.bob.Base+"/api/auth.test", "", "", bearer)
	if status != 200 || body["ok"] != true {
		t.Fatalf("GET auth.test: %d %v", status, body)
	}
}

// TestTokenOnlyInHeaderOrBody: a token in the query string is refused
// (URLs are logged), whatever the verb; so is a non-bearer header.
func TestTokenOnlyInHeaderOrBody(t *testing.T) {
	e := setup(t)
	tok := url.QueryEscape(e.bob.Token)
	for _, tt := range []struct{ verb, path string }{
		{"GET", "auth.test?token=" + tok},
		{"POST", "auth.test?token=" + tok},
		{"POST", "chat.postMessage?token=" + tok + "&channel=" + e.ch + "&text=x"},
	} {
		status, body := raw(t, tt.verb, e.bob.Base+"/api/"+tt.path, "", "", nil)
		if status != 200 || body["error"] != "invalid_arg_name" {
			t.Fatalf("%s %s: %d %v, want invalid_arg_name", tt.verb, tt.path, status, body)
		}
	}
	status, body := raw(t, "POST", e.bob.Base+"/api/auth.test", "", "", map[string]string{"Authorization": "Basic " + e.bob.Token})
	if body["error"] != "not_bearer_token" {
		t.Fatalf("Basic auth: %d %v", status, body)
	}
	if n := e.historyLen(e.ch); n != 0 {
		t.Fatalf("a refused call posted %d messages", n)
	}
	// In the body it works (slack-go's way).
	status, body = raw(t, "POST", e.bob.Base+"/api/auth.test", "application/x-www-form-urlencoded", "token="+tok, nil)
	if body["ok"] != true {
		t.Fatalf("token in the body: %d %v", status, body)
	}
}

// TestEmailVisibility: a user's email is shown to the user themself, to
// admin users and to the admin key; to anyone else it is empty.
func TestEmailVisibility(t *testing.T) {
	e := setup(t)
	carol, carolID := e.c.UserWith(url.Values{"name": {"carol"}, "email": {"carol@example.com"}})
	boss, _ := e.c.UserWith(url.Values{"name": {"boss"}, "is_admin": {"true"}})
	email := func(api *client.API) (info, list string) {
		var res struct {
			User struct {
				Profile struct{ Email string }
			}
		}
		e.ok(api, "users.info", url.Values{"user": {carolID}}, &res)
		var l struct {
			Members []struct {
				ID      string
				Profile struct{ Email string }
			}
		}
		e.ok(api, "users.list", nil, &l)
		for _, m := range l.Members {
			if m.ID == carolID {
				list = m.Profile.Email
			}
		}
		return res.User.Profile.Email, list
	}
	for who, tt := range map[string]struct {
		api  *client.API
		want string
	}{
		"another user": {e.bob, ""},
		"herself":      {carol, "carol@example.com"},
		"an admin":     {boss, "carol@example.com"},
	} {
		if info, list := email(tt.api); info != tt.want || list != tt.want {
			t.Errorf("%s sees %q in users.info and %q in users.list, want %q", who, info, list, tt.want)
		}
	}
	var created struct {
		User struct{ Profile struct{ Email string } }
	}
	admin := e.c.API(e.c.First().AdminKey())
	e.ok(admin, "admin.users.create", url.Values{"name": {"dave"}, "email": {"dave@example.com"}}, &created)
	if created.User.Profile.Email != "dave@example.com" {
		t.Fatalf("the admin key sees %q", created.User.Profile.Email)
	}
	e.fails(admin, "admin.users.create", url.Values{"name": {"eve"}, "email": {strings.Repeat("e", 300)}}, "invalid_arguments")
	e.fails(e.bob, "users.info", url.Values{"user": {"eve"}}, "user_not_found")
}
