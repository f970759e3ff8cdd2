package storetest

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"testing"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

func testApps(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := chat.App{ID: "A1", Name: "echo", BotUser: "U1", BotID: "B1", Events: []string{"message.channels", "app_mention"},
		SigningSecret: "s3cret", RequestURL: "http://127.0.0.1:1/events", Created: 1700000000}
	must(t, s.CreateApp(ctx, a))
	if err := s.CreateApp(ctx, chat.App{ID: "A2", Name: "echo", BotUser: "U2"}); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("duplicate name: err = %v, want ErrNameTaken", err)
	}
	if err := s.CreateApp(ctx, chat.App{ID: "A3", Name: "other", BotUser: "U1"}); !errors.Is(err, store.ErrNameTaken) {
		t.Fatalf("second app of one bot user: err = %v, want ErrNameTaken", err)
	}
	for _, get := range []func() (chat.App, error){
		func() (chat.App, error) { return s.App(ctx, "A1") },
		func() (chat.App, error) { return s.AppByBot(ctx, "U1") },
	} {
		got, err := get()
		must(t, err)
		if !reflect.DeepEqual(got, a) {
			t.Fatalf("app = %+v, want %+v", got, a)
		}
	}
	if _, err := s.App(ctx, "A404"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing app: err = %v", err)
	}
	if _, err := s.AppByBot(ctx, "U404"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing bot: err = %v", err)
	}
	must(t, s.CreateApp(ctx, chat.App{ID: "A0", Name: "zero", BotUser: "U0", BotID: "B0"}))
	list, err := s.ListApps(ctx, "", 10)
	must(t, err)
	if len(list) != 2 || list[0].ID != "A0" || list[1].ID != "A1" || list[0].Events != nil {
		t.Fatalf("ListApps = %+v", list)
	}
	if list, _ := s.ListApps(ctx, "A0", 10); len(list) != 1 || list[0].ID != "A1" {
		t.Fatalf("ListApps after A0 = %+v", list)
	}

	pos, err := s.Positions(ctx, "A1")
	must(t, err)
	if len(pos) != 0 {
		t.Fatalf("fresh positions = %v", pos)
	}
	must(t, s.SetPositions(ctx, "A1", map[string]uint64{"C1": 5, "C2": 1}))
	must(t, s.SetPositions(ctx, "A1", map[string]uint64{"C1": 9}))
	must(t, s.SetPositions(ctx, "A0", map[string]uint64{"C1": 2}))
	pos, err = s.Positions(ctx, "A1")
	must(t, err)
	if want := map[string]uint64{"C1": 9, "C2": 1}; !maps.Equal(pos, want) {
		t.Fatalf("positions = %v, want %v", pos, want)
	}

	// The app-level token is a token row of the app's id.
	must(t, s.PutToken(ctx, []byte("xapp-hash"), "A1"))
	if id, err := s.TokenUser(ctx, []byte("xapp-hash")); err != nil || id != "A1" {
		t.Fatalf("TokenUser = %q, %v", id, err)
	}
	if _, err := s.RevokeToken(ctx, []byte("xapp-hash")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenUser(ctx, []byte("xapp-hash")); !errors.Is(err, store.ErrRevoked) {
		t.Fatalf("revoked app token: err = %v", err)
	}
}

