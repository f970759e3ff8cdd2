package admin_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/nodetest"
)

// TestDevMethods: dev.users.list and dev.signIn answer without a token on
// a node started with --dev, and do not exist on any other.
func TestDevMethods(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "prod"}, nodetest.Spec{Name: "dev", Dev: true})
	prod := c.APIAt("prod", "")
	dev := c.APIAt("dev", "")
	e := &env{t: t, c: c}
	for _, m := range []string{"dev.users.list", "dev.signIn"} {
		e.fails(prod, m, url.Values{"name": {"alice"}}, "unknown_method")
	}

	_, aliceID := c.User("alice")
	admin := c.APIAt("prod", c.First().AdminKey())
	e.ok(admin, "admin.users.create", url.Values{"name": {"robot"}, "is_bot": {"true"}}, nil)
	var list struct {
		Members []struct{ ID, Name string }
	}
	e.ok(dev, "dev.users.list", nil, &list)
	var names []string
	for _, m := range list.Members {
		names = append(names, m.Name)
	}
	if !slices.Contains(names, "alice") || slices.Contains(names, "robot") {
		t.Errorf("dev.users.list = %v: want the people (alice), not the bots", names)
	}

	var in struct {
		Token string
		User  struct{ ID, Name string }
	}
	e.ok(dev, "dev.signIn", url.Values{"name": {" Alice "}}, &in)
	if in.User.ID != aliceID || in.Token == "" {
		t.Fatalf("dev.signIn alice = %+v, want alice (%s) and a token", in, aliceID)
	}
	var who struct {
		UserID string `json:"user_id"`
	}
	e.ok(&client.API{Base: dev.Base, Token: in.Token}, "auth.test", nil, &who)
	if who.UserID != aliceID {
		t.Errorf("the token is %s's, want alice's", who.UserID)
	}
	e.ok(dev, "dev.signIn", url.Values{"name": {"carol"}}, &in)
	carol := in.User.ID
	e.ok(dev, "dev.signIn", url.Values{"name": {"carol"}}, &in)
	if in.User.ID != carol || in.User.Name != "carol" {
		t.Errorf("carol twice: %s then %+v", carol, in.User)
	}
	for _, bad := range []string{"", "Bad Name!", "<script>", strings.Repeat("a", 81)} {
		e.fails(dev, "dev.signIn", url.Values{"name": {bad}}, "invalid_name")
	}
}
