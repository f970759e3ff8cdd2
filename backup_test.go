package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringcast/ringcast/client"
	"github.com/ringcast/ringcast/node/proctest"
)

// committed reads ringcast_channel_messages_committed_total from a node.
func committed(t *testing.T, addr, key string) float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "ringcast_channel_messages_committed_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// TestBackupUnderLoad: `ringcast backup` of a node's embedded store,
// taken while `ringcast bench` publishes to it, restores with `ringcast
// restore` into a store where a node starts and serves every message
// acknowledged before the backup began.
func TestBackupUnderLoad(t *testing.T) {
	var kb [24]byte
	rand.Read(kb[:])
	key := "xoxa-" + hex.EncodeToString(kb[:])
	data := t.TempDir()
	p := proctest.Start(t, bin, proctest.Options{Name: "bk", Host: "127.0.50.61", Data: data, Extra: []string{"--admin-key", key}})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admin := &client.API{Base: "http://" + p.HTTP, Token: key}
	var user struct {
		Token string `json:"token"`
	}
	if err := admin.Call(ctx, "admin.users.create", url.Values{"name": {"keeper"}, "limit_class": {"unlimited"}}, &user); err != nil {
		t.Fatal(err)
	}
	api := &client.API{Base: admin.Base, Token: user.Token}
	var ch struct {
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
	}
	if err := api.Call(ctx, "conversations.create", url.Values{"name": {"kept"}}, &ch); err != nil {
		t.Fatal(err)
	}
	post := func(text string) {
		if err := api.Call(ctx, "chat.postMessage", url.Values{"channel": {ch.Channel.ID}, "text": {text}}, nil); err != nil {
			t.Fatalf("post %s: %v", text, err)
		}
	}
	const early, late = 30, 20
	for i := range early {
		post(fmt.Sprint("early ", i))
	}

	before := committed(t, p.HTTP, key)
	bench := exec.CommandContext(ctx, bin, "bench", "--url", "http://"+p.HTTP, "--admin-key", key,
		"--scenario", "publish", "--publishers", "4", "--channels", "8", "--duration", "6s")
	var benchOut strings.Builder
	bench.Stdout, bench.Stderr = &benchOut, &benchOut
	if err := bench.Start(); err != nil {
		t.Fatal(err)
	}
	for committed(t, p.HTTP, key) < before+500 { // the load is on
		select {
		case <-ctx.Done():
			t.Fatalf("bench never published: %s", benchOut.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	for i := range late {
		post(fmt.Sprint("late ", i))
	}
	file := filepath.Join(t.TempDir(), "backup.db")
	start := committed(t, p.HTTP, key)
	if out, err := exec.CommandContext(ctx, bin, "backup", "--data", data, "--to", file).CombinedOutput(); err != nil {
		t.Fatalf("backup: %v %s", err, out)
	}
	if end := committed(t, p.HTTP, key); end <= start {
		t.Fatalf("no commit while the backup ran (%v, %v): the load stopped or the backup held it up", start, end)
	}
	if err := bench.Wait(); err != nil {
		t.Fatalf("bench: %v\n%s", err, benchOut.String())
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Fatal(err)
	}

	restored := t.TempDir()
	if out, err := exec.CommandContext(ctx, bin, "restore", "--data", restored, "--from", file).CombinedOutput(); err != nil {
		t.Fatalf("restore: %v %s", err, out)
	}
	q := proctest.Start(t, bin, proctest.Options{Name: "bk", Host: "127.0.50.62", Data: restored, Extra: []string{"--admin-key", key}})
	api.Base = "http://" + q.HTTP
	var hist struct {
		Messages []struct {
			Text string `json:"text"`
		} `json:"messages"`
	}
	if err := api.Call(ctx, "conversations.history", url.Values{"channel": {ch.Channel.ID}, "limit": {"200"}}, &hist); err != nil {
		t.Fatalf("history after the restore: %v", err)
	}
	have := map[string]bool{}
	for _, m := range hist.Messages {
		have[m.Text] = true
	}
	for i := range early {
		if !have[fmt.Sprint("early ", i)] {
			t.Fatalf("early %d is not in the restored store", i)
		}
	}
	for i := range late {
		if !have[fmt.Sprint("late ", i)] {
			t.Fatalf("late %d (acked before the backup began) is not in the restored store", i)
		}
	}
}
