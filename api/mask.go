package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"github.com/medaudit/medaudit/casebook"
)

// Reviewers judge the medical facts of a stay; they need no card number or
// person id, which would let them look the patient up elsewhere. They see
// a stable pseudonym instead: the same card or person gets the same
// pseudonym in every case and answer (so a pattern across cases stays
// visible), computed with HMAC-SHA-256 under a key the server generates
// once and keeps in its database, so that nobody without the key can turn
// a pseudonym back into the number. (ID numbers and names are masked for
// every role without NeedsIDNumbers, as before.)

// masker makes the pseudonyms.
type masker struct{ key []byte }

// loadMasker reads the pseudonym key, creating it at the first start.
func loadMasker(ctx context.Context, db *sql.DB) (*masker, error) {
	var v string
	err := db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = 'pseudonym_key'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		v = hex.EncodeToString(b)
		_, err = db.ExecContext(ctx, `INSERT INTO server_secrets VALUES ('pseudonym_key', ?) ON CONFLICT DO NOTHING`, v)
		if err == nil {
			err = db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = 'pseudonym_key'`).Scan(&v)
		}
	}
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(v)
	return &masker{key: key}, err
}

// pseudonym is kind-<12 hex digits of the HMAC of the value>.
func (m *masker) pseudonym(kind, raw string) string {
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(kind + ":" + raw))
	return kind + "-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// identifierKind tells evidence keys whose values are card numbers or
// person ids.
func identifierKind(key string) string {
	k := strings.ToLower(key)
	switch {
	case strings.Contains(k, "person"):
		return "person"
	case strings.Contains(k, "card"):
		return "card"
	}
	return ""
}

// collect walks decoded evidence and records the string values (or lists
// of strings) under identifier keys.
func collect(v any, kind string, into map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			collect(e, identifierKind(k), into)
		}
	case []any:
		for _, e := range x {
			collect(e, kind, into)
		}
	case string:
		if _, known := into[x]; kind != "" && len(x) >= 4 && !known {
			into[x] = kind
		}
	}
}

// cardsOf are the card numbers a person used, in settlements and swipes.
const cardsOf = `SELECT card_no FROM settlements WHERE person_id = $p UNION SELECT card_no FROM card_swipes WHERE person_id = $p`

// file replaces every card number and person id of a case file — the
// subject, the stay's person and their cards, and any under an identifier
// key of the evidence — wherever it occurs in the file (summaries
// included), by its pseudonym.
func (m *masker) file(ctx context.Context, db *sql.DB, f *casebook.CaseFile) error {
	raw := map[string]string{}
	switch f.Case.SubjectType {
	case "card":
		raw[f.Case.SubjectID] = "card"
	case "person":
		raw[f.Case.SubjectID] = "person"
	}
	if f.Stay != nil && f.Stay.PersonID != "" {
		raw[f.Stay.PersonID] = "person"
		rows, err := db.QueryContext(ctx, cardsOf, sql.Named("p", f.Stay.PersonID))
		if err != nil {
			return err
		}
		for rows.Next() {
			var card string
			if err := rows.Scan(&card); err != nil {
				rows.Close()
				return err
			}
			raw[card] = "card"
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, fl := range f.Flags {
		var ev any
		if json.Unmarshal(fl.Evidence, &ev) == nil {
			collect(ev, "", raw)
		}
	}
	// Longest first, so that an id containing another is replaced whole.
	ids := make([]string, 0, len(raw))
	for id := range raw {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return len(ids[i]) > len(ids[j]) || len(ids[i]) == len(ids[j]) && ids[i] < ids[j] })
	pairs := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		pairs = append(pairs, id, m.pseudonym(raw[id], id))
	}
	r := strings.NewReplacer(pairs...)
	f.Case.SubjectID = r.Replace(f.Case.SubjectID)
	if f.Stay != nil {
		f.Stay.PersonID = r.Replace(f.Stay.PersonID)
	}
	for i := range f.Flags {
		f.Flags[i].Evidence = json.RawMessage(r.Replace(string(f.Flags[i].Evidence)))
	}
	for i := range f.Events {
		f.Events[i].Payload = r.Replace(f.Events[i].Payload)
	}
	return nil
}