// testAppUpdateDelete: UpdateApp renames the app and its bot user
// together (or neither, on a taken name); DeleteApp deactivates the bot
// user, revokes both tokens, logs both revocations, and leaves the app
// readable (Deleted) but unlisted.
func testAppUpdateDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateUser(ctx, chat.User{ID: "UB", Name: "hook", RealName: "hook", IsBot: true}))
	must(t, s.CreateUser(ctx, chat.User{ID: "UP", Name: "person", RealName: "person"}))
	must(t, s.CreateApp(ctx, chat.App{ID: "AH", Name: "hook", BotUser: "UB", BotID: "BH", Events: []string{"message.im"}}))
	must(t, s.CreateUser(ctx, chat.User{ID: "UO", Name: "other", RealName: "other", IsBot: true}))
	must(t, s.CreateApp(ctx, chat.App{ID: "AO", Name: "other", BotUser: "UO", BotID: "BO"}))
	must(t, s.PutToken(ctx, []byte("xapp-h"), "AH"))
	must(t, s.PutToken(ctx, []byte("xoxb-h"), "UB"))
	must(t, s.PutToken(ctx, []byte("xapp-o"), "AO"))

	up := chat.App{ID: "AH", Name: "hooked", Events: []string{"app_mention", "message.channels"}, RequestURL: "http://127.0.40.1:1/e"}
	must(t, s.UpdateApp(ctx, up))
	a, err := s.App(ctx, "AH")
	must(t, err)
	u, err := s.User(ctx, "UB")
	must(t, err)
	if a.Name != "hooked" || !reflect.DeepEqual(a.Events, up.Events) || a.RequestURL != up.RequestURL || a.BotID != "BH" ||
		a.BotUser != "UB" || a.Deleted || u.Name != "hooked" || u.RealName != "hooked" {
		t.Fatalf("after UpdateApp: app %+v, bot user %+v", a, u)
	}
	for _, name := range []string{"other", "person"} { // an app's, a user's
		if err := s.UpdateApp(ctx, chat.App{ID: "AH", Name: name}); !errors.Is(err, store.ErrNameTaken) {
			t.Fatalf("UpdateApp to %q: err = %v, want ErrNameTaken", name, err)
		}
	}
	if err := s.UpdateApp(ctx, chat.App{ID: "A404", Name: "nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateApp of no app: err = %v", err)
	}
	if b, _ := s.App(ctx, "AH"); b.Name != "hooked" || len(b.Events) != 2 {
		t.Fatalf("a refused UpdateApp changed the app: %+v", b)
	}

	revs, err := s.Revocations(ctx, 0, 1000)
	must(t, err)
	var after int64
	if len(revs) > 0 {
		after = revs[len(revs)-1].ID
	}
	must(t, s.DeleteApp(ctx, "AH"))
	for _, tok := range []string{"xapp-h", "xoxb-h"} {
		if _, err := s.TokenUser(ctx, []byte(tok)); !errors.Is(err, store.ErrRevoked) {
			t.Fatalf("%s after DeleteApp: err = %v, want ErrRevoked", tok, err)
		}
	}
	if id, err := s.TokenUser(ctx, []byte("xapp-o")); err != nil || id != "AO" {
		t.Fatalf("another app's token after DeleteApp: %q, %v", id, err)
	}
	if u, _ := s.User(ctx, "UB"); !u.Deleted {
		t.Fatal("the bot user is active after DeleteApp")
	}
	revs, err = s.Revocations(ctx, after, 10)
	must(t, err)
	if len(revs) != 2 || revs[0].Token != nil || revs[1].Token != nil ||
		!reflect.DeepEqual([]string{revs[0].User, revs[1].User}, []string{"AH", "UB"}) {
		t.Fatalf("revocations logged by DeleteApp: %+v", revs)
	}
	for _, get := range []func() (chat.App, error){
		func() (chat.App, error) { return s.App(ctx, "AH") },
		func() (chat.App, error) { return s.AppByBot(ctx, "UB") },
	} {
		if a, err := get(); err != nil || !a.Deleted || a.BotID != "BH" {
			t.Fatalf("a deleted app reads %+v, %v; want it, Deleted", a, err)
		}
	}
	list, err := s.ListApps(ctx, "", 10)
	must(t, err)
	for _, a := range list {
		if a.ID == "AH" {
			t.Fatalf("ListApps lists the deleted app: %+v", list)
		}
	}
	if err := s.DeleteApp(ctx, "AH"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteApp twice: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteApp(ctx, "A404"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("DeleteApp of no app: err = %v", err)
	}
}
