package node_test

import (
	"slices"
	"testing"

	"github.com/ringcast/ringcast/node/nodetest"
	"github.com/slack-go/slack"
)

// TestSlackGoMessages: slack-go's typed calls for threads, edits,
// deletes and reactions work unchanged, and its RTM decodes their events
// (message_changed, message_deleted, reaction_added, reaction_removed).
func TestSlackGoMessages(t *testing.T) {
	c := nodetest.Start(t, nodetest.Spec{Name: "solo"})
	aliceAPI, aliceID := c.User("alice")
	bobAPI, bobID := c.User("bob")
	base := aliceAPI.Base + "/api/"
	alice := slack.New(aliceAPI.Token, slack.OptionAPIURL(base))
	bob := slack.New(bobAPI.Token, slack.OptionAPIURL(base))
	ch, err := alice.CreateConversation(slack.CreateConversationParams{ChannelName: "sdk-messages"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := bob.JoinConversation(ch.ID); err != nil {
		t.Fatal(err)
	}

	next := slackRTM(t, alice)

	_, parent, err := bob.PostMessage(ch.ID, slack.MsgOptionText("parent", false))
	if err != nil {
		t.Fatal(err)
	}
	if ev := next().(*slack.MessageEvent); ev.Timestamp != parent {
		t.Fatalf("message event = %+v", ev)
	}
	_, reply, err := alice.PostMessage(ch.ID, slack.MsgOptionText("a reply", false), slack.MsgOptionTS(parent))
	if err != nil {
		t.Fatal(err)
	}
	if ev := next().(*slack.MessageEvent); ev.Timestamp != reply || ev.ThreadTimestamp != parent {
		t.Fatalf("reply event = %+v", ev)
	}

	// UpdateMessage: the author only.
	if _, _, _, err := alice.UpdateMessage(ch.ID, parent, slack.MsgOptionText("mine now", false)); err == nil || err.Error() != "cant_update_message" {
		t.Fatalf("UpdateMessage of bob's message by alice: %v", err)
	}
	_, ts, text, err := bob.UpdateMessage(ch.ID, parent, slack.MsgOptionText("parent, edited", false))
	if err != nil || ts != parent || text != "parent, edited" {
		t.Fatalf("UpdateMessage = %q %q, %v", ts, text, err)
	}
	if ev := next().(*slack.MessageEvent); ev.SubType != "message_changed" || ev.SubMessage == nil || ev.SubMessage.Text != "parent, edited" ||
		ev.SubMessage.Timestamp != parent || ev.SubMessage.Edited == nil || ev.SubMessage.Edited.User != bobID ||
		ev.PreviousMessage == nil || ev.PreviousMessage.Text != "parent" {
		t.Fatalf("message_changed = %+v", ev)
	}

	// Reactions.
	ref := slack.NewRefToMessage(ch.ID, parent)
	if err := alice.AddReaction("eyes", ref); err != nil {
		t.Fatalf("AddReaction: %v", err)
	}
	if ev := next().(*slack.ReactionAddedEvent); ev.Reaction != "eyes" || ev.User != aliceID || ev.ItemUser != bobID || ev.Item.Timestamp != parent {
		t.Fatalf("reaction_added = %+v", ev)
	}
	if err := alice.AddReaction("eyes", ref); err == nil || err.Error() != "already_reacted" {
		t.Fatalf("AddReaction twice: %v", err)
	}
	if err := bob.AddReaction("eyes", ref); err != nil {
		t.Fatal(err)
	}
	next()
	reactions, err := bob.GetReactions(ref, slack.NewGetReactionsParameters())
	if err != nil || len(reactions.Reactions) != 1 || reactions.Reactions[0].Name != "eyes" || reactions.Reactions[0].Count != 2 ||
		!slices.Equal(reactions.Reactions[0].Users, []string{aliceID, bobID}) {
		t.Fatalf("GetReactions = %+v, %v", reactions, err)
	}
	if err := alice.RemoveReaction("eyes", ref); err != nil {
		t.Fatalf("RemoveReaction: %v", err)
	}
	if ev := next().(*slack.ReactionRemovedEvent); ev.Reaction != "eyes" || ev.User != aliceID {
		t.Fatalf("reaction_removed = %+v", ev)
	}
	if err := alice.RemoveReaction("eyes", ref); err == nil || err.Error() != "no_reaction" {
		t.Fatalf("RemoveReaction twice: %v", err)
	}

	// GetConversationReplies and the parent's thread fields in history.
	msgs, more, _, err := bob.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: ch.ID, Timestamp: parent})
	if err != nil || more || len(msgs) != 2 || msgs[0].Text != "parent, edited" || msgs[0].ReplyCount != 1 ||
		msgs[0].LatestReply != reply || msgs[1].Timestamp != reply || msgs[1].ThreadTimestamp != parent {
		t.Fatalf("GetConversationReplies = %+v more=%v, %v", msgs, more, err)
	}
	if _, _, _, err := bob.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: ch.ID, Timestamp: reply}); err == nil || err.Error() != "thread_not_found" {
		t.Fatalf("replies of a reply: %v", err)
	}
	hist, err := bob.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch.ID})
	if err != nil || len(hist.Messages) != 2 || hist.Messages[0].ReplyCount != 1 || hist.Messages[0].Edited == nil ||
		len(hist.Messages[0].Reactions) != 1 || hist.Messages[0].Reactions[0].Count != 1 || hist.Messages[1].SubType != "channel_join" {
		t.Fatalf("history = %+v, %v", hist, err)
	}

	// DeleteMessage: the author, or the channel's creator (alice).
	if _, _, err := bob.DeleteMessage(ch.ID, reply); err == nil || err.Error() != "cant_delete_message" {
		t.Fatalf("DeleteMessage of alice's reply by bob: %v", err)
	}
	if _, ts, err := alice.DeleteMessage(ch.ID, reply); err != nil || ts != reply {
		t.Fatalf("DeleteMessage = %q, %v", ts, err)
	}
	if ev := next().(*slack.MessageEvent); ev.SubType != "message_deleted" || ev.DeletedTimestamp != reply ||
		ev.PreviousMessage == nil || ev.PreviousMessage.Text != "a reply" {
		t.Fatalf("message_deleted = %+v", ev)
	}
	if _, _, err := alice.DeleteMessage(ch.ID, parent); err != nil { // the creator deletes bob's
		t.Fatal(err)
	}
	next()
	if _, _, err := alice.DeleteMessage(ch.ID, parent); err == nil || err.Error() != "message_not_found" {
		t.Fatalf("DeleteMessage twice: %v", err)
	}
	_, _, err = alice.PostMessage(ch.ID, slack.MsgOptionText("x", false), slack.MsgOptionTS(parent))
	if err == nil || err.Error() != "thread_not_found" {
		t.Fatalf("reply to a deleted message: %v", err)
	}

	// Channel management.
	got, err := alice.SetTopicOfConversation(ch.ID, "a topic")
	if err != nil || got.Topic.Value != "a topic" {
		t.Fatalf("SetTopicOfConversation = %+v, %v", got, err)
	}
	if ev := next().(*slack.MessageEvent); ev.SubType != "channel_topic" || ev.Topic != "a topic" {
		t.Fatalf("channel_topic = %+v", ev)
	}
	if got, err = alice.SetPurposeOfConversation(ch.ID, "a purpose"); err != nil || got.Purpose.Value != "a purpose" {
		t.Fatalf("SetPurposeOfConversation = %+v, %v", got, err)
	}
	next()
	if got, err = alice.RenameConversation(ch.ID, "sdk-renamed"); err != nil || got.Name != "sdk-renamed" {
		t.Fatalf("RenameConversation = %+v, %v", got, err)
	}
	if err := alice.KickUserFromConversation(ch.ID, bobID); err != nil {
		t.Fatalf("KickUserFromConversation: %v", err)
	}
	if err := alice.KickUserFromConversation(ch.ID, bobID); err == nil || err.Error() != "not_in_channel" {
		t.Fatalf("KickUserFromConversation twice: %v", err)
	}
	if err := alice.ArchiveConversation(ch.ID); err != nil {
		t.Fatalf("ArchiveConversation: %v", err)
	}
	if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText("x", false)); err == nil || err.Error() != "is_archived" {
		t.Fatalf("PostMessage to an archived channel: %v", err)
	}
	if err := alice.UnArchiveConversation(ch.ID); err != nil {
		t.Fatalf("UnArchiveConversation: %v", err)
	}
	if _, _, err := alice.PostMessage(ch.ID, slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("PostMessage after unarchive: %v", err)
	}
}
