package store

import (
	"context"
	"unicode"

	"github.com/ringcast/ringcast/chat"
)

// Search is the log's full-text index of messages. Append keeps it in
// the transaction that writes the messages, so a message is searchable
// once it is acknowledged.
type Search interface {
	// Search returns the messages of q.Channels that match q, a page of
	// them, and how many match in all.
	Search(ctx context.Context, q SearchQuery) (SearchResult, error)
}

// SearchQuery is what search.messages asks of the index. Every word and
// phrase must be in a message's text for it to match (words as the
// index splits text, without regard to case); with neither, every
// message of the channels (and user) matches.
type SearchQuery struct {
	// Channels are the only channels searched (the caller's); none
	// matches nothing.
	Channels []string
	// User, when set, is the only author searched.
	User string
	// Words must each appear; a word ending in '*' matches any word it
	// begins (a prefix). Words are letters and digits (SearchWord).
	Words []string
	// Phrases must each appear, their words in order.
	Phrases []string
	// ByTime orders by ts (newest first, oldest first with Asc) instead
	// of by relevance (best first, worst first with Asc).
	ByTime, Asc bool
	// Offset and Limit page the matches.
	Offset, Limit int
}

// SearchResult is a page of matches and how many there are in all.
type SearchResult struct {
	Total    int
	Messages []chat.Message
}

// SearchWord reports whether w can be a SearchQuery word: letters and
// digits, with an optional '*' at the end. Anything else is a phrase's
// business (the index splits it into words in order).
func SearchWord(w string) bool {
	for i, r := range w {
		if r == '*' && i == len(w)-1 && i > 0 {
			continue
		}
		if !isWordRune(r) {
			return false
		}
	}
	return w != ""
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
