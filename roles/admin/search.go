package admin

import (
	"errors"
	"slices"
	"strings"
	"unicode"

	"github.com/ringcast/ringcast/chat"
	"github.com/ringcast/ringcast/store"
)

// maxSearchCount and maxSearchPage bound search.messages' paging as
// Slack does.
const (
	maxSearchCount = 100
	maxSearchPage  = 100
)

// search answers search.messages: the messages of the caller's
// conversations that match query (words, "phrases", in:#channel,
// in:@person for a DM, from:@person or from:me), by relevance or by
// time, a page at a time, in Slack's shape. As in Slack, a bot's token
// may not search.
func (a *API) search(c *call) (map[string]any, error) {
	if c.user.IsBot {
		return nil, chat.Error("not_allowed_token_type") // Slack's search takes user tokens only
	}
	query := strings.TrimSpace(c.args["query"])
	if query == "" {
		return nil, chat.Error("no_query")
	}
	count, err := c.args.intIn("count", 20, 1, maxSearchCount)
	if err != nil {
		return nil, err
	}
	page, err := c.args.intIn("page", 1, 1, maxSearchPage)
	if err != nil {
		return nil, err
	}
	q := store.SearchQuery{Limit: count, Offset: (page - 1) * count}
	switch c.args["sort"] {
	case "", "score":
	case "timestamp":
		q.ByTime = true
	default:
		return nil, chat.ErrBadRequest
	}
	switch c.args["sort_dir"] {
	case "", "desc":
	case "asc":
		q.Asc = true
	default:
		return nil, chat.ErrBadRequest
	}
	nothing, err := a.parseQuery(c, query, &q)
	if err != nil {
		return nil, err
	}
	res := store.SearchResult{}
	if !nothing {
		if res, err = a.cfg.Store.Search(c.ctx, q); err != nil {
			return nil, err
		}
	}
	return map[string]any{"query": query, "messages": a.searchMessages(c, res, count, page)}, nil
}

// parseQuery reads a query into q; nothing is true when it cannot
// match anything (it names a conversation the caller is not in, or a
// person who does not exist).
func (a *API) parseQuery(c *call, query string, q *store.SearchQuery) (nothing bool, err error) {
	mine, err := a.cfg.Store.UserChannels(c.ctx, c.user.ID)
	if err != nil {
		return false, err
	}
	var in []string
	for _, tok := range splitQuery(query) {
		if tok.phrase {
			addPhrase(q, tok.text)
			continue
		}
		mod, v, _ := strings.Cut(tok.text, ":")
		switch {
		case mod == "in" && v != "":
			id, err := a.searchIn(c, v)
			if err != nil {
				return false, err
			}
			if _, ok := slices.BinarySearch(mine, id); !ok {
				return true, nil
			}
			in = append(in, id)
		case mod == "from" && v != "":
			id, err := a.searchFrom(c, v)
			if err != nil {
				return false, err
			}
			if id == "" || (q.User != "" && q.User != id) {
				return true, nil
			}
			q.User = id
		case store.SearchWord(tok.text):
			q.Words = append(q.Words, tok.text)
		default:
			addPhrase(q, tok.text) // "e-mail", "o'clock": the words in order
		}
	}
	q.Channels = mine
	if in != nil {
		q.Channels = in
	}
	return false, nil
}

// addPhrase adds p to q's phrases if it has a word at all.
func addPhrase(q *store.SearchQuery, p string) {
	if strings.IndexFunc(p, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
		q.Phrases = append(q.Phrases, p)
	}
}

// queryToken is a word of a query, or a quoted phrase.
type queryToken struct {
	text   string
	phrase bool
}

// splitQuery splits a query at spaces, keeping "quoted phrases" whole
// (an unclosed quote runs to the end).
func splitQuery(q string) []queryToken {
	var out []queryToken
	for q = strings.TrimSpace(q); q != ""; q = strings.TrimSpace(q) {
		if rest, ok := strings.CutPrefix(q, `"`); ok {
			p, after, _ := strings.Cut(rest, `"`)
			out = append(out, queryToken{p, true})
			q = after
			continue
		}
		i := strings.IndexFunc(q, unicode.IsSpace)
		if i < 0 {
			i = len(q)
		}
		out = append(out, queryToken{q[:i], false})
		q = q[i:]
	}
	return out
}

