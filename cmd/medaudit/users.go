package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/medaudit/medaudit/auth"
	"github.com/medaudit/medaudit/pipeline"
)

func newUsersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "People who sign in: create users and API tokens (--server: through a running server)"}
	var (
		db        dbFlags
		u         auth.User
		districts string
		stdin     bool
		remote    remoteFlags
	)
	add := &cobra.Command{
		Use:   "add --id ID --role auditor|reviewer|supervisor|admin --districts 330106,… [--expert ID] --password-stdin",
		Short: "Create a user (the first admin, or anyone); the password is read from standard input",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !stdin {
				return errors.New("--password-stdin is required: pass the password on standard input, never on the command line")
			}
			pw, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && pw == "" {
				return fmt.Errorf("read password: %w", err)
			}
			u.Districts = strings.Split(districts, ",")
			password := strings.TrimRight(pw, "\r\n")
			if remote.server != "" {
				res, err := remote.call(cmd.Context(), "POST", "/api/v1/users", map[string]any{"user_id": u.ID, "display_name": u.Name,
					"role": u.Role, "districts": u.Districts, "expert_id": u.ExpertID, "password": password})
				if err != nil {
					return err
				}
				return printJSON(cmd, res["user"])
			}
			return db.with(cmd, false, func(d *pipeline.DB) error {
				if err := auth.NewStore(d.DB, time.Now, auth.DefaultConfig()).CreateUser(cmd.Context(), u, password); err != nil {
					return err
				}
				return printJSON(cmd, map[string]any{"user_id": u.ID, "role": u.Role, "districts": u.Districts})
			})
		},
	}
	db.register(add)
	add.Flags().StringVar(&u.ID, "id", "", "user id (sign-in name)")
	add.Flags().StringVar(&u.Name, "name", "", "display name")
	add.Flags().StringVar(&u.Role, "role", "", "auditor, reviewer, supervisor or admin")
	add.Flags().StringVar(&districts, "districts", "", "comma-separated 6-digit region codes the user may see, or *")
	add.Flags().StringVar(&u.ExpertID, "expert", "", "for reviewers: their expert id in the review panel")
	add.Flags().BoolVar(&stdin, "password-stdin", false, "read the password from standard input")
	remote.register(add)

	var tdb dbFlags
	var tuser, label string
	var days int
	var tremote remoteFlags
	token := &cobra.Command{
		Use:   "token --id USER [--label TEXT] [--days N]",
		Short: "Issue an API token for a user (shown once); it expires after --days (default 90)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if tremote.server != "" {
				res, err := tremote.call(cmd.Context(), "POST", "/api/v1/tokens", map[string]any{"user_id": tuser, "name": label, "expires_in_days": days})
				if err != nil {
					return err
				}
				fmt.Fprintln(os.Stderr, "Store this token now; it is not shown again.")
				return printJSON(cmd, map[string]any{"user_id": tuser, "token": res["token"], "token_info": res["token_info"]})
			}
			return tdb.with(cmd, false, func(d *pipeline.DB) error {
				info, tok, err := auth.NewStore(d.DB, time.Now, auth.DefaultConfig()).IssueToken(cmd.Context(), "system:cli", tuser, label, time.Duration(days)*24*time.Hour)
				if err != nil {
					return err
				}
				fmt.Fprintln(os.Stderr, "Store this token now; it is not shown again.")
				return printJSON(cmd, map[string]any{"user_id": tuser, "token": tok, "token_info": info})
			})
		},
	}
	tdb.register(token)
	token.Flags().StringVar(&tuser, "id", "", "user id")
	token.Flags().StringVar(&label, "label", "api", "what the token is for (its name)")
	token.Flags().IntVar(&days, "days", 0, "days until the token expires (default 90, at most 365)")
	tremote.register(token)

	var ldb dbFlags
	var lremote remoteFlags
	list := &cobra.Command{
		Use:   "list [--server URL]",
		Short: "List users with their open sessions and active tokens",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if lremote.server != "" {
				res, err := lremote.call(cmd.Context(), "GET", "/api/v1/users", nil)
				if err != nil {
					return err
				}
				return printJSON(cmd, res["users"])
			}
			return ldb.with(cmd, true, func(d *pipeline.DB) error {
				accounts, err := auth.NewStore(d.DB, time.Now, auth.DefaultConfig()).Accounts(cmd.Context())
				if err != nil {
					return err
				}
				return printJSON(cmd, accounts)
			})
		},
	}
	ldb.register(list)
	lremote.register(list)
	cmd.AddCommand(add, token, list)
	return cmd
}
