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