// searchIn resolves in:'s value to a conversation id: #name, <#C…|name>,
// an id, or @person / <@U…> for the caller's DM with them ("" when
// there is none the caller may see).
func (a *API) searchIn(c *call, v string) (string, error) {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	if ref, ok := strings.CutPrefix(v, "@"); ok {
		id, err := a.searchFrom(c, "@"+ref)
		if err != nil || id == "" {
			return "", err
		}
		people := []string{c.user.ID, id}
		slices.Sort(people)
		ch, err := a.cfg.Store.ChannelByName(c.ctx, chat.DMName(people))
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return ch.ID, err
	}
	ref, _, _ := strings.Cut(strings.TrimPrefix(v, "#"), "|")
	ch, err := a.lookup(c, ref, visible)
	if errors.Is(err, chat.ErrChannelNotFound) {
		return "", nil
	}
	return ch.ID, err
}

// searchFrom resolves from:'s value to a user id: @name, name, <@U…>,
// U…, or me ("" when there is no such person).
func (a *API) searchFrom(c *call, v string) (string, error) {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	ref, _, _ := strings.Cut(strings.TrimPrefix(v, "@"), "|")
	if ref == "me" {
		return c.user.ID, nil
	}
	u, err := a.cfg.Store.User(c.ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		u, err = a.cfg.Store.UserByName(c.ctx, strings.ToLower(ref))
	}
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return u.ID, err
}

// searchMessages is Slack's messages object of a search: the matches
// of page (of count each) with their conversations and authors, and the
// paging both ways Slack's clients read it.
func (a *API) searchMessages(c *call, res store.SearchResult, count, page int) map[string]any {
	chans := map[string]map[string]any{}
	names := map[string]string{}
	matches := make([]map[string]any, 0, len(res.Messages))
	for _, m := range res.Messages {
		ch, ok := chans[m.Channel]
		if !ok {
			ch = a.searchChannel(c, m.Channel)
			chans[m.Channel] = ch
		}
		name, ok := names[m.User]
		if !ok {
			if u, err := a.cfg.Store.User(c.ctx, m.User); err == nil {
				name = u.Name
			}
			names[m.User] = name
		}
		match := map[string]any{"type": "message", "channel": ch, "user": m.User, "username": name,
			"ts": m.TS.String(), "text": m.Text, "team": a.cfg.Team.ID, "iid": m.Channel + "-" + m.TS.String(),
			"permalink": permalink(c.base, m.Channel, m)}
		if m.ThreadTS != 0 {
			match["thread_ts"] = m.ThreadTS.String()
		}
		matches = append(matches, match)
	}
	pages := (res.Total + count - 1) / count
	first := (page-1)*count + 1
	return map[string]any{
		"total":   res.Total,
		"matches": matches,
		"paging":  map[string]any{"count": count, "total": res.Total, "page": page, "pages": pages},
		"pagination": map[string]any{"total_count": res.Total, "page": page, "per_page": count, "page_count": pages,
			"first": min(first, res.Total), "last": first + len(matches) - 1},
	}
}

// searchChannel is a match's channel object, as Slack gives it in
// search results.
func (a *API) searchChannel(c *call, id string) map[string]any {
	o := map[string]any{"id": id, "is_channel": true, "is_group": false, "is_im": false, "is_mpim": false,
		"is_private": false, "is_shared": false, "is_org_shared": false, "is_ext_shared": false,
		"is_pending_ext_shared": false, "name": ""}
	ch, err := a.cfg.Store.Channel(c.ctx, id)
	if err != nil {
		return o
	}
	full := a.conversationObject(c, ch, true, -1)
	o["is_private"] = ch.IsPrivate
	switch ch.Type {
	case chat.TypeIM:
		o["is_channel"], o["is_im"], o["name"] = false, true, full["user"]
	case chat.TypeMPIM:
		o["is_channel"], o["is_group"], o["is_mpim"], o["name"] = false, true, true, full["name"]
	default:
		o["name"] = ch.Name
	}
	return o
}
