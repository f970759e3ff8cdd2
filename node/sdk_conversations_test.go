package node_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/slack-go/slack"
)

// TestSlackGoConversations drives DMs, read marks and permalinks with
// slack-go's typed calls.
func TestSlackGoConversations(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	aliceAPI, aliceID := c.User("alice")
	bobAPI, bobID := c.User("bob")
	_, carolID := c.User("carol")
	base := aliceAPI.Base + "/api/"
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	bob := slack.New(bobAPI.Token, slack.OptionAPIURL(base))

	dm, noOp, already, err := alice.OpenConversation(&slack.OpenConversationParameters{Users: []string{bobID}})
	if err != nil || !strings.HasPrefix(dm.ID, "D") || noOp || already {
		t.Fatalf("OpenConversation = %+v, %v, %v, %v", dm, noOp, already, err)
	}
	again, noOp, already, err := bob.OpenConversation(&slack.OpenConversationParameters{Users: []string{aliceID}, ReturnIM: true})
	if err != nil || again.ID != dm.ID || !noOp || !already || !again.IsIM || again.User != aliceID {
		t.Fatalf("bob's OpenConversation = %+v, %v, %v, %v", again, noOp, already, err)
	}
	group, _, _, err := alice.OpenConversation(&slack.OpenConversationParameters{Users: []string{bobID, carolID}})
	if err != nil || !group.IsMpIM || !strings.HasPrefix(group.Name, "mpdm-") {
		t.Fatalf("group OpenConversation = %+v, %v", group, err)
	}
	if _, _, _, err := alice.OpenConversation(&slack.OpenConversationParameters{Users: []string{"UNOSUCH"}}); err == nil || err.Error() != "user_not_found" {
		t.Fatalf("OpenConversation of nobody: %v", err)
	}

	chans, next, err := alice.GetConversationsForUser(&slack.GetConversationsForUserParameters{Types: []string{"im", "mpim"}})
	if err != nil || next != "" || len(chans) != 2 {
		t.Fatalf("GetConversationsForUser = %+v, %q, %v", chans, next, err)
	}
	ids := []string{chans[0].ID, chans[1].ID}
	if !slices.Contains(ids, dm.ID) || !slices.Contains(ids, group.ID) {
		t.Fatalf("GetConversationsForUser ids = %v, want %s and %s", ids, dm.ID, group.ID)
	}

	_, ts, err := bob.PostMessage(dm.ID, slack.MsgOptionText("hi alice", false))
	if err != nil {
		t.Fatal(err)
	}
	bob.PostMessage(dm.ID, slack.MsgOptionText("still there?", false))
	info, err := alice.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: dm.ID})
	if err != nil || info.UnreadCount != 2 || info.UnreadCountDisplay != 2 || info.LastRead != "0000000000.000000" {
		t.Fatalf("GetConversationInfo = %+v, %v", info, err)
	}
	if err := alice.MarkConversation(dm.ID, ts); err != nil {
		t.Fatalf("MarkConversation: %v", err)
	}
	info, err = alice.GetConversationInfo(&slack.GetConversationInfoInput{ChannelID: dm.ID})
	if err != nil || info.UnreadCount != 1 || info.LastRead != ts {
		t.Fatalf("after MarkConversation: %+v, %v", info, err)
	}
	if err := alice.MarkConversation(dm.ID, "not-a-ts"); err == nil || err.Error() != "invalid_timestamp" {
		t.Fatalf("MarkConversation with a bad ts: %v", err)
	}

	link, err := alice.GetPermalink(&slack.PermalinkParameters{Channel: dm.ID, Ts: ts})
	if want := aliceAPI.Base + "/archives/" + dm.ID + "/p" + strings.Replace(ts, ".", "", 1); err != nil || link != want {
		t.Fatalf("GetPermalink = %q, %v; want %s", link, err, want)
	}
	if _, err := alice.GetPermalink(&slack.PermalinkParameters{Channel: dm.ID, Ts: "1500000000.000001"}); err == nil || err.Error() != "message_not_found" {
		t.Fatalf("GetPermalink of nothing: %v", err)
	}

	params := slack.NewSearchParameters()
	params.Count = 1
	found, err := alice.SearchMessages("alice from:@bob", params)
	if err != nil || found.Total != 1 || len(found.Matches) != 1 || found.Paging.Pages != 1 || found.Pagination.TotalCount != 1 {
		t.Fatalf("SearchMessages = %+v, %v", found, err)
	}
	if m := found.Matches[0]; m.Text != "hi alice" || m.Timestamp != ts || m.User != bobID || m.Username != "bob" ||
		m.Channel.ID != dm.ID || m.Permalink != link || m.Type != "message" {
		t.Fatalf("SearchMessages match = %+v", m)
	}
	if _, err := alice.SearchMessages("", params); err == nil || err.Error() != "no_query" {
		t.Fatalf("SearchMessages without a query: %v", err)
	}
}
