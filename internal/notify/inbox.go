package notify

import (
	"context"
	"encoding/json"
	"time"

	"civitas/internal/db"
	"civitas/internal/kernel"
)

// InboxMessage is a message in a citizen's web inbox, in the language it
// is read in.
type InboxMessage struct {
	ID      string
	Subject string
	Text    string
	At      time.Time
	Read    bool
}

// Inbox is a page of the signed-in citizen's inbox.
type Inbox struct {
	Messages []InboxMessage
	Unread   int
	// Older is the cursor of the next page ("" on the last one).
	Older string
}

// InboxPage is how many messages a page shows.
const InboxPage = 30

// Inbox returns the signed-in citizen's messages, newest first, rendered
// in lang, from before the cursor older ("" for the newest).
func (s *Service) Inbox(ctx context.Context, lang, older string) (Inbox, error) {
	who, err := citizen(ctx)
	if err != nil {
		return Inbox{}, err
	}
	var rows []inboxRow
	var in Inbox
	err = s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		if rows, err = findInbox(ctx, tx, who, older, InboxPage+1); err != nil {
			return err
		}
		in.Unread, err = countUnread(ctx, tx, who)
		return err
	})
	if err != nil {
		return Inbox{}, kernel.Wrap(err, "notify: inbox")
	}
	if len(rows) > InboxPage {
		rows = rows[:InboxPage]
		in.Older = rows[len(rows)-1].id
	}
	for _, r := range rows {
		m := Message{Template: r.template, Text: r.text}
		if r.template != "" && !s.o.Catalog.Has(r.template) {
			m.Template = "" // a message whose template was retired keeps its place
		}
		if r.args != "" {
			_ = json.Unmarshal([]byte(r.args), &m.Args)
		}
		subject, text := s.render(m, lang)
		in.Messages = append(in.Messages, InboxMessage{ID: r.id, Subject: subject, Text: text, At: r.createdAt, Read: !r.readAt.IsZero()})
	}
	return in, nil
}

// Unread counts the account's unread messages.
func (s *Service) Unread(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.o.DB.View(ctx, func(tx *db.Tx) error {
		var err error
		n, err = countUnread(ctx, tx, accountID)
		return err
	})
	if err != nil {
		return 0, kernel.Wrap(err, "notify: inbox")
	}
	return n, nil
}

// MarkRead marks one of the signed-in citizen's messages read. Another
// person's message is not found.
func (s *Service) MarkRead(ctx context.Context, id string) error {
	who, err := citizen(ctx)
	if err != nil {
		return err
	}
	if id == "" || len(id) > 64 {
		return kernel.E(kernel.NotFound, "notify.error.not_found")
	}
	var n int64
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		var err error
		n, err = markRead(ctx, tx, who, id)
		return err
	})
	if err != nil {
		return kernel.Wrap(err, "notify: mark read")
	}
	if n == 0 {
		// Already read is fine; someone else's or no such message is not.
		var found bool
		err = s.o.DB.View(ctx, func(tx *db.Tx) error {
			var err error
			found, err = inboxHas(ctx, tx, who, id)
			return err
		})
		if err != nil {
			return kernel.Wrap(err, "notify: mark read")
		}
		if !found {
			return kernel.E(kernel.NotFound, "notify.error.not_found")
		}
	}
	return nil
}

// MarkAllRead marks every message of the signed-in citizen read.
func (s *Service) MarkAllRead(ctx context.Context) error {
	who, err := citizen(ctx)
	if err != nil {
		return err
	}
	err = s.o.DB.Update(ctx, s.o.Clock.Now(), func(tx *db.Tx) error {
		return markAllRead(ctx, tx, who)
	})
	return kernel.Wrap(err, "notify: mark all read")
}
