package casebook

import (
	"context"
	"database/sql"
)

// Record runs change and appends an event about subject (not a case: e.g.
// "user:rev01" for a change to an account) to the audit trail, in one
// transaction, so that changes to who may do what are chained like the
// changes to cases. It fits auth.Recorder.
func (s *Store) Record(ctx context.Context, actor, subject, kind string, payload any, change func(tx *sql.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := change(tx); err != nil {
			return err
		}
		return appendEvent(ctx, tx, subject, actor, kind, s.now(), payload)
	})
}
